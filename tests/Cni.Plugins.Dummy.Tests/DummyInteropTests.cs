using System.Text.Json.Nodes;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Dummy.Tests;

/// <summary>The published dummy plugin run by libcni (cnirun) inside a throwaway "host" namespace, chained before the
/// reference <c>tuning</c> plugin, with our host-local. Without the dummy module libcni reports our error and DEL cleans
/// up; with it, the chain runs through.</summary>
[TestFixture]
[Category(Category.Interop)]
[Category(Category.Kernel)]
[NonParallelizable]
public class DummyInteropTests
{
    [TestCase("0.4.0")]
    [TestCase("1.0.0")]
    public async Task LibcniRunsTheChain(string version)
    {
        TestEnvironment.RequireRoot();
        string cnirun = TestEnvironment.RequireTool("cnirun", "build it with: bash ../shared/tools/cnirun/build.sh");
        TestEnvironment.RequireReferencePlugin("tuning");
        using var h = new SubInterfaceHarness("dummy", () => new DummyPlugin());
        string probe = h.CreateNamespace();
        bool hasDummy = Shell.Try("ip", "-n", probe, "link", "add", "probe0", "type", "dummy").ExitCode == 0;
        h.DeleteNamespace(probe);
        string ns = h.CreateNamespace();
        JsonObject dummy = h.Config(version);
        dummy.Remove("name");
        dummy.Remove("cniVersion");
        var list = new JsonObject
        {
            ["cniVersion"] = version,
            ["name"] = h.Network,
            ["plugins"] = new JsonArray(dummy, new JsonObject { ["type"] = "tuning", ["mtu"] = 1400 }),
        };
        string confDir = Directory.CreateDirectory(Path.Combine(h.DataDir, "net.d")).FullName;
        string cacheDir = Directory.CreateDirectory(Path.Combine(h.DataDir, "cache")).FullName;
        File.WriteAllText(Path.Combine(confDir, "10-test.conflist"), list.ToJsonString());
        var env = new Dictionary<string, string> { ["NETCONFPATH"] = confDir, ["CNI_CACHE_DIR"] = cacheDir, ["CNI_PATH"] = h.CniPath };
        Task<PluginOutput> Run(string verb) =>
            h.RunInHostNsAsync(["env", .. env.Select(kv => $"{kv.Key}={kv.Value}"), cnirun, verb, h.Network, SubInterfaceHarness.NsPath(ns), "pod1", "eth0"], new Dictionary<string, string>(), "");

        PluginOutput add = await Run("add");
        if (hasDummy)
        {
            add.AssertSuccess();
            Assert.That(SubInterfaceHarness.LinkDetails(ns, "eth0"), Does.Contain("mtu 1400").And.Contain("dummy"));
            (await Run("check")).AssertSuccess();
        }
        else
        {
            Assert.That(add.ExitCode, Is.Not.EqualTo(0));
            Assert.That(add.Stdout + add.Stderr, Does.Contain("does not support dummy links"), "libcni passes our error on");
            Assert.That(SubInterfaceHarness.Links(ns), Is.EqualTo(new[] { "lo" }));
            Assert.That(h.Reservations(), Is.Empty, "the failed ADD released its address itself");
        }
        (await Run("del")).AssertSuccess();
        (await Run("del")).AssertSuccess();
        Assert.That(SubInterfaceHarness.Links(ns), Is.EqualTo(new[] { "lo" }));
        Assert.That(SubInterfaceHarness.Links(h.HostNs), Is.EqualTo(new[] { "lo" }));
        Assert.That(h.Reservations(), Is.Empty);
    }
}
