using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Net;
using Cni.Netlink.Sockets;
using Cni.Plugins.TestSupport;

namespace Cni.Netlink.Tests.Protocol;

/// <summary>Kernel replies captured by Golden/capture.sh (strace -e read=all of `ip ... show`) parse to what `ip` printed
/// (Golden/requests/INDEXES).</summary>
public class GoldenReplyTests
{
    private static List<byte[]> Messages(string capture, ushort type) =>
        StraceCapture.Datagrams(GoldenCapture.ReplyPath(capture)).SelectMany(StraceCapture.Messages)
            .Where(m => StraceCapture.TypeOf(m) == type).ToList();

    private static IPAddress Ip(string s) => IPAddress.Parse(s);

    [Test]
    public void LinkDump()
    {
        List<Link> links = Messages("link-dump", 16).Select(m => Link.Parse(m)).ToList();
        Assert.That(links.Select(l => l.Name), Is.EqualTo(new[] { "lo", "br0", "br1", "veth0", "veth2", "vethm1", "vethm0" }));
        Link lo = links[0];
        Assert.That(lo.Index, Is.EqualTo(1));
        Assert.That(lo.Flags.HasFlag(LinkFlags.Loopback), Is.True);
        Assert.That(lo.Mtu, Is.EqualTo(65536));
        Assert.That(lo.Kind, Is.Null);

        Link veth0 = links.Single(l => l.Name == "veth0");
        Assert.Multiple(() =>
        {
            Assert.That(veth0.Index, Is.EqualTo(6));
            Assert.That(veth0.Kind, Is.EqualTo("veth"));
            Assert.That(veth0.SlaveKind, Is.EqualTo("bridge"));
            Assert.That(veth0.BridgePort, Is.EqualTo(new BridgePortInfo(Hairpin: true, Isolated: true, Learning: false)), "set by link-set-bridge-port");
            Assert.That(veth0.Mtu, Is.EqualTo(1450));
            Assert.That(veth0.TxQueueLength, Is.EqualTo(500));
            Assert.That(veth0.MacAddress, Is.EqualTo(PhysicalAddress.Parse("02-00-00-00-00-05")));
            Assert.That(veth0.Broadcast, Is.EqualTo(PhysicalAddress.Parse("FF-FF-FF-FF-FF-FF")));
            Assert.That(veth0.MasterIndex, Is.EqualTo(3));
            Assert.That(veth0.ParentIndex, Is.EqualTo(5));
            Assert.That(veth0.LinkNetNsId, Is.Not.Null);
            Assert.That(veth0.IsUp, Is.True);
            Assert.That(veth0.OperState, Is.EqualTo(OperState.LowerLayerDown));
            Assert.That(veth0.DeviceType, Is.EqualTo(1));
            Assert.That(veth0.OtherAttributes, Is.Not.Empty, "attributes we do not interpret are kept");
            Assert.That(veth0.OtherAttributes.Select(a => a.Type), Does.Contain((ushort)6), "IFLA_QDISC kept raw");
        });
        Link br1 = links.Single(l => l.Name == "br1");
        Assert.That(br1.Kind, Is.EqualTo("bridge"));
        Assert.That(br1.MacAddress, Is.EqualTo(PhysicalAddress.Parse("02-00-00-00-00-01")));
        Assert.That(br1.VlanFiltering, Is.Null.Or.False);
        Assert.That(links.Single(l => l.Name == "vethm0").ParentIndex, Is.EqualTo(8));
    }

    [Test]
    public void VethReply()
    {
        // A real reply (Golden/capture-veth-reply.sh): `ip -d link show dev vethg0`, the peer vethg1 in another namespace.
        List<Link> links = Messages("link-get-veth", 16).Select(m => Link.Parse(m)).ToList();
        Assert.That(links, Is.Not.Empty);
        Link veth = links.Last(l => l.Name == "vethg0");
        Assert.Multiple(() =>
        {
            Assert.That(veth.Kind, Is.EqualTo("veth"));
            Assert.That(veth.Mtu, Is.EqualTo(1400));
            Assert.That(veth.MacAddress, Is.EqualTo(PhysicalAddress.Parse("02-00-00-00-00-0A")));
            Assert.That(veth.IsUp, Is.True);
            Assert.That(veth.ParentIndex, Is.Not.Null, "IFLA_LINK: the peer's index");
            Assert.That(veth.LinkNetNsId, Is.Not.Null, "the peer lives in another namespace");
            Assert.That(veth.VlanId, Is.Null);
            Assert.That(veth.MacvlanMode, Is.Null);
            Assert.That(veth.IpvlanMode, Is.Null);
        });
    }

