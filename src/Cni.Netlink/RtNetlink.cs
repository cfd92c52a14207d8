using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Cni.Netlink.Protocol;
using Cni.Netlink.Rtnl;
using Cni.Netlink.Sockets;

namespace Cni.Netlink;

/// <summary>
/// rtnetlink for one network namespace, reading like iproute2: links, addresses, routes, bridge ports and VLANs.
/// </summary>
/// <remarks>
/// Opened for a namespace (<see cref="Open(NetNs)"/>), the socket stays bound to it and the object can be used
/// from any thread; requests are serialised. Calls are synchronous: a netlink round trip takes microseconds.
/// Failures the kernel reports throw <see cref="NetlinkException"/> (check <see cref="NetlinkException.IsExists"/>,
/// <see cref="NetlinkException.IsNotFound"/>, <see cref="NetlinkException.IsBusy"/>, <see cref="NetlinkException.IsNotSupported"/>).
/// </remarks>
public sealed partial class RtNetlink : IDisposable
{
    private readonly NetlinkConnection _connection;

    internal RtNetlink(INetlinkTransport transport) => _connection = new NetlinkConnection(transport);

    /// <summary>Opens rtnetlink in the calling thread's network namespace.</summary>
    public static RtNetlink Open() => new(new NetlinkSocket());

    /// <summary>Opens rtnetlink inside <paramref name="ns"/> (the socket is created there on a dedicated thread and stays bound to it).</summary>
    public static RtNetlink Open(NetNs ns)
    {
        ArgumentNullException.ThrowIfNull(ns);
        return new RtNetlink(ns.Run(() => new NetlinkSocket()));
    }

    // =====================================================================
    // Links: queries
    // =====================================================================

    /// <summary>The link called <paramref name="name"/>.</summary>
    /// <exception cref="NetlinkException">No such link (<see cref="NetlinkException.IsNotFound"/>).</exception>
    public Link GetLink(string name)
    {
        ValidateName(name);
        lock (_connection.Sync)
        {
            Requests.GetLinkByName(_connection.BeginRequest(), name);
            return _connection.Get(Link.Parse, NlMsgType.NewLink, new Operation("get link", name));
        }
    }

    /// <summary>The link with index <paramref name="index"/>.</summary>
    /// <exception cref="NetlinkException">No such link (<see cref="NetlinkException.IsNotFound"/>).</exception>
    public Link GetLink(int index)
    {
        lock (_connection.Sync)
        {
            Requests.GetLinkByIndex(_connection.BeginRequest(), index);
            return _connection.Get(Link.Parse, NlMsgType.NewLink, new Operation("get link", index: index));
        }
    }

    /// <summary>The link called <paramref name="name"/>, or null when there is none.</summary>
    public Link? FindLink(string name)
    {
        try
        {
            return GetLink(name);
        }
        catch (NetlinkException e) when (e.IsNotFound)
        {
            return null;
        }
    }

    /// <summary>The link with index <paramref name="index"/>, or null when there is none.</summary>
    public Link? FindLink(int index)
    {
        try
        {
            return GetLink(index);
        }
        catch (NetlinkException e) when (e.IsNotFound)
        {
            return null;
        }
    }

    /// <summary>Every link in the namespace (one dump).</summary>
    public IReadOnlyList<Link> ListLinks()
    {
        var links = new List<Link>();
        lock (_connection.Sync)
        {
            Requests.DumpLinks(_connection.BeginRequest());
            _connection.Dump<Link>(links, static m => Link.Parse(m), NlMsgType.NewLink, new Operation("list links"));
        }
        return links;
    }

