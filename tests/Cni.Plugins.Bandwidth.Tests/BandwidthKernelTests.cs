using System.Text.Json.Nodes;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Bandwidth.Tests;

/// <summary>
/// ADD, CHECK and DEL against the kernel, in process and as the published binary: every test in namespaces of its own
/// (the host side is a private namespace too), asserted with tc and ip as an operator would.
/// </summary>
[TestFixture(Mode.InProcess)]
[TestFixture(Mode.Binary)]
[Category(Category.Kernel)]
[NonParallelizable]
public class BandwidthKernelTests(Mode mode)
{
    private const string Both = """{"ingressRate": 800000, "ingressBurst": 80000, "egressRate": 1600000, "egressBurst": 160000}""";

    [SetUp]
    public void RequireRoot()
    {
        TestEnvironment.RequireRoot();
        TestEnvironment.RequireTool("tc", "apt-get install iproute2");
    }

    [Test]
    public async Task AddShapesBothDirectionsCheckPassesDelRemovesTheIfb()
    {
        foreach (string version in BandwidthHarness.Versions)
        {
            using var h = new BandwidthHarness(mode);
            (string ns, string veth) = h.Pod();
            JsonObject conf = h.Chained(version, Both, ns, veth);
            JsonObject result = (await h.AddAsync(conf, ns, "pod1")).AssertSuccess().Json;

            string ifb = h.Ifb("pod1");
            string qdiscs = h.Qdiscs(veth);
            Assert.Multiple(() =>
            {
                Assert.That(qdiscs, Does.Contain("qdisc tbf 1: root refcnt").And.Contain("rate 800Kbit burst 10000b lat 25ms"), version);
                Assert.That(qdiscs, Does.Contain("qdisc ingress ffff: parent ffff:fff1"), version);
                Assert.That(h.Qdiscs(ifb), Does.Contain("qdisc tbf 1: root").And.Contain("rate 1600Kbit burst 20000b lat 25ms"), version);
                Assert.That(h.IngressFilters(veth), Does.Contain("match 00000000/00000000 at 0").And.Contain($"mirred (Egress Redirect to device {ifb}) stolen").And.Contain("flowid 1:1"), version);
                string details = h.HostLinkDetails(ifb);
                Assert.That(details, Does.Contain(" ifb ").And.Contain("mtu 1500").And.Contain("qlen 1000").And.Contain(",UP"), version);
                JsonArray interfaces = result["interfaces"]!.AsArray();
                Assert.That(interfaces.Select(i => i!["name"]!.GetValue<string>()), Is.EqualTo(new[] { veth, "eth0", ifb }), version);
                Assert.That(interfaces[2]!["mac"]!.GetValue<string>(), Does.Match("^([0-9a-f]{2}:){5}[0-9a-f]{2}$"));
                Assert.That(result["cniVersion"]!.GetValue<string>(), Is.EqualTo(version));
            });

            if (BandwidthHarness.CheckVersions.Contains(version))
                (await h.CheckAsync(conf, result, ns, "pod1")).AssertSuccess();

            (await h.DelAsync(conf, BandwidthHarness.NsPath(ns), "pod1")).AssertSuccess();
            Assert.That(h.HostLinkExists(ifb), Is.False, "DEL removes the ifb");
            (await h.DelAsync(conf, BandwidthHarness.NsPath(ns), "pod1")).AssertSuccess();
            (await h.DelAsync(conf, null, "pod1")).AssertSuccess();
        }
    }

    [Test]
    public async Task IngressOnlyMakesNoIfb()
    {
        using var h = new BandwidthHarness(mode);
        (string ns, string veth) = h.Pod();
        JsonObject conf = h.Chained("1.0.0", """{"ingressRate": 1000000, "ingressBurst": 12345}""", ns, veth);
        JsonObject result = (await h.AddAsync(conf, ns, "pod1")).AssertSuccess().Json;
        Assert.That(h.Qdiscs(veth), Does.Contain("qdisc tbf 1: root").And.Not.Contain("ingress"));
        Assert.That(h.HostLinks(), Has.None.StartWith("bwp"));
        Assert.That(result["interfaces"]!.AsArray(), Has.Count.EqualTo(2));
        (await h.CheckAsync(conf, result, ns, "pod1")).AssertSuccess();
    }

