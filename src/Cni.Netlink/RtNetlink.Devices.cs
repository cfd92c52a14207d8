using Cni.Netlink.Protocol;
using Cni.Netlink.Rtnl;
using Cni.Netlink.Sockets;

namespace Cni.Netlink;

// Link aliases, and the link kinds of the device plugins (host-device, tap, dummy, vrf).
public sealed partial class RtNetlink
{
    /// <summary>Creates a dummy link (as <c>ip link add NAME type dummy</c>; <see cref="LinkOptions.Namespace"/> creates it there).</summary>
    /// <exception cref="NetlinkException">The name is taken (<see cref="NetlinkException.IsExists"/>), or the kernel has no dummy module
    /// (EOPNOTSUPP, or EINVAL "Unknown device type" when the module cannot be loaded).</exception>
    public void AddDummy(string name, LinkOptions? options = null)
    {
        ValidateName(name);
        lock (_connection.Sync)
        {
            DeviceRequests.AddLink(_connection.BeginRequest(), name, "dummy", null, options);
            _connection.Ack(new Operation("add dummy", name));
        }
    }

    /// <summary>Creates a VRF bound to routing table <paramref name="table"/> (as <c>ip link add NAME type vrf table TABLE</c>).</summary>
    /// <exception cref="NetlinkException">The name is taken, or the kernel has no vrf module.</exception>
    public void AddVrf(string name, uint table, LinkOptions? options = null)
    {
        ValidateName(name);
        lock (_connection.Sync)
        {
            DeviceRequests.AddLink(_connection.BeginRequest(), name, "vrf", table, options);
            _connection.Ack(new Operation("add vrf", name));
        }
    }

    /// <summary>The routing table of VRF link <paramref name="index"/>, or null when it is no VRF.</summary>
    /// <exception cref="NetlinkException">No such link (<see cref="NetlinkException.IsNotFound"/>).</exception>
    public uint? GetVrfTable(int index)
    {
        lock (_connection.Sync)
        {
            Requests.GetLinkByIndex(_connection.BeginRequest(), index);
            return _connection.Get(DeviceRequests.ParseVrfTable, NlMsgType.NewLink, new Operation("get link", index: index));
        }
    }

    /// <summary>Sets the link's alias, <c>ifalias</c> (<c>ip link set dev X alias TEXT</c>); an empty text removes it.</summary>
    public void SetAlias(int index, string alias)
    {
        ArgumentNullException.ThrowIfNull(alias);
        lock (_connection.Sync)
        {
            DeviceRequests.SetAlias(_connection.BeginRequest(), index, alias);
            _connection.Ack(new Operation("set alias", index: index, detail: alias));
        }
    }
}

/// <summary>Link details the device plugins read that <see cref="Link"/> keeps among its other attributes.</summary>
public static class LinkDeviceExtensions
{
    /// <summary>The link's alias (IFLA_IFALIAS, <c>ip link show</c>'s "alias"), or null when it has none.</summary>
    public static string? Alias(this Link link)
    {
        ArgumentNullException.ThrowIfNull(link);
        foreach (NetlinkAttribute a in link.OtherAttributes)
        {
            if (a.Type == Ifla.IfAlias)
            {
                string text = System.Text.Encoding.UTF8.GetString(a.Value).TrimEnd('\0');
                return text.Length == 0 ? null : text;
            }
        }
        return null;
    }
}

/// <summary>The requests of <c>RtNetlink.Devices.cs</c>, in the attribute order iproute2 sends.</summary>
internal static class DeviceRequests
{
    private const ushort AckFlags = NlmF.Request | NlmF.Ack;

    /// <summary>RTM_NEWLINK on <paramref name="index"/> with IFLA_IFALIAS, without the NUL (as iproute2).</summary>
    internal static void SetAlias(NetlinkBuffer buffer, int index, string alias)
    {
        var w = new NetlinkWriter(buffer, NlMsgType.NewLink, AckFlags);
        w.WriteStruct(new IfInfoMsg { Index = index });
        w.WriteString(Ifla.IfAlias, alias, nulTerminated: false);
        w.End();
    }

    private const ushort CreateFlags = NlmF.Request | NlmF.Ack | NlmF.Excl | NlmF.Create;
    private const ushort IflaVrfTable = 1;

