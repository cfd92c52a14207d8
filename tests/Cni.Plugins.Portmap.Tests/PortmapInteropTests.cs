using System.Text.Json.Nodes;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Portmap.Tests;

/// <summary>
/// Our portmap next to the Go reference one, always inside a private "host" namespace: the same iptables rules for the
/// same input, DEL by either removing the other's ADD, and our published binary driven by libcni (cnirun, run with
/// <c>ip netns exec</c>) chained after our bridge and after the reference bridge with the portMappings capability.
/// </summary>
[TestFixture]
[Category(Category.Interop)]
[NonParallelizable]
public class PortmapInteropTests
{
    private const string CnirunHowTo = "build it with: bash ../shared/tools/cnirun/build.sh";
    private const string Mappings = """[{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}, {"hostPort": 5353, "containerPort": 53, "protocol": "udp", "hostIP": "10.77.0.1"}]""";

    /// <summary>Runs a portmap binary inside the host namespace with the CNI variables.</summary>
    private static Task<PluginOutput> RunBinary(PortmapWorld w, string binary, string command, JsonObject conf, string id, string? netns) =>
        PluginRunner.RunProcessAsync("ip", ["netns", "exec", w.Host, binary], PluginRunner.Variables(command, netns, id, "eth0", "/nonexistent"), conf.ToJsonString());

    private static Task<PluginOutput> RunOurs(PortmapWorld w, string command, JsonObject conf, string id, string? netns) =>
        PluginRunner.RunInProcessAsync(new PortmapPlugin(new NamespacedCommandRunner(w.Host), w.HostNsPath), PluginRunner.Variables(command, netns, id, "eth0", "/nonexistent"), conf.ToJsonString());

    /// <summary>iptables-save of the nat table without the comment, counter and chain-policy lines (which carry run-specific numbers).</summary>
    private static string[] NatRules(PortmapWorld w, string tool = "iptables-save") =>
        Shell.Run("ip", "netns", "exec", w.Host, tool, "-t", "nat").Stdout.Split('\n')
            .Where(l => l.Length > 0 && !l.StartsWith('#') && !l.StartsWith(':') && l != "COMMIT" && l != "*nat").ToArray();

    [Test]
    public async Task SameIptablesRulesAsTheReferenceAndDelByEitherRemovesTheOthers()
    {
        string reference = TestEnvironment.RequireReferencePlugin("portmap");
        using var w = new PortmapWorld();
        // The reference version installed here supports spec versions up to 1.0.0.
        JsonObject conf = PortmapTestData.Config(w.Network, Mappings, """{"backend": "iptables"}""", prev: w.PrevResult(ipv6: true));
        JsonObject del = PortmapTestData.Config(w.Network, Mappings, """{"backend": "iptables"}""");

        (await RunBinary(w, reference, "ADD", conf, "xref", w.C1NsPath)).AssertSuccess();
        string[] theirs = NatRules(w), theirs6 = NatRules(w, "ip6tables-save");
        Assert.That(theirs, Has.Some.Contains(IptablesPortMapper.DnatChainName(w.Network, "xref")), "our hash names the reference's chain");
        (await RunOurs(w, "CHECK", conf, "xref", w.C1NsPath)).AssertSuccess();
        (await RunOurs(w, "DEL", del, "xref", null)).AssertSuccess();
        Assert.That(NatRules(w).Concat(NatRules(w, "ip6tables-save")), Has.None.Contains(IptablesPortMapper.DnatChainName(w.Network, "xref")).And.None.Contains("xref"));

        (await RunOurs(w, "ADD", conf, "xref", w.C1NsPath)).AssertSuccess();
        // The same rules; only the order of the jumps in CNI-HOSTPORT-DNAT may differ: the current reference inserts
        // them at the top (the most recent container wins a host port), the 1.1.1 installed here appended them.
        Assert.That(NatRules(w), Is.EquivalentTo(theirs), "identical IPv4 nat table, rule for rule");
        Assert.That(NatRules(w).Where(l => !l.StartsWith("-A CNI-HOSTPORT-DNAT ", StringComparison.Ordinal)),
            Is.EqualTo(theirs.Where(l => !l.StartsWith("-A CNI-HOSTPORT-DNAT ", StringComparison.Ordinal))), "in the same order");
        Assert.That(NatRules(w, "ip6tables-save"), Is.EquivalentTo(theirs6), "identical IPv6 nat table");
        Assert.That(PortmapWorld.Get(w.Host, $"http://{PortmapWorld.HostV4}:8080/"), Does.Contain("hello from c1"));
        // No CHECK by the reference here: 1.1.1 looks for the IPv4 rules in ip6tables too and fails on its own ADD
        // ("could not check ipv6 dnat"); ours checked the reference's rules above.
        (await RunBinary(w, reference, "DEL", del, "xref", null)).AssertSuccess();
        Assert.That(NatRules(w).Concat(NatRules(w, "ip6tables-save")), Has.None.Contains("xref"), "the reference's DEL removed our rules");
    }

