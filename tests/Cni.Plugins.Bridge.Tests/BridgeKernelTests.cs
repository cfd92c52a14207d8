using System.Text.Json.Nodes;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Bridge.Tests;

/// <summary>The bridge plugin against the kernel, in throwaway namespaces, in process and as the published binary.</summary>
[TestFixture]
[Category(Category.Kernel)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
[NonParallelizable]
public class BridgeKernelTests
{
    private static readonly string[] Versions = ["0.3.1", "0.4.0", "1.0.0", "1.1.0"];
    private static readonly Mode[] Modes = [Mode.InProcess, Mode.Binary];

    [SetUp]
    public void RequireRoot() => TestEnvironment.RequireRoot();

    private static string ContainerAddress(JsonObject result, int index = 0) => result["ips"]![index]!["address"]!.GetValue<string>().Split('/')[0];

    [Test]
    public async Task TwoPodsOnOneBridgePingEachOtherAndTheGateway([ValueSource(nameof(Versions))] string version, [ValueSource(nameof(Modes))] Mode mode)
    {
        using var h = new BridgeHarness(mode);
        JsonObject conf = h.Config(version, """{"isGateway": true}""");
        string ns1 = h.CreateNamespace(), ns2 = h.CreateNamespace();

        JsonObject r1 = (await h.AddAsync(conf, ns1, "pod1")).AssertSuccess().Json;
        JsonObject r2 = (await h.AddAsync(conf, ns2, "pod2")).AssertSuccess().Json;

        Assert.That(r1["cniVersion"]!.GetValue<string>(), Is.EqualTo(version));
        JsonArray interfaces = r1["interfaces"]!.AsArray();
        Assert.That(interfaces, Has.Count.EqualTo(3));
        Assert.That(interfaces[0]!["name"]!.GetValue<string>(), Is.EqualTo(h.BridgeName));
        Assert.That(interfaces[1]!["name"]!.GetValue<string>(), Does.StartWith("veth"));
        Assert.That(interfaces[2]!["name"]!.GetValue<string>(), Is.EqualTo("eth0"));
        Assert.That(interfaces[2]!["sandbox"]!.GetValue<string>(), Is.EqualTo(BridgeHarness.NsPath(ns1)));
        Assert.That(interfaces[2]!["mac"]!.GetValue<string>(), Does.Match("^([0-9a-f]{2}:){5}[0-9a-f]{2}$"));
        Assert.That(r1["ips"]![0]!["interface"]!.GetValue<int>(), Is.EqualTo(2));
        Assert.That(r1["ips"]![0]!["gateway"]!.GetValue<string>(), Is.EqualTo("10.91.0.1"));

        Assert.That(Shell.Ping(ns1, ContainerAddress(r2)), Is.True, "pod1 -> pod2");
        Assert.That(Shell.Ping(ns2, ContainerAddress(r1)), Is.True, "pod2 -> pod1");
        Assert.That(Shell.Ping(ns1, "10.91.0.1"), Is.True, "pod1 -> gateway");
        Assert.That(h.HostSysctl("net/ipv4/ip_forward"), Is.EqualTo("1"), "isGateway turns forwarding on in the host namespace");

        (await h.DelAsync(conf, BridgeHarness.NsPath(ns1), "pod1")).AssertSuccess();
        (await h.DelAsync(conf, BridgeHarness.NsPath(ns2), "pod2")).AssertSuccess();
        Assert.That(h.BridgePorts(), Is.Empty);
        Assert.That(h.Reservations(), Is.Empty);
        Assert.That(h.BridgeExists(), Is.True, "DEL never removes the bridge");
    }

    [Test]
    public async Task DualStack([ValueSource(nameof(Versions))] string version)
    {
        using var h = new BridgeHarness();
        JsonObject conf = h.Config(version, """{"isDefaultGateway": true}""", ipam: false);
        conf["ipam"] = h.HostLocal("10.92.0.0/24", "fd00:92::/64");
        string ns1 = h.CreateNamespace(), ns2 = h.CreateNamespace();
        JsonObject r1 = (await h.AddAsync(conf, ns1, "pod1")).AssertSuccess().Json;
        JsonObject r2 = (await h.AddAsync(conf, ns2, "pod2")).AssertSuccess().Json;
        Assert.That(r1["ips"]!.AsArray(), Has.Count.EqualTo(2));
        string v6peer = r2["ips"]!.AsArray().Select(i => i!["address"]!.GetValue<string>()).Single(a => a.Contains(':')).Split('/')[0];
        Assert.That(Shell.Ping(ns1, v6peer), Is.True, "IPv6 pod1 -> pod2");
        Assert.That(Shell.Ping(ns1, "fd00:92::1"), Is.True, "IPv6 pod1 -> gateway");
        Assert.That(Shell.Ping(ns1, "10.92.0.1"), Is.True, "IPv4 pod1 -> gateway");
        Assert.That(h.HostSysctl("net/ipv4/ip_forward"), Is.EqualTo("1"), "IPv4 forwarding in the host namespace");
        Assert.That(h.HostSysctl("net/ipv6/conf/all/forwarding"), Is.EqualTo("1"), "IPv6 forwarding in the host namespace");
        string routes = Shell.Run("ip", "-n", ns1, "-6", "route", "show", "default").Stdout;
        Assert.That(routes, Does.Contain("via fd00:92::1"));
        Assert.That(Shell.Run("ip", "-n", ns1, "-4", "route", "show", "default").Stdout, Does.Contain("via 10.92.0.1"));
        (await h.DelAsync(conf, BridgeHarness.NsPath(ns1), "pod1")).AssertSuccess();
        (await h.DelAsync(conf, BridgeHarness.NsPath(ns2), "pod2")).AssertSuccess();
        Assert.That(h.Reservations(), Is.Empty);
    }

    [Test]
    public async Task EnableDadReturnsOnlyOnceIpv6DuplicateAddressDetectionHasFinished()
    {
        using var h = new BridgeHarness();
        JsonObject conf = h.Config("1.0.0", """{"enabledad": true}""", ipam: false);
        conf["ipam"] = h.HostLocal("10.94.0.0/24", "fd00:94::/64");
        string ns = h.CreateNamespace();

        (await h.AddAsync(conf, ns, "pod1")).AssertSuccess();

        string v6 = Shell.Run("ip", "-n", ns, "-6", "addr", "show", "dev", "eth0", "scope", "global").Stdout;
        Assert.That(v6, Does.Contain("fd00:94::"));
        Assert.That(v6, Does.Not.Contain("tentative"), "ADD returned while DAD was still running");
        (await h.DelAsync(conf, BridgeHarness.NsPath(ns), "pod1")).AssertSuccess();
    }

    [Test]
    public async Task L2OnlyAttachmentHasNoAddressButIsUp([ValueSource(nameof(Versions))] string version)
    {
        using var h = new BridgeHarness();
        JsonObject conf = h.Config(version, ipam: false);
        string ns = h.CreateNamespace();
        JsonObject r = (await h.AddAsync(conf, ns, "pod1")).AssertSuccess().Json;
        Assert.That(r["ips"] is null || r["ips"]!.AsArray().Count == 0, Is.True);
        Assert.That(r["interfaces"]!.AsArray(), Has.Count.EqualTo(3));
        string link = Shell.Run("ip", "-n", ns, "-o", "link", "show", "eth0").Stdout;
        Assert.That(link, Does.Contain("state UP").Or.Contain(",UP"));
        Assert.That(Shell.Run("ip", "-n", ns, "-4", "-o", "addr", "show", "eth0").Stdout.Trim(), Is.Empty);
        (await h.DelAsync(conf, BridgeHarness.NsPath(ns), "pod1")).AssertSuccess();
        Assert.That(h.BridgePorts(), Is.Empty);
    }

    [Test]
    public async Task DisableContainerInterfaceLeavesItDown()
    {
        using var h = new BridgeHarness();
        JsonObject conf = h.Config("1.1.0", """{"disableContainerInterface": true}""", ipam: false);
        string ns = h.CreateNamespace();
        (await h.AddAsync(conf, ns, "pod1")).AssertSuccess();
        string link = Shell.Run("ip", "-n", ns, "-o", "link", "show", "eth0").Stdout;
        Assert.That(link, Does.Not.Contain(",UP"));
        Assert.That(h.BridgePorts(), Has.Length.EqualTo(1));
        (await h.DelAsync(conf, BridgeHarness.NsPath(ns), "pod1")).AssertSuccess();
        Assert.That(h.BridgePorts(), Is.Empty);
    }

    [Test]
    public async Task StatusDelegatesToIpam()
    {
        using var h = new BridgeHarness();
        (await h.RunAsync("STATUS", h.Config("1.1.0"), null, "", "")).AssertSuccess();
        JsonObject broken = h.Config("1.1.0");
        broken["ipam"]!["type"] = "no-such-ipam";
        PluginOutput status = await h.RunAsync("STATUS", broken, null, "", "");
        Assert.That(status.ExitCode, Is.EqualTo(1));
        Assert.That(status.Stdout, Does.Contain("no-such-ipam"));
    }

    [Test]
    public async Task HairpinModeIsSetOnTheHostPort()
    {
        using var h = new BridgeHarness();
        JsonObject conf = h.Config("1.0.0", """{"hairpinMode": true, "portIsolation": true}""");
        string ns = h.CreateNamespace();
        JsonObject r = (await h.AddAsync(conf, ns, "pod1")).AssertSuccess().Json;
        string hostVeth = r["interfaces"]![1]!["name"]!.GetValue<string>();
        string details = Shell.Run("ip", "-n", h.HostNs, "-d", "link", "show", hostVeth).Stdout;
        Assert.That(details, Does.Contain("hairpin on"));
        Assert.That(details, Does.Contain("isolated on"));
        (await h.DelAsync(conf, BridgeHarness.NsPath(ns), "pod1")).AssertSuccess();
    }

    /// <summary>Probes with a bridge in the harness's host namespace (never in the machine's).</summary>
    private static bool KernelHasBridgeVlanFiltering(BridgeHarness h)
    {
        string probe = TestEnvironment.UniqueName("tvf");
        bool ok = Shell.Try("ip", "-n", h.HostNs, "link", "add", probe, "type", "bridge", "vlan_filtering", "1").ExitCode == 0;
        Shell.Try("ip", "-n", h.HostNs, "link", "del", probe);
        return ok;
    }

    [Test]
    public async Task VlanOnAKernelWithoutVlanFilteringFailsCleanly()
    {
        using var h = new BridgeHarness();
        if (KernelHasBridgeVlanFiltering(h))
            Assert.Ignore("this kernel has bridge VLAN filtering: VlanOptionsProduceTheBridgeVlanState covers it");
        JsonObject conf = h.Config("1.0.0", """{"vlan": 100}""");
        string ns = h.CreateNamespace();
        PluginOutput add = await h.AddAsync(conf, ns, "pod1");
        Assert.That(add.ExitCode, Is.EqualTo(1));
        Assert.That(add.Stdout, Does.Contain("VLAN filtering"));
        await AssertFailedAddLeftNothing(h, conf, ns, bridgePreexisted: false);
    }

    [Test]
    public async Task VlanOptionsProduceTheBridgeVlanState()
    {
        using var h = new BridgeHarness();
        if (!KernelHasBridgeVlanFiltering(h))
            Assert.Ignore("this kernel has no bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING): vlan options cannot work here");
        string ns1 = h.CreateNamespace(), ns2 = h.CreateNamespace();
        JsonObject access = h.Config("1.0.0", """{"vlan": 100}""", ipam: false);
        JsonObject r1 = (await h.AddAsync(access, ns1, "pod1")).AssertSuccess().Json;
        JsonObject trunk = h.Config("1.0.0", """{"vlanTrunk": [{"id": 200}, {"minID": 300, "maxID": 302}], "preserveDefaultVlan": true}""", ipam: false);
        JsonObject r2 = (await h.AddAsync(trunk, ns2, "pod2")).AssertSuccess().Json;

        Assert.That(Shell.Run("ip", "-n", h.HostNs, "-d", "link", "show", h.BridgeName).Stdout, Does.Contain("vlan_filtering 1"));
        string port1 = r1["interfaces"]![1]!["name"]!.GetValue<string>();
        string port2 = r2["interfaces"]![1]!["name"]!.GetValue<string>();
        string vlans1 = h.InHostOrThrow("bridge", "vlan", "show", "dev", port1).Stdout;
        string vlans2 = h.InHostOrThrow("bridge", "vlan", "show", "dev", port2).Stdout;
        Assert.That(vlans1, Does.Match(@"100 PVID Egress Untagged"));
        Assert.That(vlans1, Does.Not.Match(@"\b1 PVID"), "default VLAN removed (preserveDefaultVlan defaults to false)");
        Assert.That(vlans2, Does.Match(@"\b1 PVID Egress Untagged"), "default VLAN kept (preserveDefaultVlan true)");
        foreach (string vid in new[] { "200", "300", "301", "302" })
            Assert.That(vlans2, Does.Match($@"\b{vid}\s*$").Or.Match($@"\b{vid}\n"), $"trunk vlan {vid}");
        Assert.That(vlans2, Does.Not.Contain("303"));

        (await h.DelAsync(access, BridgeHarness.NsPath(ns1), "pod1")).AssertSuccess();
        (await h.DelAsync(trunk, BridgeHarness.NsPath(ns2), "pod2")).AssertSuccess();
    }

    [TestCase("nftables")]
    [TestCase("iptables")]
    public async Task MasqueradeRulesAppearAndDisappear(string backend)
    {
        TestEnvironment.RequireTool(backend == "nftables" ? "nft" : "iptables", "apt-get install nftables iptables");
        using var h = new BridgeHarness();
        JsonObject conf = h.Config("1.0.0", $$"""{"isGateway": true, "ipMasq": true, "ipMasqBackend": "{{backend}}"}""");
        string ns = h.CreateNamespace();
        JsonObject r = (await h.AddAsync(conf, ns, "pod1")).AssertSuccess().Json;
        string address = ContainerAddress(r);
        if (backend == "nftables")
        {
            string[] rules = h.NftMasqRules();
            Assert.That(rules, Has.Length.EqualTo(1));
            Assert.That(rules[0], Does.Contain($"ip saddr {address} ip daddr != 10.91.0.0/24 masquerade"));
        }
        else
        {
            string[] rules = h.IptablesRules("pod1");
            Assert.That(rules, Has.Some.Contains($"-A POSTROUTING -s {address}/32"));
            Assert.That(rules, Has.Some.Contains("-j MASQUERADE"));
            Assert.That(rules, Has.Some.Contains($"name: \\\"{h.Network}\\\" id: \\\"pod1\\\""));
        }
        (await h.DelAsync(conf, BridgeHarness.NsPath(ns), "pod1")).AssertSuccess();
        Assert.That(h.NftMasqRules(), Is.Empty);
        Assert.That(h.IptablesRules("pod1"), Is.Empty);
    }

    [Test]
    public async Task SixteenConcurrentAddsGetDistinctAddressesAndSixteenDelsLeaveNothing([Values] Mode mode)
    {
        using var h = new BridgeHarness(mode);
        JsonObject conf = h.Config("1.0.0", """{"isGateway": true, "ipMasq": true}""");
        string[] namespaces = Enumerable.Range(0, 16).Select(_ => h.CreateNamespace()).ToArray();
        PluginOutput[] adds = await Task.WhenAll(namespaces.Select((ns, i) => Task.Run(() => h.AddAsync(conf, ns, $"pod{i}"))));
        foreach (PluginOutput add in adds) add.AssertSuccess();
        string[] addresses = adds.Select(a => ContainerAddress(a.Json)).ToArray();
        Assert.That(addresses.Distinct().Count(), Is.EqualTo(16));
        Assert.That(h.BridgePorts(), Has.Length.EqualTo(16));
        Assert.That(h.Reservations(), Has.Length.EqualTo(16));

        PluginOutput[] dels = await Task.WhenAll(namespaces.Select((ns, i) => Task.Run(() => h.DelAsync(conf, BridgeHarness.NsPath(ns), $"pod{i}"))));
        foreach (PluginOutput del in dels) del.AssertSuccess();
        Assert.That(h.BridgePorts(), Is.Empty);
        Assert.That(h.Reservations(), Is.Empty);
        Assert.That(h.NftMasqRules(), Is.Empty);
    }

    /// <summary>A bridge configuration whose IPAM plugin is <paramref name="script"/>, installed as <paramref name="type"/>
    /// in a directory put first on the harness's CNI_PATH.</summary>
    private static JsonObject ConfigWithScriptIpam(BridgeHarness h, string type, string script)
    {
        string bin = Path.Combine(h.DataDir, "bin");
        Directory.CreateDirectory(bin);
        string path = Path.Combine(bin, type);
        TestEnvironment.WriteExecutable(path, script);
        h.CniPath = $"{bin}:{h.CniPath}";
        JsonObject conf = h.Config("1.0.0", ipam: false);
        conf["ipam"] = new JsonObject { ["type"] = type };
        return conf;
    }

    [Test]
    public async Task AnIpamPluginThatMayUseTheInterfaceRunsOnceItIsUpAndReleasesBeforeItGoes([ValueSource(nameof(Modes))] Mode mode)
    {
        // A stand-in for dhcp (which sends its requests and its release through the container interface): it fails
        // ADD unless CNI_IFNAME exists and is up in the container, and logs what it saw on DEL.
        using var h = new BridgeHarness(mode);
        string log = Path.Combine(h.DataDir, "probe.log");
        JsonObject conf = ConfigWithScriptIpam(h, "probe-ipam", $$"""
            #!/bin/sh
            cat >/dev/null
            state=$(nsenter --net="$CNI_NETNS" ip -o link show "$CNI_IFNAME" 2>/dev/null)
            case "$CNI_COMMAND" in
            ADD)
              echo "ADD $state" >> '{{log}}'
              if ! echo "$state" | grep -q '[<,]UP[,>]'; then echo '{"cniVersion":"1.0.0","code":11,"msg":"interface missing or down"}'; exit 1; fi
              echo '{"cniVersion":"1.0.0","ips":[{"address":"10.93.0.5/24","gateway":"10.93.0.1"}]}' ;;
            DEL) echo "DEL ${state:-(none)}" >> '{{log}}' ;;
            esac
            """);
        string ns = h.CreateNamespace();

        JsonObject r = (await h.AddAsync(conf, ns, "pod1")).AssertSuccess().Json;
        Assert.That(ContainerAddress(r), Is.EqualTo("10.93.0.5"));
        Assert.That(Shell.Run("ip", "-n", ns, "-o", "addr", "show", "eth0").Stdout, Does.Contain("10.93.0.5/24"));

        (await h.DelAsync(conf, BridgeHarness.NsPath(ns), "pod1")).AssertSuccess();
        string[] lines = File.ReadAllLines(log);
        Assert.That(lines, Has.Length.EqualTo(2), string.Join('\n', lines));
        Assert.That(lines[0], Does.StartWith("ADD ").And.Contain("eth0@"));
        Assert.That(lines[1], Does.StartWith("DEL ").And.Contain("eth0@"), "the release must run while the interface exists");
        Assert.That(h.BridgePorts(), Is.Empty);
    }

    [Test]
    public void ARollbackDoesNotDeleteTheBridgeWhileAnotherAddIsAttachingToIt()
    {
        // ADD A created the bridge and failed; ADD B found the bridge and is attaching its port. A's rollback must wait
        // for B (BridgeLock), then see B's port and keep the bridge; with no port left it deletes it.
        using var h = new BridgeHarness();
        string locks = Path.Combine(h.DataDir, "locks");
        {
            Shell.Run("ip", "-n", h.HostNs, "link", "add", h.BridgeName, "type", "bridge");
            string port = TestEnvironment.UniqueName("tbp"), peer = TestEnvironment.UniqueName("tbq");
            Task rollback;
            using (BridgeLock attaching = BridgeLock.Shared(locks, h.BridgeName))
            {
                Assert.That(attaching.IsHeld, Is.True);
                rollback = Task.Run(() =>
                {
                    using var host = Cni.Netlink.RtNetlink.Open(h.HostNetNs);
                    BridgePlugin.DeleteBridgeIfUnused(host, h.BridgeName, locks);
                });
                Assert.That(rollback.Wait(300), Is.False, "the rollback deleted the bridge while an ADD was attaching to it");
                Assert.That(h.BridgeExists(), Is.True);
                Shell.Run("ip", "-n", h.HostNs, "link", "add", port, "type", "veth", "peer", "name", peer);
                Shell.Run("ip", "-n", h.HostNs, "link", "set", port, "master", h.BridgeName);
            }
            Assert.That(rollback.Wait(TimeSpan.FromSeconds(10)), Is.True, "the rollback never got the lock");
            Assert.That(h.BridgeExists(), Is.True, "the bridge has a port: it must stay");

            Shell.Run("ip", "-n", h.HostNs, "link", "del", port);
            using (var host = Cni.Netlink.RtNetlink.Open(h.HostNetNs))
                BridgePlugin.DeleteBridgeIfUnused(host, h.BridgeName, locks);
            Assert.That(h.BridgeExists(), Is.False, "an unused bridge created by the failed ADD goes");
        }
    }

    [Test]
    public void SharedGatewayObjectsCountAsUsedOnlyWhileAnotherPortIsAttached()
    {
        // What a failed ADD's rollback asks, under the bridge lock, before it removes a gateway address or a VLAN
        // gateway: is a port other than its own (and other than a VLAN gateway's bridge end) on the bridge?
        using var h = new BridgeHarness();
        string ns = h.CreateNamespace(); // the "host" here is a namespace of this test's own
        string br = h.BridgeName, own = TestEnvironment.UniqueName("tbo"), other = TestEnvironment.UniqueName("tbx");
        Shell.Run("ip", "-n", ns, "link", "add", br, "type", "bridge");
        Shell.Run("ip", "-n", ns, "link", "add", own, "type", "veth", "peer", "name", own + "p");
        Shell.Run("ip", "-n", ns, "link", "set", own, "master", br);
        // A VLAN gateway: BRIDGE.5, whose other end is a port of the bridge.
        Shell.Run("ip", "-n", ns, "link", "add", br + ".5", "type", "veth", "peer", "name", own + "g");
        Shell.Run("ip", "-n", ns, "link", "set", own + "g", "master", br);
        using var netns = Cni.Netlink.NetNs.OpenNamed(ns);
        using var host = Cni.Netlink.RtNetlink.Open(netns);
        int ownIndex = host.GetLink(own).Index;
        Assert.That(BridgePlugin.UsedByOtherPorts(host, br, ownIndex, vlan: 0), Is.False, "only the failing ADD's port and a gateway end");

        Shell.Run("ip", "-n", ns, "link", "add", other, "type", "veth", "peer", "name", other + "p");
        Shell.Run("ip", "-n", ns, "link", "set", other, "master", br);
        Assert.That(BridgePlugin.UsedByOtherPorts(host, br, ownIndex, vlan: 0), Is.True, "another attachment's port");
        Assert.That(BridgePlugin.UsedByOtherPorts(host, br, host.GetLink(other).Index, vlan: 0), Is.True, "seen from the other side");
        Assert.That(BridgePlugin.UsedByOtherPorts(host, "nosuch" + br[..8], ownIndex, vlan: 0), Is.False, "no bridge: nothing uses it");
    }

    [Test]
    public async Task AnAddKilledMidwayIsCleanedUpByDel()
    {
        // A runtime's timeout kills the plugin with SIGKILL (libcni's exec.CommandContext): no rollback can run, so the
        // DEL the runtime sends after a failed ADD must find and remove what the ADD left (here: the veth pair on the
        // bridge and the container interface, created before the IPAM plugin, which is still busy).
        using var h = new BridgeHarness(Mode.Binary);
        string marks = Path.Combine(h.DataDir, "marks");
        Directory.CreateDirectory(marks);
        JsonObject conf = ConfigWithScriptIpam(h, "slow-ipam", $$"""
            #!/bin/sh
            cat >/dev/null
            case "$CNI_COMMAND" in
            ADD) echo $$ > '{{marks}}/add.pid'; exec sleep 60 ;;
            DEL) touch '{{marks}}/released' ;;
            esac
            """);
        string ns = h.CreateNamespace();

        // As a runtime in the host namespace starts it (ip netns exec execs the plugin: the pid is the plugin's).
        var psi = new System.Diagnostics.ProcessStartInfo("ip") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in new[] { "netns", "exec", h.HostNs, h.BinaryPath! })
            psi.ArgumentList.Add(arg);
        foreach ((string k, string v) in h.Variables("ADD", BridgeHarness.NsPath(ns), "killed", "eth0"))
            psi.Environment[k] = v;
        using (var add = System.Diagnostics.Process.Start(psi)!)
        {
            await add.StandardInput.WriteAsync(conf.ToJsonString());
            add.StandardInput.Close();
            string pidFile = Path.Combine(marks, "add.pid");
            for (int i = 0; i < 500 && !File.Exists(pidFile); i++)
                await Task.Delay(10);
            Assert.That(File.Exists(pidFile), Is.True, "the IPAM plugin never started");
            add.Kill();
            await add.WaitForExitAsync();
            Shell.Try("kill", "-9", File.ReadAllText(pidFile).Trim());
        }
        Assert.That(h.BridgePorts(), Has.Length.EqualTo(1), "the killed ADD left its veth pair behind (the state DEL must handle)");

        (await h.DelAsync(conf, BridgeHarness.NsPath(ns), "killed")).AssertSuccess();

        Assert.Multiple(() =>
        {
            Assert.That(h.BridgePorts(), Is.Empty);
            Assert.That(Shell.Try("ip", "-n", ns, "link", "show", "eth0").ExitCode, Is.Not.EqualTo(0), "container interface left");
            Assert.That(File.Exists(Path.Combine(marks, "released")), Is.True, "IPAM DEL was not called");
        });
    }

    [Test]
    public async Task DelTwiceSucceeds()
    {
        using var h = new BridgeHarness();
        JsonObject conf = h.Config("0.4.0");
        string ns = h.CreateNamespace();
        (await h.AddAsync(conf, ns, "pod1")).AssertSuccess();
        (await h.DelAsync(conf, BridgeHarness.NsPath(ns), "pod1")).AssertSuccess();
        (await h.DelAsync(conf, BridgeHarness.NsPath(ns), "pod1")).AssertSuccess();
        Assert.That(h.BridgePorts(), Is.Empty);
        Assert.That(h.Reservations(), Is.Empty);
    }

    [Test]
    public async Task DelAfterTheNamespaceIsGoneReleasesEverything()
    {
        using var h = new BridgeHarness();
        JsonObject conf = h.Config("1.0.0", """{"ipMasq": true}""");
        string ns = h.CreateNamespace();
        (await h.AddAsync(conf, ns, "pod1")).AssertSuccess();
        Shell.Run("ip", "netns", "del", ns);
        (await h.DelAsync(conf, BridgeHarness.NsPath(ns), "pod1")).AssertSuccess();
        Assert.That(h.Reservations(), Is.Empty);
        Assert.That(h.NftMasqRules(), Is.Empty);
    }

    [Test]
    public async Task DelWithAPathThatIsNoNamespaceAnyMoreReleasesEverything()
    {
        // A leftover mount point after the container died is an ordinary file: DEL treats the namespace as gone.
        using var h = new BridgeHarness();
        JsonObject conf = h.Config("1.0.0", """{"ipMasq": true}""");
        string ns = h.CreateNamespace();
        (await h.AddAsync(conf, ns, "pod1")).AssertSuccess();
        string leftover = Path.Combine(h.DataDir, "leftover-netns");
        File.WriteAllText(leftover, "");
        (await h.DelAsync(conf, leftover, "pod1")).AssertSuccess();
        Assert.That(h.BridgePorts(), Is.Empty, "host veth");
        Assert.That(h.Reservations(), Is.Empty, "address");
        Assert.That(h.NftMasqRules(), Is.Empty, "masquerade rule");
    }

    [Test]
    public async Task DelWithEmptyNetnsReleasesAddressRulesAndHostVeth([ValueSource(nameof(Modes))] Mode mode)
    {
        using var h = new BridgeHarness(mode);
        JsonObject conf = h.Config("1.0.0", """{"ipMasq": true}""");
        string ns = h.CreateNamespace();
        (await h.AddAsync(conf, ns, "pod1")).AssertSuccess();
        Assert.That(h.BridgePorts(), Has.Length.EqualTo(1));
        (await h.DelAsync(conf, null, "pod1")).AssertSuccess();
        Assert.That(h.BridgePorts(), Is.Empty, "host veth");
        Assert.That(h.Reservations(), Is.Empty, "address");
        Assert.That(h.NftMasqRules(), Is.Empty, "masquerade rule");
        Assert.That(Shell.Try("ip", "-n", ns, "link", "show", "eth0").ExitCode, Is.Not.EqualTo(0), "the pair is gone in the container too");
    }

    [Test]
    public async Task DelNeverDeletesAHostVethWhosePeerIsInAnotherPodsNamespace()
    {
        // pod1's pair is gone (its container end deleted by hand); pod2's host end happens to carry the name DEL would
        // derive for pod1. DEL of pod1 finds that name, but its peer is in pod2's namespace: pod2 must stay attached.
        using var h = new BridgeHarness();
        JsonObject conf = h.Config("1.0.0", "{}");
        string ns1 = h.CreateNamespace(), ns2 = h.CreateNamespace();
        (await h.AddAsync(conf, ns1, "pod1")).AssertSuccess();
        (await h.AddAsync(conf, ns2, "pod2")).AssertSuccess();
        Shell.Run("ip", "-n", ns1, "link", "del", "eth0");
        string pod2Port = h.BridgePorts().Single();
        string pod1Name = BridgePlugin.HostVethName(h.Network, "pod1", "eth0");
        Shell.Run("ip", "-n", h.HostNs, "link", "set", pod2Port, "down");
        Shell.Run("ip", "-n", h.HostNs, "link", "set", pod2Port, "name", pod1Name);
        Shell.Run("ip", "-n", h.HostNs, "link", "set", pod1Name, "up");

        (await h.DelAsync(conf, BridgeHarness.NsPath(ns1), "pod1")).AssertSuccess();
        Assert.That(h.BridgePorts(), Is.EqualTo(new[] { pod1Name }), "pod2's port is still on the bridge");
        Assert.That(Shell.Try("ip", "-n", ns2, "link", "show", "eth0").ExitCode, Is.EqualTo(0), "pod2's interface is still there");
        (await h.DelAsync(conf, BridgeHarness.NsPath(ns2), "pod2")).AssertSuccess();
        Assert.That(h.BridgePorts(), Is.Empty);
    }

    [Test]
    public async Task CheckPassesThenFailsAfterAnAddressIsRemovedByHand([Values("0.4.0", "1.0.0", "1.1.0")] string version, [ValueSource(nameof(Modes))] Mode mode)
    {
        using var h = new BridgeHarness(mode);
        JsonObject conf = h.Config(version, """{"isGateway": true}""");
        string ns = h.CreateNamespace();
        JsonObject r = (await h.AddAsync(conf, ns, "pod1")).AssertSuccess().Json;
        (await h.CheckAsync(conf, r, ns, "pod1")).AssertSuccess();
        string address = r["ips"]![0]!["address"]!.GetValue<string>();
        Shell.Run("ip", "-n", ns, "addr", "del", address, "dev", "eth0");
        PluginOutput check = await h.CheckAsync(conf, r, ns, "pod1");
        Assert.That(check.ExitCode, Is.EqualTo(1));
        Assert.That(check.Stdout, Does.Contain(address));
        (await h.DelAsync(conf, BridgeHarness.NsPath(ns), "pod1")).AssertSuccess();
    }

    private async Task AssertFailedAddLeftNothing(BridgeHarness h, JsonObject conf, string ns, bool bridgePreexisted)
    {
        PluginOutput add = await h.AddAsync(conf, ns, "pod1");
        Assert.That(add.ExitCode, Is.EqualTo(1), add.Stdout);
        Assert.That(add.Json["code"], Is.Not.Null);
        Assert.That(h.BridgePorts(), Is.Empty, "no host veth");
        Assert.That(Shell.Try("ip", "-n", ns, "link", "show", "eth0").ExitCode, Is.Not.EqualTo(0), "no container interface");
        Assert.That(h.Reservations(), Is.Empty, "no reservation");
        Assert.That(h.NftMasqRules(), Is.Empty, "no masquerade rule");
        if (!bridgePreexisted)
            Assert.That(h.BridgeExists(), Is.False, "no bridge created by the failed ADD");
    }

    [Test]
    public async Task FailedAddWithInvalidIpamConfigLeavesNothing()
    {
        using var h = new BridgeHarness();
        JsonObject conf = h.Config("1.0.0", """{"ipMasq": true}""", subnet: "10.93.0.0/33");
        await AssertFailedAddLeftNothing(h, conf, h.CreateNamespace(), bridgePreexisted: false);
    }

    [Test]
    public async Task FailedAddWithMissingIpamPluginLeavesNothing()
    {
        using var h = new BridgeHarness();
        JsonObject conf = h.Config("1.0.0");
        conf["ipam"]!["type"] = "no-such-ipam";
        await AssertFailedAddLeftNothing(h, conf, h.CreateNamespace(), bridgePreexisted: false);
    }

    [Test]
    public async Task FailedAddOnAGatewayAddressConflictLeavesNothing([ValueSource(nameof(Modes))] Mode mode)
    {
        using var h = new BridgeHarness(mode);
        Shell.Run("ip", "-n", h.HostNs, "link", "add", h.BridgeName, "type", "bridge");
        Shell.Run("ip", "-n", h.HostNs, "addr", "add", "10.94.9.1/24", "dev", h.BridgeName);
        JsonObject conf = h.Config("1.0.0", """{"isGateway": true, "ipMasq": true}""", subnet: "10.94.0.0/24");
        await AssertFailedAddLeftNothing(h, conf, h.CreateNamespace(), bridgePreexisted: true);
        Assert.That(Shell.Run("ip", "-n", h.HostNs, "-4", "-o", "addr", "show", h.BridgeName).Stdout, Does.Contain("10.94.9.1/24").And.Not.Contain("10.94.0.1"));
    }

    [Test]
    public async Task FailedAddWhenTheContainerInterfaceExistsLeavesNothing()
    {
        using var h = new BridgeHarness();
        string ns = h.CreateNamespace();
        Shell.Run("ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "other0");
        JsonObject conf = h.Config("1.0.0");
        PluginOutput add = await h.AddAsync(conf, ns, "pod1");
        Assert.That(add.ExitCode, Is.EqualTo(1));
        Assert.That(add.Stdout, Does.Contain("already exists"));
        Assert.That(h.Reservations(), Is.Empty);
        Assert.That(h.BridgeExists(), Is.False);
        Assert.That(Shell.Run("ip", "-n", ns, "-d", "link", "show", "eth0").Stdout, Does.Contain("other0"), "the existing interface is untouched");
    }

    [Test]
    public async Task MacFromRuntimeConfigAndCniArgs()
    {
        using var h = new BridgeHarness();
        string ns1 = h.CreateNamespace(), ns2 = h.CreateNamespace();
        JsonObject conf = h.Config("1.0.0");
        JsonObject r1 = (await h.AddAsync(conf, ns1, "pod1", args: "IgnoreUnknown=1;MAC=0a:58:0a:5b:00:aa")).AssertSuccess().Json;
        Assert.That(r1["interfaces"]![2]!["mac"]!.GetValue<string>(), Is.EqualTo("0a:58:0a:5b:00:aa"));
        JsonObject withRuntime = (JsonObject)conf.DeepClone();
        withRuntime["runtimeConfig"] = new JsonObject { ["mac"] = "0a:58:0a:5b:00:bb" };
        JsonObject r2 = (await h.AddAsync(withRuntime, ns2, "pod2", args: "IgnoreUnknown=1;MAC=0a:58:0a:5b:00:cc")).AssertSuccess().Json;
        Assert.That(r2["interfaces"]![2]!["mac"]!.GetValue<string>(), Is.EqualTo("0a:58:0a:5b:00:bb"), "runtimeConfig.mac wins over CNI_ARGS");
        Assert.That(Shell.Run("ip", "-n", ns2, "link", "show", "eth0").Stdout, Does.Contain("0a:58:0a:5b:00:bb"));
    }

    [Test]
    public async Task MacSpoofCheckRulesAppearAndDisappear()
    {
        TestEnvironment.RequireTool("nft", "apt-get install nftables");
        using var h = new BridgeHarness();
        JsonObject conf = h.Config("1.0.0", """{"macspoofchk": true}""");
        string ns = h.CreateNamespace();
        string id = TestEnvironment.UniqueName("spoof");
        try
        {
            JsonObject r = (await h.AddAsync(conf, ns, id)).AssertSuccess().Json;
            string mac = r["interfaces"]![2]!["mac"]!.GetValue<string>();
            string hostVeth = r["interfaces"]![1]!["name"]!.GetValue<string>();
            string chain = h.InHostOrThrow("nft", "list", "chain", "bridge", "nat", $"cni-br-iface-{id}-eth0-mac").Stdout;
            Assert.That(chain, Does.Contain($"ether saddr {mac} return"));
            Assert.That(chain, Does.Contain("drop"));
            Assert.That(h.InHostOrThrow("nft", "list", "chain", "bridge", "nat", "PREROUTING").Stdout, Does.Contain($"iifname \"{hostVeth}\" jump cni-br-iface-{id}-eth0"));
            (await h.DelAsync(conf, BridgeHarness.NsPath(ns), id)).AssertSuccess();
            Assert.That(h.InHost("nft", "list", "chain", "bridge", "nat", $"cni-br-iface-{id}-eth0").ExitCode, Is.Not.EqualTo(0), "chain removed");
            Assert.That(h.InHostOrThrow("nft", "list", "chain", "bridge", "nat", "PREROUTING").Stdout, Does.Not.Contain(id));
        }
        finally
        {
            h.InHost("nft", "delete", "chain", "bridge", "nat", $"cni-br-iface-{id}-eth0");
            h.InHost("nft", "delete", "chain", "bridge", "nat", $"cni-br-iface-{id}-eth0-mac");
        }
    }

    [Test]
    public async Task GcRemovesMasqueradeRulesOfInvalidAttachments()
    {
        using var h = new BridgeHarness();
        JsonObject conf = h.Config("1.1.0", """{"ipMasq": true, "ipMasqBackend": "nftables"}""");
        string ns1 = h.CreateNamespace(), ns2 = h.CreateNamespace();
        (await h.AddAsync(conf, ns1, "pod1")).AssertSuccess();
        (await h.AddAsync(conf, ns2, "pod2")).AssertSuccess();
        Assert.That(h.NftMasqRules(), Has.Length.EqualTo(2));
        JsonObject gc = (JsonObject)conf.DeepClone();
        gc["cni.dev/valid-attachments"] = JsonNode.Parse("""[{"containerID": "pod1", "ifname": "eth0"}]""");
        (await h.RunAsync("GC", gc, null, "", "")).AssertSuccess();
        string[] left = h.NftMasqRules();
        Assert.That(left, Has.Length.EqualTo(1));
        Assert.That(left[0], Does.Contain("id: pod1"));
    }
}
