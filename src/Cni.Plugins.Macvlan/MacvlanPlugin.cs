using System.Net.NetworkInformation;
using System.Text.Json.Serialization;
using Cni.Netlink;
using Cni.Plugins.Common;
using Cni.Spec;

namespace Cni.Plugins.Macvlan;

/// <summary>The macvlan plugin's own keys in the network configuration, with the reference's names.</summary>
public sealed class MacvlanConfig
{
    /// <summary><c>master</c>: the parent interface; default the interface of the default route.</summary>
    [JsonPropertyName("master")] public string? Master { get; set; }

    /// <summary><c>mode</c>: bridge (default), private, vepa or passthru.</summary>
    [JsonPropertyName("mode")] public string? Mode { get; set; }

    /// <summary><c>mtu</c>: 0 (inherit) up to the master's MTU.</summary>
    [JsonPropertyName("mtu")] public int Mtu { get; set; }

    /// <summary><c>mac</c>: the container interface's MAC (overridden by <c>CNI_ARGS</c> MAC and <c>runtimeConfig.mac</c>).</summary>
    [JsonPropertyName("mac")] public string? Mac { get; set; }

    /// <summary><c>bcqueuelen</c>: the macvlan broadcast/multicast queue length, 0..4294967295 (a u32, as the reference);
    /// 0 (the default) sends nothing and leaves the kernel default (1000).</summary>
    [JsonPropertyName("bcqueuelen")] public long BcQueueLen { get; set; }

    /// <summary><c>linkInContainer</c>: the master lives in the container namespace.</summary>
    [JsonPropertyName("linkInContainer")] public bool LinkInContainer { get; set; }
}

/// <summary>
/// The <c>macvlan</c> CNI plugin: gives the container a macvlan sub-interface of a host interface (its own MAC on the
/// master's wire), with addresses from the IPAM plugin or, without <c>ipam</c>, as an L2-only link that is just up.
/// ADD is a transaction (a failure leaves no link and no reservation); DEL is idempotent; CHECK names what drifted.
/// </summary>
public class MacvlanPlugin : SubInterfacePlugin<MacvlanPlugin.Settings>
{
    /// <summary>Creates the plugin.</summary>
    /// <param name="ipam">Runs the IPAM plugin (<see cref="IpamInvoker.Default"/>, always a process, when null).</param>
    /// <param name="kernel">The host's and the container's namespaces (<see cref="NetlinkSubInterfaceKernel"/> when null).</param>
    public MacvlanPlugin(IpamInvoker? ipam = null, ISubInterfaceKernel? kernel = null) : base(ipam, kernel)
    {
    }

    /// <inheritdoc/>
    public override PluginInfo Info { get; } = new()
    {
        About = "CNI macvlan plugin (Cni.NET)",
        ArgsKeys = [MacAddressArgs.CniArgsKey],
    };

    /// <inheritdoc/>
    protected override string Kind => "macvlan";

    /// <inheritdoc/>
    /// <remarks>As the reference, the link announces its addresses (ARP and IPv6 neighbour notifications) when it comes up.</remarks>
    protected override InterfaceConfigOptions? InterfaceOptions { get; } = new() { NdiscNotify = true };

    /// <summary>A validated macvlan configuration.</summary>
    /// <param name="Options">The raw options.</param>
    /// <param name="Mode">The macvlan mode.</param>
    /// <param name="Mac">The MAC to give the interface, if any.</param>
    /// <param name="IsLayer3">True when <c>ipam</c> names a plugin.</param>
    /// <param name="Master">The master; null when not looked up (DEL).</param>
    public sealed record Settings(MacvlanConfig Options, MacvlanMode Mode, PhysicalAddress? Mac, bool IsLayer3, MasterLink? Master) : ISubInterfaceSettings
    {
        /// <inheritdoc/>
        public int Mtu => Options.Mtu;

        /// <inheritdoc/>
        public bool UsesIpam => IsLayer3;
    }

