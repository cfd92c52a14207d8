using System.Text.Json.Serialization;
using Cni.Netlink;
using Cni.Plugins.Common;
using Cni.Spec;

namespace Cni.Plugins.Vlan;

/// <summary>The vlan plugin's own keys in the network configuration, with the reference's names.</summary>
public sealed class VlanConfig
{
    /// <summary><c>master</c>: the interface the VLAN is created on (required).</summary>
    [JsonPropertyName("master")] public string? Master { get; set; }

    /// <summary><c>vlanId</c>: the 802.1Q VLAN id, 0..4094.</summary>
    [JsonPropertyName("vlanId")] public int VlanId { get; set; }

    /// <summary><c>mtu</c>: 0 (inherit) up to the master's MTU.</summary>
    [JsonPropertyName("mtu")] public int Mtu { get; set; }

    /// <summary><c>linkInContainer</c>: the master lives in the container namespace.</summary>
    [JsonPropertyName("linkInContainer")] public bool LinkInContainer { get; set; }
}

/// <summary>
/// The <c>vlan</c> CNI plugin: gives the container an 802.1Q VLAN sub-interface of a host interface, with addresses
/// from the IPAM plugin. ADD is a transaction (a failure leaves no link and no reservation); DEL is idempotent and
/// succeeds when the master was deleted meanwhile; CHECK names what drifted.
/// </summary>
public class VlanPlugin : SubInterfacePlugin<VlanPlugin.Settings>
{
    /// <summary>Creates the plugin.</summary>
    /// <param name="ipam">Runs the IPAM plugin (<see cref="IpamInvoker.Default"/>, always a process, when null).</param>
    /// <param name="kernel">The host's and the container's namespaces (<see cref="NetlinkSubInterfaceKernel"/> when null).</param>
    public VlanPlugin(IpamInvoker? ipam = null, ISubInterfaceKernel? kernel = null) : base(ipam, kernel)
    {
    }

    /// <inheritdoc/>
    public override PluginInfo Info { get; } = new() { About = "CNI vlan plugin (Cni.NET)" };

    /// <inheritdoc/>
    protected override string Kind => "vlan";

    /// <summary>A validated vlan configuration.</summary>
    /// <param name="Options">The raw options.</param>
    /// <param name="Master">The master; null when not looked up (DEL).</param>
    public sealed record Settings(VlanConfig Options, MasterLink? Master) : ISubInterfaceSettings
    {
        /// <inheritdoc/>
        public int Mtu => Options.Mtu;

        /// <inheritdoc/>
        /// <remarks>Always: the vlan plugin requires <c>ipam</c>.</remarks>
        public bool UsesIpam => true;
    }

    /// <summary>
    /// Reads and validates the configuration of <paramref name="request"/>: keys and, unless <paramref name="lookupMaster"/>
    /// is false (DEL), master (required), VLAN id, IPAM (required), the master's existence and the MTU against the master's.
    /// </summary>
    public override Settings LoadConf(CniRequest request, bool lookupMaster = true)
    {
        ArgumentNullException.ThrowIfNull(request);
        VlanConfig o = VlanConfigReader.Read(request.RawConfig.Span);
        if (!lookupMaster)
            return new Settings(o, null);
        if (!Ipam.IsConfigured(request))
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "the vlan plugin needs an IPAM plugin: \"ipam\" with a \"type\" is required (ipam.type)");
        if (string.IsNullOrEmpty(o.Master))
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "\"master\" field is required. It specifies the host interface name to create the VLAN for (master)");
        if (o.VlanId is < 0 or > 4094)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid VLAN ID {o.VlanId} (must be between 0 and 4094 inclusive) (vlanId)");
        MasterLink master = FindMaster(o.Master, o.LinkInContainer, request.NetNs);
        SubInterfaces.ValidateMtu(o.Mtu, master);
        return new Settings(o, master);
    }

    /// <inheritdoc/>
    protected override SubInterfaceLinkSpec LinkSpec(Settings settings, MasterLink master)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(master);
        return new VlanLinkSpec(master.Link.Index, settings.Options.VlanId) { Mtu = settings.Options.Mtu > 0 ? settings.Options.Mtu : null };
    }

    /// <inheritdoc/>
    protected override void CheckLink(Settings settings, Link link)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(link);
        if (link.VlanId != settings.Options.VlanId)
            throw new CniException(CniErrorCode.Internal, $"Error: container vlan {link.Name} has VLAN id {link.VlanId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}, configured vlanId is {settings.Options.VlanId}");
    }
}

/// <summary>An 802.1Q VLAN link to create.</summary>
/// <param name="MasterIndex">The master's index.</param>
/// <param name="VlanId">The VLAN id.</param>
public sealed record VlanLinkSpec(int MasterIndex, int VlanId) : SubInterfaceLinkSpec("vlan", MasterIndex)
{
    /// <inheritdoc/>
    public override void Create(RtNetlink netlink, string name, NetNs? ns)
    {
        ArgumentNullException.ThrowIfNull(netlink);
        netlink.AddVlan(name, MasterIndex, VlanId, new LinkOptions { Mtu = Mtu, Namespace = ns });
    }
}
