using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Cni.Netlink.Protocol;

namespace Cni.Netlink.Rtnl;

/// <summary>
/// Builds every rtnetlink request the library sends. Attribute order and flags follow what iproute2 6.1 sends for
/// the same operation (the golden captures in tests/Cni.Netlink.Tests/Golden), so the kernel sees the same bytes.
/// </summary>
internal static class Requests
{
    private const ushort AckFlags = NlmF.Request | NlmF.Ack;
    private const ushort CreateFlags = NlmF.Request | NlmF.Ack | NlmF.Excl | NlmF.Create;

    // ---------------- links ----------------

    /// <summary>RTM_NEWLINK creating a link: common attributes, IFLA_LINK, IFLA_IFNAME, then IFLA_LINKINFO (as `ip link add`).</summary>
    private static NetlinkWriter BeginNewLink(NetlinkBuffer buffer, string name, LinkOptions? options, int parentIndex)
    {
        var w = new NetlinkWriter(buffer, NlMsgType.NewLink, CreateFlags);
        w.WriteStruct(new IfInfoMsg());
        WriteCommon(ref w, options?.Mtu, options?.MacAddress, options?.Namespace, options?.TxQueueLength);
        if (options is VethOptions { Queues: int queues }) WriteQueues(ref w, queues);
        if (parentIndex > 0) w.WriteInt32(Ifla.Link, parentIndex);
        w.WriteString(Ifla.IfName, name);
        return w;
    }

    private static void WriteCommon(ref NetlinkWriter w, int? mtu, PhysicalAddress? mac, NetNs? ns, int? txqlen)
    {
        if (mtu is int m) w.WriteUInt32(Ifla.Mtu, (uint)m);
        if (mac is not null) WriteMac(ref w, Ifla.Address, mac);
        if (ns is not null) w.WriteInt32(Ifla.NetNsFd, ns.Fd);
        if (txqlen is int q) w.WriteUInt32(Ifla.TxQLen, (uint)q);
    }

    /// <summary>IFLA_NUM_TX_QUEUES and IFLA_NUM_RX_QUEUES, in the order of <c>ip link add ... numtxqueues N numrxqueues N</c>.</summary>
    private static void WriteQueues(ref NetlinkWriter w, int queues)
    {
        w.WriteUInt32(Ifla.NumTxQueues, (uint)queues);
        w.WriteUInt32(Ifla.NumRxQueues, (uint)queues);
    }

    private static void WriteMac(ref NetlinkWriter w, ushort type, PhysicalAddress mac)
    {
        w.WriteAttribute(type, mac.GetAddressBytes());
    }

    internal static void AddBridge(NetlinkBuffer buffer, string name, BridgeOptions? options)
    {
        NetlinkWriter w = BeginNewLink(buffer, name, options, 0);
        int info = w.BeginNested(Ifla.LinkInfo);
        w.WriteString(IflaInfo.Kind, "bridge", nulTerminated: false);
        if (options?.VlanFiltering is bool vf)
        {
            int data = w.BeginNested(IflaInfo.Data);
            w.WriteUInt8(IflaBr.VlanFiltering, vf ? (byte)1 : (byte)0);
            w.EndNested(data);
        }
        w.EndNested(info);
        w.End();
    }

    internal static void AddVeth(NetlinkBuffer buffer, string name, string peerName, VethOptions? options)
    {
        NetlinkWriter w = BeginNewLink(buffer, name, options, 0);
        int info = w.BeginNested(Ifla.LinkInfo);
        w.WriteString(IflaInfo.Kind, "veth", nulTerminated: false);
        int data = w.BeginNested(IflaInfo.Data);
        int peer = w.BeginNested(IflaVeth.Peer);
        w.WriteStruct(new IfInfoMsg());
        WriteCommon(ref w, options?.PeerMtu, options?.PeerMacAddress, options?.PeerNamespace, null);
        if (options?.Queues is int queues) WriteQueues(ref w, queues);
        w.WriteString(Ifla.IfName, peerName);
        w.EndNested(peer);
        w.EndNested(data);
        w.EndNested(info);
        w.End();
    }

