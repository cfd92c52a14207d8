using System.Text.Json.Nodes;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Ptp.Tests;

/// <summary>
/// The published ptp run by libcni (cnirun) inside a throwaway "host" namespace, chained before the reference
/// <c>tuning</c> plugin, with our host-local or the reference host-local for the addresses.
/// </summary>
[TestFixture]
[Category(Category.Interop)]
[Category(Category.Kernel)]
[NonParallelizable]
public class PtpInteropTests
{
    private static readonly string[] LibcniVersions = ["0.3.1", "0.4.0", "1.0.0"];
    private static readonly string[] HostLocals = ["ours", "reference"];

    [Test]
    public async Task LibcniRunsAddCheckDelThroughAChain([ValueSource(nameof(LibcniVersions))] string version, [ValueSource(nameof(HostLocals))] string hostLocal)
    {
        TestEnvironment.RequireRoot();
        string cnirun = TestEnvironment.RequireTool("cnirun", "build it with: bash ../shared/tools/cnirun/build.sh");
        TestEnvironment.RequireReferencePlugin("tuning");
        TestEnvironment.RequireTool("busybox", "apt-get install busybox-static");
        using var h = new PtpHarness();
        if (hostLocal == "reference")
        {
            // A CNI_PATH where ptp is ours and everything else the reference's.
            string dir = Directory.CreateDirectory(Path.Combine(h.DataDir, "bin")).FullName;
            File.CreateSymbolicLink(Path.Combine(dir, "ptp"), h.BinaryPath!);
            foreach (string t in new[] { "host-local", "tuning" })
                File.CreateSymbolicLink(Path.Combine(dir, t), TestEnvironment.RequireReferencePlugin(t));
            h.CniPath = dir;
        }
        string ns1 = h.CreateNamespace(), ns2 = h.CreateNamespace();
        JsonObject ptp = h.Config(version, """{"ipMasq": true}""", ipam: false);
        JsonObject ipam = h.HostLocal("10.94.0.0/24", "fd00:94::/64");
        ipam["routes"] = JsonNode.Parse("""[{"dst": "0.0.0.0/0"}]""");
        ptp["ipam"] = ipam;
        ptp.Remove("name");
        ptp.Remove("cniVersion");
        var tuning = new JsonObject { ["type"] = "tuning", ["sysctl"] = new JsonObject { ["net.ipv4.conf.eth0.arp_ignore"] = "1" } };
        Dictionary<string, string> env = h.WriteConfList(version, ptp, tuning);

        JsonObject r1 = (await h.CniRunAsync(cnirun, env, "add", ns1, "pod1")).AssertSuccess().Json;
        JsonObject r2 = (await h.CniRunAsync(cnirun, env, "add", ns2, "pod2")).AssertSuccess().Json;
        Assert.That(r1["cniVersion"]!.GetValue<string>(), Is.EqualTo(version));
        Assert.That(Shell.Run("ip", "netns", "exec", ns1, "cat", "/proc/sys/net/ipv4/conf/eth0/arp_ignore").Stdout.Trim(), Is.EqualTo("1"), "tuning ran on our result");
        string[] a2 = r2["ips"]!.AsArray().Select(i => i!["address"]!.GetValue<string>().Split('/')[0]).ToArray();
        Assert.That(a2, Has.Length.EqualTo(2));
        Assert.That(Shell.Ping(ns1, a2[0]), Is.True, "IPv4 pod1 -> pod2");
        Assert.That(Shell.Ping(ns1, a2[1]), Is.True, "IPv6 pod1 -> pod2");
        Assert.That(h.Reservations(), Has.Length.EqualTo(4));

        if (version != "0.3.1")
        {
            (await h.CniRunAsync(cnirun, env, "check", ns1, "pod1")).AssertSuccess();
            Shell.Run("ip", "-n", ns1, "route", "del", "default");
            PluginOutput drift = await h.CniRunAsync(cnirun, env, "check", ns1, "pod1");
            Assert.That(drift.ExitCode, Is.Not.EqualTo(0), "CHECK after the default route was removed by hand");
            Assert.That(drift.Stdout + drift.Stderr, Does.Contain("0.0.0.0/0"));
        }

        (await h.CniRunAsync(cnirun, env, "del", ns1, "pod1")).AssertSuccess();
        (await h.CniRunAsync(cnirun, env, "del", ns1, "pod1")).AssertSuccess();
        (await h.CniRunAsync(cnirun, env, "del", ns2, "pod2")).AssertSuccess();
        Assert.That(PtpHarness.Links(h.HostNs), Is.EqualTo(new[] { "lo" }));
        Assert.That(PtpHarness.Links(ns1), Is.EqualTo(new[] { "lo" }));
        Assert.That(h.Reservations(), Is.Empty);
        Assert.That(h.NftRuleset(), Does.Not.Contain("10.94.0."), "masquerade rules removed");
    }
}
