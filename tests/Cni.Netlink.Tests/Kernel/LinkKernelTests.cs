using System.Net.NetworkInformation;
using Cni.TestSupport;

namespace Cni.Netlink.Tests.Kernel;

[Category(Category.Kernel)]
public class LinkKernelTests
{
    [SetUp]
    public void RequireRoot() => TestEnvironment.RequireRoot();

    [Test]
    public void BridgeCreateListChangeDelete()
    {
        using var scratch = new Scratch();
        var (_, nl) = scratch.NewNamespace();
        var mac = PhysicalAddress.Parse("02-11-22-33-44-55");
        nl.AddBridge("br-test", new BridgeOptions { Mtu = 1400, MacAddress = mac });

        Link br = nl.GetLink("br-test");
        Assert.That(br.Kind, Is.EqualTo("bridge"));
        Assert.That(br.Mtu, Is.EqualTo(1400));
        Assert.That(br.MacAddress, Is.EqualTo(mac));
        Assert.That(br.IsUp, Is.False);
        Assert.That(nl.ListLinks().Select(l => l.Name), Is.EquivalentTo(new[] { "lo", "br-test" }));
        Assert.That(nl.GetLink(br.Index).Name, Is.EqualTo("br-test"));

        nl.SetLinkUp(br.Index);
        nl.SetMtu(br.Index, 1300);
        var mac2 = PhysicalAddress.Parse("02-11-22-33-44-66");
        nl.SetMacAddress(br.Index, mac2);
        nl.SetPromiscuous(br.Index, true);
        nl.SetTxQueueLength(br.Index, 321);
        Link changed = nl.GetLink(br.Index);
        Assert.Multiple(() =>
        {
            Assert.That(changed.IsUp, Is.True);
            Assert.That(changed.Mtu, Is.EqualTo(1300));
            Assert.That(changed.MacAddress, Is.EqualTo(mac2));
            Assert.That(changed.IsPromiscuous, Is.True);
            Assert.That(changed.TxQueueLength, Is.EqualTo(321));
        });
        nl.SetPromiscuous(br.Index, false);
        nl.SetLinkDown(br.Index);
        nl.SetName(br.Index, "br-renamed");
        Assert.That(nl.GetLink(br.Index).Name, Is.EqualTo("br-renamed"));
        Assert.That(nl.GetLink(br.Index).IsPromiscuous, Is.False);

        nl.DeleteLink(br.Index);
        var e = Assert.Throws<NetlinkException>(() => nl.GetLink("br-renamed"))!;
        Assert.That(e.IsNotFound, Is.True, e.Message);
        Assert.That(nl.FindLink("br-renamed"), Is.Null);
        Assert.That(nl.DeleteLink("br-renamed"), Is.False);
    }

