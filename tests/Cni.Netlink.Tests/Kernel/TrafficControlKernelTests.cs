using Cni.TestSupport;

namespace Cni.Netlink.Tests.Kernel;

/// <summary>Traffic control against the kernel, in a throwaway namespace: ifb, tbf, ingress + redirect, htb classes and u32 filters.</summary>
[Category(Category.Kernel)]
public class TrafficControlKernelTests
{
    [SetUp]
    public void RequireRoot() => TestEnvironment.RequireRoot();

    private static (Link Veth, Link Ifb) Devices(RtNetlink nl)
    {
        nl.AddVeth("tcv0", "tcv1");
        nl.AddIfb("tcifb0", new IfbOptions { Mtu = 1400, TxQueueLength = 1000, Up = true });
        Link veth = nl.GetLink("tcv0");
        nl.SetLinkUp(veth.Index);
        return (nl.GetLink("tcv0"), nl.GetLink("tcifb0"));
    }

    [Test]
    public void IfbTbfIngressRedirectCreateListDelete()
    {
        using var scratch = new Scratch();
        var (_, nl) = scratch.NewNamespace("cnitc");
        (Link veth, Link ifb) = Devices(nl);
        Assert.Multiple(() =>
        {
            Assert.That(ifb.Kind, Is.EqualTo("ifb"));
            Assert.That((ifb.Mtu, ifb.TxQueueLength, ifb.IsUp), Is.EqualTo((1400, 1000, true)));
        });

        nl.AddTbfQdisc(veth.Index, new TbfOptions { Rate = 100_000, Limit = 12_500, Buffer = 1_562_500 });
        nl.AddIngressQdisc(veth.Index);
        nl.AddU32RedirectFilter(veth.Index, TcHandle.IngressQdisc, 1, TcHandle.Make(1, 1), ifb.Index);
        nl.AddTbfQdisc(ifb.Index, new TbfOptions { Rate = 5_000_000_000, Limit = 129_000_000, Buffer = 12_500 });

        IReadOnlyList<Qdisc> onVeth = nl.ListQdiscs(veth.Index);
        Assert.That(onVeth.All(q => q.LinkIndex == veth.Index), Is.True, "only the asked device");
        Qdisc tbf = onVeth.Single(q => q.Parent == TcHandle.Root);
        Assert.That((tbf.Kind, tbf.Handle, tbf.Tbf), Is.EqualTo(("tbf", 0x1_0000u, (TbfParameters?)new TbfParameters(100_000, 12_500, 1_562_500, 0, 0))));
        Assert.That(onVeth.Any(q => q.Kind == "ingress" && q.Handle == TcHandle.IngressQdisc), Is.True);
        Assert.That(nl.ListQdiscs(ifb.Index).Single(q => q.Parent == TcHandle.Root).Tbf!.Rate, Is.EqualTo(5_000_000_000UL), "64-bit rate");

        TrafficFilter redirect = nl.ListFilters(veth.Index, TcHandle.IngressQdisc).Single(f => f.RedirectIndex is not null);
        Assert.That((redirect.RedirectIndex, redirect.ClassId, redirect.Priority, redirect.Protocol), Is.EqualTo(((int?)ifb.Index, (uint?)TcHandle.Make(1, 1), (ushort)1, EthernetProtocol.All)));

        var e = Assert.Throws<NetlinkException>(() => nl.AddIngressQdisc(veth.Index))!;
        Assert.That(e.IsExists, Is.True, e.Message);

        nl.DeleteQdisc(veth.Index, TcHandle.IngressQdisc, TcHandle.Ingress);
        nl.DeleteQdisc(veth.Index, 0x1_0000, TcHandle.Root);
        Assert.That(nl.ListQdiscs(veth.Index).Where(q => q.Kind is "tbf" or "ingress"), Is.Empty);
        Assert.Throws<NetlinkException>(() => nl.DeleteQdisc(veth.Index, TcHandle.IngressQdisc, TcHandle.Ingress), "nothing left to delete");
    }

    [Test]
    public void HtbClassesAndFilters()
    {
        using var scratch = new Scratch();
        var (_, nl) = scratch.NewNamespace("cnitc");
        (Link veth, _) = Devices(nl);
        nl.AddHtbQdisc(veth.Index, new HtbQdiscOptions { DefaultClass = 0x30 });
        nl.AddHtbClass(veth.Index, TcHandle.Make(1, 0x30), 0x1_0000, new HtbClassOptions { Rate = 100_000, Ceil = 200_000, Buffer = 1_562_500, Cbuffer = 1_562_500 });
        nl.AddHtbClass(veth.Index, TcHandle.Make(1, 1), 0x1_0000, new HtbClassOptions { Rate = 100_000_000_000, Ceil = 100_000_000_000 });
        nl.AddU32Filter(veth.Index, 0x1_0000, 16, EthernetProtocol.IPv4, TcHandle.Make(1, 1), U32Key.DestinationKeys(System.Net.IPAddress.Parse("10.0.0.0"), 8));
        nl.AddU32Filter(veth.Index, 0x1_0000, 15, EthernetProtocol.IPv6, TcHandle.Make(1, 1), U32Key.DestinationKeys(System.Net.IPAddress.Parse("fd00::"), 64));

        List<TrafficFilter> byKey = nl.ListFilters(veth.Index, 0x1_0000).Where(f => f.Keys.Count > 0).ToList();
        Assert.That(byKey.Select(f => (f.Priority, f.Protocol, f.Keys.Count)), Is.EquivalentTo(new[] { ((ushort)16, EthernetProtocol.IPv4, 1), ((ushort)15, EthernetProtocol.IPv6, 2) }));
        Qdisc htb = nl.ListQdiscs(veth.Index).Single(q => q.Kind == "htb");
        Assert.That(htb.Htb, Is.EqualTo(new HtbParameters(0x30011, 10, 0x30)), "the kernel reports its own HTB version, 3.17");
        IReadOnlyList<TrafficClass> classes = nl.ListClasses(veth.Index);
        Assert.That(classes.Select(c => (c.Handle, c.Rate, c.Ceil)), Is.EquivalentTo(new[]
        {
            (TcHandle.Make(1, 0x30), 100_000UL, 200_000UL), (TcHandle.Make(1, 1), 100_000_000_000UL, 100_000_000_000UL),
        }));
        Assert.That(classes.Single(c => c.Handle == TcHandle.Make(1, 0x30)).Buffer, Is.EqualTo(1_562_500u));
    }
}
