using System.Text;
using Cni.Spec.Json;

namespace Cni.Spec;

/// <summary>
/// Runs plugins registered in process (see <see cref="CniServiceCollectionExtensions.AddCniPlugin{TPlugin}"/>) through
/// <see cref="CniPluginHost"/> with an in-memory environment, exactly as their executables would run; types not
/// registered go to <paramref name="fallback"/> (executables by default).
/// </summary>
/// <param name="resolver">Finds registered plugins by type name.</param>
/// <param name="fallback">Runs the types that are not registered; null to refuse them.</param>
public sealed class InProcessPluginInvoker(ICniPluginResolver resolver, ICniPluginInvoker? fallback) : ICniPluginInvoker
{
    /// <inheritdoc/>
    public async Task<byte[]> InvokeAsync(string type, IReadOnlyList<string> path, IEnumerable<KeyValuePair<string, string?>> environment,
        ReadOnlyMemory<byte> stdin, CancellationToken cancellationToken = default)
    {
        ICniPlugin? plugin = resolver.Resolve(type);
        if (plugin is null)
        {
            return fallback is not null
                ? await fallback.InvokeAsync(type, path, environment, stdin, cancellationToken).ConfigureAwait(false)
                : throw new CniException(CniErrorCode.InvalidNetworkConfig, $"no in-process plugin registered for type \"{type}\"");
        }

        var variables = environment.Where(v => v.Value is not null).Select(v => new KeyValuePair<string, string>(v.Key, v.Value!)).ToList();
        if (!variables.Any(v => v.Key == CniEnvironmentVariables.Path))
            variables.Add(new(CniEnvironmentVariables.Path, string.Join(':', path)));
        var env = new InMemoryCniEnvironment(variables, stdin);
        int exit = await CniPluginHost.RunAsync(plugin, env, cancellationToken).ConfigureAwait(false);
        byte[] stdout = Encoding.UTF8.GetBytes(env.StdoutText);
        if (exit == CniPluginHost.ExitSuccess)
            return stdout;
        throw CniJson.Deserialize(stdout, CniJsonContext.Default.CniError, $"error output of {type}").ToException();
    }
}