    [Test]
    public async Task RuntimeConfigCapability()
    {
        using var h = new BandwidthHarness(mode);
        (string ns, string veth) = h.Pod();
        JsonObject conf = h.Chained("1.1.0", """{"runtimeConfig": {"bandwidth": {"egressRate": 8000000, "egressBurst": 800000}}}""", ns, veth);
        JsonObject result = (await h.AddAsync(conf, ns, "pod2")).AssertSuccess().Json;
        Assert.That(h.Qdiscs(h.Ifb("pod2")), Does.Contain("rate 8Mbit burst 100000b lat 25ms"));
        Assert.That(h.Qdiscs(veth), Does.Not.Contain("tbf"), "no ingress limit configured");
        (await h.CheckAsync(conf, result, ns, "pod2")).AssertSuccess();
        (await h.DelAsync(conf, BandwidthHarness.NsPath(ns), "pod2")).AssertSuccess();
        Assert.That(h.HostLinkExists(h.Ifb("pod2")), Is.False);
    }

    [Test]
    public async Task CheckNamesWhatDrifted()
    {
        using var h = new BandwidthHarness(mode);
        (string ns, string veth) = h.Pod();
        JsonObject conf = h.Chained("1.0.0", Both, ns, veth);
        JsonObject result = (await h.AddAsync(conf, ns, "pod1")).AssertSuccess().Json;
        string ifb = h.Ifb("pod1");

        Shell.Run("ip", "netns", "exec", h.HostNs, "tc", "qdisc", "change", "dev", veth, "root", "handle", "1:", "tbf", "rate", "900kbit", "burst", "10000", "latency", "25ms");
        (await h.CheckAsync(conf, result, ns, "pod1")).AssertError(999, $"Rate doesn't match on {veth} (ingress)");
        Shell.Run("ip", "netns", "exec", h.HostNs, "tc", "qdisc", "del", "dev", veth, "root");
        (await h.CheckAsync(conf, result, ns, "pod1")).AssertError(999, $"no tbf at the root of {veth}");
        Shell.Run("ip", "netns", "exec", h.HostNs, "tc", "qdisc", "add", "dev", veth, "root", "handle", "1:", "tbf", "rate", "800kbit", "burst", "10000", "limit", "12500");
        (await h.CheckAsync(conf, result, ns, "pod1")).AssertSuccess();

        Shell.Run("ip", "netns", "exec", h.HostNs, "tc", "qdisc", "change", "dev", ifb, "root", "handle", "1:", "tbf", "rate", "1600kbit", "burst", "20000", "limit", "99999");
        (await h.CheckAsync(conf, result, ns, "pod1")).AssertError(999, $"Limit doesn't match on {ifb} (egress)");
        Shell.Run("ip", "netns", "exec", h.HostNs, "tc", "filter", "del", "dev", veth, "parent", "ffff:");
        (await h.CheckAsync(conf, result, ns, "pod1")).AssertError(999, $"no filter on {veth} redirects its traffic to {ifb}");
        Shell.Run("ip", "netns", "exec", h.HostNs, "tc", "qdisc", "del", "dev", veth, "ingress");
        (await h.CheckAsync(conf, result, ns, "pod1")).AssertError(999, $"no ingress qdisc on {veth}");
        Shell.Run("ip", "-n", h.HostNs, "link", "del", ifb);
        (await h.CheckAsync(conf, result, ns, "pod1")).AssertError(999, $"{ifb} not found");
    }

    [Test]
    public async Task FailedAddLeavesNothingBehind()
    {
        using var h = new BandwidthHarness(mode);
        (string ns, string veth) = h.Pod();
        // Someone else's link already has the ifb's name: the ifb step fails after the ingress TBF was made.
        string ifb = h.Ifb("pod1");
        Shell.Run("ip", "-n", h.HostNs, "link", "add", ifb, "type", "ifb");
        JsonObject conf = h.Chained("1.0.0", Both, ns, veth);
        (await h.AddAsync(conf, ns, "pod1")).AssertError(999, $"create ifb device {ifb}");
        Assert.That(h.Qdiscs(veth), Does.Not.Contain("tbf").And.Not.Contain("ingress"), "the ingress TBF was undone");
        Assert.That(h.HostLinkExists(ifb), Is.True, "the link that was there before is not ours to delete");
    }

