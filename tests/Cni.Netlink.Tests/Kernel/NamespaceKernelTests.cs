using Cni.TestSupport;

namespace Cni.Netlink.Tests.Kernel;

[Category(Category.Kernel)]
public class NamespaceKernelTests
{
    [SetUp]
    public void RequireRoot() => TestEnvironment.RequireRoot();

    [Test]
    public void CreateOpenDeleteNamedNamespace()
    {
        string name = TestEnvironment.UniqueName("cnins");
        NetNs? ns = null;
        try
        {
            ns = NetNs.Create(name);
            Assert.That(NetNs.Exists(name), Is.True);
            var again = Assert.Throws<NetlinkException>(() => NetNs.Create(name))!;
            Assert.That(again.IsExists, Is.True, again.Message);

            // A fresh namespace has only lo, and it is a different namespace from ours.
            using (var nl = RtNetlink.Open(ns))
                Assert.That(nl.ListLinks().Select(l => l.Name), Is.EqualTo(new[] { "lo" }));
            using (var opened = NetNs.OpenNamed(name))
            using (var nl = RtNetlink.Open(opened))
                Assert.That(nl.ListLinks(), Has.Count.EqualTo(1));
            using (var self = NetNs.OpenCurrent())
            using (var nl = RtNetlink.Open(self))
                Assert.That(nl.ListLinks().Count, Is.GreaterThanOrEqualTo(1));
        }
        finally
        {
            ns?.Dispose();
            if (NetNs.Exists(name)) NetNs.Delete(name);
        }
        Assert.That(NetNs.Exists(name), Is.False);
        var missing = Assert.Throws<NetlinkException>(() => NetNs.Delete(name))!;
        Assert.That(missing.IsNotFound, Is.True);
        Assert.That(Assert.Throws<NetlinkException>(() => NetNs.OpenNamed(name))!.IsNotFound, Is.True);
    }

    [Test]
    public void RunDoesNotMoveTheCaller()
    {
        using var scratch = new Scratch();
        var (ns, _) = scratch.NewNamespace();
        string Inode() => File.ResolveLinkTarget("/proc/thread-self/ns/net", false)!.Name;
        string before = Inode();
        string inside = ns.Run(() => File.ResolveLinkTarget("/proc/thread-self/ns/net", false)!.Name);
        Assert.That(inside, Is.Not.EqualTo(before));
        Assert.That(Inode(), Is.EqualTo(before));
    }

    [Test]
    public void RunComesBackAlsoWhenTheWorkThrowsAndOnTheSameThread()
    {
        using var scratch = new Scratch();
        var (ns, _) = scratch.NewNamespace();
        string Inode() => File.ResolveLinkTarget("/proc/thread-self/ns/net", false)!.Name;
        string before = Inode();
        int thread = Environment.CurrentManagedThreadId;
        Assert.That(ns.Run(() => Environment.CurrentManagedThreadId), Is.EqualTo(thread), "no thread is started per visit");
        Assert.Throws<InvalidOperationException>(() => ns.Run(() => throw new InvalidOperationException("inside")));
        Assert.That(Inode(), Is.EqualTo(before));
        // nested visits come back to where each started
        string outer = ns.Run(() => ns.Run(Inode) + "|" + Inode());
        Assert.That(outer.Split('|')[0], Is.EqualTo(outer.Split('|')[1]));
        Assert.That(Inode(), Is.EqualTo(before));
    }

    [Test]
    public void IdentityAndValidation()
    {
        using var scratch = new Scratch();
        var (ns, _) = scratch.NewNamespace();
        using var again = NetNs.Open(ns.Path!);
        using var self = NetNs.OpenCurrent();
        using var pid1 = NetNs.OpenByPid(Environment.ProcessId);
        Assert.That(again.IsSameAs(ns), Is.True);
        Assert.That(self.IsSameAs(ns), Is.False);
        Assert.That(pid1.IsSameAs(self), Is.True);
        var notNet = Assert.Throws<NetlinkException>(() => NetNs.Open("/proc/self/ns/mnt"))!;
        Assert.That(notNet.Errno, Is.EqualTo(NetlinkException.EINVAL), notNet.Message);
        Assert.That(Assert.Throws<NetlinkException>(() => NetNs.Open("/etc/hostname"))!.Errno, Is.EqualTo(NetlinkException.EINVAL));
        Assert.Throws<ArgumentException>(() => NetNs.OpenNamed("../etc"));
    }


    [Test]
    public void SysctlInANamespaceLeavesTheHostAlone()
    {
        using var scratch = new Scratch();
        var (ns, _) = scratch.NewNamespace();
        string host = Sysctl.Get("net.ipv4.ip_forward");
        string flipped = host == "1" ? "0" : "1";
        Sysctl.Set("net.ipv4.ip_forward", flipped, ns);
        Assert.That(Sysctl.Get("net.ipv4.ip_forward", ns), Is.EqualTo(flipped));
        Assert.That(Sysctl.Get("net.ipv4.ip_forward"), Is.EqualTo(host));
        Sysctl.Set("net/ipv6/conf/lo/disable_ipv6", "1", ns);
        Assert.That(Sysctl.Get("net.ipv6.conf.lo.disable_ipv6", ns), Is.EqualTo("1"));

        var missing = Assert.Throws<NetlinkException>(() => Sysctl.Get("net.ipv4.conf.nosuchdev.arp_notify", ns))!;
        Assert.That(missing.IsNotFound, Is.True);
        var bad = Assert.Throws<NetlinkException>(() => Sysctl.Set("net.ipv4.ip_forward", "banana", ns))!;
        Assert.That(bad.Errno, Is.EqualTo(NetlinkException.EINVAL));
        Assert.Throws<ArgumentException>(() => Sysctl.Get("net/../../etc/passwd"));
    }
}
