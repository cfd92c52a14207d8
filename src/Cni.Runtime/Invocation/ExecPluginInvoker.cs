using Cni.Spec;

namespace Cni.Runtime;

/// <summary>Runs plugins as processes found on the plugin path, with Cni.Spec's <see cref="PluginExecutor"/>.</summary>
public sealed class ExecPluginInvoker : ICniPluginInvoker
{
    private readonly PluginExecutor _executor;

    /// <summary>Creates an invoker; <paramref name="stderr"/> receives the plugins' stderr (this process's when null).
    /// The executor's own timeout is off: the runtime bounds each call with <see cref="CniRuntimeOptions.PluginTimeout"/>
    /// (which may be longer than the executor's default, or none).</summary>
    public ExecPluginInvoker(TextWriter? stderr = null)
    {
        _executor = new PluginExecutor { Stderr = stderr, Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <inheritdoc/>
    public Task<byte[]> InvokeAsync(CniInvocation invocation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        string path = PluginExecutor.FindInPath(invocation.PluginType, invocation.Path);
        return _executor.ExecAsync(path, invocation.Environment.Select(p => new KeyValuePair<string, string?>(p.Key, p.Value)), invocation.Config, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<PluginVersionInfo> GetVersionInfoAsync(string pluginType, IReadOnlyList<string> path, CancellationToken cancellationToken) =>
        _executor.GetVersionInfoAsync(PluginExecutor.FindInPath(pluginType, path), cancellationToken);
}
