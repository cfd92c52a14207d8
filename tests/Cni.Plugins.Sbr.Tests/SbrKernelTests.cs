using System.Text.Json.Nodes;
using Cni.Plugins.TestSupport;
using Cni.Spec;
using Cni.TestSupport;

namespace Cni.Plugins.Sbr.Tests;

/// <summary>
/// sbr in process against real namespaces: a container wired to a private "host" namespace by a veth pair (as ptp
/// leaves it), then ADD, CHECK and DEL, looking at <c>ip rule</c> and <c>ip route show table N</c> inside the container.
/// </summary>
[Category(Category.Kernel)]
public class SbrKernelTests
{
    [SetUp]
    public void RequireRoot() => TestEnvironment.RequireRoot();

    private static readonly string[] DefaultRules = ["0: from all lookup local", "32766: from all lookup main", "32767: from all lookup default", "0: from all lookup local", "32766: from all lookup main"];

    [Test]
    public async Task AddMovesEachAddressIntoItsOwnTableAndDelRemovesIt([ValueSource(typeof(SbrHarness), nameof(SbrHarness.Versions))] string version)
    {
        using var h = new SbrHarness();
        (string ns, CniResult prev) = h.Container();
        JsonObject conf = SbrHarness.WithPrev(h.SbrConf(version), prev);

        PluginOutput add = (await h.AddAsync(conf, ns, "c1")).AssertSuccess();
        Assert.That(add.Json.ToJsonString(), Is.EqualTo(SbrHarness.InVersion(prev, version).ToJsonString()), "prevResult passed through in the configuration's version");

        Assert.Multiple(() =>
        {
            Assert.That(SbrHarness.ExtraRules(ns), Is.EqualTo(new[] { "32765: from 10.93.0.2 lookup 100", "32765: from fd00:93::2 lookup 101" }));
            Assert.That(SbrHarness.Table(ns, "100"), Is.EqualTo(new[] { "default via 10.93.0.1 dev eth0", "10.93.0.0/24 dev eth0 proto kernel scope link src 10.93.0.2" }));
            Assert.That(SbrHarness.Table(ns, "101", v6: true), Is.EqualTo(new[] { "fd00:93::/64 dev eth0 proto kernel metric 256 pref medium", "fe80::/64 dev eth0 proto kernel metric 256 pref medium", "default via fd00:93::1 dev eth0 metric 1024 pref medium" }));
            Assert.That(SbrHarness.Table(ns, "100", v6: true), Is.EqualTo(new[] { "fd00:93::/64 dev eth0 proto kernel metric 256 pref medium", "fe80::/64 dev eth0 proto kernel metric 256 pref medium" }),
                "routes without source and gateway go to every table, as the reference");
            Assert.That(SbrHarness.Table(ns, "main"), Is.Empty, "the interface's routes left main");
            Assert.That(SbrHarness.Table(ns, "main", v6: true), Is.Empty);
        });

        if (version is not ("0.1.0" or "0.2.0" or "0.3.0" or "0.3.1"))
            (await h.RunAsync("CHECK", conf, SbrHarness.NsPath(ns), "c1", "eth0")).AssertSuccess();

        (await h.DelAsync(conf, SbrHarness.NsPath(ns), "c1")).AssertSuccess();
        Assert.That(SbrHarness.Rules(ns), Is.EqualTo(DefaultRules));
        Assert.That(SbrHarness.Table(ns, "100"), Is.Empty);
        Assert.That(SbrHarness.Table(ns, "100", v6: true), Is.Empty);
        Assert.That(SbrHarness.Table(ns, "101", v6: true), Is.Empty);
        (await h.DelAsync(conf, SbrHarness.NsPath(ns), "c1")).AssertSuccess();
    }

    [Test]
    public async Task TablesInUseAreSkipped()
    {
        using var h = new SbrHarness();
        (string ns, CniResult prev) = h.Container();
        Shell.Run("ip", "-n", ns, "rule", "add", "from", "192.0.2.9", "lookup", "100");
        Shell.Run("ip", "-n", ns, "route", "add", "blackhole", "198.51.100.0/24", "table", "101");
        Shell.Run("ip", "-n", ns, "-6", "route", "add", "blackhole", "2001:db8::/64", "table", "103");

        (await h.AddAsync(SbrHarness.WithPrev(h.SbrConf("1.0.0"), prev), ns, "c1")).AssertSuccess();
        Assert.That(SbrHarness.ExtraRules(ns), Is.EqualTo(new[] { "32764: from 10.93.0.2 lookup 102", "32765: from 192.0.2.9 lookup 100", "32765: from fd00:93::2 lookup 104" }));

        (await h.DelAsync(SbrHarness.WithPrev(h.SbrConf("1.0.0"), prev), SbrHarness.NsPath(ns), "c1")).AssertSuccess();
        Assert.That(SbrHarness.ExtraRules(ns), Is.EqualTo(new[] { "32765: from 192.0.2.9 lookup 100" }), "only the interface's rules go");
        Assert.That(SbrHarness.Table(ns, "101"), Is.EqualTo(new[] { "blackhole 198.51.100.0/24" }), "other tables untouched");
    }

