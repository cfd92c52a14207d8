using System.Text.Json.Nodes;
using Cni.Plugins.TestSupport;
using Cni.Spec;
using Cni.TestSupport;

namespace Cni.Plugins.Sbr.Tests;

/// <summary>
/// The published sbr run by libcni (cnirun) inside a throwaway "host" namespace, chained after ptp or bridge (ours and the
/// reference ones); and compared with the reference sbr on the same container layout.
/// </summary>
[TestFixture]
[Category(Category.Interop)]
[Category(Category.Kernel)]
[NonParallelizable]
public class SbrInteropTests
{
    private static readonly string[] LibcniVersions = ["0.3.1", "0.4.0", "1.0.0"];
    private static readonly string[] Sides = ["ours", "reference"];
    private static readonly string[] InterfacePlugins = ["ptp", "bridge"];

    [Test]
    public async Task LibcniChainsSbrAfterAnInterfacePlugin([ValueSource(nameof(LibcniVersions))] string version,
        [ValueSource(nameof(InterfacePlugins))] string plugin, [ValueSource(nameof(Sides))] string side)
    {
        TestEnvironment.RequireRoot();
        string cnirun = TestEnvironment.RequireTool("cnirun", "build it with: bash ../shared/tools/cnirun/build.sh");
        TestEnvironment.RequireTool("busybox", "apt-get install busybox-static");
        using var h = new SbrHarness(Mode.Binary);
        if (side == "reference")
        {
            // A CNI_PATH where sbr is ours and everything else the reference's.
            string dir = Directory.CreateDirectory(Path.Combine(h.DataDir, "bin")).FullName;
            File.CreateSymbolicLink(Path.Combine(dir, "sbr"), h.BinaryPath!);
            foreach (string t in new[] { plugin, "host-local" })
                File.CreateSymbolicLink(Path.Combine(dir, t), TestEnvironment.RequireReferencePlugin(t));
            h.CniPath = dir;
        }
        else
        {
            TestEnvironment.RequirePublishedPlugin(plugin);
        }
        string ns1 = h.CreateNamespace(), ns2 = h.CreateNamespace();
        JsonObject ipam = h.HostLocal("10.92.0.0/24", "fd00:92::/64");
        ipam["routes"] = JsonNode.Parse("""[{"dst": "0.0.0.0/0"}, {"dst": "::/0"}]""");
        var ptp = new JsonObject { ["type"] = plugin, ["ipam"] = ipam };
        if (plugin == "bridge")
        {
            ptp["bridge"] = TestEnvironment.UniqueName("br");
            ptp["isGateway"] = true;
        }
        var sbr = new JsonObject { ["type"] = "sbr" };
        Dictionary<string, string> env = h.WriteConfList(version, ptp, sbr);

        JsonObject r1 = (await h.CniRunAsync(cnirun, env, "add", ns1, "pod1")).AssertSuccess().Json;
        JsonObject r2 = (await h.CniRunAsync(cnirun, env, "add", ns2, "pod2")).AssertSuccess().Json;
        Assert.That(r1["cniVersion"]!.GetValue<string>(), Is.EqualTo(version));
        string[] a1 = r1["ips"]!.AsArray().Select(i => i!["address"]!.GetValue<string>().Split('/')[0]).ToArray();
        string[] a2 = r2["ips"]!.AsArray().Select(i => i!["address"]!.GetValue<string>().Split('/')[0]).ToArray();
        string gw4 = r1["ips"]![0]!["gateway"]!.GetValue<string>();

        Assert.Multiple(() =>
        {
            Assert.That(SbrHarness.ExtraRules(ns1), Is.EqualTo(new[] { $"32765: from {a1[0]} lookup 100", $"32765: from {a1[1]} lookup 101" }));
            Assert.That(SbrHarness.Table(ns1, "100"), Does.Contain($"default via {gw4} dev eth0"));
            Assert.That(SbrHarness.Table(ns1, "main"), Is.Empty, "the interface's routes moved out of main");
        });
        // Only traffic from the pod's own address is routed now (through its table).
        Assert.That(Shell.Try("ip", "netns", "exec", ns1, "busybox", "ping", "-c1", "-W2", "-I", a1[0], a2[0]).ExitCode, Is.Zero, "IPv4 from pod1's address -> pod2");
        Assert.That(Shell.Try("ip", "netns", "exec", ns1, "busybox", "ping", "-c1", "-W2", a2[0]).ExitCode, Is.Not.Zero, "no route in main without a source");

        if (side == "reference" && version != "0.3.1")
        {
            // The reference ptp's and bridge's CHECK look for the gateway route in main only, where sbr no longer leaves
            // it: a chain of either with sbr (ours or theirs) cannot pass CHECK; libcni stops before sbr's CHECK.
            PluginOutput check = await h.CniRunAsync(cnirun, env, "check", ns1, "pod1");
            Assert.That(check.Stdout + check.Stderr, Does.Contain($"Failed to find Gateway {gw4}"));
        }
        else if (version != "0.3.1")
        {
            (await h.CniRunAsync(cnirun, env, "check", ns1, "pod1")).AssertSuccess();
            Shell.Run("ip", "-n", ns1, "rule", "del", "from", a1[0]);
            PluginOutput drift = await h.CniRunAsync(cnirun, env, "check", ns1, "pod1");
            Assert.That(drift.ExitCode, Is.Not.EqualTo(0), "CHECK after the rule was removed by hand");
            Assert.That(drift.Stdout + drift.Stderr, Does.Contain(a1[0]));
        }

        (await h.CniRunAsync(cnirun, env, "del", ns1, "pod1")).AssertSuccess();
        (await h.CniRunAsync(cnirun, env, "del", ns1, "pod1")).AssertSuccess();
        (await h.CniRunAsync(cnirun, env, "del", ns2, "pod2")).AssertSuccess();
        Assert.That(SbrHarness.ExtraRules(ns1), Is.Empty);
        Assert.That(SbrHarness.ExtraRules(ns2), Is.Empty);
        Assert.That(SbrHarness.Table(ns1, "100"), Is.Empty);
        Assert.That(h.Reservations(), Is.Empty);
    }

