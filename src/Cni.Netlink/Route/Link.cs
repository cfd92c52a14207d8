using System.Net.NetworkInformation;
using Cni.Netlink.Protocol;

namespace Cni.Netlink;

/// <summary>An attribute the library does not interpret, kept as received (type with flag bits masked off, value bytes).</summary>
/// <param name="Type">The attribute type (NLA_F_NESTED and NLA_F_NET_BYTEORDER removed).</param>
/// <param name="Value">The raw value, without the 4-byte attribute header and padding.</param>
public sealed record NetlinkAttribute(ushort Type, byte[] Value);

/// <summary>A network interface as the kernel reports it (RTM_NEWLINK).</summary>
public sealed class Link
{
    /// <summary>Interface index in its namespace.</summary>
    public int Index { get; init; }
    /// <summary>Interface name (IFLA_IFNAME).</summary>
    public string Name { get; init; } = "";
    /// <summary>Link kind from IFLA_INFO_KIND ("bridge", "veth", "macvlan", ...), or null for physical/loopback devices.</summary>
    public string? Kind { get; init; }
    /// <summary>Kind of the master when this link is enslaved (IFLA_INFO_SLAVE_KIND, e.g. "bridge").</summary>
    public string? SlaveKind { get; init; }
    /// <summary>Device type (ARPHRD_*; 1 = Ethernet, 772 = loopback).</summary>
    public ushort DeviceType { get; init; }
    /// <summary>ifi_flags.</summary>
    public LinkFlags Flags { get; init; }
    /// <summary>Administratively up (IFF_UP).</summary>
    public bool IsUp => (Flags & LinkFlags.Up) != 0;
    /// <summary>Promiscuous mode requested on the device (IFF_PROMISC).</summary>
    public bool IsPromiscuous => (Flags & LinkFlags.Promiscuous) != 0;
    /// <summary>MTU (IFLA_MTU).</summary>
    public int Mtu { get; init; }
    /// <summary>Transmit queue length (IFLA_TXQLEN).</summary>
    public int TxQueueLength { get; init; }
    /// <summary>Hardware address (IFLA_ADDRESS).</summary>
    public PhysicalAddress? MacAddress { get; init; }
    /// <summary>Hardware broadcast address (IFLA_BROADCAST).</summary>
    public PhysicalAddress? Broadcast { get; init; }
    /// <summary>Index of the master device (bridge) when enslaved (IFLA_MASTER).</summary>
    public int? MasterIndex { get; init; }
    /// <summary>Index of the parent/peer link (IFLA_LINK): the lower device of a macvlan/vlan, the peer of a veth.
    /// When <see cref="LinkNetNsId"/> is set the index belongs to that other namespace.</summary>
    public int? ParentIndex { get; init; }
    /// <summary>Namespace id (as seen from this namespace) of the namespace <see cref="ParentIndex"/> lives in (IFLA_LINK_NETNSID).</summary>
    public int? LinkNetNsId { get; init; }
    /// <summary>Operational state (IFLA_OPERSTATE).</summary>
    public OperState OperState { get; init; }
    /// <summary>Promiscuity counter (IFLA_PROMISCUITY): greater than 0 while anyone asked for promiscuous mode.</summary>
    public int Promiscuity { get; init; }
    /// <summary>macvlan mode when <see cref="Kind"/> is "macvlan" or "macvtap".</summary>
    public MacvlanMode? MacvlanMode { get; init; }
    /// <summary>Broadcast/multicast queue length this macvlan requested (IFLA_MACVLAN_BC_QUEUE_LEN) when <see cref="Kind"/> is
    /// "macvlan" or "macvtap"; null when the kernel does not report it (before Linux 5.11).</summary>
    public uint? MacvlanBroadcastQueueLength { get; init; }
    /// <summary>Broadcast queue length in use on the lower device (IFLA_MACVLAN_BC_QUEUE_LEN_USED): the largest any macvlan
    /// on the same parent requested; null when the kernel does not report it.</summary>
    public uint? MacvlanBroadcastQueueLengthUsed { get; init; }
    /// <summary>ipvlan mode when <see cref="Kind"/> is "ipvlan".</summary>
    public IpvlanMode? IpvlanMode { get; init; }
    /// <summary>VLAN id when <see cref="Kind"/> is "vlan".</summary>
    public int? VlanId { get; init; }
    /// <summary>VLAN tag protocol when <see cref="Kind"/> is "vlan".</summary>
    public VlanProtocol? VlanProtocol { get; init; }
    /// <summary>vlan_filtering when <see cref="Kind"/> is "bridge" and the kernel reports it.</summary>
    public bool? VlanFiltering { get; init; }
    /// <summary>Bridge port state when the link is enslaved to a bridge (IFLA_INFO_SLAVE_DATA), else null.</summary>
    public BridgePortInfo? BridgePort { get; init; }
    /// <summary>Top-level attributes this library does not interpret, in the order received.</summary>
    public IReadOnlyList<NetlinkAttribute> OtherAttributes { get; init; } = [];

