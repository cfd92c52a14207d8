using System.Text.Json.Nodes;
using Cni.Plugins.Firewall;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Firewall.Tests;

/// <summary>
/// The published firewall against the Go reference (/usr/lib/cni/firewall) and through libcni (cnirun), every run inside
/// a private host namespace: identical rules, either one removes the other's, and chains after our bridge and after
/// the reference bridge.
/// </summary>
[TestFixture]
[Category(Category.Interop)]
[Category(Category.Kernel)]
[NonParallelizable]
public class FirewallInteropTests
{
    private const string CnirunHowTo = "build it with: bash ../shared/tools/cnirun/build.sh";

    /// <summary>
    /// The reference installed here (Debian's 1.1.1) speaks 0.4.0 and 1.0.0 and knows open and same-bridge. Since v1.7
    /// the reference comments the isolation rules all policies share "(ingressPolicy: same-bridge|isolated)" (we write
    /// that layout); 1.1.1 wrote "(ingressPolicy: same-bridge)" everywhere, so that comment is normalised before comparing.
    /// </summary>
    [TestCase("open")]
    [TestCase("same-bridge")]
    public async Task SameRulesAsTheReferenceAndEitherRemovesTheOthers(string policy)
    {
        string ours = TestEnvironment.RequirePublishedPlugin("firewall");
        string reference = TestEnvironment.RequireReferencePlugin("firewall");
        JsonObject conf = FirewallRun.Conf("1.0.0", $$"""{"backend": "iptables", "ingressPolicy": "{{policy}}"}""",
            FirewallRun.PrevResult("1.0.0", "cni0", "10.98.0.5/24", "fd00:98::5/64"));

        using var byRef = new FirewallWorld();
        using var byUs = new FirewallWorld();
        (await byRef.RunBinary(reference, "ADD", conf, "/var/run/netns/" + byRef.HostNs)).AssertSuccess();
        (await byUs.RunBinary(ours, "ADD", conf, "/var/run/netns/" + byUs.HostNs)).AssertSuccess();
        static string Pre17(string save) => save.Replace(IptablesRules.SharedIsolationComment, IptablesRules.LegacyIsolationComment, StringComparison.Ordinal);
        Assert.That(Pre17(byUs.Save()), Is.EqualTo(byRef.Save()), "iptables -S after ADD");
        Assert.That(Pre17(byUs.Save("ip6tables")), Is.EqualTo(byRef.Save("ip6tables")), "ip6tables -S after ADD");

        // Each checks and deletes what the other added.
        (await byRef.RunBinary(ours, "CHECK", conf, "/var/run/netns/" + byRef.HostNs)).AssertSuccess();
        (await byUs.RunBinary(reference, "CHECK", conf, "/var/run/netns/" + byUs.HostNs)).AssertSuccess();
        (await byRef.RunBinary(ours, "DEL", conf, null)).AssertSuccess();
        (await byUs.RunBinary(reference, "DEL", conf, "/var/run/netns/" + byUs.HostNs)).AssertSuccess();
        foreach (FirewallWorld w in new[] { byRef, byUs })
        {
            Assert.That(w.Save(), Does.Not.Contain("10.98.0.5"));
            Assert.That(w.Save("ip6tables"), Does.Not.Contain("fd00:98::5"));
        }
        Assert.That(Pre17(byUs.Save()), Is.EqualTo(byRef.Save()), "iptables -S after DEL (shared chains stay in both)");
    }

    [Test]
    public async Task LibcniChainAfterBridge([Values("ours", "reference")] string bridgeImpl, [Values("0.4.0", "1.0.0")] string version)
    {
        string cnirun = TestEnvironment.RequireTool("cnirun", CnirunHowTo);
        string firewall = TestEnvironment.RequirePublishedPlugin("firewall");
        string bridge = bridgeImpl == "ours" ? TestEnvironment.RequirePublishedPlugin("bridge") : TestEnvironment.RequireReferencePlugin("bridge");
        using var w = new FirewallWorld();
        string bin = w.TempDir("cni-fw-bin-"), confDir = w.TempDir("cni-fw-conf-"), cache = w.TempDir("cni-fw-cache-"), data = w.TempDir("cni-fw-data-");
        File.CreateSymbolicLink(Path.Combine(bin, "bridge"), bridge);
        File.CreateSymbolicLink(Path.Combine(bin, "firewall"), firewall);
        File.CreateSymbolicLink(Path.Combine(bin, "host-local"), TestEnvironment.RequireReferencePlugin("host-local"));
        string network = TestEnvironment.UniqueName("fwnet");
        string br = TestEnvironment.UniqueName("fwbr");
        var list = new JsonObject
        {
            ["cniVersion"] = version,
            ["name"] = network,
            ["plugins"] = new JsonArray(
                new JsonObject
                {
                    ["type"] = "bridge", ["bridge"] = br, ["isGateway"] = true,
                    ["ipam"] = new JsonObject { ["type"] = "host-local", ["dataDir"] = data, ["ranges"] = new JsonArray(new JsonArray(new JsonObject { ["subnet"] = "10.99.0.0/24" })) },
                },
                new JsonObject { ["type"] = "firewall", ["backend"] = "iptables", ["ingressPolicy"] = "same-bridge" }),
        };
        File.WriteAllText(Path.Combine(confDir, network + ".conflist"), list.ToJsonString());
        string[] env = ["env", $"NETCONFPATH={confDir}", $"CNI_PATH={bin}", $"CNI_CACHE_DIR={cache}"];
        string c1 = w.CreateNamespace();
        Shell.Result Cnirun(string verb) => Shell.Run("ip", ["netns", "exec", w.HostNs, .. env, cnirun, verb, network, "/var/run/netns/" + c1, "pod1", "eth0"], allowFailure: true);

        Shell.Result add = Cnirun("add");
        Assert.That(add.ExitCode, Is.EqualTo(0), add.Stderr + add.Stdout);
        JsonObject result = JsonNode.Parse(add.Stdout)!.AsObject();
        string ip = result["ips"]![0]!["address"]!.GetValue<string>().Split('/')[0];
        Assert.That(result["interfaces"]![0]!["name"]!.GetValue<string>(), Is.EqualTo(br), "firewall returned the bridge's result");
        Assert.That(result["cniVersion"]!.GetValue<string>(), Is.EqualTo(version));
        string rules = w.Save();
        Assert.That(rules, Does.Contain($"-A CNI-FORWARD -s {ip}/32 -j ACCEPT"));
        Assert.That(rules, Does.Contain($"-A CNI-ISOLATION-STAGE-1 -i {br} ! -o {br}"));

        Shell.Result check = Cnirun("check");
        Assert.That(check.ExitCode, Is.EqualTo(0), check.Stderr + check.Stdout);
        w.InHost("iptables", "-w", "-t", "filter", "-D", "CNI-FORWARD", "-s", ip + "/32", "-j", "ACCEPT");
        Shell.Result drift = Cnirun("check");
        Assert.That(drift.ExitCode, Is.Not.EqualTo(0), "CHECK after a rule was removed by hand");
        Assert.That(drift.Stderr + drift.Stdout, Does.Contain($"-s {ip}/32 -j ACCEPT"));

        Assert.That(Cnirun("del").ExitCode, Is.EqualTo(0));
        Assert.That(Cnirun("del").ExitCode, Is.EqualTo(0), "DEL twice");
        Assert.That(w.Save(), Does.Not.Contain(ip + "/32"));
    }
}
