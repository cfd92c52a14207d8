using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Cni.Netlink.Protocol;
using Cni.Netlink.Sockets;

namespace Cni.Netlink.Netfilter;

/// <summary>One direction of a tracked connection: addresses, layer-4 protocol number and ports (0 for protocols without ports).</summary>
/// <param name="Source">The source address.</param>
/// <param name="Destination">The destination address.</param>
/// <param name="Protocol">The IP protocol number (6 TCP, 17 UDP, 132 SCTP, ...).</param>
/// <param name="SourcePort">The source port, host order.</param>
/// <param name="DestinationPort">The destination port, host order.</param>
public sealed record ConntrackTuple(IPAddress Source, IPAddress Destination, byte Protocol, ushort SourcePort, ushort DestinationPort);

/// <summary>A conntrack table entry as the kernel dumps it: its original direction and its zone.</summary>
/// <param name="Original">The tuple of the original direction (CTA_TUPLE_ORIG).</param>
/// <param name="Zone">The conntrack zone (CTA_ZONE), 0 by default.</param>
public sealed record ConntrackFlow(ConntrackTuple Original, ushort Zone);

/// <summary>
/// The ctnetlink messages (NETLINK_NETFILTER, subsystem NFNL_SUBSYS_CTNETLINK) the plugins send, as pure encoders:
/// a dump of the conntrack table of one family and the deletion of one entry by its original tuple, the two requests
/// the reference plugins make through vishvananda/netlink's <c>ConntrackDeleteFilters</c>.
/// </summary>
public static class ConntrackMessages
{
    /// <summary>NFNL_SUBSYS_CTNETLINK &lt;&lt; 8 | IPCTNL_MSG_CT_NEW: the type of the entries a dump returns.</summary>
    public const ushort NewMessageType = (1 << 8) | 0;

    /// <summary>NFNL_SUBSYS_CTNETLINK &lt;&lt; 8 | IPCTNL_MSG_CT_GET.</summary>
    public const ushort GetMessageType = (1 << 8) | 1;

    /// <summary>NFNL_SUBSYS_CTNETLINK &lt;&lt; 8 | IPCTNL_MSG_CT_DELETE.</summary>
    public const ushort DeleteMessageType = (1 << 8) | 2;

    internal const ushort CtaTupleOrig = 1, CtaZone = 18;
    internal const ushort CtaTupleIp = 1, CtaTupleProto = 2;
    internal const ushort CtaIpV4Src = 1, CtaIpV4Dst = 2, CtaIpV6Src = 3, CtaIpV6Dst = 4;
    internal const ushort CtaProtoNum = 1, CtaProtoSrcPort = 2, CtaProtoDstPort = 3;
    internal const ushort NlaFNested = 0x8000;