    internal static void AddVlan(NetlinkBuffer buffer, string name, int parentIndex, int vlanId, LinkOptions? options)
    {
        NetlinkWriter w = BeginNewLink(buffer, name, options, parentIndex);
        int info = w.BeginNested(Ifla.LinkInfo);
        w.WriteString(IflaInfo.Kind, "vlan", nulTerminated: false);
        int data = w.BeginNested(IflaInfo.Data);
        w.WriteUInt16(IflaVlan.Id, (ushort)vlanId);
        if (options is VlanOptions { Protocol: VlanProtocol protocol })
            w.WriteUInt16(IflaVlan.Protocol, BinaryPrimitives.ReverseEndianness((ushort)protocol)); // network byte order
        w.EndNested(data);
        w.EndNested(info);
        w.End();
    }

    internal static void AddMacvlan(NetlinkBuffer buffer, string name, int parentIndex, MacvlanMode mode, LinkOptions? options)
    {
        NetlinkWriter w = BeginNewLink(buffer, name, options, parentIndex);
        int info = w.BeginNested(Ifla.LinkInfo);
        w.WriteString(IflaInfo.Kind, "macvlan", nulTerminated: false);
        int data = w.BeginNested(IflaInfo.Data);
        // iproute2 adds bcqueuelen while parsing the arguments and the mode after them, so the queue length comes first.
        if (options is MacvlanOptions { BroadcastQueueLength: uint bcQueueLength })
            w.WriteUInt32(IflaMacvlan.BcQueueLen, bcQueueLength);
        w.WriteUInt32(IflaMacvlan.Mode, (uint)mode);
        w.EndNested(data);
        w.EndNested(info);
        w.End();
    }

    internal static void AddIpvlan(NetlinkBuffer buffer, string name, int parentIndex, IpvlanMode mode, IpvlanFlags flags, LinkOptions? options)
    {
        NetlinkWriter w = BeginNewLink(buffer, name, options, parentIndex);
        int info = w.BeginNested(Ifla.LinkInfo);
        w.WriteString(IflaInfo.Kind, "ipvlan", nulTerminated: false);
        int data = w.BeginNested(IflaInfo.Data);
        w.WriteUInt16(IflaIpvlan.Mode, (ushort)mode);
        w.WriteUInt16(IflaIpvlan.Flags, (ushort)flags);
        w.EndNested(data);
        w.EndNested(info);
        w.End();
    }

    /// <summary>RTM_NEWLINK on an existing link with only ifi_flags/ifi_change (up, down, promisc).</summary>
    internal static void SetFlags(NetlinkBuffer buffer, int index, uint flags, uint change)
    {
        var w = new NetlinkWriter(buffer, NlMsgType.NewLink, AckFlags);
        w.WriteStruct(new IfInfoMsg { Index = index, Flags = flags, Change = change });
        w.End();
    }

    private static NetlinkWriter BeginSetLink(NetlinkBuffer buffer, int index)
    {
        var w = new NetlinkWriter(buffer, NlMsgType.NewLink, AckFlags);
        w.WriteStruct(new IfInfoMsg { Index = index });
        return w;
    }

    internal static void SetU32(NetlinkBuffer buffer, int index, ushort attribute, uint value)
    {
        NetlinkWriter w = BeginSetLink(buffer, index);
        w.WriteUInt32(attribute, value);
        w.End();
    }

    internal static void SetMac(NetlinkBuffer buffer, int index, PhysicalAddress mac)
    {
        NetlinkWriter w = BeginSetLink(buffer, index);
        WriteMac(ref w, Ifla.Address, mac);
        w.End();
    }

    internal static void SetName(NetlinkBuffer buffer, int index, string name)
    {
        NetlinkWriter w = BeginSetLink(buffer, index);
        w.WriteString(Ifla.IfName, name);
        w.End();
    }