    [Test]
    public void VethAcrossTwoNamespacesWithBridgePort()
    {
        using var scratch = new Scratch();
        var (_, host) = scratch.NewNamespace();
        var (containerNs, container) = scratch.NewNamespace();
        var peerMac = PhysicalAddress.Parse("02-00-00-00-aa-01");
        host.AddBridge("br0");
        host.AddVeth("vh0", "eth0", new VethOptions { Mtu = 1450, PeerMtu = 1450, PeerMacAddress = peerMac, PeerNamespace = containerNs });

        Link vh = host.GetLink("vh0");
        Link eth0 = container.GetLink("eth0");
        Assert.Multiple(() =>
        {
            Assert.That(vh.Kind, Is.EqualTo("veth"));
            Assert.That(vh.Mtu, Is.EqualTo(1450));
            Assert.That(eth0.Kind, Is.EqualTo("veth"));
            Assert.That(eth0.MacAddress, Is.EqualTo(peerMac));
            Assert.That(eth0.Mtu, Is.EqualTo(1450));
            Assert.That(eth0.ParentIndex, Is.EqualTo(vh.Index), "IFLA_LINK of a veth names its peer");
            Assert.That(eth0.LinkNetNsId, Is.Not.Null, "peer lives in another namespace");
            Assert.That(host.FindLink("eth0"), Is.Null);
        });

        Link br = host.GetLink("br0");
        host.SetMaster(vh.Index, br.Index);
        Assert.That(host.GetLink(vh.Index).BridgePort, Is.EqualTo(new BridgePortInfo(Hairpin: false, Isolated: false, Learning: true)));
        host.SetBridgePort(vh.Index, new BridgePortOptions { Hairpin = true, Isolated = true, Learning = false });
        vh = host.GetLink(vh.Index);
        Assert.That(vh.MasterIndex, Is.EqualTo(br.Index));
        Assert.That(vh.SlaveKind, Is.EqualTo("bridge"));
        Assert.That(vh.BridgePort, Is.EqualTo(new BridgePortInfo(Hairpin: true, Isolated: true, Learning: false)));
        host.SetBridgePort(vh.Index, new BridgePortOptions { Hairpin = false });
        Assert.That(host.GetLink(vh.Index).BridgePort, Is.EqualTo(new BridgePortInfo(Hairpin: false, Isolated: true, Learning: false)), "unset options stay as they were");

        host.SetLinkUp(br.Index);
        host.SetLinkUp(vh.Index);
        container.SetLinkUp(eth0.Index);
        Link up = container.WaitForOperState(eth0.Index, OperState.Up, TimeSpan.FromSeconds(10));
        Assert.That(up.OperState, Is.EqualTo(OperState.Up));

        host.SetNoMaster(vh.Index);
        Assert.That(host.GetLink(vh.Index).MasterIndex, Is.Null);
        Assert.That(host.GetLink(vh.Index).BridgePort, Is.Null);

        // Move a second veth end into the container namespace, renaming it on the way.
        host.AddVeth("va", "vb");
        host.MoveToNamespace(host.GetLink("vb").Index, containerNs, "eth1");
        Assert.That(container.GetLink("eth1").Kind, Is.EqualTo("veth"));
        Assert.That(host.FindLink("vb"), Is.Null);

        host.DeleteLink(vh.Index);
        Assert.That(container.FindLink("eth0"), Is.Null, "deleting one end deletes the peer");
    }

    [Test]
    public void MacvlanInAnotherNamespace()
    {
        using var scratch = new Scratch();
        var (_, host) = scratch.NewNamespace();
        var (containerNs, container) = scratch.NewNamespace();
        host.AddVeth("up0", "up1");
        int parent = host.GetLink("up0").Index;
        var mac = PhysicalAddress.Parse("02-00-00-00-bb-01");
        host.AddMacvlan("mv0", parent, MacvlanMode.Bridge, new LinkOptions { Mtu = 1400, MacAddress = mac, Namespace = containerNs });

        Link mv = container.GetLink("mv0");
        Assert.Multiple(() =>
        {
            Assert.That(mv.Kind, Is.EqualTo("macvlan"));
            Assert.That(mv.MacvlanMode, Is.EqualTo(MacvlanMode.Bridge));
            Assert.That(mv.Mtu, Is.EqualTo(1400));
            Assert.That(mv.MacAddress, Is.EqualTo(mac));
            Assert.That(mv.ParentIndex, Is.EqualTo(parent));
        });
        Assert.That(container.ListLinks().Select(l => l.Name), Is.EquivalentTo(new[] { "lo", "mv0" }));
        // A macvlan parent has an rx handler, so it cannot also become a bridge port: EBUSY.
        host.AddBridge("br0");
        var busy = Assert.Throws<NetlinkException>(() => host.SetMaster(parent, host.GetLink("br0").Index))!;
        Assert.That(busy.IsBusy, Is.True, busy.Message);
        container.SetMtu(mv.Index, 1300);
        container.SetLinkUp(mv.Index);
        Link changed = container.GetLink("mv0");
        Assert.That(changed.Mtu, Is.EqualTo(1300));
        Assert.That(changed.IsUp, Is.True);
        container.DeleteLink(mv.Index);
        Assert.That(container.FindLink("mv0"), Is.Null);
    }