    /// <inheritdoc/>
    public override string ToString() => $"{Index}: {Name}{(Kind is null ? "" : " (" + Kind + ")")} mtu {Mtu} {(IsUp ? "UP" : "DOWN")} state {OperState}";

    internal static Link Parse(ReadOnlySpan<byte> message)
    {
        ReadOnlySpan<byte> payload = NetlinkMessageReader.Payload(message);
        IfInfoMsg ifi = NetlinkMessageReader.ReadStruct<IfInfoMsg>(payload);
        string name = "";
        string? kind = null, slaveKind = null;
        int mtu = 0, txq = 0, promiscuity = 0;
        int? master = null, parent = null, netnsid = null, vlanId = null;
        VlanProtocol? vlanProtocol = null;
        PhysicalAddress? mac = null, brd = null;
        OperState oper = OperState.Unknown;
        MacvlanMode? macvlanMode = null;
        uint? bcQueueLength = null, bcQueueLengthUsed = null;
        IpvlanMode? ipvlanMode = null;
        bool? vlanFiltering = null;
        BridgePortInfo? port = null;
        List<NetlinkAttribute>? other = null;

        var attrs = new AttributeReader(payload[IfInfoMsg.Size..]);
        while (attrs.TryRead(out ushort type, out ReadOnlySpan<byte> value))
        {
            switch (type)
            {
                case Ifla.IfName: name = AttributeReader.String(value); break;
                case Ifla.Mtu: mtu = (int)AttributeReader.U32(value); break;
                case Ifla.TxQLen: txq = (int)AttributeReader.U32(value); break;
                case Ifla.Address: mac = new PhysicalAddress(value.ToArray()); break;
                case Ifla.Broadcast: brd = new PhysicalAddress(value.ToArray()); break;
                case Ifla.Master: master = (int)AttributeReader.U32(value); break;
                case Ifla.Link: parent = (int)AttributeReader.U32(value); break;
                case Ifla.LinkNetNsId: netnsid = (int)AttributeReader.U32(value); break;
                case Ifla.OperState: oper = (OperState)AttributeReader.U8(value); break;
                case Ifla.Promiscuity: promiscuity = (int)AttributeReader.U32(value); break;
                case Ifla.LinkInfo:
                    ParseLinkInfo(value, ref kind, ref slaveKind, ref macvlanMode, ref bcQueueLength, ref bcQueueLengthUsed, ref ipvlanMode, ref vlanId, ref vlanProtocol, ref vlanFiltering, ref port);
                    break;
                default:
                    (other ??= []).Add(new NetlinkAttribute(type, value.ToArray()));
                    break;
            }
        }
        return new Link
        {
            Index = ifi.Index,
            Name = name,
            Kind = kind,
            SlaveKind = slaveKind,
            DeviceType = ifi.Type,
            Flags = (LinkFlags)ifi.Flags,
            Mtu = mtu,
            TxQueueLength = txq,
            MacAddress = mac,
            Broadcast = brd,
            MasterIndex = master,
            ParentIndex = parent,
            LinkNetNsId = netnsid,
            OperState = oper,
            Promiscuity = promiscuity,
            MacvlanMode = macvlanMode,
            MacvlanBroadcastQueueLength = bcQueueLength,
            MacvlanBroadcastQueueLengthUsed = bcQueueLengthUsed,
            IpvlanMode = ipvlanMode,
            VlanId = vlanId,
            VlanProtocol = vlanProtocol,
            VlanFiltering = vlanFiltering,
            BridgePort = port,
            OtherAttributes = (IReadOnlyList<NetlinkAttribute>?)other ?? [],
        };
    }