    [Test]
    public void VlanReply()
    {
        // Constructed from the kernel's layout (Golden/construct-link-kinds.py): this kernel has no 8021q module.
        Link vlan = Messages("link-get-vlan", 16).Select(m => Link.Parse(m)).Single();
        Assert.Multiple(() =>
        {
            Assert.That(vlan.Index, Is.EqualTo(3));
            Assert.That(vlan.Name, Is.EqualTo("eth0"));
            Assert.That(vlan.Kind, Is.EqualTo("vlan"));
            Assert.That(vlan.VlanId, Is.EqualTo(42));
            Assert.That(vlan.VlanProtocol, Is.EqualTo(VlanProtocol.Dot1Q), "IFLA_VLAN_PROTOCOL is big-endian");
            Assert.That(vlan.Mtu, Is.EqualTo(1400));
            Assert.That(vlan.TxQueueLength, Is.EqualTo(1000));
            Assert.That(vlan.ParentIndex, Is.EqualTo(2));
            Assert.That(vlan.LinkNetNsId, Is.EqualTo(0));
            Assert.That(vlan.MacAddress, Is.EqualTo(PhysicalAddress.Parse("02-42-AC-11-00-02")));
            Assert.That(vlan.OperState, Is.EqualTo(OperState.Up));
            Assert.That(vlan.IsUp, Is.True);
            Assert.That(vlan.MacvlanMode, Is.Null);
            Assert.That(vlan.IpvlanMode, Is.Null);
        });
    }

    [Test]
    public void IpvlanReply()
    {
        // Constructed from the kernel's layout (Golden/construct-link-kinds.py): this kernel has no ipvlan module.
        Link ipvlan = Messages("link-get-ipvlan", 16).Select(m => Link.Parse(m)).Single();
        Assert.Multiple(() =>
        {
            Assert.That(ipvlan.Index, Is.EqualTo(4));
            Assert.That(ipvlan.Name, Is.EqualTo("net1"));
            Assert.That(ipvlan.Kind, Is.EqualTo("ipvlan"));
            Assert.That(ipvlan.IpvlanMode, Is.EqualTo(IpvlanMode.L3));
            Assert.That(ipvlan.Mtu, Is.EqualTo(1450));
            Assert.That(ipvlan.ParentIndex, Is.EqualTo(2));
            Assert.That(ipvlan.LinkNetNsId, Is.Null);
            Assert.That(ipvlan.VlanId, Is.Null, "IFLA_IPVLAN_FLAGS (type 2) is no VLAN attribute");
            Assert.That(ipvlan.MacvlanMode, Is.Null);
        });
    }

    [Test]
    public void MacvlanWithBroadcastQueueLength()
    {
        // `ip -d link show dev mv3` after link-add-macvlan-bcqueuelen printed "macvlan mode bridge bcqueuelen 1000 usedbcqueuelen 1000".
        // `ip` got mv3 twice (name lookup, then the show itself) and the parent vethm0 to print "mv3@vethm0".
        List<Link> links = Messages("link-get-macvlan-bcqueuelen", 16).Select(m => Link.Parse(m)).ToList();
        Assert.That(links.Select(l => l.Name), Is.EqualTo(new[] { "mv3", "mv3", "vethm0" }));
        Link mv3 = links[1];
        Assert.That(links.Single(l => l.Name == "vethm0").MacvlanBroadcastQueueLength, Is.Null, "a veth has no macvlan data");
        Assert.Multiple(() =>
        {
            Assert.That(mv3.Name, Is.EqualTo("mv3"));
            Assert.That(mv3.Kind, Is.EqualTo("macvlan"));
            Assert.That(mv3.ParentIndex, Is.EqualTo(9));
            Assert.That(mv3.MacvlanMode, Is.EqualTo(MacvlanMode.Bridge));
            Assert.That(mv3.MacvlanBroadcastQueueLength, Is.EqualTo(1000u));
            Assert.That(mv3.MacvlanBroadcastQueueLengthUsed, Is.EqualTo(1000u));
        });
        // The veth of the link dump is no macvlan: the macvlan fields stay null.
        Link veth0 = Messages("link-dump", 16).Select(m => Link.Parse(m)).Single(l => l.Name == "veth0");
        Assert.That(veth0.MacvlanBroadcastQueueLength, Is.Null);
        Assert.That(veth0.MacvlanBroadcastQueueLengthUsed, Is.Null);
    }

    [Test]
    public void AddressDump()
    {
        List<Address> addrs = Messages("addr-dump", 20).Select(m => Address.Parse(m)!).ToList();
        Address v4 = addrs.Single(a => a.Family == AddressFamily.InterNetwork);
        Assert.Multiple(() =>
        {
            Assert.That(v4.IPAddress, Is.EqualTo(Ip("10.1.2.3")));
            Assert.That(v4.PrefixLength, Is.EqualTo(24));
            Assert.That(v4.LinkIndex, Is.EqualTo(6));
            Assert.That(v4.Label, Is.EqualTo("veth0"));
            Assert.That(v4.Scope, Is.EqualTo(RouteScope.Universe));
            Assert.That(v4.Flags.HasFlag(AddressFlags.Permanent), Is.True);
        });
        Address v6 = addrs.Single(a => a.IPAddress.Equals(Ip("fd00::1")));
        Assert.That(v6.PrefixLength, Is.EqualTo(64));
        Assert.That(v6.Flags.HasFlag(AddressFlags.NoDad), Is.True);
        Assert.That(v6.OtherAttributes.Select(a => a.Type), Does.Contain((ushort)6), "IFA_CACHEINFO kept raw");
    }