    /// <summary>
    /// Polls the link until its operational state is <paramref name="state"/> or <paramref name="timeout"/> passes.
    /// </summary>
    /// <returns>The link in the wanted state.</returns>
    /// <exception cref="TimeoutException">The state was not reached in time; the message names the last state seen.</exception>
    public Link WaitForOperState(int index, OperState state, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        int delay = 1;
        while (true)
        {
            Link link = GetLink(index);
            if (link.OperState == state) return link;
            if (Environment.TickCount64 >= deadline)
                throw new TimeoutException($"link {link.Name} (index {index}) is {link.OperState}, not {state}, after {timeout.TotalMilliseconds:0} ms");
            cancellationToken.WaitHandle.WaitOne(delay);
            cancellationToken.ThrowIfCancellationRequested();
            delay = Math.Min(delay * 2, 50);
        }
    }

    // =====================================================================
    // Links: create
    // =====================================================================

    /// <summary>Creates a bridge (as <c>ip link add NAME [mtu] [address] type bridge [vlan_filtering 0|1]</c>).</summary>
    /// <exception cref="NetlinkException">The name is taken (<see cref="NetlinkException.IsExists"/>), or vlan_filtering is not supported.</exception>
    public void AddBridge(string name, BridgeOptions? options = null)
    {
        ValidateName(name);
        lock (_connection.Sync)
        {
            Requests.AddBridge(_connection.BeginRequest(), name, options);
            _connection.Ack(new Operation("add bridge", name));
        }
    }

    /// <summary>
    /// Creates a veth pair <paramref name="name"/> / <paramref name="peerName"/> (as <c>ip link add NAME type veth peer name PEER</c>).
    /// With <see cref="VethOptions.PeerNamespace"/> the peer is created directly in that namespace.
    /// </summary>
    public void AddVeth(string name, string peerName, VethOptions? options = null)
    {
        ValidateName(name);
        ValidateName(peerName);
        if (options?.Queues is int queues)
            ArgumentOutOfRangeException.ThrowIfLessThan(queues, 1, nameof(options));
        lock (_connection.Sync)
        {
            Requests.AddVeth(_connection.BeginRequest(), name, peerName, options);
            _connection.Ack(new Operation("add veth", name));
        }
    }

    /// <summary>Creates an 802.1Q VLAN link on <paramref name="parentIndex"/> (as <c>ip link add link PARENT name NAME type vlan id ID [protocol P]</c>).
    /// Pass <see cref="VlanOptions"/> as <paramref name="options"/> to choose the tag protocol.</summary>
    /// <exception cref="NetlinkException"><see cref="NetlinkException.IsNotSupported"/> when the kernel has no 8021q module.</exception>
    public void AddVlan(string name, int parentIndex, int vlanId, LinkOptions? options = null)
    {
        ValidateName(name);
        if (vlanId is < 0 or > 4094) throw new ArgumentOutOfRangeException(nameof(vlanId), vlanId, "VLAN id must be 0..4094");
        lock (_connection.Sync)
        {
            Requests.AddVlan(_connection.BeginRequest(), name, parentIndex, vlanId, options);
            _connection.Ack(new Operation("add vlan", name));
        }
    }

    /// <summary>Creates a macvlan on <paramref name="parentIndex"/> (as <c>ip link add link PARENT name NAME [netns NS] type macvlan mode MODE [bcqueuelen N]</c>).
    /// Pass <see cref="MacvlanOptions"/> as <paramref name="options"/> to request a broadcast queue length.</summary>
    /// <remarks>Kernels before 5.11 do not know IFLA_MACVLAN_BC_QUEUE_LEN and ignore it without an error; the created link's
    /// <see cref="Link.MacvlanBroadcastQueueLength"/> is then null.</remarks>
    public void AddMacvlan(string name, int parentIndex, MacvlanMode mode, LinkOptions? options = null)
    {
        ValidateName(name);
        lock (_connection.Sync)
        {
            Requests.AddMacvlan(_connection.BeginRequest(), name, parentIndex, mode, options);
            _connection.Ack(new Operation("add macvlan", name));
        }
    }

