using System.Text.Json.Nodes;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Ptp.Tests;

/// <summary>
/// The published ptp against the kernel: it runs inside a throwaway "host" namespace (the test's own namespace is
/// never changed), containers are throwaway namespaces, and busybox ping checks the paths.
/// </summary>
[TestFixture]
[Category(Category.Kernel)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
[NonParallelizable]
public class PtpKernelTests
{
    [SetUp]
    public void RequireRoot()
    {
        TestEnvironment.RequireRoot();
        TestEnvironment.RequireTool("busybox", "apt-get install busybox-static");
    }

    private static string Address(JsonObject result, int index = 0) => result["ips"]![index]!["address"]!.GetValue<string>().Split('/')[0];

    private static string HostVeth(JsonObject result) => result["interfaces"]![0]!["name"]!.GetValue<string>();

    [Test]
    public async Task TwoContainersReachTheHostAndEachOtherThroughIt([ValueSource(typeof(PtpHarness), nameof(PtpHarness.Versions))] string version)
    {
        using var h = new PtpHarness();
        JsonObject conf = h.Config(version);
        string ns1 = h.CreateNamespace(), ns2 = h.CreateNamespace();

        JsonObject r1 = (await h.AddAsync(conf, ns1, "pod1")).AssertSuccess().Json;
        JsonObject r2 = (await h.AddAsync(conf, ns2, "pod2")).AssertSuccess().Json;

        Assert.That(r1["cniVersion"]!.GetValue<string>(), Is.EqualTo(version));
        JsonArray interfaces = r1["interfaces"]!.AsArray();
        Assert.That(interfaces, Has.Count.EqualTo(2));
        Assert.That(HostVeth(r1), Does.Match("^veth[0-9a-f]{11}$"));
        Assert.That(interfaces[0]!["sandbox"], Is.Null);
        Assert.That(interfaces[0]!["mac"]!.GetValue<string>(), Does.Match("^([0-9a-f]{2}:){5}[0-9a-f]{2}$"));
        Assert.That(interfaces[1]!["name"]!.GetValue<string>(), Is.EqualTo("eth0"));
        Assert.That(interfaces[1]!["sandbox"]!.GetValue<string>(), Is.EqualTo(PluginHarness.NsPath(ns1)));
        Assert.That(interfaces[1]!["mac"]!.GetValue<string>(), Is.EqualTo(Shell.Run("ip", "-n", ns1, "-o", "link", "show", "eth0").Stdout.Split("link/ether ")[1].Split(' ')[0]));
        Assert.That(r1["ips"]![0]!["interface"]!.GetValue<int>(), Is.EqualTo(1));
        Assert.That(r1["ips"]![0]!["gateway"]!.GetValue<string>(), Is.EqualTo("10.95.0.1"));

        // Host address reuse: both host ends carry the gateway as a /32, each routes its container's address.
        Assert.That(PtpHarness.Addresses(h.HostNs, HostVeth(r1)), Is.EqualTo(new[] { "10.95.0.1/32" }));
        Assert.That(PtpHarness.Addresses(h.HostNs, HostVeth(r2)), Is.EqualTo(new[] { "10.95.0.1/32" }));
        Assert.That(Shell.Run("ip", "-n", h.HostNs, "route", "show", Address(r1)).Stdout, Does.Contain("dev " + HostVeth(r1)));
        Assert.That(Shell.Run("ip", "netns", "exec", h.HostNs, "cat", "/proc/sys/net/ipv4/ip_forward").Stdout.Trim(), Is.EqualTo("1"));

        Assert.That(Shell.Ping(ns1, "10.95.0.1"), Is.True, "pod1 -> its host end");
        Assert.That(Shell.Ping(ns1, Address(r2)), Is.True, "pod1 -> pod2, routed by the host");
        Assert.That(Shell.Ping(ns2, Address(r1)), Is.True, "pod2 -> pod1");
        Assert.That(Shell.Ping(h.HostNs, Address(r1)), Is.True, "host -> pod1");

        if (version != "0.3.1")
            (await h.CheckAsync(conf, r1, ns1, "pod1")).AssertSuccess();

        (await h.DelAsync(conf, PluginHarness.NsPath(ns1), "pod1")).AssertSuccess();
        (await h.DelAsync(conf, PluginHarness.NsPath(ns1), "pod1")).AssertSuccess(); // idempotent
        (await h.DelAsync(conf, PluginHarness.NsPath(ns2), "pod2")).AssertSuccess();
        Assert.That(PtpHarness.Links(h.HostNs), Is.EqualTo(new[] { "lo" }));
        Assert.That(PtpHarness.Links(ns1), Is.EqualTo(new[] { "lo" }));
        Assert.That(h.Reservations(), Is.Empty);
    }

    [TestCase("0.1.0")]
    [TestCase("0.2.0")]
    public async Task OldVersionsGetTheirResultShape(string version)
    {
        using var h = new PtpHarness();
        JsonObject conf = h.Config(version);
        string ns = h.CreateNamespace();
        JsonObject r = (await h.AddAsync(conf, ns, "pod1")).AssertSuccess().Json;
        Assert.That(r["cniVersion"]!.GetValue<string>(), Is.EqualTo(version));
        Assert.That(r["ip4"]!["ip"]!.GetValue<string>(), Does.StartWith("10.95.0."));
        Assert.That(r["ip4"]!["gateway"]!.GetValue<string>(), Is.EqualTo("10.95.0.1"));
        Assert.That(r["interfaces"], Is.Null);
        Assert.That(Shell.Ping(ns, "10.95.0.1"), Is.True);
        (await h.DelAsync(conf, PluginHarness.NsPath(ns), "pod1")).AssertSuccess();
        Assert.That(PtpHarness.Links(h.HostNs), Is.EqualTo(new[] { "lo" }));
        Assert.That(h.Reservations(), Is.Empty);
    }

    [Test]
    public async Task DualStackWithDefaultRoutes()
    {
        using var h = new PtpHarness();
        JsonObject conf = h.Config("1.0.0", ipam: false);
        JsonObject ipam = h.HostLocal("10.96.0.0/24", "fd00:96::/64");
        ipam["routes"] = JsonNode.Parse("""[{"dst": "0.0.0.0/0"}, {"dst": "::/0"}]""");
        conf["ipam"] = ipam;
        string ns1 = h.CreateNamespace(), ns2 = h.CreateNamespace();
        JsonObject r1 = (await h.AddAsync(conf, ns1, "pod1")).AssertSuccess().Json;
        JsonObject r2 = (await h.AddAsync(conf, ns2, "pod2")).AssertSuccess().Json;
        Assert.That(r1["ips"]!.AsArray(), Has.Count.EqualTo(2));

        Assert.That(PtpHarness.Addresses(h.HostNs, HostVeth(r1)), Is.EqualTo(new[] { "10.96.0.1/32", "fd00:96::1/128" }));
        Assert.That(Shell.Run("ip", "netns", "exec", h.HostNs, "cat", "/proc/sys/net/ipv6/conf/all/forwarding").Stdout.Trim(), Is.EqualTo("1"));
        Assert.That(Shell.Run("ip", "-n", ns1, "-6", "addr", "show", "dev", "eth0").Stdout, Does.Not.Contain("tentative"), "no DAD in the container");
        Assert.That(Shell.Run("ip", "-n", ns1, "-6", "route", "show", "default").Stdout, Does.Contain("via fd00:96::1"));
        Assert.That(Shell.Run("ip", "-n", ns1, "-4", "route", "show", "default").Stdout, Does.Contain("via 10.96.0.1"));

        Assert.That(Shell.Ping(ns1, "fd00:96::1"), Is.True, "IPv6 pod1 -> gateway");
        Assert.That(Shell.Ping(ns1, Address(r2, 1)), Is.True, "IPv6 pod1 -> pod2");
        Assert.That(Shell.Ping(ns2, Address(r1, 0)), Is.True, "IPv4 pod2 -> pod1");

        (await h.CheckAsync(conf, r1, ns1, "pod1")).AssertSuccess();
        (await h.DelAsync(conf, PluginHarness.NsPath(ns1), "pod1")).AssertSuccess();
        (await h.DelAsync(conf, PluginHarness.NsPath(ns2), "pod2")).AssertSuccess();
        Assert.That(PtpHarness.Links(h.HostNs), Is.EqualTo(new[] { "lo" }));
        Assert.That(h.Reservations(), Is.Empty);
    }

    [Test]
    public async Task LayoutIsTheReferencePtps()
    {
        string reference = TestEnvironment.RequireReferencePlugin("ptp");
        using var ours = new PtpHarness();
        using var theirs = new PtpHarness();
        // Same subnets in two private hosts: each first container gets .2 / ::2, so the layouts compare as text.
        JsonObject Conf(PtpHarness h)
        {
            JsonObject conf = h.Config("1.0.0", """{"mtu": 1400}""", ipam: false);
            JsonObject ipam = h.HostLocal("10.97.0.0/24", "fd00:97::/64");
            ipam["routes"] = JsonNode.Parse("""[{"dst": "0.0.0.0/0"}, {"dst": "10.200.0.0/16"}, {"dst": "::/0"}]""");
            conf["ipam"] = ipam;
            return conf;
        }
        string nsOurs = ours.CreateNamespace(), nsTheirs = theirs.CreateNamespace();
        JsonObject rOurs = (await ours.AddAsync(Conf(ours), nsOurs, "pod1")).AssertSuccess().Json;
        var vars = theirs.Variables("ADD", PluginHarness.NsPath(nsTheirs), "pod1", "eth0");
        vars["CNI_PATH"] = TestEnvironment.ReferencePluginDir;
        JsonObject rTheirs = (await theirs.RunInHostNsAsync([reference], vars, Conf(theirs).ToJsonString())).AssertSuccess().Json;

        string vOurs = HostVeth(rOurs), vTheirs = HostVeth(rTheirs);
        foreach (bool v6 in new[] { false, true })
        {
            Assert.That(PtpHarness.Routes(nsOurs, v6, "eth0"), Is.EqualTo(PtpHarness.Routes(nsTheirs, v6, "eth0")), $"container routes, IPv{(v6 ? 6 : 4)}");
            Assert.That(PtpHarness.Routes(ours.HostNs, v6, vOurs), Is.EqualTo(PtpHarness.Routes(theirs.HostNs, v6, vTheirs)), $"host routes, IPv{(v6 ? 6 : 4)}");
        }
        Assert.That(PtpHarness.Addresses(nsOurs, "eth0"), Is.EqualTo(PtpHarness.Addresses(nsTheirs, "eth0")));
        Assert.That(PtpHarness.Addresses(ours.HostNs, vOurs), Is.EqualTo(PtpHarness.Addresses(theirs.HostNs, vTheirs)));
        Assert.That(Shell.Run("ip", "-n", nsOurs, "-o", "link", "show", "eth0").Stdout, Does.Contain("mtu 1400"));
        Assert.That(Shell.Run("ip", "-n", ours.HostNs, "-o", "link", "show", vOurs).Stdout, Does.Contain("mtu 1400"));
        Assert.That(Shell.Run("ip", "-n", nsTheirs, "-o", "link", "show", "eth0").Stdout, Does.Contain("mtu 1400"));

        // The results agree too, but for the MACs and the host end's name.
        foreach (JsonObject r in new[] { rOurs, rTheirs })
        {
            foreach (JsonNode? i in r["interfaces"]!.AsArray())
            {
                i!.AsObject().Remove("mac");
                if (i["sandbox"] is null) i["name"] = "HOST";
                else i["sandbox"] = "SANDBOX";
            }
        }
        Assert.That(rOurs.ToJsonString(), Is.EqualTo(rTheirs.ToJsonString()));

        (await ours.DelAsync(Conf(ours), PluginHarness.NsPath(nsOurs), "pod1")).AssertSuccess();
        vars["CNI_COMMAND"] = "DEL";
        (await theirs.RunInHostNsAsync([reference], vars, Conf(theirs).ToJsonString())).AssertSuccess();
    }

    [Test]
    public async Task DelWithoutNetnsRemovesTheHostEndAndTheReservation()
    {
        using var h = new PtpHarness();
        JsonObject conf = h.Config("1.0.0");
        string ns = h.CreateNamespace();
        JsonObject r = (await h.AddAsync(conf, ns, "pod1")).AssertSuccess().Json;
        Assert.That(PtpHarness.Links(h.HostNs), Does.Contain(HostVeth(r)));

        (await h.DelAsync(conf, null, "pod1")).AssertSuccess();
        Assert.That(PtpHarness.Links(h.HostNs), Is.EqualTo(new[] { "lo" }));
        Assert.That(PtpHarness.Links(ns), Is.EqualTo(new[] { "lo" }), "the container end went with its peer");
        Assert.That(h.Reservations(), Is.Empty);
        (await h.DelAsync(conf, null, "pod1")).AssertSuccess();
    }

    [Test]
    public async Task DelAfterTheNamespaceIsGoneSucceeds()
    {
        using var h = new PtpHarness();
        JsonObject conf = h.Config("1.0.0");
        string ns = h.CreateNamespace();
        (await h.AddAsync(conf, ns, "pod1")).AssertSuccess();
        h.DeleteNamespace(ns);
        (await h.DelAsync(conf, PluginHarness.NsPath(ns), "pod1")).AssertSuccess();
        Assert.That(PtpHarness.Links(h.HostNs), Is.EqualTo(new[] { "lo" }));
        Assert.That(h.Reservations(), Is.Empty);
    }

    [Test]
    public async Task FailedAddLeavesNoVethNoReservationNoRule()
    {
        TestEnvironment.RequireTool("nft", "apt-get install nftables");
        using var h = new PtpHarness();
        // The IPAM route's gateway is unreachable from the container: ADD fails after the veth pair, the reservation
        // and the masquerade rule exist.
        JsonObject conf = h.Config("1.0.0", """{"ipMasq": true, "ipMasqBackend": "nftables"}""", ipam: false);
        JsonObject ipam = h.HostLocal("10.98.0.0/24");
        ipam["routes"] = JsonNode.Parse("""[{"dst": "10.99.0.0/16", "gw": "192.0.2.1"}]""");
        conf["ipam"] = ipam;
        string ns = h.CreateNamespace();
        string msg = (await h.AddAsync(conf, ns, "pod1")).AssertError(999, "10.99.0.0/16");
        Assert.That(msg, Does.Contain("failed to add route"));
        Assert.That(PtpHarness.Links(h.HostNs), Is.EqualTo(new[] { "lo" }));
        Assert.That(PtpHarness.Links(ns), Is.EqualTo(new[] { "lo" }));
        Assert.That(h.Reservations(), Is.Empty);
        Assert.That(h.NftRuleset(), Does.Not.Contain("10.98.0."), "no masquerade rule left");
    }

    [Test]
    public async Task FailedAddWithAStaticAddressWithoutGatewayLeavesNothing()
    {
        using var h = new PtpHarness();
        JsonObject conf = h.Config("1.0.0", ipam: false);
        conf["ipam"] = JsonNode.Parse("""{"type": "static", "addresses": [{"address": "10.98.1.5/24"}]}""");
        string ns = h.CreateNamespace();
        (await h.AddAsync(conf, ns, "pod1")).AssertError(999, "no gateway for 10.98.1.5/24");
        Assert.That(PtpHarness.Links(h.HostNs), Is.EqualTo(new[] { "lo" }));
        Assert.That(PtpHarness.Links(ns), Is.EqualTo(new[] { "lo" }));
    }

    [Test]
    public async Task ExistingInterfaceNameFailsAndReleasesTheAddress()
    {
        using var h = new PtpHarness();
        JsonObject conf = h.Config("1.0.0");
        string ns = h.CreateNamespace();
        (await h.AddAsync(conf, ns, "pod1")).AssertSuccess();
        (await h.AddAsync(conf, ns, "pod2")).AssertError(999, "(CNI_IFNAME)");
        Assert.That(h.Reservations(), Has.Length.EqualTo(1), "only pod1's address");
        Assert.That(PtpHarness.Links(h.HostNs), Has.Length.EqualTo(2), "lo and pod1's host end");
        (await h.DelAsync(conf, PluginHarness.NsPath(ns), "pod1")).AssertSuccess();
    }

    [Test]
    public async Task CheckNamesWhatDrifted()
    {
        using var h = new PtpHarness();
        JsonObject conf = h.Config("1.0.0");
        string ns = h.CreateNamespace();
        JsonObject r = (await h.AddAsync(conf, ns, "pod1")).AssertSuccess().Json;
        (await h.CheckAsync(conf, r, ns, "pod1")).AssertSuccess();

        Shell.Run("ip", "-n", h.HostNs, "route", "del", Address(r) + "/32", "dev", HostVeth(r));
        (await h.CheckAsync(conf, r, ns, "pod1")).AssertError(999, "host route to " + Address(r));
        Shell.Run("ip", "-n", h.HostNs, "route", "add", Address(r) + "/32", "dev", HostVeth(r), "scope", "host");
        (await h.CheckAsync(conf, r, ns, "pod1")).AssertSuccess();

        Shell.Run("ip", "-n", h.HostNs, "addr", "del", "10.95.0.1/32", "dev", HostVeth(r));
        (await h.CheckAsync(conf, r, ns, "pod1")).AssertError(999, "gateway address 10.95.0.1/32");
        Shell.Run("ip", "-n", h.HostNs, "addr", "add", "10.95.0.1/32", "dev", HostVeth(r));

        Shell.Run("ip", "-n", ns, "route", "del", "10.95.0.1/32", "dev", "eth0");
        (await h.CheckAsync(conf, r, ns, "pod1")).AssertError(999, "10.95.0.1/32");

        Shell.Run("ip", "-n", ns, "addr", "flush", "dev", "eth0");
        (await h.CheckAsync(conf, r, ns, "pod1")).AssertError(999, Address(r));

        var noPrev = await h.RunAsync("CHECK", conf, PluginHarness.NsPath(ns), "pod1", "eth0");
        noPrev.AssertError(7, "prevResult");
        (await h.DelAsync(conf, PluginHarness.NsPath(ns), "pod1")).AssertSuccess();
    }

    [TestCase("nftables")]
    [TestCase("iptables")]
    public async Task IpMasqRulesComeWithAddAndGoWithDel(string backend)
    {
        TestEnvironment.RequireTool("nft", "apt-get install nftables");
        using var h = new PtpHarness();
        JsonObject conf = h.Config("1.0.0", $$"""{"ipMasq": true, "ipMasqBackend": "{{backend}}"}""");
        string ns = h.CreateNamespace();
        JsonObject r = (await h.AddAsync(conf, ns, "pod1")).AssertSuccess().Json;
        string rules = h.NftRuleset();
        Assert.That(rules, Does.Contain(Address(r)));
        Assert.That(rules, Does.Contain(backend == "nftables" ? "cni_plugins_masquerade" : Cni.Plugins.Common.NetfilterNames.ChainName(h.Network, "pod1")));
        (await h.DelAsync(conf, null, "pod1")).AssertSuccess();
        Assert.That(h.NftRuleset(), Does.Not.Contain(Address(r)));
    }

    [Test]
    public async Task GcRemovesTheRulesOfAttachmentsNoLongerValid()
    {
        TestEnvironment.RequireTool("nft", "apt-get install nftables");
        using var h = new PtpHarness();
        JsonObject conf = h.Config("1.1.0", """{"ipMasq": true, "ipMasqBackend": "nftables"}""");
        string ns1 = h.CreateNamespace(), ns2 = h.CreateNamespace();
        JsonObject r1 = (await h.AddAsync(conf, ns1, "pod1")).AssertSuccess().Json;
        JsonObject r2 = (await h.AddAsync(conf, ns2, "pod2")).AssertSuccess().Json;
        JsonObject gc = (JsonObject)conf.DeepClone();
        gc["cni.dev/valid-attachments"] = JsonNode.Parse("""[{"containerID": "pod2", "ifname": "eth0"}]""");
        (await h.RunAsync("GC", gc, null, "", "")).AssertSuccess();
        string rules = h.NftRuleset();
        Assert.That(rules, Does.Not.Contain(Address(r1) + " "));
        Assert.That(rules, Does.Contain(Address(r2) + " "));
        Assert.That(h.Reservations(), Has.Length.EqualTo(1), "host-local GC released pod1's address");
        (await h.DelAsync(conf, PluginHarness.NsPath(ns2), "pod2")).AssertSuccess();
    }
}