    [Test]
    public async Task AConfiguredTableGetsOnlyRules()
    {
        using var h = new SbrHarness();
        (string ns, CniResult prev) = h.Container();
        JsonObject conf = SbrHarness.WithPrev(h.SbrConf("1.1.0", """{"table": 5001}"""), prev);
        string[] mainBefore = SbrHarness.Table(ns, "main");

        (await h.AddAsync(conf, ns, "c1")).AssertSuccess();
        Assert.That(SbrHarness.ExtraRules(ns), Is.EqualTo(new[] { "32765: from 10.93.0.2 lookup 5001", "32765: from fd00:93::2 lookup 5001" }));
        Assert.That(SbrHarness.Table(ns, "main"), Is.EqualTo(mainBefore), "routes stay where they are");
        Assert.That(SbrHarness.Table(ns, "5001"), Is.Empty);
        (await h.RunAsync("CHECK", conf, SbrHarness.NsPath(ns), "c1", "eth0")).AssertSuccess();

        (await h.DelAsync(conf, SbrHarness.NsPath(ns), "c1")).AssertSuccess();
        Assert.That(SbrHarness.ExtraRules(ns), Is.Empty);
        Assert.That(SbrHarness.Table(ns, "main"), Is.EqualTo(mainBefore));
    }

    [Test]
    public async Task AFailedAddLeavesNothingBehind()
    {
        using var h = new SbrHarness();
        (string ns, CniResult prev) = h.Container();
        string[] routesBefore = SbrHarness.AllRoutes(ns);
        // A static gateway nothing can reach: rule and table of the first address are made, then its default route fails.
        (await h.AddAsync(SbrHarness.WithPrev(h.SbrConf("1.0.0", """{"gateways": ["192.0.2.1"]}"""), prev), ns, "c1")).AssertError(999, "Failed to add default route to 192.0.2.1");
        Assert.That(SbrHarness.ExtraRules(ns), Is.Empty);
        Assert.That(SbrHarness.AllRoutes(ns), Is.EqualTo(routesBefore), "main keeps its routes, no table left");

        // The IPv4 address gets its whole table (rule, default route, copied routes); then the IPv6 default route fails.
        (await h.AddAsync(SbrHarness.WithPrev(h.SbrConf("1.0.0", """{"gateways": ["10.93.0.254", "2001:db8::1"]}"""), prev), ns, "c1")).AssertError(999, "Failed to add default route to 2001:db8::1 in table 101");
        Assert.That(SbrHarness.ExtraRules(ns), Is.Empty);
        Assert.That(SbrHarness.AllRoutes(ns), Is.EqualTo(routesBefore), "table 100 emptied again");
    }

    [Test]
    public async Task CheckNamesWhatDrifted()
    {
        using var h = new SbrHarness();
        (string ns, CniResult prev) = h.Container();
        JsonObject conf = SbrHarness.WithPrev(h.SbrConf("1.0.0"), prev);
        (await h.AddAsync(conf, ns, "c1")).AssertSuccess();

        Shell.Run("ip", "-n", ns, "route", "del", "default", "table", "100");
        (await h.RunAsync("CHECK", conf, SbrHarness.NsPath(ns), "c1", "eth0")).AssertError(999, "table 100 of 10.93.0.2 has no default route via 10.93.0.1");
        Shell.Run("ip", "-n", ns, "-6", "rule", "del", "from", "fd00:93::2");
        Shell.Run("ip", "-n", ns, "route", "add", "default", "via", "10.93.0.1", "table", "100");
        (await h.RunAsync("CHECK", conf, SbrHarness.NsPath(ns), "c1", "eth0")).AssertError(999, "no rule \"from fd00:93::2 lookup N\" for eth0");
    }

    [Test]
    public async Task SourceHintsKeepTheSubnetRoutesInMain()
    {
        using var h = new SbrHarness();
        (string ns, CniResult prev) = h.Container();
        (await h.AddAsync(SbrHarness.WithPrev(h.SbrConf("1.0.0", """{"addSourceHints": true, "gateways": ["10.93.0.254"]}"""), prev), ns, "c1")).AssertSuccess();
        Assert.Multiple(() =>
        {
            Assert.That(SbrHarness.Table(ns, "main"), Is.EqualTo(new[] { "10.93.0.0/24 dev eth0 scope link src 10.93.0.2" }));
            Assert.That(SbrHarness.Table(ns, "100")[0], Is.EqualTo("default via 10.93.0.254 dev eth0"), "the static gateway wins");
            Assert.That(SbrHarness.Table(ns, "main", v6: true), Does.Contain("fd00:93::/64 dev eth0 src fd00:93::2 metric 1024 pref medium"));
            Assert.That(SbrHarness.Table(ns, "main", v6: true).Where(r => r.StartsWith("default", StringComparison.Ordinal)), Is.Empty);
        });
    }

