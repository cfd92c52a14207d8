using System.Net.Sockets;
using System.Text.Json.Nodes;
using Cni.Netlink;
using Cni.Netlink.Netfilter;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Portmap.Tests;

/// <summary>
/// Our plugin, in process, with its "host" being a private namespace: the tools run there through
/// <see cref="NamespacedCommandRunner"/> and the netlink work (conntrack, routes, route_localnet) is done there through
/// the plugin's hostNetNs. Traffic is real: busybox httpd in the container, curl from the host namespace (its
/// own address and 127.0.0.1), from the container itself (hairpin) and from another container.
/// </summary>
[TestFixture]
[Category(Category.Kernel)]
[NonParallelizable]
public class PortmapKernelTests
{
    private const string Id = "pmkernel1";
    private const string Mappings = """[{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}, {"hostPort": 5353, "containerPort": 53, "protocol": "udp"}]""";

    private static PortmapPlugin Plugin(PortmapWorld w) => new(new NamespacedCommandRunner(w.Host), w.HostNsPath);

    private static Task<PluginOutput> Run(PortmapWorld w, string command, JsonObject conf, string? netns, string id = Id) =>
        PluginRunner.RunInProcessAsync(Plugin(w), PluginRunner.Variables(command, netns, id, "eth0", "/nonexistent"), conf.ToJsonString());

    private static JsonObject Conf(PortmapWorld w, string backend, bool ipv6 = false, string mappings = Mappings) =>
        PortmapTestData.Config(w.Network, mappings, $$"""{"backend": "{{backend}}"}""", prev: w.PrevResult(ipv6: ipv6));

    [TestCase("iptables")]
    [TestCase("nftables")]
    public async Task PublishedPortIsReachableFromTheHostLocalhostTheContainerAndAnotherContainer(string backend)
    {
        using var w = new PortmapWorld();
        Assert.That(PortmapWorld.Get(w.C2, $"http://{PortmapWorld.HostOnC2Link}:8080/", 1), Is.Empty, "nothing published yet");

        JsonObject result = (await Run(w, "ADD", Conf(w, backend), w.C1NsPath)).AssertSuccess().Json;
        Assert.That(result["ips"]![0]!["address"]!.GetValue<string>(), Is.EqualTo("10.77.0.2/24"), "prevResult passed through");

        Assert.Multiple(() =>
        {
            Assert.That(PortmapWorld.Get(w.Host, $"http://{PortmapWorld.HostV4}:8080/"), Does.Contain("hello from c1"), "host -> own address");
            Assert.That(PortmapWorld.Get(w.Host, "http://127.0.0.1:8080/"), Does.Contain("hello from c1"), "host -> 127.0.0.1 (route_localnet + masquerade)");
            Assert.That(PortmapWorld.Get(w.C2, $"http://{PortmapWorld.HostOnC2Link}:8080/"), Does.Contain("hello from c1"), "another container -> host address");
            Assert.That(PortmapWorld.Get(w.C1, $"http://{PortmapWorld.HostV4}:8080/"), Does.Contain("hello from c1"), "hairpin: the container -> its own published port");
        });
        using (NetNs host = NetNs.Open(w.HostNsPath))
            Assert.That(Sysctl.Get("net/ipv4/conf/br0/route_localnet", host), Is.EqualTo("1"));

        (await Run(w, "CHECK", Conf(w, backend), w.C1NsPath)).AssertSuccess();

        // DEL as a runtime does after the sandbox is gone: no CNI_NETNS, no prevResult.
        JsonObject del = Conf(w, backend);
        del.Remove("prevResult");
        (await Run(w, "DEL", del, null)).AssertSuccess();
        string rules = w.Rules();
        Assert.That(rules, Does.Not.Contain(IptablesPortMapper.DnatChainName(w.Network, Id)).And.Not.Contain($"\"{Id}\""));
        Assert.That(PortmapWorld.Get(w.Host, $"http://{PortmapWorld.HostV4}:8080/", 1), Is.Empty, "unpublished");
        (await Run(w, "DEL", del, null)).AssertSuccess();
        (await Run(w, "CHECK", Conf(w, backend), w.C1NsPath)).AssertError(999, backend == "iptables" ? "not found" : "missing hostport rules");
    }

    [TestCase("iptables")]
    [TestCase("nftables")]
    public async Task Ipv6PortIsReachableAndDelRemovesBothFamilies(string backend)
    {
        using var w = new PortmapWorld();
        (await Run(w, "ADD", Conf(w, backend, ipv6: true), w.C1NsPath)).AssertSuccess();
        Assert.That(PortmapWorld.Get(w.Host, $"http://[{PortmapWorld.HostV6}]:8080/"), Does.Contain("hello from c1"), "host -> own IPv6 address");
        string six = backend == "iptables"
            ? Shell.Run("ip", "netns", "exec", w.Host, "ip6tables-save", "-t", "nat").Stdout
            : Shell.Run("ip", "netns", "exec", w.Host, "nft", "list", "table", "ip6", "cni_hostport").Stdout;
        Assert.That(six, Does.Contain("[fd77::2]:80"));
        (await Run(w, "CHECK", Conf(w, backend, ipv6: true), w.C1NsPath)).AssertSuccess();
        (await Run(w, "DEL", Conf(w, backend, ipv6: true), w.C1NsPath)).AssertSuccess();
        Assert.That(w.Rules(), Does.Not.Contain("fd77::2").And.Not.Contain("10.77.0.2"));
    }