    /// <summary>RTM_NEWLINK creating a link of <paramref name="kind"/> as iproute2 6.1 sends it: ifinfomsg, the common
    /// attributes, IFLA_IFNAME, IFLA_LINKINFO { IFLA_INFO_KIND (no NUL) [, IFLA_INFO_DATA { IFLA_VRF_TABLE }] }.</summary>
    internal static void AddLink(NetlinkBuffer buffer, string name, string kind, uint? vrfTable, LinkOptions? options)
    {
        var w = new NetlinkWriter(buffer, NlMsgType.NewLink, CreateFlags);
        w.WriteStruct(new IfInfoMsg());
        if (options?.Mtu is int mtu) w.WriteUInt32(Ifla.Mtu, (uint)mtu);
        if (options?.MacAddress is { } mac) w.WriteAttribute(Ifla.Address, mac.GetAddressBytes());
        if (options?.Namespace is { } ns) w.WriteInt32(Ifla.NetNsFd, ns.Fd);
        if (options?.TxQueueLength is int q) w.WriteUInt32(Ifla.TxQLen, (uint)q);
        w.WriteString(Ifla.IfName, name);
        int info = w.BeginNested(Ifla.LinkInfo);
        w.WriteString(IflaInfo.Kind, kind, nulTerminated: false);
        if (vrfTable is uint table)
        {
            int data = w.BeginNested(IflaInfo.Data);
            w.WriteUInt32(IflaVrfTable, table);
            w.EndNested(data);
        }
        w.EndNested(info);
        w.End();
    }

    /// <summary>(kind, IFLA_INFO_DATA) of an RTM_NEWLINK reply.</summary>
    private static string? KindAndData(ReadOnlySpan<byte> message, out ReadOnlySpan<byte> data)
    {
        ReadOnlySpan<byte> payload = NetlinkMessageReader.Payload(message);
        var attrs = new AttributeReader(payload[IfInfoMsg.Size..]);
        data = default;
        string? kind = null;
        while (attrs.TryRead(out ushort type, out ReadOnlySpan<byte> value))
        {
            if (type != Ifla.LinkInfo)
                continue;
            var info = new AttributeReader(value);
            while (info.TryRead(out ushort t, out ReadOnlySpan<byte> v))
            {
                if (t == IflaInfo.Kind) kind = AttributeReader.String(v);
                else if (t == IflaInfo.Data) data = v;
            }
        }
        return kind;
    }

    /// <summary>IFLA_VRF_TABLE of a "vrf" link in an RTM_NEWLINK reply; null for any other kind.</summary>
    internal static uint? ParseVrfTable(ReadOnlySpan<byte> message)
    {
        string? kind = KindAndData(message, out ReadOnlySpan<byte> data);
        if (kind != "vrf")
            return null;
        var d = new AttributeReader(data);
        while (d.TryRead(out ushort type, out ReadOnlySpan<byte> value))
        {
            if (type == IflaVrfTable)
                return AttributeReader.U32(value);
        }
        return 0;
    }

    private const ushort IflaTunOwner = 1, IflaTunGroup = 2, IflaTunType = 3, IflaTunPi = 4, IflaTunVnetHdr = 5, IflaTunPersist = 6, IflaTunMultiQueue = 7;

    /// <summary>The IFLA_INFO_DATA of a "tun" link in an RTM_NEWLINK reply; null for any other kind.</summary>
    internal static TunInfo? ParseTunInfo(ReadOnlySpan<byte> message)
    {
        string? kind = KindAndData(message, out ReadOnlySpan<byte> data);
        if (kind != "tun")
            return null;
        bool tap = false, mq = false, persist = false, vnet = false, pi = false;
        uint? owner = null, group = null;
        var d = new AttributeReader(data);
        while (d.TryRead(out ushort type, out ReadOnlySpan<byte> value))
        {
            switch (type)
            {
                case IflaTunOwner: owner = AttributeReader.U32(value); break;
                case IflaTunGroup: group = AttributeReader.U32(value); break;
                case IflaTunType: tap = AttributeReader.U8(value) == 2; break; // IFF_TUN 1, IFF_TAP 2
                case IflaTunPi: pi = AttributeReader.U8(value) != 0; break;
                case IflaTunVnetHdr: vnet = AttributeReader.U8(value) != 0; break;
                case IflaTunPersist: persist = AttributeReader.U8(value) != 0; break;
                case IflaTunMultiQueue: mq = AttributeReader.U8(value) != 0; break;
            }
        }
        // The kernel reports (uid_t)-1 / (gid_t)-1 when no owner / group is set.
        return new TunInfo(tap, owner == uint.MaxValue ? null : owner, group == uint.MaxValue ? null : group, mq, persist, vnet, pi);
    }
}

// tun/tap details, read back through rtnetlink.
public sealed partial class RtNetlink
{
    /// <summary>The tun/tap details of link <paramref name="index"/>, or null when it is no tun/tap link.</summary>
    /// <exception cref="NetlinkException">No such link (<see cref="NetlinkException.IsNotFound"/>).</exception>
    public TunInfo? GetTunInfo(int index)
    {
        lock (_connection.Sync)
        {
            Requests.GetLinkByIndex(_connection.BeginRequest(), index);
            return _connection.Get(DeviceRequests.ParseTunInfo, NlMsgType.NewLink, new Operation("get link", index: index));
        }
    }
}
