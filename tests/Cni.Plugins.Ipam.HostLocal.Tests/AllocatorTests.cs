using Cni.Plugins.Ipam.HostLocal.Addressing;
using Cni.Plugins.Ipam.HostLocal.Allocation;
using Cni.Plugins.Ipam.HostLocal.Configuration;
using Cni.Spec;

namespace Cni.Plugins.Ipam.HostLocal.Tests;

/// <summary>The reference's fake store: taken addresses with owners, and last_reserved_ip per range set.</summary>
internal sealed class FakeView : IAllocationView
{
    public Dictionary<IpAddr, string> Owners { get; } = [];

    public Dictionary<int, IpAddr> Last { get; } = [];

    public FakeView Take(string ip, string owner = "other\r\neth0")
    {
        Owners[Ip(ip)] = owner;
        return this;
    }

    public FakeView WithLast(int set, string ip)
    {
        Last[set] = Ip(ip);
        return this;
    }

    public bool IsTaken(IpAddr address) => Owners.ContainsKey(address);

    public IpAddr? LastReserved(int rangeSetIndex) => Last.TryGetValue(rangeSetIndex, out IpAddr a) ? a : null;

    public IEnumerable<IpAddr> HeldBy(string containerId, string ifName) =>
        Owners.Where(o => o.Value == containerId + "\r\n" + ifName || o.Value == containerId).Select(o => o.Key);

    /// <summary>Commits an allocation the way the store does: the file, then last_reserved_ip.</summary>
    public void Commit(AddressPick a, string owner)
    {
        Owners[a.Address] = owner;
        Last[a.RangeSetIndex] = a.Address;
    }

    public void Release(string ip) => Owners.Remove(Ip(ip));

    public static IpAddr Ip(string text) => IpAddr.TryParse(text, out IpAddr a) ? a : throw new FormatException(text);
}

public class AllocatorTests
{
    private static HostLocalConfig Config(string ranges, string? requested = null) =>
        ConfigParserTests.Parse($$"""{"ranges":{{ranges}}}""", argsIp: requested);

    /// <summary>ADDs <paramref name="count"/> containers on <paramref name="view"/> and returns the addresses in order.</summary>
    private static List<string> AddMany(HostLocalConfig config, FakeView view, int count, string prefix = "c")
    {
        var got = new List<string>();
        for (int i = 0; i < count; i++)
        {
            List<AddressPick> plan = Allocator.Plan(config, view, $"{prefix}{i}", "eth0");
            foreach (AddressPick a in plan)
            {
                view.Commit(a, $"{prefix}{i}\r\neth0");
                got.Add(a.Address.ToString());
            }
        }
        return got;
    }

    [Test]
    public void StartsAfterTheGatewayAndGoesRoundRobin()
    {
        HostLocalConfig c = Config("""[[{"subnet":"10.0.0.0/29"}]]""");
        var view = new FakeView();
        Assert.That(AddMany(c, view, 5), Is.EqualTo(new[] { "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6" }));
        Assert.That(() => Allocator.Plan(c, view, "full", "eth0"),
            Throws.InstanceOf<CniException>().With.Message.Contains("no IP addresses available in range set: 10.0.0.1-10.0.0.6")
                .And.Property("NumericCode").EqualTo(HostLocalErrors.RangeExhausted));
    }

    [Test]
    public void ReleasedAddressesComeBackOnlyAfterTheWholeRange()
    {
        HostLocalConfig c = Config("""[[{"subnet":"10.0.0.0/29"}]]""");
        var view = new FakeView();
        AddMany(c, view, 3); // .2 .3 .4, last = .4
        view.Release("10.0.0.3");
        Assert.That(AddMany(c, view, 3, "n"), Is.EqualTo(new[] { "10.0.0.5", "10.0.0.6", "10.0.0.3" }));
    }

    [Test]
    public void WrapsAroundFromTheEndToTheStart()
    {
        HostLocalConfig c = Config("""[[{"subnet":"10.0.0.0/24","rangeStart":"10.0.0.10","rangeEnd":"10.0.0.12"}]]""");
        var view = new FakeView().WithLast(0, "10.0.0.12");
        Assert.That(AddMany(c, view, 3), Is.EqualTo(new[] { "10.0.0.10", "10.0.0.11", "10.0.0.12" }));
    }

    [Test]
    public void LastReservedOutsideTheSetRestartsAtTheFirstRange()
    {
        HostLocalConfig c = Config("""[[{"subnet":"10.0.0.0/24","rangeStart":"10.0.0.10","rangeEnd":"10.0.0.20"}]]""");
        var view = new FakeView().WithLast(0, "10.0.0.50");
        Assert.That(AddMany(c, view, 1), Is.EqualTo(new[] { "10.0.0.10" }));
    }

    [Test]
    public void SkipsAGatewayInsideTheRange()
    {
        HostLocalConfig c = Config("""[[{"subnet":"10.0.0.0/24","rangeStart":"10.0.0.10","rangeEnd":"10.0.0.13","gateway":"10.0.0.11"}]]""");
        var view = new FakeView();
        Assert.That(AddMany(c, view, 3), Is.EqualTo(new[] { "10.0.0.10", "10.0.0.12", "10.0.0.13" }));
    }

    [Test]
    public void GatewayAtRangeStartIsSkippedAndTheWalkStillEnds()
    {
        HostLocalConfig c = Config("""[[{"subnet":"10.0.0.0/30"}]]"""); // .1 (gateway) .. .2
        var view = new FakeView();
        Assert.That(AddMany(c, view, 1), Is.EqualTo(new[] { "10.0.0.2" }));
        Assert.That(Allocator.PickNext(c.RangeSets[0], 0, view), Is.Null);
    }

