using System.Text.Json.Nodes;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.HostDevice.Tests;

/// <summary>
/// The published host-device run by libcni (cnirun) inside a throwaway "host" namespace, chained before the reference
/// <c>tuning</c> plugin; and side by side with the reference host-device, which must be able to undo what ours did and
/// the other way round (the host name kept in the alias is the contract between them).
/// </summary>
[TestFixture]
[Category(Category.Interop)]
[Category(Category.Kernel)]
[NonParallelizable]
public class HostDeviceInteropTests
{
    private static readonly string[] LibcniVersions = ["0.3.1", "0.4.0", "1.0.0"];

    [Test]
    public async Task LibcniRunsAddCheckDelThroughAChain([ValueSource(nameof(LibcniVersions))] string version)
    {
        TestEnvironment.RequireRoot();
        string cnirun = TestEnvironment.RequireTool("cnirun", "build it with: bash ../shared/tools/cnirun/build.sh");
        TestEnvironment.RequireReferencePlugin("tuning");
        using var w = new HostDeviceKernelTests.World(Mode.Binary);
        (string dev, _) = w.Veth();
        string ns = w.H.CreateNamespace();
        JsonObject hd = w.H.Config(version, $$"""{"device": "{{dev}}"}""");
        hd.Remove("name");
        hd.Remove("cniVersion");
        var list = new JsonObject
        {
            ["cniVersion"] = version,
            ["name"] = w.H.Network,
            ["plugins"] = new JsonArray(hd, new JsonObject { ["type"] = "tuning", ["sysctl"] = new JsonObject { ["net.ipv4.conf.net1.arp_ignore"] = "1" } }),
        };
        string confDir = Directory.CreateDirectory(Path.Combine(w.H.DataDir, "net.d")).FullName;
        string cacheDir = Directory.CreateDirectory(Path.Combine(w.H.DataDir, "cache")).FullName;
        File.WriteAllText(Path.Combine(confDir, "10-test.conflist"), list.ToJsonString());
        var env = new Dictionary<string, string> { ["NETCONFPATH"] = confDir, ["CNI_CACHE_DIR"] = cacheDir, ["CNI_PATH"] = w.H.CniPath };
        Task<PluginOutput> Run(string verb) =>
            w.H.RunInHostNsAsync(["env", .. env.Select(kv => $"{kv.Key}={kv.Value}"), cnirun, verb, w.H.Network, SubInterfaceHarness.NsPath(ns), "pod1", "net1"], new Dictionary<string, string>(), "");

        JsonObject r = (await Run("add")).AssertSuccess().Json;
        Assert.That(r["cniVersion"]!.GetValue<string>(), Is.EqualTo(version));
        Assert.That(r["interfaces"]![0]!["name"]!.GetValue<string>(), Is.EqualTo("net1"));
        Assert.That(Shell.Run("ip", "netns", "exec", ns, "cat", "/proc/sys/net/ipv4/conf/net1/arp_ignore").Stdout.Trim(), Is.EqualTo("1"), "tuning ran on our result");
        Assert.That(Shell.Ping(w.H.HostNs, r["ips"]![0]!["address"]!.GetValue<string>().Split('/')[0]), Is.True);
        if (version != "0.3.1")
            (await Run("check")).AssertSuccess();
        (await Run("del")).AssertSuccess();
        (await Run("del")).AssertSuccess();
        Assert.That(w.HostHas(dev), Is.True, "back in the host under its name");
        Assert.That(SubInterfaceHarness.Links(ns), Is.EqualTo(new[] { "lo" }));
        Assert.That(w.H.Reservations(), Is.Empty);
    }

    [Test]
    public async Task TheReferenceUndoesOursAndOursUndoesTheReference()
    {
        TestEnvironment.RequireRoot();
        string reference = TestEnvironment.RequireReferencePlugin("host-device");
        using var w = new HostDeviceKernelTests.World(Mode.Binary);
        (string dev, _) = w.Veth();
        string mac = w.Mac(w.H.HostNs, dev);
        string ns = w.H.CreateNamespace();
        JsonObject conf = w.H.Config("1.0.0", $$"""{"device": "{{dev}}"}""");
        Task<PluginOutput> Reference(string command) =>
            w.H.RunInHostNsAsync([reference], w.H.Variables(command, SubInterfaceHarness.NsPath(ns), "pod1", "net1"), conf.ToJsonString());

        // Ours adds, the reference deletes.
        JsonObject ours = (await w.H.AddAsync(conf, ns, "pod1", "net1")).AssertSuccess().Json;
        (await Reference("DEL")).AssertSuccess();
        Assert.That(w.HostHas(dev), Is.True, "the reference found the host name where it keeps it");
        Assert.That(w.Mac(w.H.HostNs, dev), Is.EqualTo(mac));
        Assert.That(w.H.Reservations(), Is.Empty);

        // The reference adds, ours checks and deletes.
        JsonObject theirs = (await Reference("ADD")).AssertSuccess().Json;
        Assert.That(w.Show(ns, "net1"), Does.Contain($"alias {dev}"));
        Assert.That(theirs["interfaces"]!.ToJsonString(), Is.EqualTo(ours["interfaces"]!.ToJsonString()), "the same interface in both results");
        Assert.That(theirs["ips"]!.AsArray().Count, Is.EqualTo(ours["ips"]!.AsArray().Count));
        (await w.H.CheckAsync(conf, theirs, ns, "pod1", "net1")).AssertSuccess();
        (await w.H.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1", "net1")).AssertSuccess();
        Assert.That(w.HostHas(dev), Is.True);
        Assert.That(SubInterfaceHarness.Links(ns), Is.EqualTo(new[] { "lo" }));
        Assert.That(w.H.Reservations(), Is.Empty);
    }
}
