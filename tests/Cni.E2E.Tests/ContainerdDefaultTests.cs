using System.Diagnostics;
using System.Text.Json.Nodes;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.E2E.Tests;

/// <summary>
/// containerd's default CNI setup served by our plugin directory: the CRI plugin's
/// <c>/etc/cni/net.d/10-containerd-net.conflist</c> (bridge cni0 with isGateway, ipMasq and promiscMode, host-local
/// ranges and default routes, portmap with the portMappings capability) and the loopback network containerd runs for
/// every pod (<c>cni-loopback</c>, spec 0.3.1, on <c>lo</c>), both driven through libcni (cnirun) as containerd's
/// go-cni does. Everything runs in a private host namespace. Differences from the file containerd installs: the IPv6
/// range is a unique-local one (fd88::/64, not a public prefix), and host-local is given a dataDir of the test's own
/// (by default it shares /var/lib/cni/networks/containerd-net with the machine).
/// </summary>
[TestFixture]
[Category(Category.Interop)]
[NonParallelizable]
public class ContainerdDefaultTests
{
    private const string Network = "containerd-net";
    private const string Gateway = "10.88.0.1";
    private const string PortMappings = """{"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]}""";

    /// <summary>containerd's conflist at <paramref name="cniVersion"/> (0.4.0 in containerd's install-cni, 1.0.0 in newer ones).</summary>
    private static string ContainerdConflist(string cniVersion, string dataDir) => $$"""
        {
          "cniVersion": "{{cniVersion}}",
          "name": "{{Network}}",
          "plugins": [
            {
              "type": "bridge",
              "bridge": "cni0",
              "isGateway": true,
              "ipMasq": true,
              "promiscMode": true,
              "ipam": {
                "type": "host-local",
                "ranges": [
                  [{ "subnet": "10.88.0.0/16" }],
                  [{ "subnet": "fd88::/64" }]
                ],
                "routes": [
                  { "dst": "0.0.0.0/0" },
                  { "dst": "::/0" }
                ],
                "dataDir": "{{dataDir}}"
              }
            },
            {
              "type": "portmap",
              "capabilities": {"portMappings": true}
            }
          ]
        }
        """;

    /// <summary>go-cni's WithLoNetwork, word for word.</summary>
    private const string LoopbackConflist = """{"cniVersion": "0.3.1", "name": "cni-loopback", "plugins": [{"type": "loopback"}]}""";

    [TestCase("1.0.0")]
    [TestCase("0.4.0")]
    public void OnlyOurPluginDirectoryServesContainerdsDefault(string cniVersion)
    {
        foreach (string type in new[] { "bridge", "host-local", "portmap", "loopback" })
            TestEnvironment.RequirePublishedPlugin(type);
        using var w = new CniHostWorld(); // CNI_PATH is artifacts/cni/bin and nothing else
        RunPodLifecycle(w, cniVersion);
    }

    [Test]
    public void ReferenceBridgeWithOurPortmapLoopbackAndHostLocal()
    {
        using var w = new CniHostWorld();
        w.CniPath = BinDir(w, "ref-bridge", bridge: TestEnvironment.RequireReferencePlugin("bridge"), portmap: TestEnvironment.RequirePublishedPlugin("portmap"));
        RunPodLifecycle(w, "1.0.0");
    }

    [Test]
    public void OurBridgeWithTheReferencePortmap()
    {
        using var w = new CniHostWorld();
        string ours = TestEnvironment.RequirePublishedPlugin("bridge");
        w.CniPath = BinDir(w, "ref-portmap", bridge: ours, portmap: TestEnvironment.RequireReferencePlugin("portmap"));
        // CHECK by our portmap (of the reference's rules): the reference 1.1.1 installed here fails CHECK on its own
        // ADD ("could not check ipv6 dnat": it looks for the IPv4 rules in ip6tables).
        RunPodLifecycle(w, "1.0.0", checkCniPath: BinDir(w, "our-portmap", bridge: ours, portmap: TestEnvironment.RequirePublishedPlugin("portmap")));
    }