    /// <summary>IPCTNL_MSG_CT_GET with NLM_F_REQUEST|NLM_F_DUMP for the entries of <paramref name="family"/> (sequence and port id 0).</summary>
    public static byte[] Dump(AddressFamily family)
    {
        using var buffer = new NetlinkBuffer(64);
        WriteDump(buffer, family);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>IPCTNL_MSG_CT_DELETE with NLM_F_REQUEST|NLM_F_ACK of the entry whose original tuple is <paramref name="tuple"/>
    /// in <paramref name="zone"/> (CTA_ZONE is sent only for a zone other than 0, as conntrack-tools does).</summary>
    public static byte[] Delete(ConntrackTuple tuple, ushort zone = 0)
    {
        using var buffer = new NetlinkBuffer(128);
        WriteDelete(buffer, tuple, zone);
        return buffer.WrittenSpan.ToArray();
    }

    internal static void WriteDump(NetlinkBuffer buffer, AddressFamily family)
    {
        var w = new NetlinkWriter(buffer, GetMessageType, NlmF.Request | NlmF.Dump);
        WriteNfGenMsg(w, FamilyByte(family));
        w.End();
    }

    internal static void WriteDelete(NetlinkBuffer buffer, ConntrackTuple tuple, ushort zone)
    {
        ArgumentNullException.ThrowIfNull(tuple);
        if (tuple.Source.AddressFamily != tuple.Destination.AddressFamily)
            throw new ArgumentException("source and destination of a tuple must be of one family", nameof(tuple));
        bool v6 = tuple.Source.AddressFamily == AddressFamily.InterNetworkV6;
        var w = new NetlinkWriter(buffer, DeleteMessageType, NlmF.Request | NlmF.Ack);
        WriteNfGenMsg(w, FamilyByte(tuple.Source.AddressFamily));
        int orig = w.BeginNested(CtaTupleOrig | NlaFNested);
        int ip = w.BeginNested(CtaTupleIp | NlaFNested);
        w.WriteAddress(v6 ? CtaIpV6Src : CtaIpV4Src, tuple.Source);
        w.WriteAddress(v6 ? CtaIpV6Dst : CtaIpV4Dst, tuple.Destination);
        w.EndNested(ip);
        int proto = w.BeginNested(CtaTupleProto | NlaFNested);
        w.WriteUInt8(CtaProtoNum, tuple.Protocol);
        if (HasPorts(tuple.Protocol))
        {
            w.WriteAttribute(CtaProtoSrcPort, BigEndian(tuple.SourcePort));
            w.WriteAttribute(CtaProtoDstPort, BigEndian(tuple.DestinationPort));
        }
        w.EndNested(proto);
        w.EndNested(orig);
        if (zone != 0)
            w.WriteAttribute(CtaZone, BigEndian(zone));
        w.End();
    }

    /// <summary>Reads one IPCTNL_MSG_CT_NEW message of a dump (header included); null when it carries no usable original tuple.</summary>
    public static ConntrackFlow? ParseFlow(ReadOnlySpan<byte> message)
    {
        if (message.Length < NlMsgHdr.Size + 4)
            return null;
        ReadOnlySpan<byte> payload = NetlinkMessageReader.Payload(message)[4..];
        ConntrackTuple? orig = null;
        ushort zone = 0;
        var attrs = new AttributeReader(payload);
        while (attrs.TryRead(out ushort type, out ReadOnlySpan<byte> value))
        {
            switch (type & 0x3fff)
            {
                case CtaTupleOrig: orig = ParseTuple(value); break;
                case CtaZone when value.Length >= 2: zone = BinaryPrimitives.ReadUInt16BigEndian(value); break;
            }
        }
        return orig is null ? null : new ConntrackFlow(orig, zone);
    }

    private static ConntrackTuple? ParseTuple(ReadOnlySpan<byte> nested)
    {
        IPAddress? src = null, dst = null;
        byte proto = 0;
        ushort sport = 0, dport = 0;
        var attrs = new AttributeReader(nested);
        while (attrs.TryRead(out ushort type, out ReadOnlySpan<byte> value))
        {
            switch (type & 0x3fff)
            {
                case CtaTupleIp:
                    var ips = new AttributeReader(value);
                    while (ips.TryRead(out ushort t, out ReadOnlySpan<byte> v))
                    {
                        switch (t & 0x3fff)
                        {
                            case CtaIpV4Src or CtaIpV6Src: src = AttributeReader.Address(v); break;
                            case CtaIpV4Dst or CtaIpV6Dst: dst = AttributeReader.Address(v); break;
                        }
                    }
                    break;
                case CtaTupleProto:
                    var ps = new AttributeReader(value);
                    while (ps.TryRead(out ushort t, out ReadOnlySpan<byte> v))
                    {
                        switch (t & 0x3fff)
                        {
                            case CtaProtoNum: proto = AttributeReader.U8(v); break;
                            case CtaProtoSrcPort when v.Length >= 2: sport = BinaryPrimitives.ReadUInt16BigEndian(v); break;
                            case CtaProtoDstPort when v.Length >= 2: dport = BinaryPrimitives.ReadUInt16BigEndian(v); break;
                        }
                    }
                    break;
            }
        }
        return src is null || dst is null ? null : new ConntrackTuple(src, dst, proto, sport, dport);
    }

    private static bool HasPorts(byte protocol) => protocol is 6 or 17 or 33 or 132 or 136;

    private static byte[] BigEndian(ushort value)
    {
        byte[] b = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(b, value);
        return b;
    }

    /// <summary>struct nfgenmsg: family, NFNETLINK_V0, res_id 0.</summary>
    private static void WriteNfGenMsg(NetlinkWriter w, byte family) => w.WriteStruct(new NfGenMsg { Family = family });

    private static byte FamilyByte(AddressFamily family) => family switch
    {
        AddressFamily.InterNetwork => AddressFamilies.Inet,
        AddressFamily.InterNetworkV6 => AddressFamilies.Inet6,
        _ => throw new ArgumentOutOfRangeException(nameof(family), family, "only IPv4 and IPv6"),
    };

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct NfGenMsg
    {
        public byte Family;
        public byte Version;
        public ushort ResId;
    }
}

/// <summary>
/// The conntrack table of one network namespace over ctnetlink (no <c>conntrack</c> process): list the entries of a
/// family, delete entries. Opened for a namespace, the socket stays bound to it and may be used from any thread.
/// </summary>
public sealed class Conntrack : IDisposable
{
    private readonly NetlinkConnection _connection;

