using Cni.Spec;

namespace Cni.Plugins.Common;

/// <summary>
/// When an interface plugin may run its IPAM plugin. The reference plugins run IPAM ADD once the container interface
/// exists and is up, and IPAM DEL before deleting it, because an IPAM plugin may use the interface (<c>dhcp</c> sends
/// its DHCP requests and release through it). The IPAM plugins that only keep a store or echo their configuration
/// (<c>host-local</c>, <c>static</c>) never touch it, so for them the IPAM process can run while the links are made
/// or deleted, which takes its milliseconds off the critical path.
/// </summary>
public static class IpamOrder
{
    /// <summary>IPAM types known never to look at the container interface.</summary>
    private static readonly string[] InterfaceFree = ["host-local", "static"];

    /// <summary>True when the request's IPAM plugin may run concurrently with the link work (see <see cref="IpamOrder"/>).</summary>
    public static bool RunsAlongsideLinks(CniRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.Config.Ipam?.Type is { } type && Array.IndexOf(InterfaceFree, type) >= 0;
    }

    /// <summary>
    /// The DEL of an interface plugin: releases the addresses when the configuration names an IPAM plugin and runs
    /// <paramref name="removeLinks"/> (which may load the plugin's own configuration first). An IPAM plugin that never
    /// uses the interface is started first (a process of its own, it takes longest) and runs alongside; any other runs
    /// before the links go, as in the reference. Running alongside, the addresses are released also when the links
    /// could not be removed: that error is the one thrown, an IPAM error after it is written to stderr.
    /// </summary>
    /// <param name="ipam">Runs the IPAM plugin.</param>
    /// <param name="request">The DEL request.</param>
    /// <param name="removeLinks">Removes the plugin's links.</param>
    /// <param name="cancellationToken">Cancels the IPAM plugin.</param>
    public static async Task DelAsync(IpamInvoker ipam, CniRequest request, Func<Task> removeLinks, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ipam);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(removeLinks);
        bool useIpam = Ipam.IsConfigured(request);
        if (useIpam && !RunsAlongsideLinks(request))
        {
            await ipam.DelAsync(request, cancellationToken).ConfigureAwait(false);
            await removeLinks().ConfigureAwait(false);
            return;
        }
        Task release = useIpam ? ipam.DelAsync(request, cancellationToken) : Task.CompletedTask;
        try
        {
            await removeLinks().ConfigureAwait(false);
        }
        catch
        {
            try
            {
                await release.ConfigureAwait(false);
            }
            catch (CniException ex)
            {
                request.Environment.Stderr.WriteLine($"failed to release the addresses: {ex.Message}");
            }
            throw;
        }
        await release.ConfigureAwait(false);
    }
}