    /// <summary>
    /// Reads and validates the configuration of <paramref name="request"/>: mode, MAC, bcqueuelen, and (unless
    /// <paramref name="lookupMaster"/> is false) the master and the MTU against the master's.
    /// </summary>
    public override Settings LoadConf(CniRequest request, bool lookupMaster = true)
    {
        ArgumentNullException.ThrowIfNull(request);
        MacvlanConfig o = MacvlanConfigReader.Read(request.RawConfig.Span);
        bool layer3 = Ipam.IsConfigured(request);
        if (!lookupMaster)
            return new Settings(o, MacvlanMode.Bridge, null, layer3, null);

        MacvlanMode mode = ParseMode(o.Mode);
        PhysicalAddress? mac = MacAddressArgs.Resolve(request);
        if (mac is null && !string.IsNullOrEmpty(o.Mac))
            mac = MacAddressArgs.Parse(o.Mac, "mac");
        if (o.BcQueueLen is < 0 or > uint.MaxValue)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid broadcast queue length {o.BcQueueLen}, must be [0, {uint.MaxValue}] (bcqueuelen)");
        MasterLink master = FindMaster(o.Master, o.LinkInContainer, request.NetNs);
        SubInterfaces.ValidateMtu(o.Mtu, master);
        return new Settings(o, mode, mac, layer3, master);
    }

    /// <summary>The kernel mode for a <c>mode</c> value; empty means bridge.</summary>
    public static MacvlanMode ParseMode(string? mode) => mode switch
    {
        null or "" or "bridge" => MacvlanMode.Bridge,
        "private" => MacvlanMode.Private,
        "vepa" => MacvlanMode.Vepa,
        "passthru" => MacvlanMode.Passthru,
        _ => throw new CniException(CniErrorCode.InvalidNetworkConfig, $"unknown macvlan mode: \"{mode}\" (mode): expected bridge, private, vepa or passthru"),
    };

    /// <summary>The <c>mode</c> value of a kernel mode.</summary>
    public static string ModeName(MacvlanMode? mode) => mode switch
    {
        MacvlanMode.Bridge => "bridge",
        MacvlanMode.Private => "private",
        MacvlanMode.Vepa => "vepa",
        MacvlanMode.Passthru => "passthru",
        MacvlanMode.Source => "source",
        _ => $"unknown ({(uint?)mode})",
    };

    /// <inheritdoc/>
    protected override SubInterfaceLinkSpec LinkSpec(Settings settings, MasterLink master)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(master);
        return new MacvlanLinkSpec(master.Link.Index, settings.Mode)
        {
            Mtu = settings.Options.Mtu > 0 ? settings.Options.Mtu : null,
            Mac = settings.Mac,
            // As the reference: bcqueuelen is sent only when above 0, so 0 keeps the kernel default.
            BroadcastQueueLength = settings.Options.BcQueueLen > 0 ? (uint)settings.Options.BcQueueLen : null,
        };
    }

    /// <inheritdoc/>
    protected override void CheckLink(Settings settings, Link link)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(link);
        // bcqueuelen is not compared, as in the reference: the queue belongs to the parent and is shared by its macvlans.
        if (link.MacvlanMode != settings.Mode)
            throw new CniException(CniErrorCode.Internal, $"container macvlan mode {ModeName(link.MacvlanMode)} does not match expected value: {ModeName(settings.Mode)}");
    }
}

/// <summary>A macvlan link to create.</summary>
/// <param name="MasterIndex">The master's index.</param>
/// <param name="Mode">The macvlan mode.</param>
public sealed record MacvlanLinkSpec(int MasterIndex, MacvlanMode Mode) : SubInterfaceLinkSpec("macvlan", MasterIndex)
{
    /// <summary>The broadcast/multicast queue length to request; null sends nothing.</summary>
    public uint? BroadcastQueueLength { get; init; }

    /// <inheritdoc/>
    public override void Create(RtNetlink netlink, string name, NetNs? ns)
    {
        ArgumentNullException.ThrowIfNull(netlink);
        netlink.AddMacvlan(name, MasterIndex, Mode, new MacvlanOptions { Mtu = Mtu, MacAddress = Mac, Namespace = ns, BroadcastQueueLength = BroadcastQueueLength });
    }
}
