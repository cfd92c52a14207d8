using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Tuning.Tests;

/// <summary>
/// The published tuning driven by libcni (cnirun) after our bridge and after the reference bridge, everything inside a
/// private "host" namespace; and the saved-state file shared with the reference tuning in both directions.
/// </summary>
[TestFixture]
[Category(Category.Interop)]
[Category(Category.Kernel)]
[NonParallelizable]
public class TuningInteropTests
{
    private const string CnirunHowTo = "build it with: bash ../shared/tools/cnirun/build.sh";
    private const string Mac = "0a:58:0a:62:00:42";

    private static string LinkTo(string dir, string type, string target)
    {
        File.CreateSymbolicLink(Path.Combine(dir, type), target);
        return target;
    }

    /// <summary>Runs <paramref name="argv"/> inside <paramref name="hostNs"/>.</summary>
    private static Shell.Result InNs(string hostNs, IDictionary<string, string> env, params string[] argv) =>
        Shell.Run("ip", ["netns", "exec", hostNs, .. argv], allowFailure: true, env: env);

    [Test]
    public void LibcniChainsTuningAfterABridge([Values("ours", "reference")] string bridge, [Values("ours", "reference")] string tuning, [Values("0.4.0", "1.0.0")] string version)
    {
        TestEnvironment.RequireRoot();
        string cnirun = TestEnvironment.RequireTool("cnirun", CnirunHowTo);
        using var h = new TuningHarness(Mode.Binary);
        string bin = Directory.CreateDirectory(Path.Combine(h.DataDir, "bin")).FullName;
        LinkTo(bin, "bridge", bridge == "ours" ? TestEnvironment.RequirePublishedPlugin("bridge") : TestEnvironment.RequireReferencePlugin("bridge"));
        LinkTo(bin, "host-local", TestEnvironment.RequirePublishedPlugin("host-local"));
        LinkTo(bin, "tuning", tuning == "ours" ? h.BinaryPath! : TestEnvironment.RequireReferencePlugin("tuning"));

        string hostNs = h.CreateNamespace(), ns = h.CreateNamespace();
        string bridgeName = TestEnvironment.UniqueName("tbr");
        var list = new JsonObject
        {
            ["cniVersion"] = version,
            ["name"] = h.Network,
            ["plugins"] = new JsonArray(
                new JsonObject { ["type"] = "bridge", ["bridge"] = bridgeName, ["isGateway"] = true, ["ipam"] = h.HostLocal("10.98.7.0/24") },
                JsonNode.Parse($$$"""
                    {"type": "tuning", "dataDir": "{{{h.StateDir}}}", "mac": "{{{Mac}}}", "mtu": 1400, "promisc": true,
                     "sysctl": {"net.ipv4.conf.eth0.arp_notify": "1", "net.core.somaxconn": "256"}}
                    """)),
        };
        string confDir = Directory.CreateDirectory(Path.Combine(h.DataDir, "net.d")).FullName;
        File.WriteAllText(Path.Combine(confDir, "10-tuned.conflist"), list.ToJsonString());
        var env = new Dictionary<string, string> { ["NETCONFPATH"] = confDir, ["CNI_PATH"] = bin, ["CNI_CACHE_DIR"] = Path.Combine(h.DataDir, "cache") };
        Shell.Result Cnirun(string verb) => InNs(hostNs, env, cnirun, verb, h.Network, PluginHarness.NsPath(ns), "pod1", "eth0");

        Shell.Result add = Cnirun("add");
        Assert.That(add.ExitCode, Is.EqualTo(0), add.Stderr + add.Stdout);
        JsonObject result = JsonNode.Parse(add.Stdout)!.AsObject();
        JsonObject eth0 = result["interfaces"]!.AsArray().Select(i => i!.AsObject()).Single(i => i["name"]!.GetValue<string>() == "eth0");
        LinkState live = TuningHarness.Read(ns);
        Assert.Multiple(() =>
        {
            Assert.That(eth0["mac"]!.GetValue<string>(), Is.EqualTo(Mac), "the result carries the new MAC");
            Assert.That(eth0["sandbox"]!.GetValue<string>(), Is.EqualTo(PluginHarness.NsPath(ns)));
            Assert.That((live.Mac, live.Mtu, live.Promisc), Is.EqualTo((Mac, 1400, true)));
            Assert.That(TuningHarness.Sysctl(ns, "net/ipv4/conf/eth0/arp_notify"), Is.EqualTo("1"));
            Assert.That(TuningHarness.Sysctl(ns, "net/core/somaxconn"), Is.EqualTo("256"));
            Assert.That(h.StateFiles(), Is.EqualTo(new[] { "pod1_eth0.json" }));
        });
        string saved = File.ReadAllText(Path.Combine(h.StateDir, "pod1_eth0.json"));
        Assert.That(Regex.Replace(saved, "\"mac\": \"[0-9a-f:]{17}\"", "\"mac\": \"M\""),
            Is.EqualTo("{\n \"mac\": \"M\",\n \"promisc\": false,\n \"mtu\": 1500\n}"), "the reference's layout, whichever plugin wrote it");
        string gateway = "10.98.7.1";
        TestEnvironment.RequireTool("busybox", "apt-get install busybox-static");
        Assert.That(Shell.Ping(ns, gateway), Is.True, "the tuned pod still reaches its gateway");

        Shell.Result check = Cnirun("check");
        Assert.That(check.ExitCode, Is.EqualTo(0), check.Stderr + check.Stdout);
        Shell.Run("ip", "-n", ns, "link", "set", "eth0", "mtu", "1300");
        Shell.Result drift = Cnirun("check");
        Assert.That(drift.ExitCode, Is.Not.EqualTo(0), "CHECK after the MTU was changed by hand");
        Assert.That(drift.Stderr + drift.Stdout, Does.Contain("MTU of eth0 is 1400, current value is 1300"));

        Shell.Result del = Cnirun("del");
        Assert.That(del.ExitCode, Is.EqualTo(0), del.Stderr + del.Stdout);
        Assert.That(Cnirun("del").ExitCode, Is.EqualTo(0), "DEL twice");
        Assert.That(h.StateFiles(), Is.Empty);
        Assert.That(h.Reservations(), Is.Empty);
        Assert.That(Shell.Run("ip", "-n", ns, "-o", "link", "show").Stdout, Does.Not.Contain("eth0"));
    }

