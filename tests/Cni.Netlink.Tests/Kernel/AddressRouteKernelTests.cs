using System.Net;
using System.Net.Sockets;
using Cni.TestSupport;

namespace Cni.Netlink.Tests.Kernel;

[Category(Category.Kernel)]
public class AddressRouteKernelTests
{
    [SetUp]
    public void RequireRoot() => TestEnvironment.RequireRoot();

    private static IPAddress Ip(string s) => IPAddress.Parse(s);

    private static (RtNetlink Nl, int Index) UpVeth(Scratch scratch)
    {
        var (_, nl) = scratch.NewNamespace();
        nl.AddVeth("a0", "a1");
        int a0 = nl.GetLink("a0").Index;
        nl.SetLinkUp(a0);
        nl.SetLinkUp(nl.GetLink("a1").Index);
        return (nl, a0);
    }

    [Test]
    public void AddressesInBothFamilies()
    {
        using var scratch = new Scratch();
        var (nl, a0) = UpVeth(scratch);
        nl.AddAddress(a0, Ip("10.1.2.3"), 24, new AddressOptions { Broadcast = Ip("10.1.2.255") });
        nl.AddAddress(a0, Ip("fd00::1"), 64, new AddressOptions { Flags = AddressFlags.NoDad });

        IReadOnlyList<Address> v4 = nl.ListAddresses(a0, AddressFamily.InterNetwork);
        Assert.That(v4, Has.Count.EqualTo(1));
        Assert.That(v4[0].IPAddress, Is.EqualTo(Ip("10.1.2.3")));
        Assert.That(v4[0].PrefixLength, Is.EqualTo(24));
        Assert.That(v4[0].Broadcast, Is.EqualTo(Ip("10.1.2.255")));
        Assert.That(v4[0].Label, Is.EqualTo("a0"));

        Address v6 = nl.ListAddresses(a0, AddressFamily.InterNetworkV6).Single(a => a.IPAddress.Equals(Ip("fd00::1")));
        Assert.That(v6.PrefixLength, Is.EqualTo(64));
        Assert.That(v6.Flags.HasFlag(AddressFlags.NoDad), Is.True);
        Assert.That(v6.Flags.HasFlag(AddressFlags.Tentative), Is.False, "nodad: usable at once");
        Assert.That(nl.ListAddresses().Any(a => a.LinkIndex == 1 && a.IPAddress.Equals(IPAddress.Loopback)), Is.False, "lo is down: no 127.0.0.1 yet");

        var dup = Assert.Throws<NetlinkException>(() => nl.AddAddress(a0, Ip("10.1.2.3"), 24))!;
        Assert.That(dup.IsExists, Is.True, dup.Message);

        nl.DeleteAddress(a0, Ip("10.1.2.3"), 24);
        nl.DeleteAddress(a0, Ip("fd00::1"), 64);
        Assert.That(nl.ListAddresses(a0, AddressFamily.InterNetwork), Is.Empty);
        Assert.That(nl.ListAddresses(a0, AddressFamily.InterNetworkV6).Select(a => a.IPAddress), Does.Not.Contain(Ip("fd00::1")));
        var gone = Assert.Throws<NetlinkException>(() => nl.DeleteAddress(a0, Ip("10.1.2.3"), 24))!;
        Assert.That(gone.IsNotFound, Is.True, gone.Message);
    }

    [Test]
    public void Ipv6AddressesSettleAfterDuplicateAddressDetection()
    {
        using var scratch = new Scratch();
        var (nl, a0) = UpVeth(scratch);
        nl.AddAddress(a0, Ip("fd00::5"), 64); // DAD runs: tentative first
        IReadOnlyList<Address> settled = nl.WaitForAddressesSettled(a0, TimeSpan.FromSeconds(60));
        Address fd = settled.Single(a => a.IPAddress.Equals(Ip("fd00::5")));
        Assert.That(fd.Flags.HasFlag(AddressFlags.Tentative), Is.False);
        Assert.That(nl.ListAddresses(a0, AddressFamily.InterNetworkV6).Any(a => a.Flags.HasFlag(AddressFlags.Tentative)), Is.False);
    }

