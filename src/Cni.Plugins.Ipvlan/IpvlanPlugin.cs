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

/// <summary>Source-generated JSON metadata for the ipvlan configuration (keys case-insensitive, as Go's decoder).</summary>
[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, NumberHandling = JsonNumberHandling.Strict, GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(IpvlanConfig))]
internal sealed partial class IpvlanJsonContext : JsonSerializerContext;

/// <summary>
/// The <c>ipvlan</c> CNI plugin: gives the container an ipvlan sub-interface of a host interface (the master's MAC,
/// its own addresses), with addresses from the IPAM plugin or, when chained without <c>ipam</c>, the addresses of
/// <c>prevResult</c>. ADD is a transaction (a failure leaves no link and no reservation); DEL is idempotent; CHECK
/// names what drifted.
/// </summary>
public class IpvlanPlugin : CniPlugin
{
    private readonly IpamInvoker _ipam;

    /// <summary>Creates the plugin.</summary>
    /// <param name="ipam">Runs the IPAM plugin (<see cref="IpamInvoker.Default"/>, always a process, when null).</param>
    public IpvlanPlugin(IpamInvoker? ipam = null) => _ipam = ipam ?? IpamInvoker.Default;

    /// <inheritdoc/>
    public override PluginInfo Info { get; } = new() { About = "CNI ipvlan plugin (Cni.NET)" };

    /// <summary>A validated ipvlan configuration.</summary>
    /// <param name="Options">The raw options.</param>
    /// <param name="Mode">The ipvlan mode.</param>
    /// <param name="IsLayer3">True when <c>ipam</c> names a plugin (otherwise the addresses come from <c>prevResult</c>).</param>
    /// <param name="Master">The master; null when not looked up (DEL, CHECK without <c>master</c>).</param>
    public sealed record Settings(IpvlanConfig Options, IpvlanMode Mode, bool IsLayer3, MasterLink? Master);

    // =====================================================================================================
    // Configuration
    // =====================================================================================================

    /// <summary>
    /// Reads and validates the configuration of <paramref name="request"/>: mode, where the addresses come from, and
    /// (unless <paramref name="lookupMaster"/> is false) the master and the MTU against the master's.
    /// </summary>
    public static Settings LoadConf(CniRequest request, bool lookupMaster = true)
    {
        ArgumentNullException.ThrowIfNull(request);
        IpvlanConfig o = request.GetOptions<IpvlanConfig>(IpvlanJsonContext.Default);
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
        MasterLink master = SubInterfaces.FindMaster(masterName, o.LinkInContainer, request.NetNs);
        SubInterfaces.ValidateMtu(o.Mtu, master);
        return new Settings(o, mode, layer3, master);
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

    // =====================================================================================================
    // ADD
    // =====================================================================================================

    /// <inheritdoc/>
    public override async Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
    {
        Settings conf = LoadConf(request);
        using ContainerNamespace container = ContainerNamespace.Open(request.NetNs);
        await using var tx = new AddTransaction(request.Environment.Stderr, _ipam);

        // The ipvlan, created in the container under a temporary name, then renamed to CNI_IFNAME; the addresses from
        // IPAM, alongside or after it (see IpamOrder), or reused from prevResult when chained without ipam.
        MasterLink master = conf.Master!;
        int? mtu = conf.Options.Mtu > 0 ? conf.Options.Mtu : null;
        (Link link, CniResult? ipam) = await tx.MakeLinksWithIpamAsync(request, conf.IsLayer3, () => SubInterfaces.CreateInContainer(container, master, request.IfName, "ipvlan",
            (netlink, name, ns) => netlink.AddIpvlan(name, master.Link.Index, conf.Mode, IpvlanFlags.Bridge, new LinkOptions { Mtu = mtu, Namespace = ns }),
            tx), cancellationToken).ConfigureAwait(false);
        CniResult addresses = ipam ?? request.Config.PrevResult!.Clone();

        // Every address belongs to the ipvlan; configure them with the routes (this brings the link up). As the
        // reference, the link announces its addresses (ARP and IPv6 neighbour notifications) when it comes up.
        CniResult result = SubInterfaces.ConfigureResult(request, container, link, addresses, new InterfaceConfigOptions { NdiscNotify = true });
        tx.Commit();
        return result;
    }

    // =====================================================================================================
    // DEL
    // =====================================================================================================

    /// <inheritdoc/>
    public override Task DelAsync(CniRequest request, CancellationToken cancellationToken)
    {
        // The master is not looked up: it may be gone, and DEL must still succeed. Chained without ipam: nothing to release.
        LoadConf(request, lookupMaster: false);
        return SubInterfaces.DeleteAsync(_ipam, request, cancellationToken);
    }

    // =====================================================================================================
    // CHECK
    // =====================================================================================================

    /// <inheritdoc/>
    public override async Task CheckAsync(CniRequest request, CancellationToken cancellationToken)
    {
        Settings conf = LoadConf(request, lookupMaster: false);
        IpvlanMode mode = ParseMode(conf.Options.Mode);
        using ContainerNamespace container = ContainerNamespace.Open(request.NetNs);
        if (conf.IsLayer3)
            await _ipam.CheckAsync(request, cancellationToken).ConfigureAwait(false);
        CniResult prev = InterfaceChecks.RequirePrevResult(request);
        // prevResult is now this plugin's own result, so a chained master cannot be inferred from it: check a named one only.
        if (!string.IsNullOrEmpty(conf.Options.Master))
            SubInterfaces.FindMaster(conf.Options.Master, conf.Options.LinkInContainer, request.NetNs);

        Link link = SubInterfaces.Check(request, container, prev, "ipvlan", conf.Options.Mtu);
        if (link.IpvlanMode != mode)
            throw new CniException(CniErrorCode.Internal, $"Container IPVlan mode {ModeName(link.IpvlanMode)} does not match expected value: {ModeName(mode)}");
    }

    // =====================================================================================================
    // GC and STATUS (1.1.0): the only state outside the container is the IPAM plugin's, so both delegate to it.
    // =====================================================================================================

    /// <inheritdoc/>
    public override Task GcAsync(CniRequest request, CancellationToken cancellationToken) =>
        !Ipam.IsConfigured(request) ? Task.CompletedTask : _ipam.GcAsync(request, cancellationToken);

    /// <inheritdoc/>
    public override Task StatusAsync(CniRequest request, CancellationToken cancellationToken) =>
        !Ipam.IsConfigured(request) ? Task.CompletedTask : _ipam.StatusAsync(request, cancellationToken);
}
