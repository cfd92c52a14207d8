using System.Text.Json.Nodes;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Vrf.Tests;

/// <summary>
/// vrf chained by libcni (cnirun) after a bridge, inside a throwaway "host" namespace: our vrf after our bridge and
/// after the reference bridge, and the reference vrf after our bridge for comparison. Where the kernel has no vrf
/// module both vrf plugins fail the ADD and DEL still cleans up; where it has one, the pod's interface ends in the VRF.
/// </summary>
[TestFixture]
[Category(Category.Interop)]
[Category(Category.Kernel)]
[NonParallelizable]
public class VrfInteropTests
{
    [TestCase("ours", "ours", "1.0.0")]
    [TestCase("reference", "ours", "1.0.0")]
    [TestCase("ours", "ours", "0.4.0")]
    [TestCase("ours", "reference", "1.0.0")]
    public async Task ChainedAfterABridge(string bridge, string vrf, string version)
    {
        TestEnvironment.RequireRoot();
        string cnirun = TestEnvironment.RequireTool("cnirun", "build it with: bash ../shared/tools/cnirun/build.sh");
        using var h = new SubInterfaceHarness("vrf", () => new VrfPlugin());
        string Plugin(string who, string type) => who == "ours" ? TestEnvironment.RequirePublishedPlugin(type) : TestEnvironment.RequireReferencePlugin(type);

        // One directory naming exactly the plugins of this chain.
        string bin = Directory.CreateDirectory(Path.Combine(h.DataDir, "bin")).FullName;
        File.CreateSymbolicLink(Path.Combine(bin, "bridge"), Plugin(bridge, "bridge"));
        File.CreateSymbolicLink(Path.Combine(bin, "vrf"), Plugin(vrf, "vrf"));
        File.CreateSymbolicLink(Path.Combine(bin, "host-local"), Plugin("ours", "host-local"));
        string br = TestEnvironment.UniqueName("vb");
        var list = new JsonObject
        {
            ["cniVersion"] = version,
            ["name"] = h.Network,
            ["plugins"] = new JsonArray(
                new JsonObject { ["type"] = "bridge", ["bridge"] = br, ["ipam"] = h.HostLocal("10.94.0.0/24") },
                new JsonObject { ["type"] = "vrf", ["vrfname"] = "blue", ["table"] = 100 }),
        };
        string confDir = Directory.CreateDirectory(Path.Combine(h.DataDir, "net.d")).FullName;
        string cacheDir = Directory.CreateDirectory(Path.Combine(h.DataDir, "cache")).FullName;
        File.WriteAllText(Path.Combine(confDir, "10-test.conflist"), list.ToJsonString());
        var env = new Dictionary<string, string> { ["NETCONFPATH"] = confDir, ["CNI_CACHE_DIR"] = cacheDir, ["CNI_PATH"] = bin };
        string ns = h.CreateNamespace();
        Task<PluginOutput> Run(string verb) =>
            h.RunInHostNsAsync(["env", .. env.Select(kv => $"{kv.Key}={kv.Value}"), cnirun, verb, h.Network, SubInterfaceHarness.NsPath(ns), "pod1", "eth0"], new Dictionary<string, string>(), "");

        PluginOutput add = await Run("add");
        if (VrfKernelTests.KernelHasVrf(h))
        {
            add.AssertSuccess();
            Assert.That(SubInterfaceHarness.LinkDetails(ns, "eth0"), Does.Contain("master blue"));
            if (version != "0.3.1")
                (await Run("check")).AssertSuccess();
        }
        else
        {
            Assert.That(add.ExitCode, Is.Not.EqualTo(0), "no vrf module: the chain fails");
            Assert.That(add.Stdout + add.Stderr, Does.Contain("VRF blue").Or.Contain("vrf"));
            Assert.That(SubInterfaceHarness.Links(ns), Does.Not.Contain("blue"), "no VRF left in the pod");
        }
        (await Run("del")).AssertSuccess();
        (await Run("del")).AssertSuccess();
        Assert.That(SubInterfaceHarness.Links(ns), Is.EqualTo(new[] { "lo" }));
        Assert.That(h.Reservations(), Is.Empty);
    }
}
