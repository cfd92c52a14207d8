using System.Buffers.Binary;
using Cni.Netlink.Protocol;

namespace Cni.Netlink;

/// <summary>A hierarchical token bucket qdisc (<c>tc qdisc add ... htb default N</c>).</summary>
public sealed class HtbQdiscOptions
{
    /// <summary>The minor number of the class unclassified traffic goes to (tc reads <c>default 30</c> as hex: 0x30).</summary>
    public required uint DefaultClass { get; init; }

    /// <summary>Divisor from rate to quantum (<c>r2q</c>); 10 as tc and the Go reference.</summary>
    public uint Rate2Quantum { get; init; } = 10;

    /// <summary>The HTB version tc announces; 3.</summary>
    public uint Version { get; init; } = 3;
}

/// <summary>An HTB class (<c>tc class add ... htb rate R burst B ceil C cburst CB</c>). Rates in bytes per second, buffers in scheduler ticks.</summary>
public sealed class HtbClassOptions
{
    /// <summary>The guaranteed rate; above 32 bits TCA_HTB_RATE64 carries it.</summary>
    public required ulong Rate { get; init; }

    /// <summary>The rate it may borrow up to; above 32 bits TCA_HTB_CEIL64 carries it.</summary>
    public required ulong Ceil { get; init; }

    /// <summary>The bucket at <see cref="Rate"/>, in ticks (0: the kernel's minimum).</summary>
    public uint Buffer { get; init; }

    /// <summary>The bucket at <see cref="Ceil"/>, in ticks.</summary>
    public uint Cbuffer { get; init; }

    /// <summary>Quantum; 0 lets the kernel derive it from the rate.</summary>
    public uint Quantum { get; init; }

    /// <summary>Priority of the class.</summary>
    public uint Prio { get; init; }

    /// <summary>Ticks per microsecond for the rate tables tc sends along (cells for a 1600-byte MTU, Ethernet link layer).</summary>
    public double TicksPerMicrosecond { get; init; } = PschedClock.TicksPerMicrosecond;
}

/// <summary>The global parameters of an HTB qdisc as the kernel reports them.</summary>
/// <param name="Version">The version the kernel reports (its own, 0x30011), not the one requested.</param>
/// <param name="Rate2Quantum">r2q.</param>
/// <param name="DefaultClass">Minor number of the default class.</param>
public sealed record HtbParameters(uint Version, uint Rate2Quantum, uint DefaultClass);

/// <summary>A traffic class as the kernel reports it (RTM_NEWTCLASS).</summary>
public sealed class TrafficClass
{
    /// <summary>The device.</summary>
    public int LinkIndex { get; init; }

    /// <summary>The class id (<c>1:30</c> is 0x10030).</summary>
    public uint Handle { get; init; }

    /// <summary>Its parent (a qdisc handle or a class).</summary>
    public uint Parent { get; init; }

    /// <summary>The kind ("htb", ...).</summary>
    public string Kind { get; init; } = "";

    /// <summary>HTB rate in bytes per second (TCA_HTB_RATE64 when sent), when <see cref="Kind"/> is "htb".</summary>
    public ulong Rate { get; init; }

    /// <summary>HTB ceil in bytes per second.</summary>
    public ulong Ceil { get; init; }

    /// <summary>HTB bucket at rate, in ticks.</summary>
    public uint Buffer { get; init; }

    /// <summary>HTB bucket at ceil, in ticks.</summary>
    public uint Cbuffer { get; init; }

    /// <inheritdoc/>
    public override string ToString() => $"class {Kind} {TcHandle.Format(Handle)} parent {TcHandle.Format(Parent)} rate {Rate}B/s ceil {Ceil}B/s buffer {Buffer} cbuffer {Cbuffer}";

    internal static TrafficClass Parse(ReadOnlySpan<byte> message)
    {
        TcMsg tcm = Tca.ReadHeader(message, out string kind, out ReadOnlySpan<byte> options);
        ulong rate = 0, ceil = 0;
        ulong? rate64 = null, ceil64 = null;
        uint buffer = 0, cbuffer = 0;
        if (kind == "htb")
        {
            var o = new AttributeReader(options);
            while (o.TryRead(out ushort type, out ReadOnlySpan<byte> value))
            {
                if (type == TcaHtb.Parms)
                {
                    TcHtbOpt opt = NetlinkMessageReader.ReadStruct<TcHtbOpt>(value);
                    (rate, ceil, buffer, cbuffer) = (opt.Rate.Rate, opt.Ceil.Rate, opt.Buffer, opt.Cbuffer);
                }
                else if (type == TcaHtb.Rate64 && value.Length >= 8) rate64 = BinaryPrimitives.ReadUInt64LittleEndian(value);
                else if (type == TcaHtb.Ceil64 && value.Length >= 8) ceil64 = BinaryPrimitives.ReadUInt64LittleEndian(value);
            }
        }
        return new TrafficClass
        {
            LinkIndex = tcm.Index, Handle = tcm.Handle, Parent = tcm.Parent, Kind = kind,
            Rate = rate64 ?? rate, Ceil = ceil64 ?? ceil, Buffer = buffer, Cbuffer = cbuffer,
        };
    }
}

/// <summary>One 32-bit match of a u32 filter: <c>(packet[Offset..+4] &amp; Mask) == Value</c>, in host order (sent in network order).</summary>
/// <param name="Mask">Bits compared.</param>
/// <param name="Value">Their value.</param>
/// <param name="Offset">Byte offset from the network header (16: IPv4 destination; 24: IPv6 destination).</param>
public readonly record struct U32Key(uint Mask, uint Value, int Offset)
{
    /// <summary>The keys of <c>match ip dst PREFIX</c> / <c>match ip6 dst PREFIX</c>: one per 32-bit word the prefix covers.</summary>
    public static U32Key[] DestinationKeys(System.Net.IPAddress network, int prefixLength)
    {
        ArgumentNullException.ThrowIfNull(network);
        byte[] bytes = network.GetAddressBytes();
        int offset = bytes.Length == 4 ? 16 : 24;
        var keys = new List<U32Key>();
        for (int word = 0; word < bytes.Length / 4; word++)
        {
            int bits = Math.Clamp(prefixLength - word * 32, 0, 32);
            if (bits == 0) continue;
            uint mask = bits == 32 ? uint.MaxValue : ~(uint.MaxValue >> bits);
            uint value = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(word * 4)) & mask;
            keys.Add(new U32Key(mask, value, offset + word * 4));
        }
        return [.. keys];
    }
}