    private static void ParseLinkInfo(ReadOnlySpan<byte> linkInfo, ref string? kind, ref string? slaveKind,
        ref MacvlanMode? macvlanMode, ref uint? bcQueueLength, ref uint? bcQueueLengthUsed, ref IpvlanMode? ipvlanMode, ref int? vlanId, ref VlanProtocol? vlanProtocol, ref bool? vlanFiltering, ref BridgePortInfo? port)
    {
        ReadOnlySpan<byte> data = default, slaveData = default;
        var info = new AttributeReader(linkInfo);
        while (info.TryRead(out ushort type, out ReadOnlySpan<byte> value))
        {
            if (type == IflaInfo.Kind) kind = AttributeReader.String(value);
            else if (type == IflaInfo.SlaveKind) slaveKind = AttributeReader.String(value);
            else if (type == IflaInfo.Data) data = value;
            else if (type == IflaInfo.SlaveData) slaveData = value;
        }
        if (slaveKind == "bridge" && !slaveData.IsEmpty)
        {
            bool hairpin = false, isolated = false, learning = false;
            var p = new AttributeReader(slaveData);
            while (p.TryRead(out ushort type, out ReadOnlySpan<byte> value))
            {
                if (type == IflaBrPort.Mode) hairpin = AttributeReader.U8(value) != 0;
                else if (type == IflaBrPort.Isolated) isolated = AttributeReader.U8(value) != 0;
                else if (type == IflaBrPort.Learning) learning = AttributeReader.U8(value) != 0;
            }
            port = new BridgePortInfo(hairpin, isolated, learning);
        }
        if (data.IsEmpty) return;
        var d = new AttributeReader(data);
        while (d.TryRead(out ushort type, out ReadOnlySpan<byte> value))
        {
            switch (kind)
            {
                case "macvlan" or "macvtap" when type == IflaMacvlan.Mode: macvlanMode = (MacvlanMode)AttributeReader.U32(value); break;
                case "macvlan" or "macvtap" when type == IflaMacvlan.BcQueueLen: bcQueueLength = AttributeReader.U32(value); break;
                case "macvlan" or "macvtap" when type == IflaMacvlan.BcQueueLenUsed: bcQueueLengthUsed = AttributeReader.U32(value); break;
                case "ipvlan" or "ipvtap" when type == IflaIpvlan.Mode: ipvlanMode = (IpvlanMode)AttributeReader.U16(value); break;
                case "vlan" when type == IflaVlan.Id: vlanId = AttributeReader.U16(value); break;
                case "vlan" when type == IflaVlan.Protocol: vlanProtocol = (VlanProtocol)System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(value); break;
                case "bridge" when type == IflaBr.VlanFiltering: vlanFiltering = AttributeReader.U8(value) != 0; break;
            }
        }
    }
}

/// <summary>Settings common to every new link; each is left to the kernel's default when null.</summary>
public class LinkOptions
{
    /// <summary>MTU (IFLA_MTU).</summary>
    public int? Mtu { get; init; }
    /// <summary>MAC address (IFLA_ADDRESS).</summary>
    public PhysicalAddress? MacAddress { get; init; }
    /// <summary>Create the link directly in this namespace (IFLA_NET_NS_FD).</summary>
    public NetNs? Namespace { get; init; }
    /// <summary>Transmit queue length (IFLA_TXQLEN).</summary>
    public int? TxQueueLength { get; init; }
}

/// <summary>Options for a new bridge.</summary>
public sealed class BridgeOptions : LinkOptions
{
    /// <summary>IFLA_BR_VLAN_FILTERING; null sends nothing. Needs CONFIG_BRIDGE_VLAN_FILTERING: kernels without it answer
    /// EOPNOTSUPP (<see cref="NetlinkException.IsNotSupported"/>) even for <c>false</c>, so leave it null unless VLANs are wanted.</summary>
    public bool? VlanFiltering { get; init; }
}