    /// <summary>Creates an ipvlan on <paramref name="parentIndex"/> (as <c>ip link add link PARENT name NAME type ipvlan mode MODE</c>).</summary>
    /// <exception cref="NetlinkException"><see cref="NetlinkException.IsNotSupported"/> when the kernel has no ipvlan module.</exception>
    public void AddIpvlan(string name, int parentIndex, IpvlanMode mode, IpvlanFlags flags = IpvlanFlags.Bridge, LinkOptions? options = null)
    {
        ValidateName(name);
        lock (_connection.Sync)
        {
            Requests.AddIpvlan(_connection.BeginRequest(), name, parentIndex, mode, flags, options);
            _connection.Ack(new Operation("add ipvlan", name));
        }
    }

    // =====================================================================
    // Links: change and delete
    // =====================================================================

    /// <summary>Sets the link administratively up (<c>ip link set dev X up</c>).</summary>
    public void SetLinkUp(int index) => SetFlags(index, Iff.Up, Iff.Up, "set up");

    /// <summary>Sets the link administratively down (<c>ip link set dev X down</c>).</summary>
    public void SetLinkDown(int index) => SetFlags(index, 0, Iff.Up, "set down");

    /// <summary>Switches promiscuous mode on or off (<c>ip link set dev X promisc on|off</c>).</summary>
    public void SetPromiscuous(int index, bool on) => SetFlags(index, on ? Iff.Promisc : 0, Iff.Promisc, "set promisc");

    /// <summary>Switches all-multicast mode on or off (<c>ip link set dev X allmulticast on|off</c>).</summary>
    public void SetAllMulticast(int index, bool on) => SetFlags(index, on ? Iff.AllMulti : 0, Iff.AllMulti, "set allmulticast");

    /// <summary>Enslaves the link to <paramref name="masterIndex"/>, e.g. a bridge (<c>ip link set dev X master BR</c>).</summary>
    public void SetMaster(int index, int masterIndex) => SetU32(index, Ifla.Master, (uint)masterIndex, "set master");

    /// <summary>Releases the link from its master (<c>ip link set dev X nomaster</c>).</summary>
    public void SetNoMaster(int index) => SetU32(index, Ifla.Master, 0, "set nomaster");

    /// <summary>Sets the MTU (<c>ip link set dev X mtu N</c>).</summary>
    public void SetMtu(int index, int mtu) => SetU32(index, Ifla.Mtu, (uint)mtu, "set mtu");

    /// <summary>Sets the transmit queue length (<c>ip link set dev X txqueuelen N</c>).</summary>
    public void SetTxQueueLength(int index, int length) => SetU32(index, Ifla.TxQLen, (uint)length, "set txqueuelen");

    /// <summary>Sets the MAC address (<c>ip link set dev X address MAC</c>).</summary>
    public void SetMacAddress(int index, PhysicalAddress mac)
    {
        ArgumentNullException.ThrowIfNull(mac);
        lock (_connection.Sync)
        {
            Requests.SetMac(_connection.BeginRequest(), index, mac);
            _connection.Ack(new Operation("set address", index: index));
        }
    }

    /// <summary>Renames the link (<c>ip link set dev X name NEW</c>); the link must be down.</summary>
    public void SetName(int index, string name)
    {
        ValidateName(name);
        lock (_connection.Sync)
        {
            Requests.SetName(_connection.BeginRequest(), index, name);
            _connection.Ack(new Operation("rename to", index: index, detail: name));
        }
    }

    /// <summary>Moves the link into <paramref name="ns"/>, renaming it on the way when <paramref name="newName"/> is given
    /// (<c>ip link set dev X netns NS [name NEW]</c>).</summary>
    public void MoveToNamespace(int index, NetNs ns, string? newName = null)
    {
        ArgumentNullException.ThrowIfNull(ns);
        if (newName is not null) ValidateName(newName);
        lock (_connection.Sync)
        {
            Requests.SetNamespace(_connection.BeginRequest(), index, ns.Fd, newName);
            _connection.Ack(new Operation("move to namespace", index: index, detail: newName));
        }
    }