    [Test]
    public void MacvlanBroadcastQueueLengthIsSetAndReadBack()
    {
        using var scratch = new Scratch();
        var (_, host) = scratch.NewNamespace();
        var (containerNs, container) = scratch.NewNamespace();
        host.AddVeth("up0", "up1");
        int parent = host.GetLink("up0").Index;

        host.AddMacvlan("mvq0", parent, MacvlanMode.Bridge, new MacvlanOptions { BroadcastQueueLength = 1234, Namespace = containerNs });
        Link mv = container.GetLink("mvq0");
        Assert.Multiple(() =>
        {
            Assert.That(mv.Kind, Is.EqualTo("macvlan"));
            Assert.That(mv.MacvlanMode, Is.EqualTo(MacvlanMode.Bridge));
            Assert.That(mv.MacvlanBroadcastQueueLength, Is.EqualTo(1234u), "this kernel (>= 5.11) honours IFLA_MACVLAN_BC_QUEUE_LEN");
            Assert.That(mv.MacvlanBroadcastQueueLengthUsed, Is.EqualTo(1234u));
        });

        // Without the option the kernel default applies; the used length is the largest any macvlan on the parent asked for.
        host.AddMacvlan("mvq1", parent, MacvlanMode.Private);
        Link plain = host.GetLink("mvq1");
        Assert.That(plain.MacvlanBroadcastQueueLength, Is.EqualTo(1000u), "kernel default");
        Assert.That(plain.MacvlanBroadcastQueueLengthUsed, Is.EqualTo(1234u), "shared per parent: the maximum requested");
        Assert.That(host.ListLinks().Single(l => l.Name == "mvq1").MacvlanBroadcastQueueLength, Is.EqualTo(1000u), "dump parses it too");

        // 0 is a valid request (u32 range), not "unset".
        host.AddMacvlan("mvq2", parent, MacvlanMode.Vepa, new MacvlanOptions { BroadcastQueueLength = 0 });
        Assert.That(host.GetLink("mvq2").MacvlanBroadcastQueueLength, Is.EqualTo(0u));
        Assert.That(host.GetLink("up1").MacvlanBroadcastQueueLength, Is.Null, "a veth has no macvlan data");
    }

    [Test]
    public void ExistsAndNoDeviceAreTyped()
    {
        using var scratch = new Scratch();
        var (_, nl) = scratch.NewNamespace();
        nl.AddBridge("dup0");
        var exists = Assert.Throws<NetlinkException>(() => nl.AddBridge("dup0"))!;
        Assert.That(exists.IsExists, Is.True, exists.Message);
        Assert.That(exists.Errno, Is.EqualTo(NetlinkException.EEXIST));

        var nodev = Assert.Throws<NetlinkException>(() => nl.SetLinkUp(987654))!;
        Assert.That(nodev.Errno, Is.EqualTo(NetlinkException.ENODEV), nodev.Message);
        Assert.That(nodev.IsNotFound, Is.True);
        Assert.That(Assert.Throws<NetlinkException>(() => nl.DeleteLink(987654))!.IsNotFound, Is.True);
        Assert.That(Assert.Throws<NetlinkException>(() => nl.GetLink(987654))!.IsNotFound, Is.True);
        Assert.That(nl.FindLink(987654), Is.Null);
        Assert.That(nl.FindLink(1)!.Name, Is.EqualTo("lo"));
    }