    internal static void SetNamespace(NetlinkBuffer buffer, int index, int nsFd, string? newName)
    {
        NetlinkWriter w = BeginSetLink(buffer, index);
        w.WriteInt32(Ifla.NetNsFd, nsFd);
        if (newName is not null) w.WriteString(Ifla.IfName, newName);
        w.End();
    }

    /// <summary>As `ip link set dev X type bridge_slave hairpin .. isolated .. learning ..`.</summary>
    internal static void SetBridgePort(NetlinkBuffer buffer, int index, BridgePortOptions options)
    {
        NetlinkWriter w = BeginSetLink(buffer, index);
        int info = w.BeginNested(Ifla.LinkInfo);
        // iproute2 names the slave kind through IFLA_INFO_KIND "bridge_slave" (rtnetlink accepts the "_slave" suffix).
        w.WriteString(IflaInfo.Kind, "bridge_slave", nulTerminated: false);
        int data = w.BeginNested(IflaInfo.SlaveData);
        if (options.Hairpin is bool h) w.WriteUInt8(IflaBrPort.Mode, h ? (byte)1 : (byte)0);
        if (options.Isolated is bool i) w.WriteUInt8(IflaBrPort.Isolated, i ? (byte)1 : (byte)0);
        if (options.Learning is bool l) w.WriteUInt8(IflaBrPort.Learning, l ? (byte)1 : (byte)0);
        w.EndNested(data);
        w.EndNested(info);
        w.End();
    }

    internal static void DeleteLink(NetlinkBuffer buffer, int index)
    {
        var w = new NetlinkWriter(buffer, NlMsgType.DelLink, AckFlags);
        w.WriteStruct(new IfInfoMsg { Index = index });
        w.End();
    }

    /// <summary>RTM_GETLINK for one link by name (as iproute2's ll_link_get).</summary>
    internal static void GetLinkByName(NetlinkBuffer buffer, string name)
    {
        var w = new NetlinkWriter(buffer, NlMsgType.GetLink, NlmF.Request);
        w.WriteStruct(new IfInfoMsg());
        w.WriteUInt32(Ifla.ExtMask, RtExtFilter.Vf | RtExtFilter.SkipStats);
        w.WriteString(Ifla.IfName, name);
        w.End();
    }

    /// <summary>RTM_GETLINK for one link by index (as iproute2's ll_index_to_name lookup).</summary>
    internal static void GetLinkByIndex(NetlinkBuffer buffer, int index)
    {
        var w = new NetlinkWriter(buffer, NlMsgType.GetLink, NlmF.Request);
        w.WriteStruct(new IfInfoMsg { Index = index });
        w.WriteUInt32(Ifla.ExtMask, RtExtFilter.Vf | RtExtFilter.SkipStats);
        w.End();
    }

    /// <summary>RTM_GETLINK dump (as `ip link show`).</summary>
    internal static void DumpLinks(NetlinkBuffer buffer)
    {
        var w = new NetlinkWriter(buffer, NlMsgType.GetLink, NlmF.Request | NlmF.Dump);
        w.WriteStruct(new IfInfoMsg { Family = AddressFamilies.Packet });
        w.WriteUInt32(Ifla.ExtMask, RtExtFilter.Vf);
        w.End();
    }

    // ---------------- bridge VLANs ----------------

    /// <summary>As `bridge vlan add|del dev X vid N [pvid] [untagged]`: RTM_SETLINK/RTM_DELLINK, AF_BRIDGE, IFLA_AF_SPEC.</summary>
    internal static void BridgeVlan(NetlinkBuffer buffer, bool add, int index, int vid, bool pvid, bool untagged)
    {
        var w = new NetlinkWriter(buffer, add ? NlMsgType.SetLink : NlMsgType.DelLink, AckFlags);
        w.WriteStruct(new IfInfoMsg { Family = AddressFamilies.Bridge, Index = index });
        int spec = w.BeginNested(Ifla.AfSpec);
        ushort flags = (ushort)((pvid ? 2 : 0) | (untagged ? 4 : 0));
        var info = new BridgeVlanInfoRaw { Flags = flags, Vid = (ushort)vid };
        w.WriteAttribute(IflaBridge.VlanInfo, MemoryMarshal.AsBytes(new ReadOnlySpan<BridgeVlanInfoRaw>(in info)));
        w.EndNested(spec);
        w.End();
    }