    [Test]
    public void RouteDumps()
    {
        List<Route> v4 = Messages("route-dump-v4", 24).Select(m => Route.Parse(m)!).ToList();
        Route full = v4.Single(r => r.Table == 100);
        Assert.Multiple(() =>
        {
            Assert.That(full.Destination, Is.EqualTo(Ip("10.8.0.0")));
            Assert.That(full.PrefixLength, Is.EqualTo(16));
            Assert.That(full.Gateway, Is.EqualTo(Ip("10.1.2.1")));
            Assert.That(full.PreferredSource, Is.EqualTo(Ip("10.1.2.3")));
            Assert.That(full.Priority, Is.EqualTo(100u));
            Assert.That(full.Mtu, Is.EqualTo(1400u));
            Assert.That(full.AdvMss, Is.EqualTo(1360u));
            Assert.That(full.OutputLinkIndex, Is.EqualTo(6));
            Assert.That(full.Protocol, Is.EqualTo((byte)3));
        });
        Route def = v4.Single(r => r.IsDefault);
        Assert.That(def.Gateway, Is.EqualTo(Ip("10.1.2.1")));
        Assert.That(def.Priority, Is.EqualTo(50u));
        Assert.That(def.Destination, Is.EqualTo(IPAddress.Any));
        Assert.That(v4.Single(r => Ip("10.7.0.0").Equals(r.Destination)).Scope, Is.EqualTo(RouteScope.Link));
        Assert.That(v4.Count(r => r.Table == RouteTable.Local), Is.EqualTo(2));

        List<Route> v6 = Messages("route-dump-v6", 24).Select(m => Route.Parse(m)!).ToList();
        Route def6 = v6.Single(r => r.IsDefault && r.Table == RouteTable.Main);
        Assert.That(def6.Gateway, Is.EqualTo(Ip("fd00::2")));
        Assert.That(def6.Priority, Is.EqualTo(1024u));
        Assert.That(v6.Any(r => Ip("fd00::").Equals(r.Destination) && r.PrefixLength == 64), Is.True);
    }

    [Test]
    public void NeighborDump()
    {
        List<Neighbor> neighbors = Messages("neigh-dump", 28).Select(m => Neighbor.Parse(m)).OfType<Neighbor>().ToList();
        Neighbor v4 = neighbors.Single(n => n.IPAddress.Equals(Ip("10.1.2.9")));
        Assert.That(v4.MacAddress, Is.EqualTo(PhysicalAddress.Parse("02-00-00-00-00-0A")), "replaced");
        Assert.That(v4.State, Is.EqualTo(NeighborState.Permanent));
        Assert.That(v4.LinkIndex, Is.EqualTo(6));
        Neighbor v6 = neighbors.Single(n => n.IPAddress.Equals(Ip("fd00::9")));
        Assert.That(v6.MacAddress, Is.EqualTo(PhysicalAddress.Parse("02-00-00-00-00-0B")));
    }

    [Test]
    public void BridgeVlanDumpWithoutVlanFilteringHasNoVlans()
    {
        List<byte[]> all = Messages("bridge-vlan-dump", 16);
        List<byte[]> messages = all.Where(m => m[16] == 7).ToList();
        Assert.That(messages, Is.Not.Empty, "AF_BRIDGE replies for the bridge ports");
        Assert.That(all.Where(m => m[16] != 7).Select(m => RtNetlink.ParseBridgeVlans(m)), Has.All.Null, "other families are not VLAN info");
        Assert.That(messages.Select(m => RtNetlink.ParseBridgeVlans(m)).Where(v => v is not null), Is.Empty);
    }

    [Test]
    public void ErrorsCarryErrnoAndExtendedAck()
    {
        List<byte[]> errors = Messages("error-exists", 2);
        // iproute2's seq-0 probe (RTM_NEWLINK without a device) is answered ENODEV, the real request EEXIST.
        var nodev = Assert.Throws<NetlinkException>(() => NetlinkConnection.ThrowIfError(errors[0], new Operation("probe")))!;
        Assert.That(nodev.Errno, Is.EqualTo(NetlinkException.ENODEV));
        Assert.That(nodev.IsNotFound, Is.True);
        var exists = Assert.Throws<NetlinkException>(() => NetlinkConnection.ThrowIfError(errors[1], new Operation("add bridge", "br0")))!;
        Assert.That(exists.IsExists, Is.True);
        Assert.That(exists.Message, Does.StartWith("add bridge br0: EEXIST"));

        byte[] vlan = Messages("error-vlan", 2).Last();
        var unsupported = Assert.Throws<NetlinkException>(() => NetlinkConnection.ThrowIfError(vlan, new Operation("add vlan", "vethm0.6")))!;
        Assert.That(unsupported.IsNotSupported, Is.True);
        Assert.That(unsupported.Errno, Is.EqualTo(NetlinkException.EOPNOTSUPP));
        Assert.That(unsupported.KernelMessage, Is.EqualTo("Unknown device type"));
        Assert.That(unsupported.Message, Is.EqualTo("add vlan vethm0.6: EOPNOTSUPP (operation not supported): Unknown device type"));
    }
}