    /// <summary>A node switching plugins between ADD and DEL: each restores from the file the other wrote.</summary>
    [Test]
    public async Task SavedStateIsSharedWithTheReferenceInBothDirections([Values("ours-then-reference", "reference-then-ours")] string order)
    {
        TestEnvironment.RequireRoot();
        string reference = TestEnvironment.RequireReferencePlugin("tuning");
        using var h = new TuningHarness(Mode.Binary);
        string ours = h.BinaryPath!;
        string ns = h.NamespaceWithInterface();
        LinkState before = TuningHarness.Read(ns);
        JsonObject conf = h.TuningConfig("1.0.0", ns, $$"""{"mac": "{{Mac}}", "mtu": 1280, "promisc": true, "allmulti": true}""");
        (string adder, string deleter) = order == "ours-then-reference" ? (ours, reference) : (reference, ours);

        (await PluginRunner.RunProcessAsync(adder, [], h.Variables("ADD", PluginHarness.NsPath(ns), "ctr1", "eth0"), conf.ToJsonString())).AssertSuccess();
        Assert.That(TuningHarness.Read(ns), Is.EqualTo(before with { Mac = Mac, Mtu = 1280, Promisc = true, Allmulti = true }));
        string saved = File.ReadAllText(Path.Combine(h.StateDir, "ctr1_eth0.json"));
        Assert.That(saved, Is.EqualTo($"{{\n \"mac\": \"{before.Mac}\",\n \"promisc\": false,\n \"mtu\": 1500,\n \"allmulti\": false\n}}"), "same bytes from either plugin");

        (await PluginRunner.RunProcessAsync(deleter, [], h.Variables("DEL", PluginHarness.NsPath(ns), "ctr1", "eth0"), conf.ToJsonString())).AssertSuccess();
        Assert.That(TuningHarness.Read(ns), Is.EqualTo(before));
        Assert.That(h.StateFiles(), Is.Empty);
    }