    [Test]
    public async Task ARootQdiscThatWasThereStays()
    {
        using var h = new BandwidthHarness(mode);
        (string ns, string veth) = h.Pod();
        Shell.Run("ip", "netns", "exec", h.HostNs, "tc", "qdisc", "add", "dev", veth, "root", "handle", "1:", "tbf", "rate", "5mbit", "burst", "5000", "limit", "10000");
        JsonObject conf = h.Chained("1.0.0", Both, ns, veth);
        (await h.AddAsync(conf, ns, "pod1")).AssertError(999, $"create qdisc on {veth}");
        Assert.That(h.Qdiscs(veth), Does.Contain("rate 5Mbit"), "not ours to delete");
        Assert.That(h.HostLinks(), Has.None.StartWith("bwp"));
    }

    [Test]
    public async Task InvalidConfigChangesNothing()
    {
        using var h = new BandwidthHarness(mode);
        (string ns, string veth) = h.Pod();
        string before = h.Qdiscs(veth);
        string[] links = h.HostLinks();
        foreach (string bad in new[]
        {
            """{"ingressRate": -1, "ingressBurst": 8000}""",
            """{"egressBurst": 8000}""",
            """{"egressRate": 8000, "egressBurst": 8000, "shapedSubnets": ["10.0.0.0/40"]}""",
        })
        {
            (await h.AddAsync(h.Chained("1.0.0", bad, ns, veth), ns, "pod1")).AssertError(7, "");
            Assert.That(h.Qdiscs(veth), Is.EqualTo(before), bad);
            Assert.That(h.HostLinks(), Is.EquivalentTo(links), bad);
        }
    }

    [Test]
    public async Task NotAVethIsAnError()
    {
        using var h = new BandwidthHarness(mode);
        (string ns, string veth) = h.Pod();
        JsonObject conf = h.Chained("1.0.0", Both, ns, veth);
        (await h.AddAsync(conf, ns, "pod1", ifName: "lo")).AssertError(999, "container interface lo has no veth peer");
        conf["prevResult"]!["interfaces"]!.AsArray().RemoveAt(0);
        (await h.AddAsync(conf, ns, "pod1")).AssertError(999, "no veth peer of container interface found in host ns");
        Assert.That(h.Qdiscs(veth), Does.Not.Contain("tbf"));
    }

    [Test]
    public async Task SameKernelNumbersAsTheReferencePlugin()
    {
        TestEnvironment.RequireReferencePlugin("bandwidth");
        foreach (string bw in new[]
        {
            Both,
            """{"ingressRate": 1000000, "ingressBurst": 12345, "egressRate": 123456789, "egressBurst": 9999999}""",
            """{"ingressRate": 40000000000, "ingressBurst": 32000000, "egressRate": 100000, "egressBurst": 8}""",
        })
        {
            using var h = new BandwidthHarness(mode);
            (string ns1, string veth1) = h.Pod();
            (string ns2, string veth2) = h.Pod();
            JsonObject ours = (await h.AddAsync(h.Chained("1.0.0", bw, ns1, veth1), ns1, "ours")).AssertSuccess().Json;
            JsonObject refConf = h.Chained("1.0.0", bw, ns2, veth2);
            (await h.RunReferenceAsync("ADD", refConf, ns2, "theirs")).AssertSuccess();
            Assert.That(Normalise(h.Qdiscs(veth1), veth1), Is.EqualTo(Normalise(h.Qdiscs(veth2), veth2)), bw);
            Assert.That(Normalise(h.Qdiscs(h.Ifb("ours")), h.Ifb("ours")), Is.EqualTo(Normalise(h.Qdiscs(h.Ifb("theirs")), h.Ifb("theirs"))), bw);
            // And each CHECK accepts what the other made.
            refConf["prevResult"] = BandwidthHarness.PrevResult("1.0.0", ns2, veth2);
            (await h.CheckAsync(h.Chained("1.0.0", bw, ns2, veth2), BandwidthHarness.PrevResult("1.0.0", ns2, veth2), ns2, "theirs")).AssertSuccess();
            JsonObject refCheckOnOurs = h.Chained("1.0.0", bw, ns1, veth1);
            (await h.RunReferenceAsync("CHECK", refCheckOnOurs, ns1, "ours")).AssertSuccess();
            Assert.That(ours["interfaces"]!.AsArray(), Has.Count.EqualTo(3));
        }
    }

