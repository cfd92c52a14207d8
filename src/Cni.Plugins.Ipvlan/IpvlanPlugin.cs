using System.Text.Json.Serialization;
using Cni.Netlink;
using Cni.Plugins.Common;
using Cni.Spec;

namespace Cni.Plugins.Ipvlan;

/// <summary>The ipvlan plugin's own keys in the network configuration, with the reference's names.</summary>
public sealed class IpvlanConfig
{
    /// <summary><c>master</c>: the parent interface; default the single interface of <c>prevResult</c> when chained,
    /// otherwise the interface of the default route.</summary>
    [JsonPropertyName("master")] public string? Master { get; set; }

    /// <summary><c>mode</c>: l2 (default), l3 or l3s.</summary>
    [JsonPropertyName("mode")] public string? Mode { get; set; }

    /// <summary><c>mtu</c>: 0 (inherit) up to the master's MTU.</summary>
    [JsonPropertyName("mtu")] public int Mtu { get; set; }

    /// <summary><c>linkInContainer</c>: the master lives in the container namespace.</summary>
    [JsonPropertyName("linkInContainer")] public bool LinkInContainer { get; set; }
}

/// <summary>
/// The <c>ipvlan</c> CNI plugin: gives the container an ipvlan sub-interface of a host interface (the master's MAC,
/// its own addresses), with addresses from the IPAM plugin or, when chained without <c>ipam</c>, the addresses of
/// <c>prevResult</c>. ADD is a transaction (a failure leaves no link and no reservation); DEL is idempotent; CHECK
/// names what drifted.
/// </summary>
public class IpvlanPlugin : SubInterfacePlugin<IpvlanPlugin.Settings>
{
    /// <summary>Creates the plugin.</summary>
    /// <param name="ipam">Runs the IPAM plugin (<see cref="IpamInvoker.Default"/>, always a process, when null).</param>
    /// <param name="kernel">The host's and the container's namespaces (<see cref="NetlinkSubInterfaceKernel"/> when null).</param>
    public IpvlanPlugin(IpamInvoker? ipam = null, ISubInterfaceKernel? kernel = null) : base(ipam, kernel)
    {
    }

    /// <inheritdoc/>
    public override PluginInfo Info { get; } = new() { About = "CNI ipvlan plugin (Cni.NET)" };

    /// <inheritdoc/>
    protected override string Kind => "ipvlan";

    /// <inheritdoc/>
    /// <remarks>As the reference, the link announces its addresses (ARP and IPv6 neighbour notifications) when it comes up.</remarks>
    protected override InterfaceConfigOptions? InterfaceOptions { get; } = new() { NdiscNotify = true };

    /// <summary>A validated ipvlan configuration.</summary>
    /// <param name="Options">The raw options.</param>
    /// <param name="Mode">The ipvlan mode.</param>
    /// <param name="IsLayer3">True when <c>ipam</c> names a plugin (otherwise the addresses come from <c>prevResult</c>).</param>
    /// <param name="Master">The master; null when not looked up (DEL, CHECK without <c>master</c>).</param>
    public sealed record Settings(IpvlanConfig Options, IpvlanMode Mode, bool IsLayer3, MasterLink? Master) : ISubInterfaceSettings
    {
        /// <inheritdoc/>
        public int Mtu => Options.Mtu;

        /// <inheritdoc/>
        public bool UsesIpam => IsLayer3;
    }

    /// <summary>
    /// Reads and validates the configuration of <paramref name="request"/>: mode, where the addresses come from, and
    /// (unless <paramref name="lookupMaster"/> is false) the master and the MTU against the master's.
    /// </summary>
    public override Settings LoadConf(CniRequest request, bool lookupMaster = true)
    {
        ArgumentNullException.ThrowIfNull(request);
        IpvlanConfig o = IpvlanConfigReader.Read(request.RawConfig.Span);
        bool layer3 = Ipam.IsConfigured(request);
        if (!lookupMaster)
            return new Settings(o, IpvlanMode.L2, layer3, null);

        IpvlanMode mode = ParseMode(o.Mode);
        CniResult? prev = request.Config.PrevResult;
        if (!layer3 && (prev is null || prev.Ips.Count == 0))
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "the ipvlan plugin needs addresses: configure \"ipam\" with a \"type\" (ipam.type), or chain it after a plugin whose result has addresses (prevResult)");