    /// <summary>Changes bridge port settings of an enslaved link (<c>ip link set dev X type bridge_slave hairpin .. isolated .. learning ..</c>).</summary>
    public void SetBridgePort(int index, BridgePortOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        lock (_connection.Sync)
        {
            Requests.SetBridgePort(_connection.BeginRequest(), index, options);
            _connection.Ack(new Operation("set bridge port", index: index));
        }
    }

    /// <summary>Deletes the link (<c>ip link del dev X</c>); deleting one end of a veth deletes both.</summary>
    /// <exception cref="NetlinkException">No such link (<see cref="NetlinkException.IsNotFound"/>).</exception>
    public void DeleteLink(int index)
    {
        lock (_connection.Sync)
        {
            Requests.DeleteLink(_connection.BeginRequest(), index);
            _connection.Ack(new Operation("delete link", index: index));
        }
    }

    /// <summary>Deletes the link called <paramref name="name"/>; returns false when there is none.</summary>
    public bool DeleteLink(string name)
    {
        Link? link = FindLink(name);
        if (link is null) return false;
        try
        {
            DeleteLink(link.Index);
            return true;
        }
        catch (NetlinkException e) when (e.IsNotFound)
        {
            return false;
        }
    }

    // =====================================================================
    // Bridge VLANs
    // =====================================================================

    /// <summary>Adds VLAN <paramref name="vlanId"/> to a bridge port (<c>bridge vlan add dev X vid N [pvid] [untagged]</c>).</summary>
    /// <exception cref="NetlinkException"><see cref="NetlinkException.IsNotSupported"/> on kernels without bridge VLAN filtering.</exception>
    public void AddBridgeVlan(int index, int vlanId, bool pvid = false, bool untagged = false)
    {
        if (vlanId is < 1 or > 4094) throw new ArgumentOutOfRangeException(nameof(vlanId), vlanId, "VLAN id must be 1..4094");
        lock (_connection.Sync)
        {
            Requests.BridgeVlan(_connection.BeginRequest(), add: true, index, vlanId, pvid, untagged);
            _connection.Ack(new Operation("add bridge vlan", index: index, number: vlanId));
        }
    }

    /// <summary>Removes VLAN <paramref name="vlanId"/> from a bridge port (<c>bridge vlan del dev X vid N</c>).</summary>
    public void DeleteBridgeVlan(int index, int vlanId)
    {
        if (vlanId is < 1 or > 4094) throw new ArgumentOutOfRangeException(nameof(vlanId), vlanId, "VLAN id must be 1..4094");
        lock (_connection.Sync)
        {
            Requests.BridgeVlan(_connection.BeginRequest(), add: false, index, vlanId, false, false);
            _connection.Ack(new Operation("delete bridge vlan", index: index, number: vlanId));
        }
    }

    /// <summary>Every VLAN of every bridge port (<c>bridge vlan show</c>), optionally of one link only.</summary>
    public IReadOnlyList<BridgeVlan> ListBridgeVlans(int? linkIndex = null)
    {
        var perLink = new List<List<BridgeVlan>>();
        lock (_connection.Sync)
        {
            Requests.DumpBridgeVlans(_connection.BeginRequest());
            _connection.Dump(perLink, static m => ParseBridgeVlans(m), NlMsgType.NewLink, new Operation("list bridge vlans"));
        }
        var result = new List<BridgeVlan>();
        foreach (List<BridgeVlan> list in perLink)
            foreach (BridgeVlan v in list)
                if (linkIndex is null || v.LinkIndex == linkIndex) result.Add(v);
        return result;
    }