    internal Conntrack(INetlinkTransport transport) => _connection = new NetlinkConnection(transport);

    /// <summary>Opens ctnetlink in the calling thread's network namespace.</summary>
    public static Conntrack Open() => new(new NetlinkSocket(Interop.Netlink.NETLINK_NETFILTER));

    /// <summary>Opens ctnetlink inside <paramref name="ns"/>.</summary>
    public static Conntrack Open(NetNs ns)
    {
        ArgumentNullException.ThrowIfNull(ns);
        return new Conntrack(ns.Run(() => new NetlinkSocket(Interop.Netlink.NETLINK_NETFILTER)));
    }

    /// <summary>Every entry of <paramref name="family"/> (<c>conntrack -L -f ipv4|ipv6</c>).</summary>
    public IReadOnlyList<ConntrackFlow> List(AddressFamily family)
    {
        var flows = new List<ConntrackFlow>();
        lock (_connection.Sync)
        {
            ConntrackMessages.WriteDump(_connection.BeginRequest(), family);
            _connection.Dump(flows, static m => ConntrackMessages.ParseFlow(m), ConntrackMessages.NewMessageType, new Operation("list conntrack entries"));
        }
        return flows;
    }

    /// <summary>Deletes one entry; false when it was already gone (ENOENT).</summary>
    public bool Delete(ConntrackFlow flow)
    {
        ArgumentNullException.ThrowIfNull(flow);
        lock (_connection.Sync)
        {
            ConntrackMessages.WriteDelete(_connection.BeginRequest(), flow.Original, flow.Zone);
            try
            {
                _connection.Ack(new Operation("delete conntrack entry", detail: flow.Original));
                return true;
            }
            catch (NetlinkException e) when (e.IsNotFound)
            {
                return false;
            }
        }
    }

    /// <summary>Deletes every entry of <paramref name="family"/> whose original direction is <paramref name="protocol"/> to
    /// destination port <paramref name="destinationPort"/> (what the reference does with
    /// <c>ConntrackDeleteFilters(proto, OrigDstPort)</c>); returns how many were deleted.</summary>
    public int DeleteByDestinationPort(AddressFamily family, byte protocol, ushort destinationPort)
    {
        int deleted = 0;
        foreach (ConntrackFlow flow in List(family))
        {
            if (flow.Original.Protocol == protocol && flow.Original.DestinationPort == destinationPort && Delete(flow))
                deleted++;
        }
        return deleted;
    }

    /// <inheritdoc/>
    public void Dispose() => _connection.Dispose();
}