        string? masterName = o.Master;
        if (string.IsNullOrEmpty(masterName) && prev is not null)
        {
            // Chained: the master is the single interface the previous plugin reported.
            if (prev.Interfaces.Count != 1 || string.IsNullOrEmpty(prev.Interfaces[0].Name))
                throw new CniException(CniErrorCode.InvalidNetworkConfig, "chained master failure. PrevResult lacks a single named interface (master)");
            masterName = prev.Interfaces[0].Name;
        }
        MasterLink master = FindMaster(masterName, o.LinkInContainer, request.NetNs);
        SubInterfaces.ValidateMtu(o.Mtu, master);
        return new Settings(o, mode, layer3, master);
    }

    /// <inheritdoc/>
    /// <remarks>prevResult is now this plugin's own result, so a chained master cannot be inferred from it: a named
    /// master is checked to exist, an unnamed one is not looked for.</remarks>
    protected override Settings LoadConfForCheck(CniRequest request)
    {
        Settings keys = LoadConf(request, lookupMaster: false);
        IpvlanMode mode = ParseMode(keys.Options.Mode);
        MasterLink? master = string.IsNullOrEmpty(keys.Options.Master) ? null : FindMaster(keys.Options.Master, keys.Options.LinkInContainer, request.NetNs);
        return keys with { Mode = mode, Master = master };
    }

    /// <summary>The kernel mode for a <c>mode</c> value; empty means l2.</summary>
    public static IpvlanMode ParseMode(string? mode) => mode switch
    {
        null or "" or "l2" => IpvlanMode.L2,
        "l3" => IpvlanMode.L3,
        "l3s" => IpvlanMode.L3S,
        _ => throw new CniException(CniErrorCode.InvalidNetworkConfig, $"unknown ipvlan mode: \"{mode}\" (mode): expected l2, l3 or l3s"),
    };

    /// <summary>The <c>mode</c> value of a kernel mode.</summary>
    public static string ModeName(IpvlanMode? mode) => mode switch
    {
        IpvlanMode.L2 => "l2",
        IpvlanMode.L3 => "l3",
        IpvlanMode.L3S => "l3s",
        _ => $"unknown ({(ushort?)mode})",
    };

    /// <inheritdoc/>
    protected override SubInterfaceLinkSpec LinkSpec(Settings settings, MasterLink master)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(master);
        return new IpvlanLinkSpec(master.Link.Index, settings.Mode) { Mtu = settings.Options.Mtu > 0 ? settings.Options.Mtu : null };
    }

    /// <inheritdoc/>
    /// <remarks>Chained without <c>ipam</c>, the addresses of <c>prevResult</c> move to the ipvlan.</remarks>
    protected override CniResult? Addresses(CniRequest request, Settings settings, CniResult? ipam)
    {
        ArgumentNullException.ThrowIfNull(request);
        return ipam ?? request.Config.PrevResult!.Clone();
    }

    /// <inheritdoc/>
    protected override void CheckLink(Settings settings, Link link)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(link);
        if (link.IpvlanMode != settings.Mode)
            throw new CniException(CniErrorCode.Internal, $"Container IPVlan mode {ModeName(link.IpvlanMode)} does not match expected value: {ModeName(settings.Mode)}");
    }
}

/// <summary>An ipvlan link to create (always with the bridge flag, as the reference).</summary>
/// <param name="MasterIndex">The master's index.</param>
/// <param name="Mode">The ipvlan mode.</param>
public sealed record IpvlanLinkSpec(int MasterIndex, IpvlanMode Mode) : SubInterfaceLinkSpec("ipvlan", MasterIndex)
{
    /// <inheritdoc/>
    public override void Create(RtNetlink netlink, string name, NetNs? ns)
    {
        ArgumentNullException.ThrowIfNull(netlink);
        netlink.AddIpvlan(name, MasterIndex, Mode, IpvlanFlags.Bridge, new LinkOptions { Mtu = Mtu, Namespace = ns });
    }
}