    internal static List<BridgeVlan>? ParseBridgeVlans(ReadOnlySpan<byte> message)
    {
        ReadOnlySpan<byte> payload = NetlinkMessageReader.Payload(message);
        IfInfoMsg ifi = NetlinkMessageReader.ReadStruct<IfInfoMsg>(payload);
        if (ifi.Family != AddressFamilies.Bridge) return null; // IFLA_AF_SPEC of other families nests per-family data
        List<BridgeVlan>? list = null;
        var attrs = new AttributeReader(payload[IfInfoMsg.Size..]);
        while (attrs.TryRead(out ushort type, out ReadOnlySpan<byte> value))
        {
            if (type != Ifla.AfSpec) continue;
            var spec = new AttributeReader(value);
            while (spec.TryRead(out ushort st, out ReadOnlySpan<byte> sv))
            {
                if (st != IflaBridge.VlanInfo || sv.Length < 4) continue;
                ushort flags = AttributeReader.U16(sv);
                ushort vid = AttributeReader.U16(sv[2..]);
                (list ??= []).Add(new BridgeVlan(ifi.Index, vid, (flags & 2) != 0, (flags & 4) != 0));
            }
        }
        return list;
    }

    // =====================================================================
    // Addresses
    // =====================================================================

    /// <summary>Adds an address (<c>ip addr add ADDR/PLEN [broadcast B] dev X [nodad]</c>).</summary>
    /// <exception cref="NetlinkException">The address is already there (<see cref="NetlinkException.IsExists"/>), or no such link.</exception>
    public void AddAddress(int index, IPAddress address, int prefixLength, AddressOptions? options = null)
    {
        ValidatePrefix(address, prefixLength);
        lock (_connection.Sync)
        {
            Requests.Address(_connection.BeginRequest(), add: true, index, address, prefixLength, options);
            _connection.Ack(new Operation("add address", index: index, detail: address, number: prefixLength));
        }
    }

    /// <summary>Removes an address (<c>ip addr del ADDR/PLEN dev X</c>).</summary>
    /// <exception cref="NetlinkException">No such address (<see cref="NetlinkException.IsNotFound"/>: EADDRNOTAVAIL).</exception>
    public void DeleteAddress(int index, IPAddress address, int prefixLength)
    {
        ValidatePrefix(address, prefixLength);
        lock (_connection.Sync)
        {
            Requests.Address(_connection.BeginRequest(), add: false, index, address, prefixLength, null);
            _connection.Ack(new Operation("delete address", index: index, detail: address, number: prefixLength));
        }
    }

    /// <summary>Addresses in the namespace (<c>ip addr show</c>), optionally of one link and/or one family.</summary>
    public IReadOnlyList<Address> ListAddresses(int? linkIndex = null, AddressFamily? family = null)
    {
        byte fam = family switch
        {
            null or AddressFamily.Unspecified => AddressFamilies.Unspec,
            AddressFamily.InterNetwork => AddressFamilies.Inet,
            AddressFamily.InterNetworkV6 => AddressFamilies.Inet6,
            _ => throw new ArgumentOutOfRangeException(nameof(family), family, "only IPv4 and IPv6"),
        };
        var all = new List<Address>();
        lock (_connection.Sync)
        {
            Requests.DumpAddresses(_connection.BeginRequest(), fam);
            _connection.Dump(all, static m => Address.Parse(m), NlMsgType.NewAddr, new Operation("list addresses"));
        }
        if (linkIndex is null && fam == AddressFamilies.Unspec) return all;
        return all.FindAll(a => (linkIndex is null || a.LinkIndex == linkIndex) && (fam == AddressFamilies.Unspec || a.Family == family));
    }

