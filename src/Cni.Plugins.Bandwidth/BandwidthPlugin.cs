using System.Globalization;
using System.Text.Json;
using Cni.Netlink;
using Cni.Plugins.Common;
using Cni.Spec;

namespace Cni.Plugins.Bandwidth;

/// <summary>
/// The <c>bandwidth</c> CNI plugin (chained): limits the rate of traffic into the container with a token bucket on the
/// host end of its veth, and out of it by redirecting what the host end receives to an ifb device shaped the same way.
/// Rates and bursts come from the configuration or <c>runtimeConfig.bandwidth</c>, in bits as the reference takes them.
/// Without subnets each direction gets a TBF with the numbers the reference computes (25 ms of latency); with
/// <c>shapedSubnets</c>/<c>unshapedSubnets</c> it gets the reference's HTB layout (<see cref="HtbLayout"/>).
/// ADD is a transaction; DEL removes the ifb (the veth's qdiscs go with the veth) and is idempotent; CHECK compares the
/// qdiscs and classes with the configuration and names what drifted. Everything goes through rtnetlink; no tc is run.
/// </summary>
public class BandwidthPlugin : CniPlugin
{
    /// <summary>Length limit and prefix of the ifb device name, as the reference derives it.</summary>
    public const int MaxIfbNameLength = 15;

    /// <summary>The prefix of ifb device names.</summary>
    public const string IfbPrefix = "bwp";

    private readonly string? _hostNetNsPath;
    private readonly double _ticksPerMicrosecond;

    /// <summary>Creates the plugin.</summary>
    /// <param name="hostNetNsPath">The namespace that holds the host ends of the veths; the calling thread's when null
    /// (what a runtime does). Tests use a private namespace.</param>
    /// <param name="ticksPerMicrosecond">The packet scheduler's clock; <see cref="PschedClock.TicksPerMicrosecond"/> when null.</param>
    public BandwidthPlugin(string? hostNetNsPath = null, double? ticksPerMicrosecond = null)
    {
        _hostNetNsPath = hostNetNsPath;
        _ticksPerMicrosecond = ticksPerMicrosecond ?? PschedClock.TicksPerMicrosecond;
    }

    /// <inheritdoc/>
    public override PluginInfo Info { get; } = new()
    {
        About = "CNI bandwidth plugin (Cni.NET)",
        SupportedVersions = [CniVersions.V030, CniVersions.V031, CniVersions.V040, CniVersions.V100, CniVersions.V110],
    };

    // =====================================================================================================
    // Configuration
    // =====================================================================================================

    /// <summary>
    /// Reads and validates the bandwidth settings of <paramref name="request"/>: the top-level keys when any is present,
    /// else <c>runtimeConfig.bandwidth</c>; null when neither is there. Rates and bursts must be non-negative integers,
    /// set together, bursts below 4 GB (in bytes); subnets must parse and not be given both ways.
    /// </summary>
    /// <exception cref="CniException">Invalid configuration (7), naming the key.</exception>
    public static BandwidthEntry? LoadConf(CniRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        BandwidthConfig conf = BandwidthConfigReader.Read(request.RawConfig.Span);
        BandwidthKeys top = conf.TopLevel;
        (BandwidthKeys? keys, string source) = top.AnyPresent ? (top, "") : (conf.RuntimeConfig?.Bandwidth, "runtimeConfig.bandwidth.");
        if (keys is null)
            return null;

        ulong ingressRate = Number(keys.IngressRate, source + "ingressRate");
        ulong ingressBurst = Number(keys.IngressBurst, source + "ingressBurst");
        ulong egressRate = Number(keys.EgressRate, source + "egressRate");
        ulong egressBurst = Number(keys.EgressBurst, source + "egressBurst");
        ValidateRateAndBurst(ingressRate, ingressBurst, source + "ingress");
        ValidateRateAndBurst(egressRate, egressBurst, source + "egress");
        List<string> unshaped = keys.UnshapedSubnets ?? [], shaped = keys.ShapedSubnets ?? [];
        if (unshaped.Count > 0 && shaped.Count > 0)
            throw Invalid($"{source}unshapedSubnets and {source}shapedSubnets cannot be both specified, one of them should be discarded");
        return new BandwidthEntry(ingressRate, ingressBurst, egressRate, egressBurst,
            Subnets(unshaped, source + "unshapedSubnets"), Subnets(shaped, source + "shapedSubnets"), source);
    }