    [Test]
    public async Task ShapedSubnetsUseTheHtbLayout()
    {
        using var h = new BandwidthHarness(mode);
        (string ns, string veth) = h.Pod();
        JsonObject conf = h.Chained("1.1.0", Both[..^1] + """, "shapedSubnets": ["10.128.0.0/9", "fd00:1:2:3::/64"]}""", ns, veth);
        JsonObject result = (await h.AddAsync(conf, ns, "pod1")).AssertSuccess().Json;
        string ifb = h.Ifb("pod1");
        foreach ((string dev, string rate, string ceil) in new[] { (veth, "800Kbit", "1600Kbit"), (ifb, "1600Kbit", "3200Kbit") })
        {
            string classes = Shell.Run("ip", "netns", "exec", h.HostNs, "tc", "class", "show", "dev", dev).Stdout;
            string filters = Shell.Run("ip", "netns", "exec", h.HostNs, "tc", "filter", "show", "dev", dev).Stdout;
            Assert.Multiple(() =>
            {
                Assert.That(h.Qdiscs(dev), Does.Contain("qdisc htb 1: root").And.Contain("default 0x1 "), dev);
                Assert.That(classes, Does.Contain($"class htb 1:30 root prio 0 rate {rate} ceil {ceil}"), dev);
                Assert.That(classes, Does.Contain("class htb 1:1 root prio 0 rate 800Gbit ceil 800Gbit"), dev);
                Assert.That(filters, Does.Contain("filter parent 1: protocol ip pref 16 u32").And.Contain("match 0a800000/ff800000 at 16").And.Contain("flowid 1:30"), dev);
                Assert.That(filters, Does.Contain("filter parent 1: protocol ipv6 pref 15 u32").And.Contain("match fd000001/ffffffff at 24").And.Contain("match 00020003/ffffffff at 28"), dev);
            });
        }
        (await h.CheckAsync(conf, result, ns, "pod1")).AssertSuccess();
        Shell.Run("ip", "netns", "exec", h.HostNs, "tc", "class", "change", "dev", ifb, "parent", "1:", "classid", "1:30", "htb", "rate", "1700kbit", "burst", "20000");
        (await h.CheckAsync(conf, result, ns, "pod1")).AssertError(999, $"Rate does not match for the shaped class 1:30 for device {ifb} (egress)");
        (await h.DelAsync(conf, BandwidthHarness.NsPath(ns), "pod1")).AssertSuccess();
        Assert.That(h.HostLinkExists(ifb), Is.False);
    }

    [Test]
    public async Task UnshapedSubnetsGoToTheUncappedClass()
    {
        using var h = new BandwidthHarness(mode);
        (string ns, string veth) = h.Pod();
        JsonObject conf = h.Chained("1.0.0", """{"ingressRate": 800000, "ingressBurst": 80000, "unshapedSubnets": ["192.168.0.0/16"]}""", ns, veth);
        JsonObject result = (await h.AddAsync(conf, ns, "pod1")).AssertSuccess().Json;
        Assert.That(h.Qdiscs(veth), Does.Contain("qdisc htb 1: root").And.Contain("default 0x30 "));
        string filters = Shell.Run("ip", "netns", "exec", h.HostNs, "tc", "filter", "show", "dev", veth).Stdout;
        Assert.That(filters, Does.Contain("match c0a80000/ffff0000 at 16").And.Contain("flowid 1:1 "));
        (await h.CheckAsync(conf, result, ns, "pod1")).AssertSuccess();
        JsonObject other = h.Chained("1.0.0", """{"ingressRate": 800000, "ingressBurst": 80000, "shapedSubnets": ["192.168.0.0/16"]}""", ns, veth);
        (await h.CheckAsync(other, result, ns, "pod1")).AssertError(999, "Default class does not match");
    }

    private static string Normalise(string tcOutput, string dev) => tcOutput.Replace(dev, "DEV", StringComparison.Ordinal).Replace(" refcnt 2", "").Replace(" refcnt 3", "");
}
