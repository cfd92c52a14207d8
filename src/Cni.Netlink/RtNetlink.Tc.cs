using Cni.Netlink.Protocol;
using Cni.Netlink.Rtnl;
using Cni.Netlink.Sockets;

namespace Cni.Netlink;

// Traffic control (qdiscs, filters) and ifb devices, reading like tc.
public sealed partial class RtNetlink
{
    /// <summary>Creates an ifb device (as <c>ip link add name NAME [mtu M] [txqueuelen Q] [up] type ifb</c>).</summary>
    /// <exception cref="NetlinkException">The name is taken (<see cref="NetlinkException.IsExists"/>), or the kernel has no ifb.</exception>
    public void AddIfb(string name, IfbOptions? options = null)
    {
        ValidateName(name);
        lock (_connection.Sync)
        {
            TcRequests.AddIfb(_connection.BeginRequest(), name, options);
            _connection.Ack(new Operation("add ifb", name));
        }
    }

    /// <summary>Adds a token bucket filter (as <c>tc qdisc add dev X root handle 1: tbf ...</c>).</summary>
    /// <exception cref="NetlinkException">A qdisc is already there (<see cref="NetlinkException.IsExists"/>), or the values are refused.</exception>
    public void AddTbfQdisc(int linkIndex, TbfOptions options, uint handle = 0x1_0000, uint parent = TcHandle.Root)
    {
        ArgumentNullException.ThrowIfNull(options);
        lock (_connection.Sync)
        {
            TcRequests.AddTbf(_connection.BeginRequest(), linkIndex, handle, parent, options);
            _connection.Ack(new Operation("add tbf qdisc", index: linkIndex));
        }
    }

    /// <summary>Adds the ingress qdisc <c>ffff:</c> (as <c>tc qdisc add dev X handle ffff: ingress</c>).</summary>
    public void AddIngressQdisc(int linkIndex)
    {
        lock (_connection.Sync)
        {
            TcRequests.AddIngress(_connection.BeginRequest(), linkIndex);
            _connection.Ack(new Operation("add ingress qdisc", index: linkIndex));
        }
    }

    /// <summary>Deletes the qdisc <paramref name="handle"/> under <paramref name="parent"/> (as <c>tc qdisc del dev X root</c>,
    /// or <c>... ingress</c> for <see cref="TcHandle.Ingress"/>).</summary>
    /// <exception cref="NetlinkException">There is none (ENOENT or EINVAL, <see cref="NetlinkException.IsNotFound"/> covers ENOENT).</exception>
    public void DeleteQdisc(int linkIndex, uint handle, uint parent)
    {
        lock (_connection.Sync)
        {
            TcRequests.DeleteQdisc(_connection.BeginRequest(), linkIndex, handle, parent);
            _connection.Ack(new Operation("delete qdisc " + TcHandle.Format(parent), index: linkIndex));
        }
    }

    /// <summary>The qdiscs of one device (as <c>tc qdisc show dev X</c>), including the default ones (noqueue, pfifo_fast, mq).</summary>
    public IReadOnlyList<Qdisc> ListQdiscs(int linkIndex)
    {
        var all = new List<Qdisc>();
        lock (_connection.Sync)
        {
            TcRequests.DumpQdiscs(_connection.BeginRequest(), linkIndex);
            _connection.Dump<Qdisc>(all, static m => Qdisc.Parse(m), TcMsgType.NewQdisc, new Operation("list qdiscs", index: linkIndex));
        }
        // The kernel dumps the qdiscs of every device whatever tcm_ifindex says; tc filters too.
        return all.Where(q => q.LinkIndex == linkIndex).ToList();
    }