    [Test]
    public void WalksRangesInOrderAndContinuesInTheNextOne()
    {
        HostLocalConfig c = Config("""[[{"subnet":"10.0.0.0/30"},{"subnet":"10.0.1.0/30"},{"subnet":"10.0.2.0/30"}]]""");
        var view = new FakeView();
        Assert.That(AddMany(c, view, 3), Is.EqualTo(new[] { "10.0.0.2", "10.0.1.2", "10.0.2.2" }));
        view.Release("10.0.0.2");
        view.Release("10.0.2.2");
        // last = 10.0.2.2, the end of the last range: wraps to the first range.
        Assert.That(AddMany(c, view, 2, "n"), Is.EqualTo(new[] { "10.0.0.2", "10.0.2.2" }));
    }

    [Test]
    public void StartsInTheRangeHoldingTheLastReservedAddress()
    {
        HostLocalConfig c = Config("""[[{"subnet":"10.0.0.0/29"},{"subnet":"10.0.1.0/29"}]]""");
        var view = new FakeView().WithLast(0, "10.0.1.3");
        Assert.That(AddMany(c, view, 4), Is.EqualTo(new[] { "10.0.1.4", "10.0.1.5", "10.0.1.6", "10.0.0.2" }));
    }

    [Test]
    public void SkipsTakenAddressesWhoeverOwnsThem()
    {
        HostLocalConfig c = Config("""[[{"subnet":"10.0.0.0/24"}]]""");
        var view = new FakeView().Take("10.0.0.2").Take("10.0.0.3", "legacy-id").WithLast(0, "10.0.0.1");
        Assert.That(AddMany(c, view, 1), Is.EqualTo(new[] { "10.0.0.4" }));
    }

    [Test]
    public void DualStackGivesOneAddressPerSetWithItsOwnRoundRobin()
    {
        HostLocalConfig c = Config("""[[{"subnet":"10.0.0.0/24"}],[{"subnet":"fd00::/120"}]]""");
        var view = new FakeView().WithLast(1, "fd00::40");
        List<AddressPick> plan = Allocator.Plan(c, view, "a", "eth0");
        Assert.That(plan.Select(p => (p.RangeSetIndex, p.Address.ToString(), p.Range.PrefixLength)),
            Is.EqualTo(new[] { (0, "10.0.0.2", 24), (1, "fd00::41", 120) }));
    }

    [Test]
    public void RequestedAddressIsUsedForItsSetOnly()
    {
        HostLocalConfig c = Config("""[[{"subnet":"10.0.0.0/24"}],[{"subnet":"fd00::/120"}]]""", requested: "10.0.0.77");
        List<AddressPick> plan = Allocator.Plan(c, new FakeView(), "a", "eth0");
        Assert.That(plan.Select(p => p.Address.ToString()), Is.EqualTo(new[] { "10.0.0.77", "fd00::2" }));
    }

    [Test]
    public void RequestedAddressThatIsTakenFailsTheWholeAdd()
    {
        HostLocalConfig c = Config("""[[{"subnet":"10.0.0.0/24"}],[{"subnet":"fd00::/120"}]]""", requested: "fd00::9");
        var view = new FakeView().Take("fd00::9");
        CniException ex = Assert.Catch<CniException>(() => Allocator.Plan(c, view, "a", "eth0"))!;
        Assert.Multiple(() =>
        {
            Assert.That(ex.NumericCode, Is.EqualTo(HostLocalErrors.AddressInUse));
            Assert.That(ex.Message, Does.Contain("range 1").And.Contain("fd00::9"));
        });
    }

    [Test]
    public void ExhaustionOfALaterSetReportsWhatTheEarlierSetsChose()
    {
        HostLocalConfig c = Config("""[[{"subnet":"10.0.0.0/24"}],[{"subnet":"10.1.0.0/30"}]]""");
        var view = new FakeView().Take("10.1.0.2");
        AllocationFailedException ex = Assert.Throws<AllocationFailedException>(() => Allocator.Plan(c, view, "a", "eth0"))!;
        Assert.Multiple(() =>
        {
            Assert.That(ex.Message, Does.Contain("failed to allocate for range 1"));
            Assert.That(ex.NumericCode, Is.EqualTo(HostLocalErrors.RangeExhausted));
            Assert.That(ex.Completed.Select(a => (a.RangeSetIndex, a.Address.ToString())), Is.EqualTo(new[] { (0, "10.0.0.2") }));
        });
    }

    [Test]
    public void AnAttachmentGetsOneAddressPerSet()
    {
        HostLocalConfig c = Config("""[[{"subnet":"10.0.0.0/24"}]]""");
        var view = new FakeView().Take("10.0.0.9", "a\r\neth0");
        Assert.That(() => Allocator.Plan(c, view, "a", "eth0"),
            Throws.InstanceOf<CniException>().With.Message.Contains("10.0.0.9 has been allocated to a"));
        Assert.That(Allocator.Plan(c, view, "a", "eth1"), Has.Count.EqualTo(1), "another interface of the same container is another attachment");
        view.Take("10.0.0.10", "b");
        Assert.That(() => Allocator.Plan(c, view, "b", "eth0"), Throws.InstanceOf<CniException>(), "legacy id-only reservations count");
    }
}