    [TestCase("iptables")]
    [TestCase("nftables")]
    public async Task DelRemovesOnlyThisContainersRulesAndCheckNamesWhatDrifted(string backend)
    {
        using var w = new PortmapWorld();
        (await Run(w, "ADD", Conf(w, backend), w.C1NsPath, "first")).AssertSuccess();
        (await Run(w, "ADD", Conf(w, backend, mappings: """[{"hostPort": 9090, "containerPort": 80, "protocol": "tcp"}]"""), w.C1NsPath, "second")).AssertSuccess();
        (await Run(w, "DEL", Conf(w, backend), null, "first")).AssertSuccess();
        Assert.That(PortmapWorld.Get(w.Host, $"http://{PortmapWorld.HostV4}:9090/"), Does.Contain("hello from c1"), "the other container's port stays");
        Assert.That(PortmapWorld.Get(w.Host, $"http://{PortmapWorld.HostV4}:8080/", 1), Is.Empty);

        // Drift: remove the second container's DNAT by hand, CHECK must say so.
        if (backend == "iptables")
            Shell.Run("ip", "netns", "exec", w.Host, "iptables", "-t", "nat", "-F", IptablesPortMapper.DnatChainName(w.Network, "second"));
        else
            Shell.Run("ip", "netns", "exec", w.Host, "nft", "flush", "chain", "ip", "cni_hostport", "hostports");
        JsonObject second = Conf(w, backend, mappings: """[{"hostPort": 9090, "containerPort": 80, "protocol": "tcp"}]""");
        string msg = (await Run(w, "CHECK", second, w.C1NsPath, "second")).AssertError(999, backend == "iptables" ? "not found in chain CNI-DN-" : "hostports");
        Assert.That(msg, Is.Not.Empty);
        (await Run(w, "DEL", second, null, "second")).AssertSuccess();
    }

    [TestCase("iptables")]
    [TestCase("nftables")]
    public async Task FailedAddLeavesNoRules(string backend)
    {
        using var w = new PortmapWorld();
        // An external mark chain that does not exist makes iptables refuse the first hairpin rule, after the chains
        // were created; with nftables a condition nft rejects fails the one transaction.
        string extra = backend == "iptables" ? """{"backend": "iptables", "externalSetMarkChain": "NO-SUCH-CHAIN"}""" : """{"backend": "nftables", "conditionsV4": ["meta nosuchkey 1"]}""";
        JsonObject conf = PortmapTestData.Config(w.Network, Mappings, extra, prev: w.PrevResult());
        (await Run(w, "ADD", conf, w.C1NsPath)).AssertError(999, backend == "iptables" ? "NO-SUCH-CHAIN" : "nftables");
        string rules = w.Rules();
        Assert.That(rules, Does.Not.Contain(IptablesPortMapper.DnatChainName(w.Network, Id)).And.Not.Contain("10.77.0.2"));
        using NetNs host = NetNs.Open(w.HostNsPath);
        Assert.That(Sysctl.Get("net/ipv4/conf/br0/route_localnet", host), Is.EqualTo("0"), "nothing else changed");
    }

    [Test]
    public async Task AddFlushesStaleUdpConntrackEntriesOfTheMappedPorts()
    {
        using var w = new PortmapWorld();
        (await Run(w, "ADD", Conf(w, "iptables"), w.C1NsPath, "old")).AssertSuccess();
        // A datagram from the other container to the host port: conntrack in the host namespace now remembers it
        // (DNATed to the container), and a newer mapping of the port would never see that flow.
        Shell.Result sent = Shell.Run("ip", ["netns", "exec", w.C2, "bash", "-c", $"echo ping > /dev/udp/{PortmapWorld.HostOnC2Link}/5353"], allowFailure: true);
        PortmapWorld.Get(w.C2, $"http://{PortmapWorld.HostOnC2Link}:8080/", 1);
        using NetNs host = NetNs.Open(w.HostNsPath);
        using Conntrack ct = Conntrack.Open(host);
        IReadOnlyList<ConntrackFlow> before = ct.List(AddressFamily.InterNetwork);
        Assert.That(before.Where(f => f.Original.Protocol == 17 && f.Original.DestinationPort == 5353), Is.Not.Empty, "the flow is tracked: " + string.Join("; ", before) + sent.Stderr);

        (await Run(w, "ADD", Conf(w, "iptables"), w.C1NsPath, "new")).AssertSuccess();
        Assert.That(ct.List(AddressFamily.InterNetwork).Where(f => f.Original.Protocol == 17 && f.Original.DestinationPort == 5353), Is.Empty, "ADD flushed it over ctnetlink");
        (await Run(w, "DEL", Conf(w, "iptables"), null, "old")).AssertSuccess();
        (await Run(w, "DEL", Conf(w, "iptables"), null, "new")).AssertSuccess();
    }
}
