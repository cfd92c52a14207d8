using System.Net;
using System.Text.Json.Serialization;
using Cni.Netlink;
using Cni.Plugins.Common;
using Cni.Spec;

namespace Cni.Plugins.Vrf;

/// <summary>The vrf plugin's own keys in the network configuration, with the reference's names.</summary>
public sealed class VrfConfig
{
    /// <summary><c>vrfname</c>: the VRF (in the container) to put the interface in; created when missing.</summary>
    [JsonPropertyName("vrfname")] public string? VrfName { get; set; }

    /// <summary><c>table</c>: the routing table of the VRF (a u32); 0 picks the lowest table no VRF of the namespace uses.</summary>
    [JsonPropertyName("table")] public long Table { get; set; }
}

/// <summary>Source-generated JSON metadata for the vrf configuration (keys case-insensitive, as Go's decoder).</summary>
[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, NumberHandling = JsonNumberHandling.Strict, GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(VrfConfig))]
internal sealed partial class VrfJsonContext : JsonSerializerContext;

/// <summary>
/// The <c>vrf</c> CNI plugin (chained): puts <c>CNI_IFNAME</c>, made by an earlier plugin, into a VRF of the container
/// namespace, creating the VRF (on <c>table</c>, or the lowest free table) when it does not exist, and passes the
/// previous result through. IPv6 addresses the kernel drops when the interface changes master are added back.
/// </summary>
/// <remarks>
/// ADD is a transaction (a failure releases the interface and deletes a VRF it created). DEL releases the interface
/// and deletes the VRF once no interface is left in it; a namespace, VRF or interface that is gone is success. CHECK
/// verifies the interface is in the VRF (and, when <c>table</c> is set, the VRF's table). As the reference, spec
/// versions from 0.3.1 are supported. On a kernel without the vrf module ADD fails with a CNI error and leaves nothing behind.
/// </remarks>
public class VrfPlugin : CniPlugin
{
    private readonly IVrfKernel _kernel;

    /// <summary>Creates the plugin.</summary>
    /// <param name="kernel">The container namespaces (<see cref="NetlinkVrfKernel"/> when null).</param>
    public VrfPlugin(IVrfKernel? kernel = null) => _kernel = kernel ?? new NetlinkVrfKernel();

    /// <inheritdoc/>
    public override PluginInfo Info { get; } = new()
    {
        About = "CNI vrf plugin (Cni.NET)",
        SupportedVersions = [CniVersions.V031, CniVersions.V040, CniVersions.V100, CniVersions.V110],
    };

    /// <summary>A validated configuration.</summary>
    /// <param name="Name">The VRF's name.</param>
    /// <param name="Table">The table asked for; 0 for any free one.</param>
    public sealed record Settings(string Name, uint Table);

