namespace Cni.Spec;

/// <summary>
/// A CNI plugin: one method per command. Each takes the request and either completes or throws
/// <see cref="CniException"/> with the CNI error to report. Any other exception is reported as an internal error (999).
/// </summary>
public interface ICniPlugin
{
    /// <summary>What the plugin declares: supported versions, about text, accepted <c>CNI_ARGS</c> keys.</summary>
    PluginInfo Info => PluginInfo.Default;

    /// <summary>ADD: attach the container; the result is printed in the configuration's version.</summary>
    Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken);

    /// <summary>DEL: detach the container; must succeed when the attachment is already gone.</summary>
    Task DelAsync(CniRequest request, CancellationToken cancellationToken);

    /// <summary>CHECK: verify the attachment against <see cref="NetConf.PrevResult"/>.</summary>
    Task CheckAsync(CniRequest request, CancellationToken cancellationToken);

    /// <summary>GC: release resources of attachments not listed as valid in the configuration.</summary>
    Task GcAsync(CniRequest request, CancellationToken cancellationToken);

    /// <summary>STATUS: complete when ready for ADD, otherwise throw code 50 or 51.</summary>
    Task StatusAsync(CniRequest request, CancellationToken cancellationToken);
}
