namespace Cni.Spec;

/// <summary>
/// IPAM delegation for plugins that take no <see cref="IpamInvoker"/>: each call runs <c>ipam.type</c> from
/// <c>CNI_PATH</c> as a process, through <see cref="IpamInvoker.Default"/>.
/// </summary>
/// <remarks>Every failure, also a missing <c>ipam.type</c> or a plugin not found on <c>CNI_PATH</c>, is reported through the
/// returned task, so a caller can start the IPAM plugin and do its own work before awaiting it.</remarks>
public static class Ipam
{
    /// <summary>Whether the request's configuration names an IPAM plugin (<c>ipam.type</c>): the plugin is then layer 3
    /// and delegates its addresses.</summary>
    public static bool IsConfigured(CniRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return !string.IsNullOrEmpty(request.Config.Ipam?.Type);
    }

    /// <summary>Delegates ADD and returns the IPAM plugin's result in the model.</summary>
    public static Task<CniResult> ExecAddAsync(CniRequest request, CancellationToken cancellationToken = default) =>
        IpamInvoker.Default.AddAsync(request, cancellationToken);

    /// <summary>Delegates DEL.</summary>
    public static Task ExecDelAsync(CniRequest request, CancellationToken cancellationToken = default) =>
        IpamInvoker.Default.DelAsync(request, cancellationToken);

    /// <summary>Delegates CHECK.</summary>
    public static Task ExecCheckAsync(CniRequest request, CancellationToken cancellationToken = default) =>
        IpamInvoker.Default.CheckAsync(request, cancellationToken);

    /// <summary>Delegates GC.</summary>
    public static Task ExecGcAsync(CniRequest request, CancellationToken cancellationToken = default) =>
        IpamInvoker.Default.GcAsync(request, cancellationToken);

    /// <summary>Delegates STATUS.</summary>
    public static Task ExecStatusAsync(CniRequest request, CancellationToken cancellationToken = default) =>
        IpamInvoker.Default.StatusAsync(request, cancellationToken);
}
