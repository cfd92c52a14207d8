using System.Text.Json.Nodes;
using Cni.Plugins.Tap;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Tap.Tests;

/// <summary>The published tap plugin run by libcni (cnirun) inside a throwaway "host" namespace, chained before the
/// reference <c>tuning</c> plugin (which changes the tap's MTU from our result), with our host-local for addresses.</summary>
[TestFixture]
[Category(Category.Interop)]
[Category(Category.Kernel)]
[NonParallelizable]
public class TapInteropTests
{
    private static readonly string[] LibcniVersions = ["0.3.1", "0.4.0", "1.0.0"];

    [Test]
    public async Task LibcniRunsAddCheckDelThroughAChain([ValueSource(nameof(LibcniVersions))] string version)
    {
        TestEnvironment.RequireRoot();
        string cnirun = TestEnvironment.RequireTool("cnirun", "build it with: bash ../shared/tools/cnirun/build.sh");
        TestEnvironment.RequireReferencePlugin("tuning");
        using var h = new SubInterfaceHarness("tap", () => new TapPlugin());
        string ns = h.CreateNamespace();
        JsonObject tap = h.Config(version, """{"multiQueue": true, "mac": "02:aa:bb:cc:dd:01"}""");
        tap.Remove("name");
        tap.Remove("cniVersion");
        var list = new JsonObject
        {
            ["cniVersion"] = version,
            ["name"] = h.Network,
            ["plugins"] = new JsonArray(tap, new JsonObject { ["type"] = "tuning", ["mtu"] = 1400 }),
        };
        string confDir = Directory.CreateDirectory(Path.Combine(h.DataDir, "net.d")).FullName;
        string cacheDir = Directory.CreateDirectory(Path.Combine(h.DataDir, "cache")).FullName;
        File.WriteAllText(Path.Combine(confDir, "10-test.conflist"), list.ToJsonString());
        var env = new Dictionary<string, string> { ["NETCONFPATH"] = confDir, ["CNI_CACHE_DIR"] = cacheDir, ["CNI_PATH"] = h.CniPath };
        Task<PluginOutput> Run(string verb) =>
            h.RunInHostNsAsync(["env", .. env.Select(kv => $"{kv.Key}={kv.Value}"), cnirun, verb, h.Network, SubInterfaceHarness.NsPath(ns), "vm1", "tap0"], new Dictionary<string, string>(), "");

        JsonObject r = (await Run("add")).AssertSuccess().Json;
        Assert.That(r["cniVersion"]!.GetValue<string>(), Is.EqualTo(version));
        Assert.That(r["interfaces"]![0]!["mac"]!.GetValue<string>(), Is.EqualTo("02:aa:bb:cc:dd:01"));
        string details = SubInterfaceHarness.LinkDetails(ns, "tap0");
        Assert.That(details, Does.Contain("mtu 1400"), "tuning ran on our tap");
        Assert.That(details, Does.Contain("tun type tap"));
        Assert.That(details, Does.Contain("multi_queue"));
        if (version != "0.3.1")
            (await Run("check")).AssertSuccess();
        (await Run("del")).AssertSuccess();
        (await Run("del")).AssertSuccess();
        Assert.That(SubInterfaceHarness.Links(ns), Is.EqualTo(new[] { "lo" }));
        Assert.That(SubInterfaceHarness.Links(h.HostNs), Is.EqualTo(new[] { "lo" }), "nothing in the host");
        Assert.That(h.Reservations(), Is.Empty);
    }
}