    [Test]
    public async Task RulesAndTablesAreTheReferences([ValueSource(nameof(LibcniVersions))] string version, [Values(false, true)] bool tableInUse)
    {
        TestEnvironment.RequireRoot();
        string reference = TestEnvironment.RequireReferencePlugin("sbr");
        using var h = new SbrHarness(Mode.Binary);
        (string theirs, CniResult prevA) = h.Container(93, h.CreateNamespace());
        (string ours, CniResult prevB) = h.Container(93, h.CreateNamespace());
        if (tableInUse)
        {
            foreach (string ns in new[] { theirs, ours })
                Shell.Run("ip", "-n", ns, "rule", "add", "from", "192.0.2.9", "lookup", "100");
        }
        JsonObject confA = SbrHarness.WithPrev(h.SbrConf(version), prevA);
        JsonObject confB = SbrHarness.WithPrev(h.SbrConf(version), prevB);

        PluginOutput refAdd = (await PluginRunner.RunProcessAsync(reference, [], h.Variables("ADD", SbrHarness.NsPath(theirs), "c1", "eth0"), confA.ToJsonString())).AssertSuccess();
        PluginOutput ourAdd = (await h.AddAsync(confB, ours, "c1")).AssertSuccess();
        Assert.That(ourAdd.Json["ips"]!.ToJsonString(), Is.EqualTo(refAdd.Json["ips"]!.ToJsonString()), "the same result");
        Assert.That(SbrHarness.Rules(ours), Is.EqualTo(SbrHarness.Rules(theirs)));
        Assert.That(SbrHarness.AllRoutes(ours), Is.EqualTo(SbrHarness.AllRoutes(theirs)));

        (await PluginRunner.RunProcessAsync(reference, [], h.Variables("DEL", SbrHarness.NsPath(theirs), "c1", "eth0"), confA.ToJsonString())).AssertSuccess();
        (await h.DelAsync(confB, SbrHarness.NsPath(ours), "c1")).AssertSuccess();
        Assert.That(SbrHarness.Rules(ours), Is.EqualTo(SbrHarness.Rules(theirs)), "the same rules left");
        // Where we do better: the reference leaves the copied routes in the tables until the interface goes.
        Assert.That(SbrHarness.AllRoutes(ours).Where(r => r.Contains(" table 10", StringComparison.Ordinal)), Is.Empty);
    }
}