    /// <summary>
    /// Waits until no IPv6 address on the link is tentative any more (duplicate address detection finished), as the
    /// reference plugins' SettleAddresses does before reporting addresses a container will use. Polls.
    /// </summary>
    /// <returns>The link's IPv6 addresses once settled.</returns>
    /// <exception cref="NetlinkException">An address failed duplicate address detection (EADDRINUSE, <see cref="AddressFlags.DadFailed"/>).</exception>
    /// <exception cref="TimeoutException">DAD did not finish in time; the message names the tentative addresses.</exception>
    public IReadOnlyList<Address> WaitForAddressesSettled(int index, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        int delay = 5;
        while (true)
        {
            IReadOnlyList<Address> addresses = ListAddresses(index, AddressFamily.InterNetworkV6);
            Address? failed = addresses.FirstOrDefault(a => (a.Flags & AddressFlags.DadFailed) != 0);
            if (failed is not null)
                throw new NetlinkException(Tmds.Linux.LibC.EADDRINUSE, $"settle address {failed.IPAddress}/{failed.PrefixLength} (link index {index})", "duplicate address detection failed");
            List<Address> tentative = addresses.Where(a => (a.Flags & AddressFlags.Tentative) != 0).ToList();
            if (tentative.Count == 0) return addresses;
            if (Environment.TickCount64 >= deadline)
                throw new TimeoutException($"link index {index}: {string.Join(", ", tentative.Select(a => a.IPAddress))} still tentative after {timeout.TotalMilliseconds:0} ms");
            cancellationToken.WaitHandle.WaitOne(delay);
            cancellationToken.ThrowIfCancellationRequested();
            delay = Math.Min(delay * 2, 100);
        }
    }

    // =====================================================================
    // Neighbours
    // =====================================================================

    /// <summary>Adds a static neighbour entry (<c>ip neigh add ADDR lladdr MAC dev X nud permanent</c>).</summary>
    /// <exception cref="NetlinkException">An entry for the address exists (<see cref="NetlinkException.IsExists"/>).</exception>
    public void AddNeighbor(int index, IPAddress address, PhysicalAddress mac, NeighborState state = NeighborState.Permanent) =>
        NeighborRequest(NlMsgType.NewNeigh, Requests.NeighborAddFlags, "add neighbor", index, address, mac, state);

    /// <summary>Adds or replaces a neighbour entry (<c>ip neigh replace ADDR lladdr MAC dev X nud permanent</c>).</summary>
    public void ReplaceNeighbor(int index, IPAddress address, PhysicalAddress mac, NeighborState state = NeighborState.Permanent) =>
        NeighborRequest(NlMsgType.NewNeigh, Requests.NeighborReplaceFlags, "replace neighbor", index, address, mac, state);

    /// <summary>Deletes a neighbour entry (<c>ip neigh del ADDR dev X</c>).</summary>
    /// <exception cref="NetlinkException">No such entry (<see cref="NetlinkException.IsNotFound"/>).</exception>
    public void DeleteNeighbor(int index, IPAddress address) =>
        NeighborRequest(NlMsgType.DelNeigh, Requests.NeighborDeleteFlags, "delete neighbor", index, address, null, NeighborState.Permanent);

    /// <summary>Neighbour entries (<c>ip neigh show</c>), optionally of one link and/or one family.</summary>
    public IReadOnlyList<Neighbor> ListNeighbors(int? linkIndex = null, AddressFamily? family = null)
    {
        byte fam = family switch
        {
            null or AddressFamily.Unspecified => AddressFamilies.Unspec,
            AddressFamily.InterNetwork => AddressFamilies.Inet,
            AddressFamily.InterNetworkV6 => AddressFamilies.Inet6,
            _ => throw new ArgumentOutOfRangeException(nameof(family), family, "only IPv4 and IPv6"),
        };
        var all = new List<Neighbor>();
        lock (_connection.Sync)
        {
            Requests.DumpNeighbors(_connection.BeginRequest(), fam);
            _connection.Dump(all, static m => Neighbor.Parse(m), NlMsgType.NewNeigh, new Operation("list neighbors"));
        }
        return all.FindAll(n => (linkIndex is null || n.LinkIndex == linkIndex) && (fam == AddressFamilies.Unspec || n.Family == family)
            && n.Family is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6);
    }