    // (The reference CHECK reads IFNAME keys without replacing it, so the chain above names eth0 for both.)

    /// <summary>Our output against the reference's for the same chained ADD (same prevResult, same settings).</summary>
    [Test]
    public async Task AddPrintsWhatTheReferencePrints([Values("0.3.1", "0.4.0", "1.0.0")] string version)
    {
        TestEnvironment.RequireRoot();
        string reference = TestEnvironment.RequireReferencePlugin("tuning");
        using var h = new TuningHarness(Mode.Binary);
        string ns1 = h.NamespaceWithInterface(), ns2 = h.NamespaceWithInterface();
        string settings = $$$"""{"mac": "{{{Mac}}}", "mtu": 1400, "sysctl": {"net.ipv4.conf.IFNAME.arp_ignore": "1"}}""";
        // The same sandbox path in both prevResults: only the namespace the plugin works in differs.
        JsonObject conf1 = h.TuningConfig(version, ns1, settings), conf2 = h.TuningConfig(version, ns1, settings);
        PluginOutput ours = (await PluginRunner.RunProcessAsync(h.BinaryPath!, [], h.Variables("ADD", PluginHarness.NsPath(ns1), "ctr1", "eth0"), conf1.ToJsonString())).AssertSuccess();
        PluginOutput theirs = (await PluginRunner.RunProcessAsync(reference, [], h.Variables("ADD", PluginHarness.NsPath(ns2), "ctr2", "eth0"), conf2.ToJsonString())).AssertSuccess();
        Assert.That(ours.Stdout, Is.EqualTo(theirs.Stdout));
        Assert.That(TuningHarness.Read(ns1) with { TxQLen = 0 }, Is.EqualTo(TuningHarness.Read(ns2) with { TxQLen = 0 }));
    }

    /// <summary>0.1.0/0.2.0 results have no interfaces: the MAC changes, the result passes through as the reference's.</summary>
    [Test]
    public async Task OldVersionsPassTheirResultThroughAsTheReference([Values("0.1.0", "0.2.0")] string version)
    {
        TestEnvironment.RequireRoot();
        string reference = TestEnvironment.RequireReferencePlugin("tuning");
        using var h = new TuningHarness(Mode.Binary);
        string ns1 = h.NamespaceWithInterface(), ns2 = h.NamespaceWithInterface();
        JsonObject Conf() => h.TuningConfig(version, ns1, $$$$"""
            {"mac": "{{{{Mac}}}}", "prevResult": {"cniVersion": "{{{{version}}}}", "ip4": {"ip": "10.1.1.2/24", "gateway": "10.1.1.1"}, "dns": {}}}
            """);
        PluginOutput ours = (await PluginRunner.RunProcessAsync(h.BinaryPath!, [], h.Variables("ADD", PluginHarness.NsPath(ns1), "ctr1", "eth0"), Conf().ToJsonString())).AssertSuccess();
        PluginOutput theirs = (await PluginRunner.RunProcessAsync(reference, [], h.Variables("ADD", PluginHarness.NsPath(ns2), "ctr2", "eth0"), Conf().ToJsonString())).AssertSuccess();
        Assert.That(ours.Stdout, Is.EqualTo(theirs.Stdout));
        Assert.That(ours.Json["ip4"]!["ip"]!.GetValue<string>(), Is.EqualTo("10.1.1.2/24"));
        Assert.That(TuningHarness.Read(ns1).Mac, Is.EqualTo(Mac));
    }
}