    [Test]
    public async Task DelSucceedsWhateverIsGone()
    {
        using var h = new SbrHarness();
        (string ns, CniResult prev) = h.Container();
        JsonObject conf = SbrHarness.WithPrev(h.SbrConf("1.0.0"), prev);
        (await h.AddAsync(conf, ns, "c1")).AssertSuccess();

        // The interface is gone: prevResult still names the addresses whose rules must go.
        Shell.Run("ip", "-n", ns, "link", "del", "eth0");
        (await h.DelAsync(conf, SbrHarness.NsPath(ns), "c1")).AssertSuccess();
        Assert.That(SbrHarness.ExtraRules(ns), Is.Empty);

        (await h.DelAsync(conf, null, "c1")).AssertSuccess();
        h.DeleteNamespace(ns);
        (await h.DelAsync(conf, SbrHarness.NsPath(ns), "c1")).AssertSuccess();
    }

    [Test]
    public async Task ADuplicateAddressInAnotherNamespaceIsNotTouched()
    {
        using var h = new SbrHarness();
        (string ns1, CniResult prev1) = h.Container(93);
        (string ns2, CniResult prev2) = h.Container(93, h.CreateNamespace());
        (await h.AddAsync(SbrHarness.WithPrev(h.SbrConf("1.0.0"), prev1), ns1, "c1")).AssertSuccess();
        (await h.AddAsync(SbrHarness.WithPrev(h.SbrConf("1.0.0"), prev2), ns2, "c2")).AssertSuccess();
        (await h.DelAsync(SbrHarness.WithPrev(h.SbrConf("1.0.0"), prev1), SbrHarness.NsPath(ns1), "c1")).AssertSuccess();
        Assert.That(SbrHarness.ExtraRules(ns2), Has.Length.EqualTo(2), "rules live in each container's own namespace");
    }

    [Test]
    public async Task TwoInterfacesAddedAtOnceGetTablesOfTheirOwn()
    {
        using var h = new SbrHarness();
        (string ns, CniResult prev0) = h.Container();
        // A second interface, net1, the way a second network's ptp would leave it (no default route of its own).
        string hostIf = TestEnvironment.UniqueName("vh");
        Shell.Run("ip", "-n", h.HostNs, "link", "add", hostIf, "type", "veth", "peer", "name", "net1", "netns", ns);
        Shell.Run("ip", "-n", h.HostNs, "addr", "add", "10.94.0.1/24", "dev", hostIf);
        Shell.Run("ip", "-n", h.HostNs, "link", "set", hostIf, "up");
        Shell.Run("ip", "-n", ns, "addr", "add", "10.94.0.2/24", "dev", "net1");
        Shell.Run("ip", "-n", ns, "link", "set", "net1", "up");
        var prev1 = new CniResult
        {
            Interfaces = [new CniInterface { Name = hostIf }, new CniInterface { Name = "net1", Sandbox = SbrHarness.NsPath(ns) }],
            Ips = [new CniIPConfig { Interface = 1, Address = IPPrefix.Parse("10.94.0.2/24"), Gateway = System.Net.IPAddress.Parse("10.94.0.1") }],
        };

        // Both at once: the lock on the namespace keeps them from picking the same free table.
        Task<PluginOutput> a = Task.Run(() => h.AddAsync(SbrHarness.WithPrev(h.SbrConf("1.0.0"), prev0), ns, "c1", "eth0"));
        Task<PluginOutput> b = Task.Run(() => h.AddAsync(SbrHarness.WithPrev(h.SbrConf("1.0.0"), prev1), ns, "c1", "net1"));
        (await a).AssertSuccess();
        (await b).AssertSuccess();
        string[] rules = SbrHarness.ExtraRules(ns);
        Assert.That(rules, Has.Length.EqualTo(3));
        string[] tables = rules.Select(r => r.Split(' ')[^1]).ToArray();
        Assert.That(tables, Is.Unique, string.Join("; ", rules));
        string net1Table = rules.Single(r => r.Contains("10.94.0.2", StringComparison.Ordinal)).Split(' ')[^1];
        Assert.That(SbrHarness.Table(ns, net1Table), Is.EqualTo(new[] { "default via 10.94.0.1 dev net1", "10.94.0.0/24 dev net1 proto kernel scope link src 10.94.0.2" }));

        (await h.DelAsync(SbrHarness.WithPrev(h.SbrConf("1.0.0"), prev1), SbrHarness.NsPath(ns), "c1", "net1")).AssertSuccess();
        Assert.That(SbrHarness.ExtraRules(ns), Has.Length.EqualTo(2), "eth0's rules stay");
        Assert.That(SbrHarness.Table(ns, net1Table), Is.Empty);
    }
}
