using Cni.Netlink;
using Cni.Spec;

namespace Cni.Plugins.Bandwidth;

/// <summary>
/// The shaping layout the reference uses since 1.5 when subnets are configured: an HTB qdisc with a capped class for
/// shaped traffic (1:48, the configured rate and burst, ceil twice the rate), an uncapped class (1:1, 100 GB/s) and one
/// u32 filter per subnet on the destination address that sends matching traffic to the class the default does not take.
/// </summary>
public static class HtbLayout
{
    /// <summary>Minor of the shaped class (tc's <c>1:30</c>, hex).</summary>
    public const ushort ShapedClassMinor = 48;

    /// <summary>Minor of the uncapped class.</summary>
    public const ushort UnshapedClassMinor = 1;

    /// <summary>Rate of the uncapped class, bytes per second.</summary>
    public const ulong UncappedRate = 100_000_000_000;

    private const uint QdiscHandle = 0x1_0000;

    /// <summary>The subnets that get filters and whether they are excluded from shaping (unshaped) or the only ones shaped.</summary>
    public static (IReadOnlyList<IPPrefix> Subnets, bool Exclude) Filters(BandwidthEntry bandwidth)
    {
        ArgumentNullException.ThrowIfNull(bandwidth);
        return bandwidth.UnshapedSubnets.Count > 0 ? (bandwidth.UnshapedSubnets, true) : (bandwidth.ShapedSubnets, false);
    }

    /// <summary>The minor of the class unclassified traffic goes to: the shaped one unless only listed subnets are shaped.</summary>
    public static ushort DefaultClass(IReadOnlyList<IPPrefix> subnets, bool exclude) =>
        subnets.Count == 0 || exclude ? ShapedClassMinor : UnshapedClassMinor;

    /// <summary>Builds the layout on <paramref name="linkIndex"/>: all of it, or (when a step fails) nothing; the caller
    /// removes the root qdisc (or the device) to undo it later.</summary>
    public static void Create(RtNetlink netlink, int linkIndex, ulong rateBits, ulong burstBits, BandwidthEntry bandwidth, double ticksPerMicrosecond)
    {
        ArgumentNullException.ThrowIfNull(netlink);
        (IReadOnlyList<IPPrefix> subnets, bool exclude) = Filters(bandwidth);
        netlink.AddHtbQdisc(linkIndex, new HtbQdiscOptions { DefaultClass = DefaultClass(subnets, exclude) });
        try
        {
            AddClassesAndFilters(netlink, linkIndex, rateBits, burstBits, subnets, exclude, ticksPerMicrosecond);
        }
        catch
        {
            // Half a layout would shape wrongly: the qdisc goes, and its classes and filters with it.
            BandwidthPlugin.DeleteQdiscIfPresent(netlink, linkIndex, QdiscHandle, TcHandle.Root);
            throw;
        }
    }

    private static void AddClassesAndFilters(RtNetlink netlink, int linkIndex, ulong rateBits, ulong burstBits, IReadOnlyList<IPPrefix> subnets, bool exclude, double ticksPerMicrosecond)
    {
        ulong rate = rateBits / 8;
        uint burst = (uint)(burstBits / 8);
        uint buffer = TbfMath.Buffer(rate, burst, ticksPerMicrosecond);
        netlink.AddHtbClass(linkIndex, TcHandle.Make(1, ShapedClassMinor), QdiscHandle, new HtbClassOptions
        {
            Rate = rate, Buffer = buffer, Ceil = unchecked(2 * rate), Cbuffer = buffer, TicksPerMicrosecond = ticksPerMicrosecond,
        });
        netlink.AddHtbClass(linkIndex, TcHandle.Make(1, UnshapedClassMinor), QdiscHandle, new HtbClassOptions
        {
            Rate = UncappedRate, Ceil = UncappedRate, TicksPerMicrosecond = ticksPerMicrosecond,
        });
        uint target = TcHandle.Make(1, exclude ? UnshapedClassMinor : ShapedClassMinor);
        foreach (IPPrefix subnet in subnets)
        {
            bool v4 = subnet.Family == System.Net.Sockets.AddressFamily.InterNetwork;
            // One priority per protocol: the kernel refuses two protocols under one priority.
            netlink.AddU32Filter(linkIndex, QdiscHandle, v4 ? (ushort)16 : (ushort)15, v4 ? EthernetProtocol.IPv4 : EthernetProtocol.IPv6, target,
                U32Key.DestinationKeys(subnet.Address, subnet.PrefixLength));
        }
    }

    /// <summary>Verifies the layout on <paramref name="link"/> as the reference's CHECK does (the filters are not compared, as there).</summary>
    public static void Check(RtNetlink netlink, Link link, ulong rateBits, ulong burstBits, BandwidthEntry bandwidth, double ticksPerMicrosecond, string direction)
    {
        ArgumentNullException.ThrowIfNull(netlink);
        ArgumentNullException.ThrowIfNull(link);
        (IReadOnlyList<IPPrefix> subnets, bool exclude) = Filters(bandwidth);
        List<Qdisc> htbs = netlink.ListQdiscs(link.Index).Where(q => q.Kind == "htb").ToList();
        if (htbs.Count == 0)
            throw Fail($"Failed to find qdisc: no htb qdisc on {link.Name} ({direction} shaping)");
        if (htbs.Count > 1)
            throw Fail($"Several htb qdisc found for device {link.Name}");
        Qdisc htb = htbs[0];
        uint defcls = DefaultClass(subnets, exclude);
        if (htb.Htb?.DefaultClass != defcls)
            throw Fail($"Default class does not match on {link.Name} ({direction}): {htb.Htb?.DefaultClass}, expected {defcls}");
        List<TrafficClass> classes = netlink.ListClasses(link.Index).Where(c => (c.Handle & 0xFFFF_0000) == htb.Handle).ToList();
        if (classes.Count != 2)
            throw Fail($"Number of htb classes does not match for device {link.Name} ({classes.Count} != 2)");
        ulong rate = rateBits / 8;
        uint buffer = TbfMath.Buffer(rate, (uint)(burstBits / 8), ticksPerMicrosecond);
        // The reference compares each class's full handle with the default's minor number, so its rate check never runs;
        // here the shaped class (1:48) is held to the configured rate and burst, the other to the uncapped rate.
        foreach (TrafficClass c in classes)
        {
            if (c.Kind != "htb")
                throw Fail($"Unexpected class for parent htb qdisc bound to device {link.Name}");
        }
        TrafficClass shaped = classes.FirstOrDefault(c => c.Handle == TcHandle.Make(1, ShapedClassMinor))
            ?? throw Fail($"no shaped class 1:{ShapedClassMinor:x} on {link.Name} ({direction})");
        TrafficClass uncapped = classes.FirstOrDefault(c => c.Handle == TcHandle.Make(1, UnshapedClassMinor))
            ?? throw Fail($"no uncapped class 1:{UnshapedClassMinor:x} on {link.Name} ({direction})");
        if (shaped.Rate != rate)
            throw Fail($"Rate does not match for the shaped class 1:30 for device {link.Name} ({direction}): {shaped.Rate} != {rate}");
        if (shaped.Buffer != buffer)
            throw Fail($"Burst buffer size does not match for the shaped class 1:30 for device {link.Name} ({direction}): {shaped.Buffer} != {buffer}");
        if (uncapped.Rate != UncappedRate)
            throw Fail($"Rate does not match for the uncapped class for device {link.Name} ({direction}): {uncapped.Rate} != {UncappedRate}");
    }

    private static CniException Fail(string message) => new(CniErrorCode.Internal, message);
}
