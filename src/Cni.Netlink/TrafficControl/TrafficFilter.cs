using System.Buffers.Binary;
using Cni.Netlink.Protocol;

namespace Cni.Netlink;

/// <summary>A traffic-control filter as the kernel reports it (RTM_NEWTFILTER); u32 selectors and mirred actions are read.</summary>
public sealed class TrafficFilter
{
    /// <summary>The device.</summary>
    public int LinkIndex { get; init; }

    /// <summary>The filter handle (for u32: hash table, bucket and node; 0 for the priority's head).</summary>
    public uint Handle { get; init; }

    /// <summary>The qdisc or class it is attached to.</summary>
    public uint Parent { get; init; }

    /// <summary>The classifier kind ("u32", ...).</summary>
    public string Kind { get; init; } = "";

    /// <summary>The priority (<c>pref</c>).</summary>
    public ushort Priority { get; init; }

    /// <summary>The Ethernet protocol matched (<see cref="EthernetProtocol"/>), host order.</summary>
    public ushort Protocol { get; init; }

    /// <summary>The class matching packets go to (TCA_U32_CLASSID), if any.</summary>
    public uint? ClassId { get; init; }

    /// <summary>The u32 selector's keys, host order.</summary>
    public IReadOnlyList<U32Key> Keys { get; init; } = [];

    /// <summary>The device of the first mirred egress redirect action, if any.</summary>
    public int? RedirectIndex { get; init; }

    /// <inheritdoc/>
    public override string ToString() =>
        $"filter {Kind} parent {TcHandle.Format(Parent)} pref {Priority} protocol 0x{Protocol:x4} handle 0x{Handle:x}"
        + (ClassId is uint c ? $" flowid {TcHandle.Format(c)}" : "") + (RedirectIndex is int r ? $" redirect to {r}" : "");

    internal static TrafficFilter Parse(ReadOnlySpan<byte> message)
    {
        TcMsg tcm = Tca.ReadHeader(message, out string kind, out ReadOnlySpan<byte> options);
        uint? classId = null;
        int? redirect = null;
        var keys = new List<U32Key>();
        if (kind == "u32")
        {
            var o = new AttributeReader(options);
            while (o.TryRead(out ushort type, out ReadOnlySpan<byte> value))
            {
                if (type == TcaU32.ClassId) classId = AttributeReader.U32(value);
                else if (type == TcaU32.Sel && value.Length >= 16)
                {
                    int n = value[2];
                    for (int i = 0; i < n && 16 + 16 * (i + 1) <= value.Length; i++)
                    {
                        ReadOnlySpan<byte> k = value.Slice(16 + 16 * i, 16);
                        keys.Add(new U32Key(BinaryPrimitives.ReadUInt32BigEndian(k), BinaryPrimitives.ReadUInt32BigEndian(k[4..]), BinaryPrimitives.ReadInt32LittleEndian(k[8..])));
                    }
                }
                else if (type == TcaU32.Act) redirect ??= FirstRedirect(value);
            }
        }
        return new TrafficFilter
        {
            LinkIndex = tcm.Index, Handle = tcm.Handle, Parent = tcm.Parent, Kind = kind,
            Priority = (ushort)(tcm.Info >> 16), Protocol = BinaryPrimitives.ReverseEndianness((ushort)(tcm.Info & 0xFFFF)),
            ClassId = classId, Keys = keys, RedirectIndex = redirect,
        };
    }

    private static int? FirstRedirect(ReadOnlySpan<byte> actions)
    {
        var list = new AttributeReader(actions);
        while (list.TryRead(out _, out ReadOnlySpan<byte> action))
        {
            string kind = "";
            ReadOnlySpan<byte> opts = default;
            var a = new AttributeReader(action);
            while (a.TryRead(out ushort type, out ReadOnlySpan<byte> value))
            {
                if (type == TcaAct.Kind) kind = AttributeReader.String(value);
                else if (type == TcaAct.Options) opts = value;
            }
            if (kind != "mirred") continue;
            var m = new AttributeReader(opts);
            while (m.TryRead(out ushort type, out ReadOnlySpan<byte> value))
            {
                if (type == TcaMirred.Parms && value.Length >= 28)
                {
                    TcMirredRaw p = NetlinkMessageReader.ReadStruct<TcMirredRaw>(value);
                    if (p.EAction == TcaMirred.EgressRedirect) return (int)p.IfIndex;
                }
            }
        }
        return null;
    }
}