    /// <summary>Reads and validates the configuration of <paramref name="request"/>.</summary>
    /// <exception cref="CniException">Code 7 naming the field.</exception>
    public static Settings LoadConf(CniRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        VrfConfig o = request.GetOptions<VrfConfig>(VrfJsonContext.Default);
        if (string.IsNullOrEmpty(o.VrfName))
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "configuration is expected to have a valid vrf name (vrfname)");
        try
        {
            RtNetlink.ValidateName(o.VrfName);
        }
        catch (ArgumentException)
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid vrf name \"{o.VrfName}\" (vrfname)");
        }
        if (o.Table is < 0 or > uint.MaxValue)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid table {o.Table}, must be [0, {uint.MaxValue}] (table)");
        return new Settings(o.VrfName, (uint)o.Table);
    }

    /// <inheritdoc/>
    public override async Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
    {
        Settings conf = LoadConf(request);
        CniResult prev = request.Config.PrevResult
            ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "missing prevResult from earlier plugin (prevResult)");
        using IVrfNamespace ns = _kernel.Open(request.NetNs);
        string ifName = request.IfName;
        Link link = ns.FindLink(ifName) ?? throw new CniException(CniErrorCode.Internal, $"could not get link by name {ifName} (CNI_IFNAME)");
        if (link.MasterIndex is int m and not 0)
            throw new CniException(CniErrorCode.Internal, $"interface {ifName} has already a master set: {ns.FindLink(m)?.Name ?? m.ToString(System.Globalization.CultureInfo.InvariantCulture)}");

        await using var tx = new AddTransaction(request.Environment.Stderr);
        Link vrf = FindOrCreate(ns, conf, tx);

        // IPv6 addresses go when the interface changes master (unless net.ipv6.conf.all.keep_addr_on_down): put them back.
        IReadOnlyList<(IPAddress Address, int PrefixLength)> before = ns.Ipv6Addresses(link.Index);
        Kernel(() => ns.SetMaster(link.Index, vrf.Index), $"could not set vrf {conf.Name} as master of {ifName}");
        tx.OnRollback($"release {ifName} from vrf {conf.Name}", () =>
        {
            ns.SetNoMaster(link.Index);
            RestoreIpv6(ns, link.Index, before);
        });
        try
        {
            RestoreIpv6(ns, link.Index, before);
        }
        catch (NetlinkException ex)
        {
            throw new CniException(CniErrorCode.Internal, $"could not restore the IPv6 addresses of {ifName} in vrf {conf.Name}: {ex.Message}");
        }
        tx.Commit();
        return prev;
    }

    private static Link FindOrCreate(IVrfNamespace ns, Settings conf, AddTransaction tx)
    {
        if (ns.FindLink(conf.Name) is { } existing)
        {
            uint table = ns.VrfTable(existing.Index) ?? throw new CniException(CniErrorCode.Internal, $"Netlink {conf.Name} is not a VRF (vrfname)");
            if (conf.Table != 0 && table != conf.Table)
                throw new CniException(CniErrorCode.Internal, $"VRF {conf.Name} already exist with different routing table {table} (table)");
            return existing;
        }
        uint id = conf.Table != 0 ? conf.Table : FreeTable(ns);
        try
        {
            ns.AddVrf(conf.Name, id);
        }
        catch (NetlinkException ex)
        {
            throw ex.IsNotSupported || ex.Errno == NetlinkException.EINVAL && ex.KernelMessage?.Contains("Unknown device type", StringComparison.OrdinalIgnoreCase) == true
                ? new CniException(CniErrorCode.Internal, $"could not add VRF {conf.Name}: this kernel does not support vrf links (module missing?): {ex.Message}")
                : new CniException(CniErrorCode.Internal, $"could not add VRF {conf.Name}: {ex.Message}");
        }
        Link vrf = ns.FindLink(conf.Name) ?? throw new CniException(CniErrorCode.Internal, $"could not add VRF {conf.Name}: it did not appear");
        tx.OnRollback($"delete vrf {conf.Name}", () => ns.DeleteLink(vrf.Index));
        Kernel(() => ns.SetUp(vrf.Index), $"could not set link up for VRF {conf.Name}");
        return vrf;
    }

    /// <summary>The lowest table (from 1) no VRF of the namespace uses.</summary>
    public static uint FreeTable(IVrfNamespace ns)
    {
        ArgumentNullException.ThrowIfNull(ns);
        var taken = new HashSet<uint>();
        foreach (Link l in ns.ListLinks())
        {
            if (l.Kind == "vrf" && ns.VrfTable(l.Index) is uint t)
                taken.Add(t);
        }
        for (uint id = 1; id < uint.MaxValue; id++)
        {
            if (!taken.Contains(id))
                return id;
        }
        throw new CniException(CniErrorCode.Internal, "failed to find an available routing table id");
    }

    private static void RestoreIpv6(IVrfNamespace ns, int index, IReadOnlyList<(IPAddress Address, int PrefixLength)> before)
    {
        IReadOnlyList<(IPAddress Address, int PrefixLength)> now = ns.Ipv6Addresses(index);
        foreach ((IPAddress address, int prefix) in before)
        {
            if (now.Any(a => a.Address.Equals(address) && a.PrefixLength == prefix))
                continue;
            try
            {
                ns.AddAddress(index, address, prefix);
            }
            catch (NetlinkException ex) when (ex.IsExists)
            {
            }
        }
    }

    /// <inheritdoc/>
    public override Task DelAsync(CniRequest request, CancellationToken cancellationToken)
    {
        Settings conf = LoadConf(request);
        using IVrfNamespace? ns = _kernel.TryOpen(request.NetNs);
        if (ns?.FindLink(conf.Name) is not { } vrf)
            return Task.CompletedTask;
        if (ns.VrfTable(vrf.Index) is null)
        {
            request.Environment.Stderr.WriteLine($"vrf: {conf.Name} in the container is not a VRF; nothing to undo");
            return Task.CompletedTask;
        }
        try
        {
            if (ns.FindLink(request.IfName) is { } link && link.MasterIndex == vrf.Index)
                ns.SetNoMaster(link.Index);
            if (!ns.ListLinks().Any(l => l.MasterIndex == vrf.Index))
                ns.DeleteLink(vrf.Index);
        }
        catch (NetlinkException ex)
        {
            throw new CniException(CniErrorCode.Internal, $"failed to release {request.IfName} from vrf {conf.Name}: {ex.Message}");
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public override Task CheckAsync(CniRequest request, CancellationToken cancellationToken)
    {
        Settings conf = LoadConf(request);
        if (request.Config.PrevResult is null)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "missing prevResult from earlier plugin (prevResult)");
        using IVrfNamespace ns = _kernel.Open(request.NetNs);
        Link vrf = ns.FindLink(conf.Name) ?? throw new CniException(CniErrorCode.Internal, $"VRF {conf.Name} not found in the container");
        uint table = ns.VrfTable(vrf.Index) ?? throw new CniException(CniErrorCode.Internal, $"Netlink {conf.Name} is not a VRF");
        if (conf.Table != 0 && table != conf.Table)
            throw new CniException(CniErrorCode.Internal, $"VRF {conf.Name} has routing table {table}, configured {conf.Table}");
        if (ns.FindLink(request.IfName) is not { } link || link.MasterIndex != vrf.Index)
            throw new CniException(CniErrorCode.Internal, $"Failed to find {request.IfName} associated to vrf {conf.Name}");
        return Task.CompletedTask;
    }

    private static void Kernel(Action action, string what)
    {
        try
        {
            action();
        }
        catch (NetlinkException ex)
        {
            throw new CniException(CniErrorCode.Internal, $"{what}: {ex.Message}");
        }
    }
}
