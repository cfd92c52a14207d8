namespace Cni.Spec;

/// <summary>Runs plugins as executables found on <c>CNI_PATH</c>, through a <see cref="PluginExecutor"/>.</summary>
/// <param name="executor">The executor to use; <see cref="PluginExecutor.Default"/> when null.</param>
public sealed class ExecutablePluginInvoker(PluginExecutor? executor = null) : ICniPluginInvoker
{
    private readonly PluginExecutor _executor = executor ?? PluginExecutor.Default;

    /// <inheritdoc/>
    public Task<byte[]> InvokeAsync(string type, IReadOnlyList<string> path, IEnumerable<KeyValuePair<string, string?>> environment,
        ReadOnlyMemory<byte> stdin, CancellationToken cancellationToken = default) =>
        _executor.ExecAsync(PluginExecutor.FindInPath(type, path), environment, stdin, cancellationToken);
}