    /// <summary>
    /// Adds a u32 filter that matches every packet and redirects it to the egress of <paramref name="targetIndex"/> (as
    /// <c>tc filter add dev X parent P protocol all prio N u32 match u32 0 0 flowid C action mirred egress redirect dev T</c>):
    /// with the ingress qdisc as parent and an ifb as target, what arrives on X leaves through the ifb, where it can be shaped.
    /// </summary>
    public void AddU32RedirectFilter(int linkIndex, uint parent, ushort priority, uint classId, int targetIndex, ushort protocol = EthernetProtocol.All)
    {
        lock (_connection.Sync)
        {
            TcRequests.AddU32MirredRedirect(_connection.BeginRequest(), linkIndex, parent, priority, protocol, classId, targetIndex);
            _connection.Ack(new Operation("add u32 redirect filter", index: linkIndex));
        }
    }
}

// HTB qdiscs and classes, u32 classifiers.
public sealed partial class RtNetlink
{
    /// <summary>Adds an HTB qdisc (as <c>tc qdisc add dev X root handle 1: htb default N</c>).</summary>
    public void AddHtbQdisc(int linkIndex, HtbQdiscOptions options, uint handle = 0x1_0000, uint parent = TcHandle.Root)
    {
        ArgumentNullException.ThrowIfNull(options);
        lock (_connection.Sync)
        {
            HtbRequests.AddHtbQdisc(_connection.BeginRequest(), linkIndex, handle, parent, options);
            _connection.Ack(new Operation("add htb qdisc", index: linkIndex));
        }
    }

    /// <summary>Adds an HTB class (as <c>tc class add dev X parent P classid C htb rate ... ceil ...</c>).</summary>
    public void AddHtbClass(int linkIndex, uint classId, uint parent, HtbClassOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        lock (_connection.Sync)
        {
            HtbRequests.AddHtbClass(_connection.BeginRequest(), linkIndex, classId, parent, options);
            _connection.Ack(new Operation("add htb class " + TcHandle.Format(classId), index: linkIndex));
        }
    }

    /// <summary>The classes of one device (as <c>tc class show dev X</c>).</summary>
    public IReadOnlyList<TrafficClass> ListClasses(int linkIndex)
    {
        var all = new List<TrafficClass>();
        lock (_connection.Sync)
        {
            HtbRequests.DumpClasses(_connection.BeginRequest(), linkIndex);
            _connection.Dump<TrafficClass>(all, static m => TrafficClass.Parse(m), TcMsgType.NewTClass, new Operation("list classes", index: linkIndex));
        }
        return all.Where(c => c.LinkIndex == linkIndex).ToList();
    }

    /// <summary>
    /// Adds a terminal u32 filter sending what matches every key to <paramref name="classId"/> (as <c>tc filter add dev X
    /// parent P protocol PROTO prio N u32 match ip dst PREFIX flowid C</c>; see <see cref="U32Key.DestinationKeys"/>).
    /// No keys matches every packet.
    /// </summary>
    public void AddU32Filter(int linkIndex, uint parent, ushort priority, ushort protocol, uint classId, IReadOnlyList<U32Key> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count > 128) throw new ArgumentOutOfRangeException(nameof(keys), keys.Count, "at most 128 keys");
        lock (_connection.Sync)
        {
            HtbRequests.AddU32Classifier(_connection.BeginRequest(), linkIndex, parent, priority, protocol, classId, keys.ToArray());
            _connection.Ack(new Operation("add u32 filter", index: linkIndex));
        }
    }
}

// Filter dumps.
public sealed partial class RtNetlink
{
    /// <summary>The filters under <paramref name="parent"/> on one device (as <c>tc filter show dev X parent P</c>);
    /// a u32 filter also reports its hash table and priority heads, which carry no keys.</summary>
    /// <exception cref="NetlinkException">No such qdisc (EINVAL).</exception>
    public IReadOnlyList<TrafficFilter> ListFilters(int linkIndex, uint parent)
    {
        var all = new List<TrafficFilter>();
        lock (_connection.Sync)
        {
            FilterRequests.DumpFilters(_connection.BeginRequest(), linkIndex, parent);
            _connection.Dump<TrafficFilter>(all, static m => TrafficFilter.Parse(m), TcMsgType.NewTFilter, new Operation("list filters", index: linkIndex));
        }
        return all.Where(f => f.LinkIndex == linkIndex).ToList();
    }
}