    /// <summary>A CNI_PATH of the given bridge and portmap plus our host-local and loopback, as links in a directory of the world's.</summary>
    private static string BinDir(CniHostWorld w, string name, string bridge, string portmap)
    {
        string dir = Path.Combine(w.ConfDir, name); // NETCONFPATH only reads *.conf/*.conflist/*.json files
        Directory.CreateDirectory(dir);
        File.CreateSymbolicLink(Path.Combine(dir, "bridge"), bridge);
        File.CreateSymbolicLink(Path.Combine(dir, "portmap"), portmap);
        File.CreateSymbolicLink(Path.Combine(dir, "host-local"), TestEnvironment.RequirePublishedPlugin("host-local"));
        File.CreateSymbolicLink(Path.Combine(dir, "loopback"), TestEnvironment.RequirePublishedPlugin("loopback"));
        return dir;
    }

    /// <summary>
    /// A pod's life as containerd drives it. A first pod comes and goes to create what stays for the node's lifetime
    /// (the bridge with its gateway address, portmap's shared top-level chains: as with the reference plugins); then
    /// pod c1 (loopback, then containerd-net with a port mapping 8080 to 80, httpd inside) and pod c2 are added,
    /// checked, reached and deleted, and the host namespace must be exactly as before them.
    /// </summary>
    private static void RunPodLifecycle(CniHostWorld w, string cniVersion, string? checkCniPath = null)
    {
        var clock = Stopwatch.StartNew();
        w.WriteConf("10-containerd-net.conflist", ContainerdConflist(cniVersion, w.IpamDir));
        w.WriteConf("99-loopback.conflist", LoopbackConflist);
        string first = w.NewContainer(), c1 = w.NewContainer(), c2 = w.NewContainer();

        HostState pristine = HostState.Capture(w.Host);
        w.CnirunOk("add", "cni-loopback", first, "first", "lo");
        string firstIp = CniHostWorld.AddressOf(w.CnirunOk("add", Network, first, "first", "eth0", PortMappings), '.');
        w.CnirunOk("del", Network, first, "first", "eth0", PortMappings);
        w.CnirunOk("del", "cni-loopback", first, "first", "lo");
        HostState before = HostState.Capture(w.Host);
        string residue = HostState.Diff(pristine, before);
        Assert.That(residue, Does.Not.Contain("first").And.Not.Contain(firstIp + "/").And.Not.Contain(firstIp + ":").And.Not.Contain("CNI-DN-"),
            "what stays after the first pod is shared, nothing of that pod:\n" + residue);
        Assert.That(before.Links, Does.Contain("cni0"), "the bridge stays, as with the reference");

        // Pod c1: loopback first, as containerd does.
        JsonObject lo = w.CnirunOk("add", "cni-loopback", c1, "c1", "lo");
        Assert.That(lo["cniVersion"]?.GetValue<string>(), Is.EqualTo("0.3.1"));
        Assert.That(Shell.Run("ip", "-n", c1, "addr", "show", "lo").Stdout, Does.Contain("127.0.0.1/8").And.Contain("UP"), "loopback brought lo up");

        JsonObject r1 = w.CnirunOk("add", Network, c1, "c1", "eth0", PortMappings);
        JsonObject r2 = w.CnirunOk("add", Network, c2, "c2", "eth0");
        Assert.That(r1["cniVersion"]?.GetValue<string>(), Is.EqualTo(cniVersion));
        string ip1 = CniHostWorld.AddressOf(r1, '.'), ip2 = CniHostWorld.AddressOf(r2, '.');
        Assert.That(CniHostWorld.AddressOf(r1, ':'), Does.StartWith("fd88::"), "dual stack: the IPv6 range too");
        Assert.That(ip1, Does.StartWith("10.88.").And.Not.EqualTo(ip2));

        // What the configuration asked for.
        string bridge = Shell.Run("ip", "-n", w.Host, "link", "show", "cni0").Stdout;
        Assert.That(bridge, Does.Contain("PROMISC"), "promiscMode");
        Assert.That(Shell.Run("ip", "-n", w.Host, "addr", "show", "cni0").Stdout, Does.Contain(Gateway + "/16"), "isGateway: the gateway address on cni0");
        Assert.That(Shell.Run("ip", "-n", c1, "route", "show", "default").Stdout, Does.Contain("via " + Gateway), "default route via the gateway");
        Assert.That(Shell.Run("ip", "-n", c1, "-6", "route", "show", "default").Stdout, Does.Contain("via fd88::1"), "IPv6 default route via the gateway");
        HostState during = HostState.Capture(w.Host);
        Assert.That(during.RuleLines().Where(l => l.Contains($"-s {ip1}/32", StringComparison.Ordinal) || l.Contains($"ip saddr {ip1} ", StringComparison.Ordinal)),
            Is.Not.Empty, "ipMasq: a source NAT rule for the pod's address");
        Assert.That(during.RuleLines(), Has.Some.Contains(ip1 + ":80"), "portmap: DNAT to the pod's port 80");

        // The mapped port from the host (its address on the bridge and 127.0.0.1) and from another pod.
        w.StartHttpd(c1);
        Assert.That(CniHostWorld.Get(w.Host, $"http://{Gateway}:8080/"), Does.Contain("hello from c1"), "host -> its bridge address:8080");
        Assert.That(CniHostWorld.Get(w.Host, "http://127.0.0.1:8080/"), Does.Contain("hello from c1"), "host -> 127.0.0.1:8080 (route_localnet hairpin)");
        Assert.That(CniHostWorld.Get(c2, $"http://{Gateway}:8080/"), Does.Contain("hello from c1"), "pod c2 -> host:8080");
        Assert.That(CniHostWorld.Get(c2, $"http://{ip1}:80/"), Does.Contain("hello from c1"), "pod c2 -> pod c1 over the bridge");
        // Not asserted: c1 reaching its own published port. containerd's file sets no hairpinMode, so the bridge does
        // not send the packet back out the port it came in, with the reference plugins as with ours.

        string addPath = w.CniPath;
        w.CniPath = checkCniPath ?? addPath;
        w.CnirunOk("check", Network, c1, "c1", "eth0", PortMappings);
        w.CnirunOk("check", Network, c2, "c2", "eth0");
        w.CniPath = addPath;

        // DEL in containerd's order (the pod network, then loopback), then the host is as before the pods.
        w.CnirunOk("del", Network, c1, "c1", "eth0", PortMappings);
        w.CnirunOk("del", Network, c2, "c2", "eth0");
        w.CnirunOk("del", "cni-loopback", c1, "c1", "lo");
        HostState after = HostState.Capture(w.Host);
        Assert.That(HostState.Diff(before, after), Is.Empty, "DEL gave back every rule, link and address");
        Assert.That(CniHostWorld.Get(w.Host, "http://127.0.0.1:8080/", 1), Is.Empty, "the mapping is gone");
        Assert.That(Shell.Run("ip", "-n", c1, "-o", "link").Stdout, Does.Not.Contain("eth0"), "no eth0 left in the pod");
        Assert.That(CniHostWorld.FilesUnder(w.CacheDir), Is.Empty, "no libcni cache entry left");
        Assert.That(CniHostWorld.FilesUnder(w.IpamDir).Where(f => !CniHostWorld.IsHostLocalBookkeeping(f)), Is.Empty, "no address left reserved");

        // DEL again (a runtime retries): success, nothing changes.
        w.CnirunOk("del", Network, c1, "c1", "eth0", PortMappings);
        w.CnirunOk("del", "cni-loopback", c1, "c1", "lo");
        Assert.That(HostState.Diff(before, HostState.Capture(w.Host)), Is.Empty, "a second DEL changes nothing");
        TestContext.Out.WriteLine($"pod lifecycle ({cniVersion}, CNI_PATH={w.CniPath}: bridge->{new FileInfo(Path.Combine(w.CniPath, "bridge")).LinkTarget} portmap->{new FileInfo(Path.Combine(w.CniPath, "portmap")).LinkTarget}): {clock.ElapsedMilliseconds} ms");
    }
}
