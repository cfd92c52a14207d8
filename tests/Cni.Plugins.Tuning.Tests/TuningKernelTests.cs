using System.Text.Json.Nodes;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Tuning.Tests;

/// <summary>The plugin in process on interfaces of private namespaces: every setting applied, checked, restored.</summary>
[TestFixture]
[Category(Category.Kernel)]
[NonParallelizable]
public class TuningKernelTests
{
    private const string AllSettings = """
        {"sysctl": {"net.ipv4.conf.IFNAME.arp_notify": "1", "net/ipv6/conf/IFNAME/accept_dad": "0", "net.core.somaxconn": "512"},
         "mac": "0a:58:0a:61:00:05", "mtu": 1400, "promisc": true, "allmulti": true, "txQLen": 321}
        """;

    [SetUp]
    public void RequireRoot() => TestEnvironment.RequireRoot();

    [Test]
    public async Task EverySettingIsAppliedCheckedAndRestoredOnDel([ValueSource(typeof(TuningHarness), nameof(TuningHarness.Versions))] string version)
    {
        using var h = new TuningHarness();
        string ns = h.NamespaceWithInterface();
        LinkState before = TuningHarness.Read(ns);
        JsonObject conf = h.TuningConfig(version, ns, AllSettings);

        JsonObject result = (await h.AddAsync(conf, ns, "ctr1")).AssertSuccess().Json;

        LinkState after = TuningHarness.Read(ns);
        Assert.Multiple(() =>
        {
            Assert.That(after, Is.EqualTo(new LinkState("0a:58:0a:61:00:05", 1400, 321, true, true)));
            Assert.That(TuningHarness.Sysctl(ns, "net/ipv4/conf/eth0/arp_notify"), Is.EqualTo("1"));
            Assert.That(TuningHarness.Sysctl(ns, "net/ipv6/conf/eth0/accept_dad"), Is.EqualTo("0"));
            Assert.That(TuningHarness.Sysctl(ns, "net/core/somaxconn"), Is.EqualTo("512"));
            Assert.That(result["cniVersion"]!.GetValue<string>(), Is.EqualTo(version));
            Assert.That(result["interfaces"]![0]!["mac"]!.GetValue<string>(), Is.EqualTo("0a:58:0a:61:00:05"), "the result carries the new MAC");
            Assert.That(result["ips"]![0]!["address"]!.GetValue<string>(), Is.EqualTo("10.97.0.5/24"), "prevResult passed through");
            Assert.That(h.StateFiles(), Is.EqualTo(new[] { "ctr1_eth0.json" }));
        });
        // The saved originals, in the reference's layout.
        string saved = File.ReadAllText(Path.Combine(h.StateDir, "ctr1_eth0.json"));
        Assert.That(saved, Is.EqualTo($"{{\n \"mac\": \"{before.Mac}\",\n \"promisc\": false,\n \"mtu\": 1500,\n \"allmulti\": false,\n \"txQLen\": {before.TxQLen}\n}}"));

        if (TuningHarness.CheckVersions.Contains(version))
        {
            (await h.CheckAsync(conf, result, ns, "ctr1")).AssertSuccess();
            Shell.Run("ip", "-n", ns, "link", "set", "eth0", "mtu", "1300");
            (await h.CheckAsync(conf, result, ns, "ctr1")).AssertError(999, "Error: Tuning configured MTU of eth0 is 1400, current value is 1300");
            Shell.Run("ip", "-n", ns, "link", "set", "eth0", "mtu", "1400");
            Shell.Run("ip", "netns", "exec", ns, "sh", "-c", "echo 0 > /proc/sys/net/ipv4/conf/eth0/arp_notify");
            (await h.CheckAsync(conf, result, ns, "ctr1")).AssertError(999, "/proc/sys/net/ipv4/conf/eth0/arp_notify is 1, current value is 0");
            Shell.Run("ip", "netns", "exec", ns, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/conf/eth0/arp_notify");
            Shell.Run("ip", "-n", ns, "link", "set", "eth0", "promisc", "off");
            (await h.CheckAsync(conf, result, ns, "ctr1")).AssertError(999, "configured promisc is true, current value is 0");
            Shell.Run("ip", "-n", ns, "link", "set", "eth0", "promisc", "on");
            Shell.Run("ip", "-n", ns, "link", "set", "eth0", "txqueuelen", "5");
            (await h.CheckAsync(conf, result, ns, "ctr1")).AssertError(999, "Transmit Queue Length of eth0 is 321, current value is 5");
            Shell.Run("ip", "-n", ns, "link", "set", "eth0", "txqueuelen", "321");
            Shell.Run("ip", "-n", ns, "link", "set", "eth0", "address", "0a:58:0a:61:00:06");
            (await h.CheckAsync(conf, result, ns, "ctr1")).AssertError(999, "Ethernet of eth0 is 0a:58:0a:61:00:05, current value is 0a:58:0a:61:00:06");
            Shell.Run("ip", "-n", ns, "link", "set", "eth0", "address", "0a:58:0a:61:00:05", "allmulticast", "off");
            (await h.CheckAsync(conf, result, ns, "ctr1")).AssertError(999, "all-multicast mode of eth0 is true, current value is false");
        }

        (await h.DelAsync(conf, PluginHarness.NsPath(ns), "ctr1")).AssertSuccess();
        Assert.That(TuningHarness.Read(ns), Is.EqualTo(before), "DEL restored every interface setting");
        Assert.That(h.StateFiles(), Is.Empty, "DEL removed the saved state");
        (await h.DelAsync(conf, PluginHarness.NsPath(ns), "ctr1")).AssertSuccess();
    }

    [Test]
    public async Task OnlySysctlsSavesNothingAndNeedsNoInterfaceSettings()
    {
        using var h = new TuningHarness();
        string ns = h.NamespaceWithInterface("net1");
        LinkState before = TuningHarness.Read(ns, "net1");
        JsonObject conf = h.TuningConfig("1.0.0", ns, """{"sysctl": {"net.ipv4.conf.IFNAME.rp_filter": "2"}}""", ifName: "net1");
        JsonObject result = (await h.AddAsync(conf, ns, "ctr1", "net1")).AssertSuccess().Json;
        Assert.That(TuningHarness.Sysctl(ns, "net/ipv4/conf/net1/rp_filter"), Is.EqualTo("2"));
        Assert.That(result["interfaces"]![0]!["mac"]!.GetValue<string>(), Is.EqualTo("0a:00:00:00:00:01"), "MAC untouched in the result");
        Assert.That(h.StateFiles(), Is.Empty);
        Assert.That(TuningHarness.Read(ns, "net1"), Is.EqualTo(before));
        (await h.CheckAsync(conf, result, ns, "ctr1", "net1")).AssertSuccess();
        (await h.DelAsync(conf, PluginHarness.NsPath(ns), "ctr1", "net1")).AssertSuccess();
    }

    [Test]
    public async Task InterfaceNameWithDotsWorksThroughIfnamePlaceholder()
    {
        using var h = new TuningHarness();
        string ns = h.NamespaceWithInterface("eth0.7");
        JsonObject conf = h.TuningConfig("1.0.0", ns, """{"sysctl": {"net.ipv4.conf.IFNAME.arp_ignore": "2", "net/ipv4/conf/eth0.7/arp_announce": "1"}}""", ifName: "eth0.7");
        JsonObject result = (await h.AddAsync(conf, ns, "ctr1", "eth0.7")).AssertSuccess().Json;
        Assert.That(TuningHarness.Sysctl(ns, "net/ipv4/conf/eth0.7/arp_ignore"), Is.EqualTo("2"));
        Assert.That(TuningHarness.Sysctl(ns, "net/ipv4/conf/eth0.7/arp_announce"), Is.EqualTo("1"));
        (await h.CheckAsync(conf, result, ns, "ctr1", "eth0.7")).AssertSuccess();
    }

    [Test]
    public async Task MacFromCniArgsRuntimeConfigAndArgsCni()
    {
        using var h = new TuningHarness();
        string ns = h.NamespaceWithInterface();
        JsonObject conf = h.TuningConfig("1.0.0", ns, """{"mac": "0a:00:00:00:00:0a"}""");
        (await h.AddAsync(conf, ns, "ctr1", args: "IgnoreUnknown=1;K8S_POD_NAME=x;MAC=0a:00:00:00:00:0b")).AssertSuccess();
        Assert.That(TuningHarness.Read(ns).Mac, Is.EqualTo("0a:00:00:00:00:0b"));
        conf["runtimeConfig"] = new JsonObject { ["mac"] = "0a:00:00:00:00:0c" };
        (await h.AddAsync(conf, ns, "ctr2", args: "MAC=0a:00:00:00:00:0b")).AssertSuccess();
        Assert.That(TuningHarness.Read(ns).Mac, Is.EqualTo("0a:00:00:00:00:0c"));
        conf["args"] = JsonNode.Parse("""{"cni": {"mac": "0A:00:00:00:00:0D", "mtu": 1280}}""");
        JsonObject r = (await h.AddAsync(conf, ns, "ctr3")).AssertSuccess().Json;
        Assert.That(TuningHarness.Read(ns).Mac, Is.EqualTo("0a:00:00:00:00:0d"));
        Assert.That(TuningHarness.Read(ns).Mtu, Is.EqualTo(1280));
        Assert.That(r["interfaces"]![0]!["mac"]!.GetValue<string>(), Is.EqualTo("0a:00:00:00:00:0d"), "normalised as the kernel reports it, so CHECK agrees");
        (await h.CheckAsync(conf, r, ns, "ctr3")).AssertSuccess();
    }

    [TestCase("""{"mtu": 60}""", "(mtu)", TestName = "MtuBelowTheDeviceMinimum")]
    [TestCase("""{"mtu": 70000}""", "(mtu)", TestName = "MtuAboveTheDeviceMaximum")]
    [TestCase("""{"txQLen": 2147483647, "mtu": 60}""", "(mtu)", TestName = "WithQueueLengthMtuRefused")]
    [TestCase("""{"sysctl": {"net.ipv4.conf.IFNAME.no_such_parameter": "1"}}""", "no_such_parameter", TestName = "SysctlMissing")]
    [TestCase("""{"sysctl": {"net.ipv4.conf.IFNAME.rp_filter": "nonsense"}}""", "rp_filter", TestName = "SysctlValueRefused")]
    public async Task AddFailureLeavesNothingChanged(string failing, string fragment)
    {
        using var h = new TuningHarness();
        string ns = h.NamespaceWithInterface();
        string[] paths = ["net/ipv4/conf/eth0/arp_notify", "net/core/somaxconn", "net/ipv4/conf/eth0/rp_filter"];
        LinkState before = TuningHarness.Read(ns);
        string[] sysctlsBefore = paths.Select(p => TuningHarness.Sysctl(ns, p)).ToArray();

        // Settings that succeed first (sysctls, MAC, promisc), then the one that fails.
        JsonObject conf = h.TuningConfig("1.0.0", ns, """{"sysctl": {"net.ipv4.conf.IFNAME.arp_notify": "1", "net.core.somaxconn": "77"}, "mac": "0a:58:0a:61:00:09", "promisc": true, "allmulti": true}""");
        JsonObject extra = JsonNode.Parse(failing)!.AsObject();
        if (extra["sysctl"] is JsonObject more)
        {
            foreach ((string k, JsonNode? v) in more)
                conf["sysctl"]!.AsObject()[k] = v!.DeepClone();
        }
        else
        {
            foreach ((string k, JsonNode? v) in extra)
                conf[k] = v?.DeepClone();
        }

        (await h.AddAsync(conf, ns, "ctr1")).AssertError(999, fragment);

        Assert.Multiple(() =>
        {
            Assert.That(TuningHarness.Read(ns), Is.EqualTo(before), "interface settings restored");
            Assert.That(paths.Select(p => TuningHarness.Sysctl(ns, p)).ToArray(), Is.EqualTo(sysctlsBefore), "sysctls restored");
            Assert.That(h.StateFiles(), Is.Empty, "no saved state left");
        });
    }

    [Test]
    public async Task AddFailurePutsBackAnEarlierSavedFile()
    {
        using var h = new TuningHarness();
        string ns = h.NamespaceWithInterface();
        Directory.CreateDirectory(h.StateDir);
        string file = Path.Combine(h.StateDir, "ctr1_eth0.json");
        File.WriteAllText(file, "{\n \"mtu\": 9000\n}");
        (await h.AddAsync(h.TuningConfig("1.0.0", ns, """{"mtu": 60}"""), ns, "ctr1")).AssertError(999, "(mtu)");
        Assert.That(File.ReadAllText(file), Is.EqualTo("{\n \"mtu\": 9000\n}"));
    }

    [Test]
    public async Task MissingInterfaceOrNamespaceIsAnErrorOnAdd()
    {
        using var h = new TuningHarness();
        string ns = h.NamespaceWithInterface();
        (await h.AddAsync(h.TuningConfig("1.0.0", ns, """{"mtu": 1400}""", ifName: "nope0"), ns, "ctr1", "nope0")).AssertError(999, "\"nope0\"");
        Assert.That(h.StateFiles(), Is.Empty);
        (await h.AddAsync(h.TuningConfig("1.0.0", ns, """{"mtu": 1400}"""), "tns-gone", "ctr1")).AssertError(5, "CNI_NETNS");
    }

    [Test]
    public async Task DelIsBestEffortWhenTheNamespaceOrInterfaceIsGone()
    {
        using var h = new TuningHarness();
        string ns = h.NamespaceWithInterface();
        JsonObject conf = h.TuningConfig("1.0.0", ns, """{"mtu": 1400}""");
        (await h.AddAsync(conf, ns, "ctr1")).AssertSuccess();
        Assert.That(h.StateFiles(), Has.Length.EqualTo(1));

        // No CNI_NETNS: nothing can be restored now; the file stays for a DEL that names the namespace.
        (await h.DelAsync(conf, null, "ctr1")).AssertSuccess();
        Assert.That(h.StateFiles(), Has.Length.EqualTo(1));

        h.DeleteNamespace(ns);
        (await h.DelAsync(conf, PluginHarness.NsPath(ns), "ctr1")).AssertSuccess();
        Assert.That(h.StateFiles(), Is.Empty, "nothing left to restore it on");

        string ns2 = h.NamespaceWithInterface("net9");
        JsonObject conf2 = h.TuningConfig("1.0.0", ns2, """{"mtu": 1400}""", ifName: "net9");
        (await h.AddAsync(conf2, ns2, "ctr2", "net9")).AssertSuccess();
        Shell.Run("ip", "-n", ns2, "link", "del", "net9");
        (await h.DelAsync(conf2, PluginHarness.NsPath(ns2), "ctr2", "net9")).AssertSuccess();
        Assert.That(h.StateFiles(), Is.Empty);
    }

    [Test]
    public async Task DelRestoresFromAFileTheReferenceWrote()
    {
        using var h = new TuningHarness();
        string ns = h.NamespaceWithInterface();
        Shell.Run("ip", "-n", ns, "link", "set", "eth0", "mtu", "1234", "address", "0a:00:00:00:00:99", "promisc", "on");
        Directory.CreateDirectory(h.StateDir);
        // Exactly what the Go plugin writes (json.MarshalIndent with one space).
        File.WriteAllText(Path.Combine(h.StateDir, "ctr1_eth0.json"), "{\n \"mac\": \"0a:00:00:00:00:42\",\n \"promisc\": false,\n \"mtu\": 1500,\n \"allmulti\": false\n}");
        (await h.DelAsync(h.TuningConfig("1.0.0", ns, "{}"), PluginHarness.NsPath(ns), "ctr1")).AssertSuccess();
        LinkState s = TuningHarness.Read(ns);
        Assert.That((s.Mac, s.Mtu, s.Promisc, s.Allmulti), Is.EqualTo(("0a:00:00:00:00:42", 1500, false, false)));
        Assert.That(h.StateFiles(), Is.Empty);
    }

    [Test]
    public async Task DelKeepsTheFileWhenASettingCannotBeRestored()
    {
        using var h = new TuningHarness();
        string ns = h.NamespaceWithInterface();
        Directory.CreateDirectory(h.StateDir);
        File.WriteAllText(Path.Combine(h.StateDir, "ctr1_eth0.json"), """{"mtu": 10, "promisc": true}""");
        PluginOutput del = await h.DelAsync(h.TuningConfig("1.0.0", ns, "{}"), PluginHarness.NsPath(ns), "ctr1");
        del.AssertSuccess();
        Assert.That(del.Stderr, Does.Contain("failed to restore MTU"));
        Assert.That(TuningHarness.Read(ns).Promisc, Is.True, "the other settings still went back");
        Assert.That(h.StateFiles(), Has.Length.EqualTo(1));
    }

    [Test]
    public async Task ARepeatedAddStillRestoresTheOriginalsOnDel()
    {
        using var h = new TuningHarness();
        string ns = h.NamespaceWithInterface();
        LinkState before = TuningHarness.Read(ns);
        (await h.AddAsync(h.TuningConfig("1.0.0", ns, """{"mac": "0a:58:0a:61:00:01", "mtu": 1400}"""), ns, "ctr1")).AssertSuccess();
        // The runtime retries the ADD (or the configuration changed meanwhile) before any DEL.
        JsonObject again = h.TuningConfig("1.0.0", ns, """{"mac": "0a:58:0a:61:00:02", "mtu": 1300, "promisc": true}""");
        (await h.AddAsync(again, ns, "ctr1")).AssertSuccess();
        Assert.That(TuningHarness.Read(ns), Is.EqualTo(before with { Mac = "0a:58:0a:61:00:02", Mtu = 1300, Promisc = true }));
        (await h.DelAsync(again, PluginHarness.NsPath(ns), "ctr1")).AssertSuccess();
        Assert.That(TuningHarness.Read(ns), Is.EqualTo(before), "the settings from before the first ADD");
    }
}
