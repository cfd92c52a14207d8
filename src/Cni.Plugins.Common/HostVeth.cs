namespace Cni.Plugins.Common;

/// <summary>
/// The host end of a container's veth pair (bridge, ptp): its name is derived from the attachment, so that DEL finds
/// it also without <c>CNI_NETNS</c> (the namespace already gone, or never given).
/// </summary>
public static class HostVeth
{
    /// <summary>The host-side veth name of an attachment: <c>veth</c> + 11 hex digits (the whole 15 characters a name may
    /// have: 44 bits) of SHA-512(network, container, ifname).</summary>
    /// <param name="network">The network name.</param>
    /// <param name="containerId">The container id.</param>
    /// <param name="ifName">The interface name in the container.</param>
    public static string Name(string network, string containerId, string ifName) =>
        "veth" + ManagedSha512.HexOf($"{network}\0{containerId}\0{ifName}")[..11];

    /// <summary>A random host-side veth name, for when the derived one is taken: <c>veth</c> + 11 random hex digits.</summary>
    public static string Random() =>
        "veth" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6))[..11];
}