    private void NeighborRequest(ushort type, ushort flags, string verb, int index, IPAddress address, PhysicalAddress? mac, NeighborState state)
    {
        ArgumentNullException.ThrowIfNull(address);
        lock (_connection.Sync)
        {
            Requests.Neighbor(_connection.BeginRequest(), type, flags, index, address, mac, state);
            _connection.Ack(new Operation(verb, index: index, detail: address));
        }
    }

    // =====================================================================
    // Routes
    // =====================================================================

    /// <summary>Adds a route (<c>ip route add</c>); fails with <see cref="NetlinkException.IsExists"/> when it is already there.</summary>
    public void AddRoute(Route route) => RouteRequest(Requests.RouteOp.Add, route, "add route");

    /// <summary>Adds or replaces a route (<c>ip route replace</c>).</summary>
    public void ReplaceRoute(Route route) => RouteRequest(Requests.RouteOp.Replace, route, "replace route");

    /// <summary>Deletes a route (<c>ip route del</c>); fails with <see cref="NetlinkException.IsNotFound"/> (ESRCH) when there is none.</summary>
    public void DeleteRoute(Route route) => RouteRequest(Requests.RouteOp.Delete, route, "delete route");

    /// <summary>Routes of one family (<c>ip -4|-6 route show</c>); by default those of the main table, see <see cref="RouteFilter"/>.</summary>
    public IReadOnlyList<Route> ListRoutes(AddressFamily family, RouteFilter? filter = null)
    {
        byte fam = family switch
        {
            AddressFamily.InterNetwork => AddressFamilies.Inet,
            AddressFamily.InterNetworkV6 => AddressFamilies.Inet6,
            _ => throw new ArgumentOutOfRangeException(nameof(family), family, "only IPv4 and IPv6"),
        };
        filter ??= new RouteFilter();
        var all = new List<Route>();
        lock (_connection.Sync)
        {
            Requests.DumpRoutes(_connection.BeginRequest(), fam);
            _connection.Dump(all, static m => Route.Parse(m), NlMsgType.NewRoute, new Operation("list routes"));
        }
        return all.FindAll(filter.Matches);
    }

    private void RouteRequest(Requests.RouteOp op, Route route, string operation)
    {
        ArgumentNullException.ThrowIfNull(route);
        lock (_connection.Sync)
        {
            Requests.Route(_connection.BeginRequest(), op, route);
            _connection.Ack(new Operation(operation, detail: route));
        }
    }

    // =====================================================================

    private void SetFlags(int index, uint flags, uint change, string operation)
    {
        lock (_connection.Sync)
        {
            Requests.SetFlags(_connection.BeginRequest(), index, flags, change);
            _connection.Ack(new Operation(operation, index: index));
        }
    }

    private void SetU32(int index, ushort attribute, uint value, string operation)
    {
        lock (_connection.Sync)
        {
            Requests.SetU32(_connection.BeginRequest(), index, attribute, value);
            _connection.Ack(new Operation(operation, index: index));
        }
    }

    /// <summary>Checks an interface name as the kernel would (1..15 bytes, no '/', ':' or whitespace, not "." or "..").</summary>
    public static void ValidateName(string name, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(name))] string? parameter = null)
    {
        ArgumentNullException.ThrowIfNull(name, parameter);
        if (name.Length == 0 || System.Text.Encoding.UTF8.GetByteCount(name) > 15 || name is "." or ".."
            || name.AsSpan().IndexOfAny("/:\0 \t\n") >= 0)
            throw new ArgumentException($"invalid interface name '{name}': 1 to 15 bytes, no '/', ':' or whitespace", parameter);
    }

    private static void ValidatePrefix(IPAddress address, int prefixLength)
    {
        ArgumentNullException.ThrowIfNull(address);
        int max = address.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32;
        if (prefixLength < 0 || prefixLength > max)
            throw new ArgumentOutOfRangeException(nameof(prefixLength), prefixLength, $"prefix length of {address} must be 0..{max}");
    }

    /// <summary>Closes the socket.</summary>
    public void Dispose() => _connection.Dispose();
}
