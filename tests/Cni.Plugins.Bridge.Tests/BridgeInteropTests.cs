using System.Text.Json.Nodes;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Bridge.Tests;

/// <summary>
/// Our published bridge driven by real runtimes: libcni (cnirun) in a chain with the reference plugins, and podman.
/// Each runtime runs inside a private "host" namespace (<c>ip netns exec</c>, <c>nsenter --net</c>), with its own cache
/// directory, so neither it nor the plugins it runs change the machine's namespace.
/// </summary>
[TestFixture]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
[Category(Category.Interop)]
[NonParallelizable]
public class BridgeInteropTests
{
    private const string CnirunHowTo = "build it with: bash ../shared/tools/cnirun/build.sh";

    /// <summary>A CNI_PATH directory: our bridge and host-local (the reference host-local until ours is published), the reference tuning, portmap and firewall.</summary>
    private static string PluginDir(string bridge)
    {
        string dir = Directory.CreateTempSubdirectory("cni-interop-bin-").FullName;
        File.CreateSymbolicLink(Path.Combine(dir, "bridge"), bridge);
        string ourHostLocal = Path.Combine(TestEnvironment.PluginBinDir, "host-local");
        File.CreateSymbolicLink(Path.Combine(dir, "host-local"), File.Exists(ourHostLocal) ? ourHostLocal : Path.Combine(TestEnvironment.ReferencePluginDir, "host-local"));
        foreach (string type in new[] { "tuning", "portmap", "firewall" })
            File.CreateSymbolicLink(Path.Combine(dir, type), TestEnvironment.RequireReferencePlugin(type));
        return dir;
    }

