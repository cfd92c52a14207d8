namespace Cni.Spec;

/// <summary>A convenient base for plugins: ADD and DEL to implement; CHECK, GC and STATUS succeed unless overridden.</summary>
public abstract class CniPlugin : ICniPlugin
{
    /// <summary>What the plugin declares; by default every version and no <c>CNI_ARGS</c> checking.</summary>
    public virtual PluginInfo Info => PluginInfo.Default;

    /// <inheritdoc/>
    public abstract Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken);

    /// <inheritdoc/>
    public abstract Task DelAsync(CniRequest request, CancellationToken cancellationToken);

    /// <inheritdoc/>
    public virtual Task CheckAsync(CniRequest request, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public virtual Task GcAsync(CniRequest request, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public virtual Task StatusAsync(CniRequest request, CancellationToken cancellationToken) => Task.CompletedTask;
}
