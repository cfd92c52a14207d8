namespace Cni.Plugins.Common;

/// <summary>
/// The host end of a container's veth pair (bridge, ptp): its name is derived from the attachment, so that DEL finds
/// it also without <c>CNI_NETNS</c> (the namespace already gone, or never given).
/// </summary>
public static class HostVeth
{
    /// <summary>The host-side veth name of an attachment: <c>veth</c> + 8 hex digits of SHA-512(network, container, ifname).</summary>
    /// <param name="network">The network name.</param>
    /// <param name="containerId">The container id.</param>
    /// <param name="ifName">The interface name in the container.</param>
    public static string Name(string network, string containerId, string ifName) =>
        "veth" + ManagedSha512.HexOf($"{network}\0{containerId}\0{ifName}")[..8];
}