    [Test]
    public void RoutesInBothFamilies()
    {
        using var scratch = new Scratch();
        var (nl, a0) = UpVeth(scratch);
        nl.AddAddress(a0, Ip("10.1.2.3"), 24);
        nl.AddAddress(a0, Ip("fd00::1"), 64, new AddressOptions { Flags = AddressFlags.NoDad });

        var r4 = new Route { Destination = Ip("10.9.0.0"), PrefixLength = 16, Gateway = Ip("10.1.2.1"), OutputLinkIndex = a0 };
        nl.AddRoute(r4);
        nl.AddRoute(new Route
        {
            Destination = Ip("10.8.0.0"), PrefixLength = 16, Gateway = Ip("10.1.2.1"), OutputLinkIndex = a0,
            PreferredSource = Ip("10.1.2.3"), Priority = 100, Table = 100, Mtu = 1400, AdvMss = 1360,
        });
        nl.AddRoute(new Route { Family = AddressFamily.InterNetwork, Gateway = Ip("10.1.2.1"), OutputLinkIndex = a0 });
        var r6 = new Route { Destination = Ip("fd01::"), PrefixLength = 64, Gateway = Ip("fd00::2"), OutputLinkIndex = a0, Priority = 1024 };
        nl.AddRoute(r6);
        nl.AddRoute(new Route { Gateway = Ip("fd00::2"), OutputLinkIndex = a0 });

        Route got4 = nl.ListRoutes(AddressFamily.InterNetwork, new RouteFilter { Destination = Ip("10.9.0.0"), PrefixLength = 16 }).Single();
        Assert.That(got4.Gateway, Is.EqualTo(Ip("10.1.2.1")));
        Assert.That(got4.OutputLinkIndex, Is.EqualTo(a0));
        Assert.That(got4.Table, Is.EqualTo(RouteTable.Main));
        Route table100 = nl.ListRoutes(AddressFamily.InterNetwork, new RouteFilter { Table = 100 }).Single();
        Assert.Multiple(() =>
        {
            Assert.That(table100.Destination, Is.EqualTo(Ip("10.8.0.0")));
            Assert.That(table100.Priority, Is.EqualTo(100u));
            Assert.That(table100.Mtu, Is.EqualTo(1400u));
            Assert.That(table100.AdvMss, Is.EqualTo(1360u));
            Assert.That(table100.PreferredSource, Is.EqualTo(Ip("10.1.2.3")));
        });
        Assert.That(nl.ListRoutes(AddressFamily.InterNetwork).Count(r => r.IsDefault), Is.EqualTo(1));
        Route got6 = nl.ListRoutes(AddressFamily.InterNetworkV6, new RouteFilter { Destination = Ip("fd01::"), PrefixLength = 64 }).Single();
        Assert.That(got6.Gateway, Is.EqualTo(Ip("fd00::2")));
        Assert.That(got6.Priority, Is.EqualTo(1024u));
        Assert.That(nl.ListRoutes(AddressFamily.InterNetworkV6).Count(r => r.IsDefault && Ip("fd00::2").Equals(r.Gateway)), Is.EqualTo(1));

        var dup = Assert.Throws<NetlinkException>(() => nl.AddRoute(r4))!;
        Assert.That(dup.IsExists, Is.True, dup.Message);

        nl.ReplaceRoute(new Route { Destination = Ip("10.9.0.0"), PrefixLength = 16, Gateway = Ip("10.1.2.2"), OutputLinkIndex = a0 });
        Assert.That(nl.ListRoutes(AddressFamily.InterNetwork, new RouteFilter { Destination = Ip("10.9.0.0"), PrefixLength = 16 }).Single().Gateway,
            Is.EqualTo(Ip("10.1.2.2")));

        nl.DeleteRoute(new Route { Destination = Ip("10.9.0.0"), PrefixLength = 16 });
        nl.DeleteRoute(r6);
        Assert.That(nl.ListRoutes(AddressFamily.InterNetwork, new RouteFilter { Destination = Ip("10.9.0.0"), PrefixLength = 16 }), Is.Empty);
        Assert.That(nl.ListRoutes(AddressFamily.InterNetworkV6, new RouteFilter { Destination = Ip("fd01::"), PrefixLength = 64 }), Is.Empty);
        var gone = Assert.Throws<NetlinkException>(() => nl.DeleteRoute(r6))!;
        Assert.That(gone.IsNotFound, Is.True, gone.Message);
    }

    [Test]
    public void NeighborsInBothFamilies()
    {
        using var scratch = new Scratch();
        var (nl, a0) = UpVeth(scratch);
        var mac = System.Net.NetworkInformation.PhysicalAddress.Parse("02-00-00-00-cc-01");
        var mac2 = System.Net.NetworkInformation.PhysicalAddress.Parse("02-00-00-00-cc-02");
        nl.AddNeighbor(a0, Ip("10.1.2.9"), mac);
        nl.AddNeighbor(a0, Ip("fd00::9"), mac);
        Assert.That(Assert.Throws<NetlinkException>(() => nl.AddNeighbor(a0, Ip("10.1.2.9"), mac))!.IsExists, Is.True);
        nl.ReplaceNeighbor(a0, Ip("10.1.2.9"), mac2);

        Neighbor v4 = nl.ListNeighbors(a0, AddressFamily.InterNetwork).Single();
        Assert.That(v4.IPAddress, Is.EqualTo(Ip("10.1.2.9")));
        Assert.That(v4.MacAddress, Is.EqualTo(mac2));
        Assert.That(v4.State, Is.EqualTo(NeighborState.Permanent));
        Assert.That(nl.ListNeighbors(a0, AddressFamily.InterNetworkV6).Select(n => n.IPAddress), Does.Contain(Ip("fd00::9")));

        nl.DeleteNeighbor(a0, Ip("10.1.2.9"));
        Assert.That(nl.ListNeighbors(a0, AddressFamily.InterNetwork), Is.Empty);
        Assert.That(Assert.Throws<NetlinkException>(() => nl.DeleteNeighbor(a0, Ip("10.1.2.9")))!.IsNotFound, Is.True);
    }

    [Test]
    public void DumpOfTwoThousandRoutesComesBackWhole()
    {
        using var scratch = new Scratch();
        var (nl, a0) = UpVeth(scratch);
        var expected = new HashSet<IPAddress>();
        for (int i = 0; i < 2000; i++)
        {
            var dst = new IPAddress(new byte[] { 10, (byte)(100 + i / 256), (byte)(i % 256), 0 });
            nl.AddRoute(new Route { Destination = dst, PrefixLength = 24, OutputLinkIndex = a0 });
            expected.Add(dst);
        }
        IReadOnlyList<Route> routes = nl.ListRoutes(AddressFamily.InterNetwork, new RouteFilter { OutputLinkIndex = a0 });
        Assert.That(routes, Has.Count.EqualTo(2000));
        Assert.That(routes.Select(r => r.Destination!).ToHashSet().SetEquals(expected), Is.True);
    }
}
