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

/// <summary>Source-generated JSON metadata for the vlan configuration (keys case-insensitive, as Go's decoder).</summary>
[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, NumberHandling = JsonNumberHandling.Strict, GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(VlanConfig))]
internal sealed partial class VlanJsonContext : JsonSerializerContext;

/// <summary>
/// The <c>vlan</c> CNI plugin: gives the container an 802.1Q VLAN sub-interface of a host interface, with addresses
/// from the IPAM plugin. ADD is a transaction (a failure leaves no link and no reservation); DEL is idempotent and
/// succeeds when the master was deleted meanwhile; CHECK names what drifted.
/// </summary>
public class VlanPlugin : CniPlugin
{
    private readonly IpamInvoker _ipam;

    /// <summary>Creates the plugin.</summary>
    /// <param name="ipam">Runs the IPAM plugin (<see cref="IpamInvoker.Default"/>, always a process, when null).</param>
    public VlanPlugin(IpamInvoker? ipam = null) => _ipam = ipam ?? IpamInvoker.Default;

    /// <inheritdoc/>
    public override PluginInfo Info { get; } = new() { About = "CNI vlan plugin (Cni.NET)" };

    /// <summary>A validated vlan configuration.</summary>
    /// <param name="Options">The raw options.</param>
    /// <param name="Master">The master; null when not looked up (DEL).</param>
    public sealed record Settings(VlanConfig Options, MasterLink? Master);

    // =====================================================================================================
    // Configuration
    // =====================================================================================================

    /// <summary>
    /// Reads and validates the configuration of <paramref name="request"/>: keys and, unless <paramref name="lookupMaster"/>
    /// is false (DEL), master (required), VLAN id, IPAM (required), the master's existence and the MTU against the master's.
    /// </summary>
    public static Settings LoadConf(CniRequest request, bool lookupMaster = true)
    {
        ArgumentNullException.ThrowIfNull(request);
        VlanConfig o = request.GetOptions<VlanConfig>(VlanJsonContext.Default);
        if (!lookupMaster)
            return new Settings(o, null);
        if (!Ipam.IsConfigured(request))
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "the vlan plugin needs an IPAM plugin: \"ipam\" with a \"type\" is required (ipam.type)");
        if (string.IsNullOrEmpty(o.Master))
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "\"master\" field is required. It specifies the host interface name to create the VLAN for (master)");
        if (o.VlanId is < 0 or > 4094)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid VLAN ID {o.VlanId} (must be between 0 and 4094 inclusive) (vlanId)");
        MasterLink master = SubInterfaces.FindMaster(o.Master, o.LinkInContainer, request.NetNs);
        SubInterfaces.ValidateMtu(o.Mtu, master);
        return new Settings(o, master);
    }

    // =====================================================================================================
    // ADD
    // =====================================================================================================

    /// <inheritdoc/>
    public override async Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
    {
        Settings conf = LoadConf(request);
        using ContainerNamespace container = ContainerNamespace.Open(request.NetNs);
        await using var tx = new AddTransaction(request.Environment.Stderr, _ipam);

        // The VLAN link, created in the container under a temporary name, then renamed to CNI_IFNAME; the addresses from
        // IPAM, alongside or after it (see IpamOrder).
        MasterLink master = conf.Master!;
        int? mtu = conf.Options.Mtu > 0 ? conf.Options.Mtu : null;
        (Link link, CniResult? ipam) = await tx.MakeLinksWithIpamAsync(request, useIpam: true, () => SubInterfaces.CreateInContainer(container, master, request.IfName, "vlan",
            (netlink, name, ns) => netlink.AddVlan(name, master.Link.Index, conf.Options.VlanId, new LinkOptions { Mtu = mtu, Namespace = ns }),
            tx), cancellationToken).ConfigureAwait(false);

        // Every address belongs to the VLAN link; configure them with the routes (this brings the link up).
        CniResult result = SubInterfaces.ConfigureResult(request, container, link, ipam!);
        tx.Commit();
        return result;
    }

    // =====================================================================================================
    // DEL
    // =====================================================================================================

    /// <inheritdoc/>
    public override Task DelAsync(CniRequest request, CancellationToken cancellationToken)
    {
        // The master is not looked up: it may have been deleted (with the VLAN link), and DEL must still release the address.
        LoadConf(request, lookupMaster: false);
        return SubInterfaces.DeleteAsync(_ipam, request, cancellationToken);
    }

    // =====================================================================================================
    // CHECK
    // =====================================================================================================

    /// <inheritdoc/>
    public override async Task CheckAsync(CniRequest request, CancellationToken cancellationToken)
    {
        Settings conf = LoadConf(request);
        using ContainerNamespace container = ContainerNamespace.Open(request.NetNs);
        await _ipam.CheckAsync(request, cancellationToken).ConfigureAwait(false);
        CniResult prev = InterfaceChecks.RequirePrevResult(request);

        Link link = SubInterfaces.Check(request, container, prev, "vlan", conf.Options.Mtu);
        if (link.VlanId != conf.Options.VlanId)
            throw new CniException(CniErrorCode.Internal, $"Error: container vlan {link.Name} has VLAN id {link.VlanId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}, configured vlanId is {conf.Options.VlanId}");
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