    /// <summary>As `bridge vlan show`: RTM_GETLINK dump, AF_BRIDGE, RTEXT_FILTER_BRVLAN.</summary>
    internal static void DumpBridgeVlans(NetlinkBuffer buffer)
    {
        var w = new NetlinkWriter(buffer, NlMsgType.GetLink, NlmF.Request | NlmF.Dump);
        w.WriteStruct(new IfInfoMsg { Family = AddressFamilies.Bridge });
        w.WriteUInt32(Ifla.ExtMask, RtExtFilter.BrVlan);
        w.End();
    }

    // ---------------- addresses ----------------

    /// <summary>As `ip addr add|del ADDR/PLEN [broadcast B] dev X [nodad|noprefixroute]`: IFA_LOCAL, IFA_BROADCAST, IFA_FLAGS (flags over 0xff only), IFA_ADDRESS.</summary>
    internal static void Address(NetlinkBuffer buffer, bool add, int index, IPAddress address, int prefixLength, AddressOptions? options)
    {
        var w = new NetlinkWriter(buffer, add ? NlMsgType.NewAddr : NlMsgType.DelAddr, add ? CreateFlags : AckFlags);
        uint flags = (uint)(options?.Flags ?? AddressFlags.None);
        w.WriteStruct(new IfAddrMsg
        {
            Family = NetlinkWriter.Family(address),
            PrefixLen = (byte)prefixLength,
            Flags = flags <= 0xff ? (byte)flags : (byte)0,
            Scope = (byte)(options?.Scope ?? RouteScope.Universe),
            Index = index,
        });
        w.WriteAddress(Ifa.Local, address);
        if (options?.Broadcast is IPAddress brd) w.WriteAddress(Ifa.Broadcast, brd);
        if (flags > 0xff) w.WriteUInt32(Ifa.Flags, flags);
        w.WriteAddress(Ifa.Address, address);
        w.End();
    }

    /// <summary>RTM_GETADDR dump (as `ip addr show`).</summary>
    internal static void DumpAddresses(NetlinkBuffer buffer, byte family)
    {
        var w = new NetlinkWriter(buffer, NlMsgType.GetAddr, NlmF.Request | NlmF.Dump);
        w.WriteStruct(new IfAddrMsg { Family = family });
        w.End();
    }

    // ---------------- neighbours ----------------

    /// <summary>As `ip neigh add|replace|del ADDR [lladdr MAC] dev X nud permanent`: NDA_DST, NDA_LLADDR.</summary>
    internal static void Neighbor(NetlinkBuffer buffer, ushort type, ushort flags, int index, IPAddress address, PhysicalAddress? mac, NeighborState state)
    {
        var w = new NetlinkWriter(buffer, type, flags);
        w.WriteStruct(new NdMsg { Family = NetlinkWriter.Family(address), Index = index, State = (ushort)state });
        w.WriteAddress(Nda.Dst, address);
        if (mac is not null) WriteMac(ref w, Nda.LlAddr, mac);
        w.End();
    }

    internal const ushort NeighborAddFlags = CreateFlags;
    internal const ushort NeighborReplaceFlags = NlmF.Request | NlmF.Ack | NlmF.Replace | NlmF.Create;
    internal const ushort NeighborDeleteFlags = AckFlags;

    /// <summary>RTM_GETNEIGH dump (as `ip neigh show`).</summary>
    internal static void DumpNeighbors(NetlinkBuffer buffer, byte family)
    {
        var w = new NetlinkWriter(buffer, NlMsgType.GetNeigh, NlmF.Request | NlmF.Dump);
        w.WriteStruct(new NdMsg { Family = family });
        w.End();
    }