    [Test]
    public void VlanAndIpvlanAreTypedNotSupportedOnThisKernel()
    {
        using var scratch = new Scratch();
        var (_, nl) = scratch.NewNamespace();
        nl.AddVeth("p0", "p1");
        int parent = nl.GetLink("p0").Index;

        void Check(Action add, string kind)
        {
            try
            {
                add();
            }
            catch (NetlinkException e) when (e.IsNotSupported)
            {
                Assert.That(e.KernelMessage, Is.EqualTo("Unknown device type"), e.Message);
                return;
            }
            Assert.Ignore($"this kernel supports {kind}: the not-supported path cannot be exercised here");
        }
        Assert.Multiple(() =>
        {
            Check(() => nl.AddVlan("p0.5", parent, 5), "802.1Q vlan");
            Check(() => nl.AddIpvlan("ipv0", parent, IpvlanMode.L2), "ipvlan");
        });
    }

    [Test]
    public void VlanFilteringBridgeOrNotSupported()
    {
        using var scratch = new Scratch();
        var (_, nl) = scratch.NewNamespace();
        try
        {
            nl.AddBridge("brf", new BridgeOptions { VlanFiltering = true });
        }
        catch (NetlinkException e) when (e.IsNotSupported)
        {
            Assert.That(nl.FindLink("brf"), Is.Null, "a refused bridge is not half-created");
            Assert.Ignore("kernel without CONFIG_BRIDGE_VLAN_FILTERING: vlan_filtering answers EOPNOTSUPP (" + e.Message + ")");
        }
        Assert.That(nl.GetLink("brf").VlanFiltering, Is.True);
    }

    [Test]
    public void BridgeVlansOrNotSupported()
    {
        using var scratch = new Scratch();
        var (_, nl) = scratch.NewNamespace();
        nl.AddBridge("brv");
        nl.AddVeth("pv0", "pv1");
        int br = nl.GetLink("brv").Index, port = nl.GetLink("pv0").Index;
        nl.SetMaster(port, br);
        Assert.That(nl.ListBridgeVlans(), Is.Empty.Or.All.Property(nameof(BridgeVlan.VlanId)).GreaterThan(0));
        try
        {
            nl.AddBridgeVlan(port, 10, pvid: true, untagged: true);
        }
        catch (NetlinkException e) when (e.IsNotSupported)
        {
            Assert.Ignore("kernel without CONFIG_BRIDGE_VLAN_FILTERING: bridge VLANs answer EOPNOTSUPP (" + e.Message + ")");
        }
        Assert.That(nl.ListBridgeVlans(port), Does.Contain(new BridgeVlan(port, 10, true, true)));
        nl.DeleteBridgeVlan(port, 10);
        Assert.That(nl.ListBridgeVlans(port).Select(v => v.VlanId), Does.Not.Contain(10));
    }

    [Test]
    public void OneHandleIsSafeToShareBetweenThreads()
    {
        using var scratch = new Scratch();
        var (_, nl) = scratch.NewNamespace();
        for (int i = 0; i < 8; i++) nl.AddBridge($"tb{i}");
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            int index = nl.GetLink($"tb{i}").Index;
            for (int n = 0; n < 50; n++)
            {
                nl.SetMtu(index, 1000 + n);
                Assert.That(nl.GetLink(index).Mtu, Is.EqualTo(1000 + n));
                Assert.That(nl.ListLinks(), Has.Count.EqualTo(9));
            }
        });
    }

    [Test]
    public void DumpOfThousandLinksComesBackWhole()
    {
        using var scratch = new Scratch();
        var (_, nl) = scratch.NewNamespace();
        for (int i = 0; i < 500; i++)
            nl.AddVeth($"da{i}", $"db{i}");
        IReadOnlyList<Link> links = nl.ListLinks();
        Assert.That(links, Has.Count.EqualTo(1001));
        Assert.That(links.Select(l => l.Name).Distinct().Count(), Is.EqualTo(1001));
        Assert.That(links.Count(l => l.Name.StartsWith("da", StringComparison.Ordinal)), Is.EqualTo(500));
    }
}
