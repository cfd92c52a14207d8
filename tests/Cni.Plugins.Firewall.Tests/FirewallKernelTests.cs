using System.Text.Json.Nodes;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Firewall.Tests;

/// <summary>Real iptables in a private host namespace: rules appear and go there only, and they decide what is forwarded.</summary>
[TestFixture]
[Category(Category.Kernel)]
[NonParallelizable]
public class FirewallKernelTests
{
    private static readonly string[] Modes = ["in-process", "binary"];

    private static Task<PluginOutput> Run(FirewallWorld w, string mode, string command, JsonObject conf, string? netns, string id = "ctr1") =>
        mode == "binary" ? w.RunBinary(TestEnvironment.RequirePublishedPlugin("firewall"), command, conf, netns, id) : w.RunOurs(command, conf, netns, id);

    [Test]
    public async Task RulesAppearAndGoInTheHostNamespaceOnly([ValueSource(nameof(Modes))] string mode, [Values("1.0.0", "0.4.0")] string version)
    {
        using var w = new FirewallWorld();
        string rootBefore = Shell.Run("iptables", "-w", "-t", "filter", "-S").Stdout;
        JsonObject conf = FirewallRun.Conf(version, """{"ingressPolicy": "same-bridge"}""", FirewallRun.PrevResult(version, "cni0", "10.97.9.5/24", "fd00:97::5/64"));

        (await Run(w, mode, "ADD", conf, "/var/run/netns/" + w.HostNs)).AssertSuccess();
        string v4 = w.Save(), v6 = w.Save("ip6tables");
        Assert.That(v4, Does.Contain("-A CNI-FORWARD -s 10.97.9.5/32 -j ACCEPT"));
        Assert.That(v4, Does.Contain("-A CNI-FORWARD -d 10.97.9.5/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"));
        Assert.That(v4, Does.Contain("-A CNI-ISOLATION-STAGE-2 -o cni0 -m comment --comment \"CNI firewall plugin rules (ingressPolicy: same-bridge|isolated)\" -j DROP"));
        Assert.That(v6, Does.Contain("-A CNI-FORWARD -s fd00:97::5/128 -j ACCEPT"));
        Assert.That(Shell.Run("iptables", "-w", "-t", "filter", "-S").Stdout, Is.EqualTo(rootBefore), "the machine's own table is untouched");

        (await Run(w, mode, "CHECK", conf, "/var/run/netns/" + w.HostNs)).AssertSuccess();
        w.InHost("iptables", "-w", "-t", "filter", "-D", "CNI-FORWARD", "-s", "10.97.9.5/32", "-j", "ACCEPT");
        (await Run(w, mode, "CHECK", conf, "/var/run/netns/" + w.HostNs)).AssertError(999, "-s 10.97.9.5/32 -j ACCEPT");

        (await Run(w, mode, "DEL", conf, null)).AssertSuccess();
        (await Run(w, mode, "DEL", conf, null)).AssertSuccess();
        Assert.That(w.Save(), Does.Not.Contain("10.97.9.5"));
        Assert.That(w.Save("ip6tables"), Does.Not.Contain("fd00:97::5"));
        Assert.That(Shell.Run("iptables", "-w", "-t", "filter", "-S").Stdout, Is.EqualTo(rootBefore));
    }

    [Test]
    public async Task OpenPolicyLetsTwoBridgesTalkThroughADropPolicyUntilDel()
    {
        TestEnvironment.RequireTool("busybox", "apt-get install busybox-static");
        using var w = new FirewallWorld();
        string br1 = w.Bridge("10.97.1.1/24"), br2 = w.Bridge("10.97.2.1/24");
        string c1 = w.Container(br1, "10.97.1.2/24", "10.97.1.1"), c2 = w.Container(br2, "10.97.2.2/24", "10.97.2.1");
        w.InHost("sysctl", "-qw", "net.ipv4.ip_forward=1");
        w.InHost("iptables", "-w", "-P", "FORWARD", "DROP");
        Assert.That(Shell.Ping(c1, "10.97.2.2"), Is.False, "FORWARD policy DROP: no way through yet");

        JsonObject conf1 = FirewallRun.Conf("1.0.0", "{}", FirewallRun.PrevResult("1.0.0", br1, "10.97.1.2/24"));
        JsonObject conf2 = FirewallRun.Conf("1.0.0", "{}", FirewallRun.PrevResult("1.0.0", br2, "10.97.2.2/24"));
        (await w.RunOurs("ADD", conf1, "/var/run/netns/" + c1, "c1")).AssertSuccess();
        (await w.RunOurs("ADD", conf2, "/var/run/netns/" + c2, "c2")).AssertSuccess();
        Assert.That(Shell.Ping(c1, "10.97.2.2"), Is.True, "the plugin's CNI-FORWARD rules let the containers through");

        (await w.RunOurs("DEL", conf1, null, "c1")).AssertSuccess();
        (await w.RunOurs("DEL", conf2, null, "c2")).AssertSuccess();
        Assert.That(Shell.Ping(c1, "10.97.2.2"), Is.False, "after DEL the DROP policy applies again");
    }