/// <summary>VLAN tag protocols (IFLA_VLAN_PROTOCOL).</summary>
public enum VlanProtocol : ushort
{
    /// <summary>802.1Q (0x8100), the default.</summary>
    Dot1Q = 0x8100,
    /// <summary>802.1ad, "QinQ" service tag (0x88a8).</summary>
    Dot1AD = 0x88a8,
}

/// <summary>Options for a new 802.1Q VLAN link; pass to <see cref="RtNetlink.AddVlan"/>.</summary>
public sealed class VlanOptions : LinkOptions
{
    /// <summary>Tag protocol; the kernel's default (802.1Q) when null.</summary>
    public VlanProtocol? Protocol { get; init; }
}

/// <summary>Options for a new macvlan; pass to <see cref="RtNetlink.AddMacvlan"/>.</summary>
public sealed class MacvlanOptions : LinkOptions
{
    /// <summary>Length of the queue for broadcast/multicast frames received on the parent (IFLA_MACVLAN_BC_QUEUE_LEN,
    /// <c>bcqueuelen</c>); null leaves the kernel default (1000). The queue is shared by every macvlan of the same parent
    /// and its length is the largest any of them requested (<see cref="Link.MacvlanBroadcastQueueLengthUsed"/>);
    /// 0 asks for no queue of its own, which drops broadcasts while no other macvlan asks for more.</summary>
    public uint? BroadcastQueueLength { get; init; }
}

/// <summary>Options for a new veth pair. The base options apply to the first end.</summary>
public sealed class VethOptions : LinkOptions
{
    /// <summary>MTU of the peer end.</summary>
    public int? PeerMtu { get; init; }
    /// <summary>MAC address of the peer end.</summary>
    public PhysicalAddress? PeerMacAddress { get; init; }
    /// <summary>Create the peer end directly in this namespace (the usual CNI case: the container's namespace).</summary>
    public NetNs? PeerNamespace { get; init; }
    /// <summary>
    /// Transmit and receive queues of each end (IFLA_NUM_TX_QUEUES and IFLA_NUM_RX_QUEUES, as <c>numtxqueues N
    /// numrxqueues N</c> on both ends); null lets the kernel choose. Without them the kernel gives a veth one queue
    /// per possible CPU and then, once the pair is registered, cuts it to one: it removes the other queues' sysfs
    /// entries and waits for an RCU grace period per end, all under the RTNL lock that every other link change on
    /// the node waits for. <c>1</c> creates the same single-queue pair directly.
    /// </summary>
    public int? Queues { get; init; }
}

/// <summary>Settings of a bridge port (IFLA_BRPORT_*); null leaves a setting unchanged.</summary>
public sealed class BridgePortOptions
{
    /// <summary>Hairpin mode: frames may go back out of the port they came in on.</summary>
    public bool? Hairpin { get; init; }
    /// <summary>Isolated: the port can only talk to non-isolated ports.</summary>
    public bool? Isolated { get; init; }
    /// <summary>Learn source MACs on this port.</summary>
    public bool? Learning { get; init; }
}

/// <summary>State of a bridge port as the kernel reports it.</summary>
/// <param name="Hairpin">Hairpin mode.</param>
/// <param name="Isolated">Isolated port.</param>
/// <param name="Learning">MAC learning.</param>
public sealed record BridgePortInfo(bool Hairpin, bool Isolated, bool Learning);

/// <summary>One VLAN of a bridge port (from a bridge VLAN dump).</summary>
/// <param name="LinkIndex">The port (or the bridge itself).</param>
/// <param name="VlanId">VLAN id, 1..4094.</param>
/// <param name="IsPvid">Untagged ingress frames are assigned this VLAN.</param>
/// <param name="IsUntagged">Egress frames of this VLAN leave untagged.</param>
public sealed record BridgeVlan(int LinkIndex, int VlanId, bool IsPvid, bool IsUntagged);
