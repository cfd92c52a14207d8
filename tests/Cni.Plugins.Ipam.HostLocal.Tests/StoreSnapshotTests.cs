using Cni.Plugins.Ipam.HostLocal.Addressing;
using Cni.Plugins.Ipam.HostLocal.Store;

namespace Cni.Plugins.Ipam.HostLocal.Tests;

public class StoreSnapshotTests
{
    private static StoreSnapshot Base(IEnumerable<uint> addresses, bool sorted)
    {
        IpAddr[] keys = [.. addresses.Select(IpAddr.V4)];
        var slots = keys.Select(k => new StoreSnapshot.Slot(System.Text.Encoding.ASCII.GetBytes(k.ToString()), 0, k.ToString().Length, (ulong)k.Value)).ToArray();
        return StoreSnapshot.FromBase(keys, slots, sorted)!;
    }

    [TestCase(true)]  // dense: the direct table
    [TestCase(false)] // sparse: the binary search
    public void LookUpsFindExactlyTheBaseEntries(bool dense)
    {
        uint first = 0x0a140002;
        uint step = dense ? 1u : 7u;
        var present = Enumerable.Range(0, 3000).Where(i => i % 5 != 0).Select(i => first + (uint)i * step).ToList();
        StoreSnapshot s = Base(present.AsEnumerable().Reverse(), sorted: false);
        var set = present.ToHashSet();
        for (uint a = first - 10; a < first + 3000 * step + 10; a++)
        {
            bool has = s.TryGetSlot(IpAddr.V4(a), out StoreSnapshot.Slot slot);
            Assert.That(has, Is.EqualTo(set.Contains(a)), IpAddr.V4(a).ToString());
            if (has)
                Assert.That(slot.Inode, Is.EqualTo(a));
        }
        Assert.Multiple(() =>
        {
            Assert.That(s.Contains(IpAddr.V4(0)), Is.False);
            Assert.That(s.Contains(IpAddr.V4(uint.MaxValue)), Is.False);
            Assert.That(s.Contains(IpAddr.V6(first + step)), Is.False, "an IPv6 address with the same number is another address");
        });
    }

    [Test]
    public void OverlayChangesHideAndExtendTheBaseAndAreTheChangesOfATrackedBase()
    {
        StoreSnapshot s = Base([10, 20, 30], sorted: true);
        s.TrackChangesFrom(42);
        s.Remove(IpAddr.V4(20));
        s.Set(IpAddr.V4(25), "new"u8.ToArray(), 7);
        s.Set(IpAddr.V4(30), "changed"u8.ToArray(), 8);
        s.Set(IpAddr.V6(5), "six"u8.ToArray(), 9);
        Assert.Multiple(() =>
        {
            Assert.That(s.Count, Is.EqualTo(4));
            Assert.That(s.Slots.Keys, Is.EquivalentTo(new[] { IpAddr.V4(10), IpAddr.V4(25), IpAddr.V4(30), IpAddr.V6(5) }));
            Assert.That(s.InAddressOrder().Select(e => e.Key), Is.EqualTo(new[] { IpAddr.V4(10), IpAddr.V4(25), IpAddr.V4(30), IpAddr.V6(5) }));
            Assert.That(s.ContentOf(IpAddr.V4(30)), Is.EqualTo("changed"u8.ToArray()));
            Assert.That(s.Find("changed"u8), Is.EqualTo(new[] { IpAddr.V4(30) }));
            Assert.That(s.Find("30"u8), Is.Empty, "the base's old content of a changed entry is not found");
            Assert.That(s.Changes!.Keys, Is.EquivalentTo(new[] { IpAddr.V4(20), IpAddr.V4(25), IpAddr.V4(30), IpAddr.V6(5) }));
            Assert.That(s.Changes![IpAddr.V4(20)].Removed, Is.True);
        });
        s.Remove(IpAddr.V4(25));
        Assert.Multiple(() =>
        {
            Assert.That(s.Changes!.ContainsKey(IpAddr.V4(25)), Is.False, "added and removed again: no change from the base");
            Assert.That(s.Count, Is.EqualTo(3));
            StoreSnapshot derived = s.Derive();
            derived.Remove(IpAddr.V4(10));
            Assert.That(s.Contains(IpAddr.V4(10)), Is.True, "a derived snapshot changes its own overlay only");
        });
    }

    [Test]
    public void ABaseNamingAnAddressTwiceIsRefused()
    {
        IpAddr[] keys = [IpAddr.V4(1), IpAddr.V4(1)];
        Assert.That(StoreSnapshot.FromBase(keys, new StoreSnapshot.Slot[2], sorted: false), Is.Null);
    }
}