    private static ulong Number(JsonElement? value, string key)
    {
        if (value is not JsonElement e || e.ValueKind == JsonValueKind.Null)
            return 0;
        if (e.ValueKind == JsonValueKind.Number && e.TryGetUInt64(out ulong n))
            return n;
        throw Invalid($"{key}: must be a non-negative integer number of bits, got {e.GetRawText()}");
    }

    private static void ValidateRateAndBurst(ulong rate, ulong burst, string direction)
    {
        if (burst == 0 && rate != 0)
            throw Invalid($"{direction}Burst: if rate is set, burst must also be set ({direction}Rate is {rate})");
        if (rate == 0 && burst != 0)
            throw Invalid($"{direction}Rate: if burst is set, rate must also be set ({direction}Burst is {burst})");
        if (burst / 8 >= uint.MaxValue)
            throw Invalid($"{direction}Burst: burst cannot be more than 4GB ({burst} bits)");
    }

    private static IPPrefix[] Subnets(List<string> texts, string key)
    {
        var result = new IPPrefix[texts.Count];
        for (int i = 0; i < texts.Count; i++)
        {
            if (!IPPrefix.TryParse(texts[i], out IPPrefix prefix))
                throw Invalid($"{key}[{i.ToString(CultureInfo.InvariantCulture)}]: bad subnet \"{texts[i]}\" provided, expected an address/length such as 10.0.0.0/8");
            result[i] = prefix.Network;
        }
        return result;
    }

    private static CniException Invalid(string message) => new(CniErrorCode.InvalidNetworkConfig, message);

    /// <summary>The ifb device of a container on a network: "bwp" and a hash of both, as the reference names it.</summary>
    public static string IfbName(string network, string containerId) =>
        NetfilterNames.HashWithPrefix(MaxIfbNameLength, IfbPrefix, network + containerId);

    // =====================================================================================================
    // ADD
    // =====================================================================================================

    /// <inheritdoc/>
    public override async Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
    {
        BandwidthEntry? bandwidth = LoadConf(request);
        CniResult? prev = request.Config.PrevResult;
        if (bandwidth is null || bandwidth.IsZero)
            return prev ?? new CniResult { CniVersion = request.Config.CniVersion };
        if (prev is null)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "must be called as chained plugin (prevResult missing)");

        CniResult result = prev.Clone();
        result.CniVersion = request.Config.CniVersion;
        using ContainerNamespace container = ContainerNamespace.Open(request.NetNs);
        using RtNetlink host = OpenHost();
        Link hostVeth = FindHostInterface(result, request.IfName, container, host);

