using System.Text;
using Cni.Spec;

namespace Cni.Runtime;

/// <summary>
/// Runs plugins registered in process (<see cref="CniServiceCollectionExtensions.AddCniPlugin{TPlugin}"/>) through the
/// same host code an executable runs (<see cref="CniPluginHost"/>), with an in-memory environment: the same
/// validation, version checks and result conversion as over exec, without starting a process. Types that are not
/// registered go to <paramref name="fallback"/> (exec by default).
/// </summary>
/// <param name="resolver">The registered plugins.</param>
/// <param name="fallback">Runs the types <paramref name="resolver"/> does not know; null to refuse them.</param>
/// <param name="stderr">Where the plugins' stderr goes (this process's when null).</param>
public sealed class InProcessPluginInvoker(ICniPluginResolver resolver, ICniPluginInvoker? fallback = null, TextWriter? stderr = null) : ICniPluginInvoker
{
    private readonly ICniPluginResolver _resolver = resolver ?? throw new ArgumentNullException(nameof(resolver));

    /// <inheritdoc/>
    public async Task<byte[]> InvokeAsync(CniInvocation invocation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        ICniPlugin? plugin = _resolver.Resolve(invocation.PluginType);
        if (plugin is null)
        {
            return fallback is not null
                ? await fallback.InvokeAsync(invocation, cancellationToken).ConfigureAwait(false)
                : throw new CniException(CniErrorCode.InvalidNetworkConfig, $"no in-process plugin registered for type \"{invocation.PluginType}\"");
        }

        var environment = new InMemoryCniEnvironment(invocation.Environment, invocation.Config);
        int exitCode = await CniPluginHost.RunAsync(plugin, environment, cancellationToken).ConfigureAwait(false);
        string stderrText = environment.StderrText;
        if (stderrText.Length > 0)
            await (stderr ?? Console.Error).WriteAsync(stderrText).ConfigureAwait(false);
        byte[] stdout = Encoding.UTF8.GetBytes(environment.StdoutText);
        if (exitCode == CniPluginHost.ExitSuccess)
            return stdout;
        cancellationToken.ThrowIfCancellationRequested();
        throw ParseError(invocation.PluginType, stdout);
    }

    /// <inheritdoc/>
    public Task<PluginVersionInfo> GetVersionInfoAsync(string pluginType, IReadOnlyList<string> path, CancellationToken cancellationToken)
    {
        ICniPlugin? plugin = _resolver.Resolve(pluginType);
        if (plugin is null)
        {
            return fallback is not null
                ? fallback.GetVersionInfoAsync(pluginType, path, cancellationToken)
                : throw new CniException(CniErrorCode.InvalidNetworkConfig, $"no in-process plugin registered for type \"{pluginType}\"");
        }
        return Task.FromResult(new PluginVersionInfo { CniVersion = CniVersions.Latest, SupportedVersions = [.. plugin.Info.SupportedVersions] });
    }

    private static CniException ParseError(string type, byte[] stdout)
    {
        if (CniError.TryParse(stdout, out CniError? error))
            return error.ToException();
        return new CniException(CniErrorCode.Internal, $"plugin {type} failed and its output is not CNI error JSON: {Encoding.UTF8.GetString(stdout).Trim()}");
    }
}
