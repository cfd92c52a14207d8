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
}