    /// <summary>A CNI_PATH directory: the given bridge and portmap, the reference host-local.</summary>
    private static string BinDir(string bridge, string portmap)
    {
        string dir = Directory.CreateTempSubdirectory("cni-pm-bin-").FullName;
        File.CreateSymbolicLink(Path.Combine(dir, "bridge"), bridge);
        File.CreateSymbolicLink(Path.Combine(dir, "portmap"), portmap);
        File.CreateSymbolicLink(Path.Combine(dir, "host-local"), TestEnvironment.RequireReferencePlugin("host-local"));
        return dir;
    }

    [TestCase("ours", "ours", "ours")]
    [TestCase("reference", "ours", "ours")]
    [TestCase("ours", "reference", "ours")]
    [TestCase("reference", "ours", "reference")]
    public async Task LibcniChainBridgeThenPortmap(string bridgeImpl, string addPortmap, string delPortmap)
    {
        string cnirun = TestEnvironment.RequireTool("cnirun", CnirunHowTo);
        string ourPortmap = TestEnvironment.RequirePublishedPlugin("portmap");
        string bridge = bridgeImpl == "ours" ? TestEnvironment.RequirePublishedPlugin("bridge") : TestEnvironment.RequireReferencePlugin("bridge");
        string refPortmap = TestEnvironment.RequireReferencePlugin("portmap");
        using var w = new PortmapWorld();
        string container = w.NewContainer();
        string addBin = BinDir(bridge, addPortmap == "ours" ? ourPortmap : refPortmap);
        string delBin = BinDir(bridge, delPortmap == "ours" ? ourPortmap : refPortmap);
        string checkBin = BinDir(bridge, ourPortmap);
        string bridgeName = TestEnvironment.UniqueName("pmbr");
        string confDir = Directory.CreateTempSubdirectory("cni-pm-conf-").FullName;
        string cacheDir = Directory.CreateTempSubdirectory("cni-pm-cache-").FullName;
        string dataDir = Directory.CreateTempSubdirectory("cni-pm-ipam-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(confDir, w.Network + ".conflist"), $$"""
                {"cniVersion": "1.0.0", "name": "{{w.Network}}", "plugins": [
                  {"type": "bridge", "bridge": "{{bridgeName}}", "isGateway": true, "ipMasq": false,
                   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.79.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "{{dataDir}}"} },
                  {"type": "portmap", "capabilities": {"portMappings": true}, "backend": "iptables"}
                ]}
                """);
            string capArgs = """{"portMappings": [{"hostPort": 8081, "containerPort": 80, "protocol": "tcp"}, {"hostPort": 8082, "containerPort": 80, "protocol": "tcp", "hostIP": "10.79.0.1"}]}""";
            Shell.Result Cnirun(string verb, string bin) => Shell.Run("ip", ["netns", "exec", w.Host, cnirun, verb, w.Network, PluginHarness.NsPath(container), "pmlibcni", "eth0"], allowFailure: true,
                env: new Dictionary<string, string> { ["NETCONFPATH"] = confDir, ["CNI_PATH"] = bin, ["CNI_CACHE_DIR"] = cacheDir, ["CAP_ARGS"] = capArgs });

            Shell.Result add = Cnirun("add", addBin);
            Assert.That(add.ExitCode, Is.EqualTo(0), add.Stderr + add.Stdout);
            w.StartServer(container);
            Assert.That(PortmapWorld.Get(w.Host, "http://10.79.0.1:8081/"), Does.Contain("hello from c1"), "host -> bridge address:8081");
            Assert.That(PortmapWorld.Get(w.Host, "http://10.79.0.1:8082/"), Does.Contain("hello from c1"), "host -> hostIP:8082");
            Assert.That(PortmapWorld.Get(w.Host, "http://127.0.0.1:8081/"), Does.Contain("hello from c1"), "host -> 127.0.0.1:8081");
            Assert.That(PortmapWorld.Get(w.C2, $"http://{PortmapWorld.HostOnC2Link}:8081/"), Does.Contain("hello from c1"), "another container -> host:8081");

            // CHECK by ours whoever added (the reference 1.1.1 fails CHECK on every IPv4-only network: it looks for the
            // IPv4 chain in ip6tables too).
            Shell.Result check = Cnirun("check", checkBin);
            Assert.That(check.ExitCode, Is.EqualTo(0), "CHECK by our portmap: " + check.Stderr + check.Stdout);

            Shell.Result delete = Cnirun("del", delBin);
            Assert.That(delete.ExitCode, Is.EqualTo(0), delete.Stderr + delete.Stdout);
            Assert.That(NatRules(w), Has.None.Contains(IptablesPortMapper.DnatChainName(w.Network, "pmlibcni")).And.None.Contains("pmlibcni"));
            Assert.That(PortmapWorld.Get(w.Host, "http://10.79.0.1:8081/", 1), Is.Empty);
            Assert.That(Cnirun("del", delBin).ExitCode, Is.EqualTo(0), "DEL twice");
        }
        finally
        {
            foreach (string d in new[] { addBin, delBin, checkBin, confDir, cacheDir, dataDir })
                Directory.Delete(d, recursive: true);
            File.Delete(Path.Combine("/run/cni/bridge", bridgeName + ".lock")); // our bridge's lock file, when it ran
        }
    }

    [Test]
    public async Task PublishedBinaryNftablesBackendThroughLibcni()
    {
        string cnirun = TestEnvironment.RequireTool("cnirun", CnirunHowTo);
        string ourPortmap = TestEnvironment.RequirePublishedPlugin("portmap");
        string bridge = TestEnvironment.RequirePublishedPlugin("bridge");
        using var w = new PortmapWorld();
        string container = w.NewContainer();
        string bin = BinDir(bridge, ourPortmap);
        string bridgeName = TestEnvironment.UniqueName("pmbr");
        string confDir = Directory.CreateTempSubdirectory("cni-pm-conf-").FullName;
        string cacheDir = Directory.CreateTempSubdirectory("cni-pm-cache-").FullName;
        string dataDir = Directory.CreateTempSubdirectory("cni-pm-ipam-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(confDir, w.Network + ".conflist"), $$"""
                {"cniVersion": "1.0.0", "name": "{{w.Network}}", "plugins": [
                  {"type": "bridge", "bridge": "{{bridgeName}}", "isGateway": true,
                   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.79.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "{{dataDir}}"} },
                  {"type": "portmap", "capabilities": {"portMappings": true}, "backend": "nftables"}
                ]}
                """);
            var env = new Dictionary<string, string> { ["NETCONFPATH"] = confDir, ["CNI_PATH"] = bin, ["CNI_CACHE_DIR"] = cacheDir,
                ["CAP_ARGS"] = """{"portMappings": [{"hostPort": 8081, "containerPort": 80, "protocol": "tcp"}]}""" };
            Shell.Result Cnirun(string verb) => Shell.Run("ip", ["netns", "exec", w.Host, cnirun, verb, w.Network, PluginHarness.NsPath(container), "pmnft", "eth0"], allowFailure: true, env: env);
            Shell.Result add = Cnirun("add");
            Assert.That(add.ExitCode, Is.EqualTo(0), add.Stderr + add.Stdout);
            w.StartServer(container);
            Assert.That(PortmapWorld.Get(w.Host, "http://10.79.0.1:8081/"), Does.Contain("hello from c1"));
            Assert.That(PortmapWorld.Get(w.Host, "http://127.0.0.1:8081/"), Does.Contain("hello from c1"));
            Assert.That(Cnirun("check").ExitCode, Is.EqualTo(0));
            Assert.That(Cnirun("del").ExitCode, Is.EqualTo(0));
            Assert.That(Shell.Run("ip", "netns", "exec", w.Host, "nft", "list", "ruleset").Stdout, Does.Not.Contain("\"pmnft\""));
        }
        finally
        {
            foreach (string d in new[] { bin, confDir, cacheDir, dataDir })
                Directory.Delete(d, recursive: true);
            File.Delete(Path.Combine("/run/cni/bridge", bridgeName + ".lock")); // our bridge's lock file, when it ran
        }
    }
}
