using System.Text.Json.Nodes;
using Cni.Plugins.Macvlan;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Macvlan.Tests;

/// <summary>
/// The published macvlan run by libcni (cnirun, libcni 1.1.2) inside a throwaway "host" namespace, chained before the
/// reference <c>tuning</c> plugin, with our host-local for addresses.
/// </summary>
[TestFixture]
[Category(Category.Interop)]
[Category(Category.Kernel)]
[NonParallelizable]
public class MacvlanInteropTests
{
    private static readonly string[] LibcniVersions = ["0.3.1", "0.4.0", "1.0.0"];

    [Test]
    public async Task LibcniRunsAddCheckDelThroughAChain([ValueSource(nameof(LibcniVersions))] string version)
    {
        TestEnvironment.RequireRoot();
        string cnirun = TestEnvironment.RequireTool("cnirun", "build it with: bash ../shared/tools/cnirun/build.sh");
        TestEnvironment.RequireReferencePlugin("tuning");
        TestEnvironment.RequireTool("busybox", "apt-get install busybox-static");
        using var h = new SubInterfaceHarness("macvlan", () => new MacvlanPlugin());
        string master = h.HostVethMaster();
        string ns1 = h.CreateNamespace(), ns2 = h.CreateNamespace();

        JsonObject macvlan = h.Config(version, $$"""{"master": "{{master}}", "mode": "bridge"}""");
        macvlan.Remove("name");
        macvlan.Remove("cniVersion");
        var list = new JsonObject
        {
            ["cniVersion"] = version,
            ["name"] = h.Network,
            ["plugins"] = new JsonArray(macvlan, new JsonObject { ["type"] = "tuning", ["sysctl"] = new JsonObject { ["net.ipv4.conf.eth0.arp_ignore"] = "1" } }),
        };
        string confDir = Directory.CreateDirectory(Path.Combine(h.DataDir, "net.d")).FullName;
        string cacheDir = Directory.CreateDirectory(Path.Combine(h.DataDir, "cache")).FullName;
        File.WriteAllText(Path.Combine(confDir, "10-test.conflist"), list.ToJsonString());
        var env = new Dictionary<string, string> { ["NETCONFPATH"] = confDir, ["CNI_CACHE_DIR"] = cacheDir, ["CNI_PATH"] = h.CniPath };

        Task<PluginOutput> Run(string verb, string ns, string id) =>
            h.RunInHostNsAsync(["env", .. env.Select(kv => $"{kv.Key}={kv.Value}"), cnirun, verb, h.Network, SubInterfaceHarness.NsPath(ns), id, "eth0"], new Dictionary<string, string>(), "");

        JsonObject r1 = (await Run("add", ns1, "pod1")).AssertSuccess().Json;
        JsonObject r2 = (await Run("add", ns2, "pod2")).AssertSuccess().Json;
        Assert.That(r1["cniVersion"]!.GetValue<string>(), Is.EqualTo(version));
        Assert.That(r1["interfaces"]![0]!["sandbox"]!.GetValue<string>(), Is.EqualTo(SubInterfaceHarness.NsPath(ns1)));
        Assert.That(Shell.Run("ip", "netns", "exec", ns1, "cat", "/proc/sys/net/ipv4/conf/eth0/arp_ignore").Stdout.Trim(), Is.EqualTo("1"), "tuning ran on our result");
        string a2 = r2["ips"]![0]!["address"]!.GetValue<string>().Split('/')[0];
        Assert.That(Shell.Ping(ns1, a2), Is.True, "pod1 -> pod2");

        if (version != "0.3.1")
        {
            (await Run("check", ns1, "pod1")).AssertSuccess();
            Shell.Run("ip", "-n", ns1, "addr", "flush", "dev", "eth0");
            PluginOutput drift = await Run("check", ns1, "pod1");
            Assert.That(drift.ExitCode, Is.Not.EqualTo(0), "CHECK after the address was removed by hand");
            Assert.That(drift.Stderr, Does.Contain("eth0"));
        }

        (await Run("del", ns1, "pod1")).AssertSuccess();
        (await Run("del", ns1, "pod1")).AssertSuccess();
        (await Run("del", ns2, "pod2")).AssertSuccess();
        Assert.That(SubInterfaceHarness.Links(ns1), Is.EqualTo(new[] { "lo" }));
        Assert.That(SubInterfaceHarness.Links(ns2), Is.EqualTo(new[] { "lo" }));
        Assert.That(h.Reservations(), Is.Empty);
    }
}