    [Test]
    public void LibcniChainWithReferenceTuningPortmapFirewall()
    {
        TestEnvironment.RequireRoot();
        string cnirun = TestEnvironment.RequireTool("cnirun", CnirunHowTo);
        string bridge = TestEnvironment.RequirePublishedPlugin("bridge");
        using var h = new BridgeHarness();
        string bin = PluginDir(bridge);
        string confDir = Directory.CreateTempSubdirectory("cni-interop-conf-").FullName;
        string cacheDir = Directory.CreateTempSubdirectory("cni-interop-cache-").FullName;
        try
        {
            JsonObject bridgeConf = h.Config("1.0.0", """{"isGateway": true, "ipMasq": true}""", subnet: "10.95.0.0/24");
            bridgeConf.Remove("cniVersion");
            bridgeConf.Remove("name");
            var list = new JsonObject
            {
                ["cniVersion"] = "1.0.0",
                ["name"] = h.Network,
                ["plugins"] = new JsonArray(
                    bridgeConf,
                    new JsonObject { ["type"] = "tuning", ["sysctl"] = new JsonObject { ["net.ipv4.conf.eth0.rp_filter"] = "2" } },
                    new JsonObject { ["type"] = "portmap", ["capabilities"] = new JsonObject { ["portMappings"] = true } },
                    new JsonObject { ["type"] = "firewall" }),
            };
            File.WriteAllText(Path.Combine(confDir, h.Network + ".conflist"), list.ToJsonString());
            var env = new Dictionary<string, string> { ["NETCONFPATH"] = confDir, ["CNI_PATH"] = bin, ["CNI_CACHE_DIR"] = cacheDir };
            // libcni runs where the runtime runs: in the harness's host namespace (the plugins it starts inherit it).
            Shell.Result Cnirun(string verb, string ns, string id) =>
                Shell.Run("ip", ["netns", "exec", h.HostNs, cnirun, verb, h.Network, BridgeHarness.NsPath(ns), id, "eth0"], allowFailure: true, env: env);

            string ns1 = h.CreateNamespace(), ns2 = h.CreateNamespace();
            Shell.Result add1 = Cnirun("add", ns1, "interop1");
            Assert.That(add1.ExitCode, Is.EqualTo(0), add1.Stderr + add1.Stdout);
            Shell.Result add2 = Cnirun("add", ns2, "interop2");
            Assert.That(add2.ExitCode, Is.EqualTo(0), add2.Stderr + add2.Stdout);
            Assert.That(Shell.Run("ip", "netns", "exec", ns1, "cat", "/proc/sys/net/ipv4/conf/eth0/rp_filter").Stdout.Trim(), Is.EqualTo("2"), "tuning ran after our bridge");
            string peer = Shell.Run("ip", "-n", ns2, "-4", "-o", "addr", "show", "eth0").Stdout.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3].Split('/')[0];
            Assert.That(Shell.Ping(ns1, peer), Is.True, "pod1 -> pod2 through the chain");
            Assert.That(Shell.Ping(ns1, "10.95.0.1"), Is.True, "pod1 -> gateway");
            Assert.That(h.InHostOrThrow("iptables", "-w", "-S", "CNI-FORWARD").Stdout, Does.Contain(peer), "the reference firewall ran after our bridge, in the host namespace");

            Shell.Result check = Cnirun("check", ns1, "interop1");
            Assert.That(check.ExitCode, Is.EqualTo(0), check.Stderr + check.Stdout);

            Assert.That(Cnirun("del", ns1, "interop1").ExitCode, Is.EqualTo(0));
            Assert.That(Cnirun("del", ns2, "interop2").ExitCode, Is.EqualTo(0));
            Assert.That(Cnirun("del", ns2, "interop2").ExitCode, Is.EqualTo(0), "DEL twice through libcni");
            Assert.That(h.BridgePorts(), Is.Empty);
            Assert.That(h.Reservations(), Is.Empty);
            Assert.That(h.NftMasqRules(), Is.Empty);
        }
        finally
        {
            Directory.Delete(bin, recursive: true);
            Directory.Delete(confDir, recursive: true);
            Directory.Delete(cacheDir, recursive: true);
        }
    }

    [Test]
    public void PodmanContainersOnOurNetworkPingEachOtherAndLeaveNothing()
    {
        TestEnvironment.RequireRoot();
        string podman = TestEnvironment.RequireTool("podman", "apt-get install podman runc");
        TestEnvironment.RequireTool("runc", "apt-get install runc");
        string busybox = TestEnvironment.RequireTool("busybox", "apt-get install busybox-static");
        TestEnvironment.RequirePublishedPlugin("bridge");
        string work = Directory.CreateTempSubdirectory("cni-podman-").FullName;
        string network = TestEnvironment.UniqueName("podnet");
        string image = "localhost/cni-test-busybox-" + TestEnvironment.UniqueName("");
        string bridgeName = TestEnvironment.UniqueName("pbr");
        string c1 = TestEnvironment.UniqueName("c1-"), c2 = TestEnvironment.UniqueName("c2-");
        string confPath = Path.Combine(work, "containers.conf");
        RootNamespaceGuard.Watch(Cni.Plugins.Common.NetfilterNames.NetworkHash(network));
        // podman (and the CNI plugins it runs) in a private host namespace: nsenter changes only the network namespace,
        // so the container namespaces podman mounts below /run/netns stay visible to its later invocations.
        string hostNs = TestEnvironment.UniqueName("tns");
        Shell.Run("ip", "netns", "add", hostNs);
        File.WriteAllText(confPath, $"""
            [network]
            network_backend = "cni"
            cni_plugin_dirs = ["{TestEnvironment.PluginBinDir}", "{TestEnvironment.ReferencePluginDir}"]
            network_config_dir = "{work}/net.d"
            [engine]
            runtime = "runc"
            """);
        var env = new Dictionary<string, string> { ["CONTAINERS_CONF"] = confPath };
        Shell.Result Podman(params string[] args) => Shell.Run("nsenter", ["--net=" + BridgeHarness.NsPath(hostNs), "--", podman, .. args], allowFailure: true, env: env);
        string[] limits = ["--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1000:1000"];
        try
        {
            Shell.Run("ip", "-n", hostNs, "link", "set", "lo", "up");
            string root = Path.Combine(work, "rootfs", "bin");
            Directory.CreateDirectory(root);
            File.Copy(busybox, Path.Combine(root, "busybox"));
            foreach (string c in new[] { "sh", "ping", "ip", "sleep", "cat" })
                File.CreateSymbolicLink(Path.Combine(root, c), "busybox");
            Shell.Run("sh", ["-c", $"tar -C {work}/rootfs -c . | {podman} import - {image}"], allowFailure: false, env: env);

            Directory.CreateDirectory(Path.Combine(work, "net.d"));
            string dataDir = Path.Combine(work, "ipam");
            File.WriteAllText(Path.Combine(work, "net.d", network + ".conflist"), $$$"""
                {"cniVersion": "1.0.0", "name": "{{{network}}}", "plugins": [
                  {"type": "bridge", "bridge": "{{{bridgeName}}}", "isGateway": true, "ipMasq": true, "hairpinMode": true,
                   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.96.0.0/24", "gateway": "10.96.0.1"}]], "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "{{{dataDir}}}"}},
                  {"type": "portmap", "capabilities": {"portMappings": true}},
                  {"type": "firewall"},
                  {"type": "tuning"}
                ]}
                """);

            Shell.Result run1 = Podman(["run", "-d", "--name", c1, "--network", network, .. limits, image, "sleep", "60"]);
            Assert.That(run1.ExitCode, Is.EqualTo(0), run1.Stderr);
            string ip1 = Podman("inspect", "-f", $"{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}", c1).Stdout.Trim();
            Assert.That(ip1, Does.StartWith("10.96.0."));
            Shell.Result ping = Podman(["run", "--rm", "--name", c2, "--network", network, .. limits, image, "ping", "-c1", "-W2", ip1]);
            Assert.That(ping.ExitCode, Is.EqualTo(0), ping.Stdout + ping.Stderr);

            Assert.That(Podman("rm", "-f", c1).ExitCode, Is.EqualTo(0));
            string ports = Shell.Try("ip", "-n", hostNs, "-o", "link", "show", "master", bridgeName).Stdout;
            Assert.That(ports.Trim(), Is.Empty, "no veth left on the bridge");
            string reservations = Directory.Exists(Path.Combine(dataDir, network))
                ? string.Join(",", Directory.GetFiles(Path.Combine(dataDir, network)).Select(Path.GetFileName).Where(n => n!.StartsWith("10.", StringComparison.Ordinal)))
                : "";
            Assert.That(reservations, Is.Empty, "no address left reserved");
            string hash = Cni.Plugins.Common.NetfilterNames.NetworkHash(network);
            Assert.That(Shell.Run("ip", "netns", "exec", hostNs, "nft", "list", "ruleset").Stdout, Does.Not.Contain(hash), "no masquerade rule left");
        }
        finally
        {
            Podman("rm", "-f", c1);
            Podman("rm", "-f", c2);
            Podman("rmi", "-f", image);
            Shell.Try("ip", "netns", "del", hostNs); // takes the bridge and any rule with it
            File.Delete(Path.Combine(BridgeLock.DefaultDirectory, bridgeName + ".lock"));
            Directory.Delete(work, recursive: true);
        }
    }
}
