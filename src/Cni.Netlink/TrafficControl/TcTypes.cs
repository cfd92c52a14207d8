using Cni.Netlink.Protocol;

namespace Cni.Netlink;

/// <summary>Traffic-control handles (<c>major:minor</c>, 16 bits each) and the special parents.</summary>
public static class TcHandle
{
    /// <summary>TC_H_ROOT: the root of a device's egress.</summary>
    public const uint Root = 0xFFFF_FFFF;

    /// <summary>TC_H_INGRESS: the parent of the ingress qdisc.</summary>
    public const uint Ingress = 0xFFFF_FFF1;

    /// <summary>The handle of the ingress qdisc, <c>ffff:</c>.</summary>
    public const uint IngressQdisc = 0xFFFF_0000;

    /// <summary>The handle <c>major:minor</c>.</summary>
    public static uint Make(ushort major, ushort minor) => ((uint)major << 16) | minor;

    /// <summary>The handle as tc prints it (<c>1:</c>, <c>1:1</c>, <c>root</c>, <c>ingress</c>).</summary>
    public static string Format(uint handle) => handle switch
    {
        Root => "root",
        Ingress => "ingress",
        _ => (handle & 0xFFFF) == 0 ? $"{handle >> 16:x}:" : $"{handle >> 16:x}:{handle & 0xFFFF:x}",
    };
}

/// <summary>Ethernet protocol numbers a filter matches (tcm_info's low 16 bits, sent in network order).</summary>
public static class EthernetProtocol
{
    /// <summary>ETH_P_ALL: every protocol (<c>protocol all</c>).</summary>
    public const ushort All = 0x0003;

    /// <summary>ETH_P_IP.</summary>
    public const ushort IPv4 = 0x0800;

    /// <summary>ETH_P_IPV6.</summary>
    public const ushort IPv6 = 0x86DD;
}

/// <summary>
/// A token bucket filter (<c>tc qdisc add ... tbf</c>). Rates are in bytes per second, the buffer in scheduler ticks
/// (<see cref="PschedClock"/>), the limit in bytes.
/// </summary>
public sealed class TbfOptions
{
    /// <summary>The rate in bytes per second; above 32 bits TCA_TBF_RATE64 carries it.</summary>
    public required ulong Rate { get; init; }

    /// <summary>The queue limit in bytes.</summary>
    public required uint Limit { get; init; }

    /// <summary>The bucket size as the time to send it at <see cref="Rate"/>, in scheduler ticks (tc_tbf_qopt.buffer).</summary>
    public required uint Buffer { get; init; }

    /// <summary>
    /// The bucket size in bytes, sent as TCA_TBF_BURST as tc does; null sends none. With it the kernel derives the
    /// bucket from the burst and ignores <see cref="Buffer"/>, rounding it its own way; the CNI bandwidth plugin sends
    /// none so that the kernel keeps the buffer it computed.
    /// </summary>
    public uint? Burst { get; init; }

    /// <summary>
    /// When set, the rate is sent as tc sends it: an Ethernet link layer, the cell size for a 2047-byte MTU and a rate
    /// table (TCA_TBF_RTAB) computed with this many scheduler ticks per microsecond. Null sends the bare rate (link
    /// layer unaware, no table) as the Go reference plugins do; the kernel shapes the same either way.
    /// </summary>
    public double? RateTableTicksPerMicrosecond { get; init; }
}

/// <summary>The parameters of a TBF qdisc as the kernel reports them.</summary>
/// <param name="Rate">Bytes per second (TCA_TBF_RATE64 when the kernel sent it).</param>
/// <param name="Limit">Queue limit in bytes.</param>
/// <param name="Buffer">Bucket size in scheduler ticks.</param>
/// <param name="Mtu">Peak-rate bucket size in ticks (0 without a peak rate).</param>
/// <param name="LinkLayer">The rate's link layer (0 unaware, 1 Ethernet, 2 ATM).</param>
public sealed record TbfParameters(ulong Rate, uint Limit, uint Buffer, uint Mtu, byte LinkLayer);

/// <summary>A queueing discipline as the kernel reports it (RTM_NEWQDISC).</summary>
public sealed class Qdisc
{
    /// <summary>The device it is attached to.</summary>
    public int LinkIndex { get; init; }

    /// <summary>Its handle (<c>1:</c> is 0x10000).</summary>
    public uint Handle { get; init; }

    /// <summary>Its parent: <see cref="TcHandle.Root"/>, <see cref="TcHandle.Ingress"/> or a class.</summary>
    public uint Parent { get; init; }

    /// <summary>The kind: "tbf", "ingress", "htb", "noqueue", "pfifo_fast", ...</summary>
    public string Kind { get; init; } = "";

    /// <summary>The TBF parameters when <see cref="Kind"/> is "tbf".</summary>
    public TbfParameters? Tbf { get; init; }

    /// <summary>The HTB parameters when <see cref="Kind"/> is "htb".</summary>
    public HtbParameters? Htb { get; init; }

    /// <inheritdoc/>
    public override string ToString() =>
        $"qdisc {Kind} {TcHandle.Format(Handle)} dev {LinkIndex} parent {TcHandle.Format(Parent)}"
        + (Tbf is { } t ? $" rate {t.Rate}B/s limit {t.Limit}b buffer {t.Buffer}ticks" : "");

    internal static Qdisc Parse(ReadOnlySpan<byte> message)
    {
        TcMsg tcm = Tca.ReadHeader(message, out string kind, out ReadOnlySpan<byte> options);
        TbfParameters? tbf = null;
        HtbParameters? htb = null;
        if (kind == "htb")
        {
            var o = new AttributeReader(options);
            while (o.TryRead(out ushort type, out ReadOnlySpan<byte> value))
            {
                if (type == TcaHtb.Init)
                {
                    TcHtbGlob g = NetlinkMessageReader.ReadStruct<TcHtbGlob>(value);
                    htb = new HtbParameters(g.Version, g.Rate2Quantum, g.Defcls);
                }
            }
        }
        if (kind == "tbf" && !options.IsEmpty)
        {
            TcTbfQopt? qopt = null;
            ulong? rate64 = null;
            var o = new AttributeReader(options);
            while (o.TryRead(out ushort type, out ReadOnlySpan<byte> value))
            {
                if (type == TcaTbf.Parms) qopt = NetlinkMessageReader.ReadStruct<TcTbfQopt>(value);
                else if (type == TcaTbf.Rate64 && value.Length >= 8) rate64 = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(value);
            }
            if (qopt is TcTbfQopt q)
                tbf = new TbfParameters(rate64 ?? q.Rate.Rate, q.Limit, q.Buffer, q.Mtu, q.Rate.LinkLayer);
        }
        return new Qdisc { LinkIndex = tcm.Index, Handle = tcm.Handle, Parent = tcm.Parent, Kind = kind, Tbf = tbf, Htb = htb };
    }
}

/// <summary>Options for a new ifb (intermediate functional block) device.</summary>
public sealed class IfbOptions : LinkOptions
{
    /// <summary>Create it administratively up (IFF_UP in the request, as <c>ip link add ... up</c>).</summary>
    public bool Up { get; init; }
}