    // ---------------- routes ----------------

    internal enum RouteOp { Add, Replace, Delete }

    /// <summary>As `ip route add|replace|del`: DST, GATEWAY, PREFSRC, PRIORITY, TABLE (ids over 255), OIF, METRICS{MTU, ADVMSS}.</summary>
    internal static void Route(NetlinkBuffer buffer, RouteOp op, Cni.Netlink.Route route)
    {
        AddressFamily family = route.EffectiveFamily;
        bool v6 = family == AddressFamily.InterNetworkV6;
        if (route.Destination is not null && route.Destination.AddressFamily != family)
            throw new ArgumentException("Destination and Family disagree", nameof(route));
        if (route.Gateway is not null && route.Gateway.AddressFamily != family)
            throw new ArgumentException($"gateway {route.Gateway} is not in the route's address family", nameof(route));
        int maxPrefix = v6 ? 128 : 32;
        if (route.PrefixLength < 0 || route.PrefixLength > maxPrefix)
            throw new ArgumentOutOfRangeException(nameof(route), $"prefix length {route.PrefixLength} out of range 0..{maxPrefix}");

        bool delete = op == RouteOp.Delete;
        ushort flags = op switch
        {
            RouteOp.Add => CreateFlags,
            RouteOp.Replace => NlmF.Request | NlmF.Ack | NlmF.Replace | NlmF.Create,
            _ => AckFlags,
        };
        uint table = route.Table ?? RouteTable.Main;
        RouteScope scope = route.Scope ?? (v6 ? RouteScope.Universe
            : delete ? RouteScope.Nowhere
            : route.Gateway is null ? RouteScope.Link : RouteScope.Universe);
        var w = new NetlinkWriter(buffer, delete ? NlMsgType.DelRoute : NlMsgType.NewRoute, flags);
        w.WriteStruct(new RtMsg
        {
            Family = v6 ? AddressFamilies.Inet6 : AddressFamilies.Inet,
            DstLen = (byte)route.PrefixLength,
            Table = table < 256 ? (byte)table : (byte)0,
            Protocol = route.Protocol ?? (delete ? RtProt.Unspec : RtProt.Boot),
            Scope = (byte)scope,
            Type = route.Type ?? (delete ? RtnType.Unspec : RtnType.Unicast),
        });
        // iproute2 sends no RTA_DST for the IPv4 default route but ::/0 for the IPv6 one.
        if (route.Destination is IPAddress dst && (route.PrefixLength > 0 || v6))
            w.WriteAddress(Rta.Dst, dst);
        else if (v6)
            w.WriteAddress(Rta.Dst, IPAddress.IPv6Any);
        if (route.Gateway is IPAddress gw) w.WriteAddress(Rta.Gateway, gw);
        if (route.PreferredSource is IPAddress src) w.WriteAddress(Rta.PrefSrc, src);
        if (route.Priority is uint prio) w.WriteUInt32(Rta.Priority, prio);
        if (table >= 256) w.WriteUInt32(Rta.Table, table);
        if (route.OutputLinkIndex is int oif) w.WriteInt32(Rta.Oif, oif);
        if (route.Mtu is not null || route.AdvMss is not null)
        {
            int metrics = w.BeginNested(Rta.Metrics);
            if (route.Mtu is uint mtu) w.WriteUInt32(Rtax.Mtu, mtu);
            if (route.AdvMss is uint mss) w.WriteUInt32(Rtax.AdvMss, mss);
            w.EndNested(metrics);
        }
        w.End();
    }

    /// <summary>RTM_GETROUTE dump of one family (as `ip -4|-6 route show table all`).</summary>
    internal static void DumpRoutes(NetlinkBuffer buffer, byte family)
    {
        var w = new NetlinkWriter(buffer, NlMsgType.GetRoute, NlmF.Request | NlmF.Dump);
        w.WriteStruct(new RtMsg { Family = family });
        w.End();
    }
}