    [TestCase("same-bridge")]
    [TestCase("isolated")]
    public async Task IsolationKeepsTwoBridgesApartWhileOpenDoesNot(string policy)
    {
        TestEnvironment.RequireTool("busybox", "apt-get install busybox-static");
        using var w = new FirewallWorld();
        string br1 = w.Bridge("10.97.1.1/24"), br2 = w.Bridge("10.97.2.1/24");
        string c1 = w.Container(br1, "10.97.1.2/24", "10.97.1.1"), c2 = w.Container(br2, "10.97.2.2/24", "10.97.2.1");
        string c3 = w.Container(br1, "10.97.1.3/24", "10.97.1.1");
        w.InHost("sysctl", "-qw", "net.ipv4.ip_forward=1");

        JsonObject Conf(string p, string br, string ip) => FirewallRun.Conf("1.0.0", $$"""{"ingressPolicy": "{{p}}"}""", FirewallRun.PrevResult("1.0.0", br, ip));
        (await w.RunOurs("ADD", Conf("open", br1, "10.97.1.2/24"), "/var/run/netns/" + c1, "c1")).AssertSuccess();
        (await w.RunOurs("ADD", Conf("open", br2, "10.97.2.2/24"), "/var/run/netns/" + c2, "c2")).AssertSuccess();
        Assert.That(Shell.Ping(c1, "10.97.2.2"), Is.True, "open: bridge 1 -> bridge 2");

        (await w.RunOurs("ADD", Conf(policy, br1, "10.97.1.2/24"), "/var/run/netns/" + c1, "c1")).AssertSuccess();
        (await w.RunOurs("ADD", Conf(policy, br2, "10.97.2.2/24"), "/var/run/netns/" + c2, "c2")).AssertSuccess();
        Assert.That(Shell.Ping(c1, "10.97.2.2"), Is.False, $"{policy}: bridge 1 -> bridge 2 dropped");
        Assert.That(Shell.Ping(c2, "10.97.1.2"), Is.False, $"{policy}: bridge 2 -> bridge 1 dropped");
        Assert.That(Shell.Ping(c1, "10.97.1.1"), Is.True, "the own gateway is still reachable (INPUT, not FORWARD)");
        // Ports of one bridge talk at layer 2: iptables sees that traffic only when br_netfilter is loaded (and its
        // bridge-nf-call-iptables on in the namespace); then "isolated" drops it and "same-bridge" lets it through.
        Shell.Result brnf = Shell.Try("ip", "netns", "exec", w.HostNs, "cat", "/proc/sys/net/bridge/bridge-nf-call-iptables");
        bool bridgedTrafficIsFiltered = brnf.ExitCode == 0 && brnf.Stdout.Trim() == "1";
        bool sameBridgeReachable = Shell.Ping(c1, "10.97.1.3");
        if (policy == "isolated" && bridgedTrafficIsFiltered)
            Assert.That(sameBridgeReachable, Is.False, "isolated: ports of the same bridge are cut off from each other too");
        else
            Assert.That(sameBridgeReachable, Is.True, $"{policy}, br_netfilter {(bridgedTrafficIsFiltered ? "on" : "off")}: same bridge reachable");
        TestContext.Out.WriteLine($"br_netfilter filtering bridged traffic: {bridgedTrafficIsFiltered}");
        _ = c3;
    }
}