        await using var tx = new AddTransaction(request.Environment.Stderr);
        bool bySubnet = UsesHtb(bandwidth);
        if (bandwidth.ShapesIngress)
        {
            // Registered once the root qdisc is ours (a root qdisc someone else put there makes the add fail, and stays).
            Try(() => Shape(host, hostVeth.Index, bandwidth.IngressRate, bandwidth.IngressBurst, bandwidth, bySubnet), $"create qdisc on {hostVeth.Name}");
            tx.OnRollback($"delete root qdisc of {hostVeth.Name}", () => DeleteQdiscIfPresent(host, hostVeth.Index, RootHandle, TcHandle.Root));
        }
        if (bandwidth.ShapesEgress)
        {
            string ifbName = IfbName(request.Config.Name, request.ContainerId);
            Try(() => host.AddIfb(ifbName, new IfbOptions { Mtu = hostVeth.Mtu, TxQueueLength = Math.Max(hostVeth.TxQueueLength, 1000), Up = true }),
                $"create ifb device {ifbName}");
            tx.OnRollback($"delete ifb {ifbName}", () => DeleteLinkIfPresent(host, ifbName));
            Link ifb = host.GetLink(ifbName);
            result.Interfaces.Add(new CniInterface { Name = ifbName, Mac = InterfaceChecks.FormatMac(ifb.MacAddress) });

            Try(() => host.AddIngressQdisc(hostVeth.Index), $"create ingress qdisc on {hostVeth.Name}");
            tx.OnRollback($"delete ingress qdisc of {hostVeth.Name}", () => DeleteQdiscIfPresent(host, hostVeth.Index, TcHandle.IngressQdisc, TcHandle.Ingress));
            Try(() => host.AddU32RedirectFilter(hostVeth.Index, TcHandle.IngressQdisc, 1, TcHandle.Make(1, 1), ifb.Index),
                $"add filter redirecting {hostVeth.Name} to {ifbName}");
            Try(() => Shape(host, ifb.Index, bandwidth.EgressRate, bandwidth.EgressBurst, bandwidth, bySubnet), $"create qdisc on {ifbName}");
        }
        tx.Commit();
        return result;
    }

    private const uint RootHandle = 0x1_0000; // 1:

    /// <summary>
    /// Shaping by subnet takes the reference's HTB layout (<see cref="HtbLayout"/>); without subnets a TBF, as the
    /// reference before 1.5 (and the numbers `tc qdisc show` prints are the same as that reference's).
    /// </summary>
    public static bool UsesHtb(BandwidthEntry bandwidth)
    {
        ArgumentNullException.ThrowIfNull(bandwidth);
        return bandwidth.UnshapedSubnets.Count > 0 || bandwidth.ShapedSubnets.Count > 0;
    }

    private void Shape(RtNetlink netlink, int linkIndex, ulong rateBits, ulong burstBits, BandwidthEntry bandwidth, bool bySubnet)
    {
        if (bySubnet)
            HtbLayout.Create(netlink, linkIndex, rateBits, burstBits, bandwidth, _ticksPerMicrosecond);
        else
            netlink.AddTbfQdisc(linkIndex, TbfMath.Tbf(rateBits, burstBits, _ticksPerMicrosecond));
    }

    internal static void DeleteQdiscIfPresent(RtNetlink netlink, int linkIndex, uint handle, uint parent)
    {
        try
        {
            netlink.DeleteQdisc(linkIndex, handle, parent);
        }
        catch (NetlinkException e) when (e.IsNotFound || e.Errno == 22 /* EINVAL: no such qdisc on older kernels */)
        {
        }
    }

    private RtNetlink OpenHost()
    {
        if (_hostNetNsPath is null)
            return RtNetlink.Open();
        using NetNs ns = NetNs.Open(_hostNetNsPath);
        return RtNetlink.Open(ns);
    }

    private static void Try(Action action, string what)
    {
        try
        {
            action();
        }
        catch (NetlinkException e)
        {
            throw new CniException(CniErrorCode.Internal, $"{what}: {e.Message}");
        }
    }

    private static void DeleteLinkIfPresent(RtNetlink host, string name)
    {
        if (host.FindLink(name) is Link link)
        {
            try
            {
                host.DeleteLink(link.Index);
            }
            catch (NetlinkException e) when (e.IsNotFound)
            {
            }
        }
    }

    /// <summary>
    /// The host end of the container interface's veth, as the reference finds it: the container interface's peer index,
    /// the link with that index in the host namespace, which must be a host interface (no sandbox) of the previous result.
    /// </summary>
    internal static Link FindHostInterface(CniResult prev, string ifName, ContainerNamespace container, RtNetlink host)
    {
        if (prev.Interfaces.Count == 0)
            throw new CniException(CniErrorCode.Internal, "no interfaces provided (prevResult.interfaces is empty)");
        Link? inner = container.Netlink.FindLink(ifName);
        if (inner is null || inner.Kind != "veth" || inner.ParentIndex is not > 0)
            throw new CniException(CniErrorCode.Internal,
                $"container interface {ifName} has no veth peer: " + (inner is null ? "no such interface" : $"it is a {inner.Kind ?? "device"} link, not a veth"));
        int peerIndex = inner.ParentIndex.Value;
        Link hostEnd = host.FindLink(peerIndex)
            ?? throw new CniException(CniErrorCode.Internal, $"veth peer with index {peerIndex} is not in host ns");
        foreach (CniInterface intf in prev.Interfaces)
        {
            if (string.IsNullOrEmpty(intf.Sandbox) && intf.Name == hostEnd.Name)
                return hostEnd;
        }
        throw new CniException(CniErrorCode.Internal, $"no veth peer of container interface found in host ns ({hostEnd.Name} is not a host interface of prevResult)");
    }

    // =====================================================================================================
    // DEL
    // =====================================================================================================

    /// <inheritdoc/>
    public override Task DelAsync(CniRequest request, CancellationToken cancellationToken)
    {
        LoadConf(request);
        // The qdiscs of the host veth go with the veth (the interface plugin deletes it); only the ifb is ours.
        string ifbName = IfbName(request.Config.Name, request.ContainerId);
        using RtNetlink host = OpenHost();
        try
        {
            DeleteLinkIfPresent(host, ifbName);
        }
        catch (NetlinkException e)
        {
            throw new CniException(CniErrorCode.Internal, $"delete ifb device {ifbName}: {e.Message}");
        }
        return Task.CompletedTask;
    }

    // =====================================================================================================
    // CHECK
    // =====================================================================================================

    /// <inheritdoc/>
    public override Task CheckAsync(CniRequest request, CancellationToken cancellationToken)
    {
        BandwidthEntry? bandwidth = LoadConf(request);
        CniResult prev = request.Config.PrevResult
            ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "must be called as a chained plugin (prevResult missing)");
        using ContainerNamespace container = ContainerNamespace.Open(request.NetNs);
        using RtNetlink host = OpenHost();
        Link hostVeth = FindHostInterface(prev, request.IfName, container, host);
        if (bandwidth is null)
            return Task.CompletedTask;
        bool bySubnet = UsesHtb(bandwidth);
        if (bandwidth.ShapesIngress)
        {
            if (bySubnet)
                HtbLayout.Check(host, hostVeth, bandwidth.IngressRate, bandwidth.IngressBurst, bandwidth, _ticksPerMicrosecond, "ingress");
            else
                CheckTbf(host, hostVeth, TbfMath.Tbf(bandwidth.IngressRate, bandwidth.IngressBurst, _ticksPerMicrosecond), "ingress");
        }
        string ifbName = IfbName(request.Config.Name, request.ContainerId);
        if (bandwidth.ShapesEgress)
        {
            Link ifb = host.FindLink(ifbName)
                ?? throw new CniException(CniErrorCode.Internal, $"get ifb device: {ifbName} not found (egress shaping)");
            if (!host.ListQdiscs(hostVeth.Index).Any(q => q.Kind == "ingress" && q.Parent == TcHandle.Ingress))
                throw new CniException(CniErrorCode.Internal, $"no ingress qdisc on {hostVeth.Name}: its traffic is not redirected to {ifbName} (egress shaping)");
            if (!host.ListFilters(hostVeth.Index, TcHandle.IngressQdisc).Any(f => f.RedirectIndex == ifb.Index))
                throw new CniException(CniErrorCode.Internal, $"no filter on {hostVeth.Name} redirects its traffic to {ifbName} (egress shaping)");
            if (bySubnet)
                HtbLayout.Check(host, ifb, bandwidth.EgressRate, bandwidth.EgressBurst, bandwidth, _ticksPerMicrosecond, "egress");
            else
                CheckTbf(host, ifb, TbfMath.Tbf(bandwidth.EgressRate, bandwidth.EgressBurst, _ticksPerMicrosecond), "egress");
        }
        return Task.CompletedTask;
    }

    private static void CheckTbf(RtNetlink host, Link link, TbfOptions expected, string direction)
    {
        Qdisc? root = host.ListQdiscs(link.Index).FirstOrDefault(q => q.Parent == TcHandle.Root);
        if (root is null || root.Kind != "tbf" || root.Tbf is not TbfParameters tbf)
            throw new CniException(CniErrorCode.Internal,
                $"Failed to find qdisc: no tbf at the root of {link.Name} ({direction} shaping){(root is null ? "" : $", found {root.Kind}")}");
        if (tbf.Rate != expected.Rate)
            throw new CniException(CniErrorCode.Internal, $"Rate doesn't match on {link.Name} ({direction}): {tbf.Rate} bytes/s, expected {expected.Rate}");
        if (tbf.Limit != expected.Limit)
            throw new CniException(CniErrorCode.Internal, $"Limit doesn't match on {link.Name} ({direction}): {tbf.Limit} bytes, expected {expected.Limit}");
        if (tbf.Buffer != expected.Buffer)
            throw new CniException(CniErrorCode.Internal, $"Buffer doesn't match on {link.Name} ({direction}): {tbf.Buffer} ticks, expected {expected.Buffer}");
    }
}
