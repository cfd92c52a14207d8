using System.Text.Json.Nodes;
using Cni.Netlink;
using Cni.Plugins.Common;
using Cni.Plugins.HostDevice;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.HostDevice.Tests;

/// <summary>
/// host-device against the kernel: the "host" is a throwaway namespace holding a veth pair (or a macvlan) whose one end
/// is the device handed to the pod; the other end stays in the host, so the pod's address answers there. The plugin
/// runs in process with that namespace as its <see cref="HostNetwork"/>, and as the published binary inside it.
/// </summary>
[TestFixture]
[Category(Category.Kernel)]
[NonParallelizable]
public class HostDeviceKernelTests
{
    private static readonly string[] Versions = SubInterfaceHarness.Versions;
    private static readonly Mode[] Modes = [Mode.InProcess, Mode.Binary];

    [SetUp]
    public void RequireRoot()
    {
        TestEnvironment.RequireRoot();
        TestEnvironment.RequireTool("busybox", "apt-get install busybox-static");
    }

    /// <summary>A harness whose in-process plugin treats the harness's host namespace as the host.</summary>
    internal sealed class World : IDisposable
    {
        private NetNs? _host;

        public World(Mode mode)
        {
            H = new SubInterfaceHarness("host-device", () => new HostDevicePlugin(host: HostNetwork.Of(_host!)), mode);
            _host = NetNs.Open(SubInterfaceHarness.NsPath(H.HostNs));
        }

        public SubInterfaceHarness H { get; }

        /// <summary>A veth pair in the host, both ends up; the peer has 10.93.0.1/24. Returns (device, peer).</summary>
        public (string Device, string Peer) Veth()
        {
            string dev = TestEnvironment.UniqueName("hd"), peer = TestEnvironment.UniqueName("hq");
            Shell.Run("ip", "-n", H.HostNs, "link", "add", dev, "type", "veth", "peer", "name", peer);
            Shell.Run("ip", "-n", H.HostNs, "link", "set", dev, "up");
            Shell.Run("ip", "-n", H.HostNs, "link", "set", peer, "up");
            Shell.Run("ip", "-n", H.HostNs, "addr", "add", "10.93.0.1/24", "dev", peer);
            return (dev, peer);
        }

        public string Show(string ns, string name) => Shell.Run("ip", "-n", ns, "-o", "-d", "link", "show", name).Stdout;

        public bool HostHas(string name) => Shell.Try("ip", "-n", H.HostNs, "link", "show", name).ExitCode == 0;

        public string Mac(string ns, string name) => JsonNode.Parse(Shell.Run("ip", "-j", "-n", ns, "link", "show", name).Stdout)![0]!["address"]!.GetValue<string>();

        public void Dispose()
        {
            H.Dispose();
            _host?.Dispose();
        }
    }

    private static string Address(JsonObject result) => result["ips"]![0]!["address"]!.GetValue<string>().Split('/')[0];

    [Test]
    public async Task DeviceMovesInRenamedWithItsAddressAndBackOnDel([ValueSource(nameof(Modes))] Mode mode, [ValueSource(nameof(Versions))] string version)
    {
        using var w = new World(mode);
        (string dev, _) = w.Veth();
        string mac = w.Mac(w.H.HostNs, dev);
        JsonObject conf = w.H.Config(version, $$"""{"device": "{{dev}}"}""");
        string ns = w.H.CreateNamespace();

        JsonObject r = (await w.H.AddAsync(conf, ns, "pod1", "net1")).AssertSuccess().Json;
        Assert.That(r["cniVersion"]!.GetValue<string>(), Is.EqualTo(version));
        Assert.That(r["interfaces"]![0]!["name"]!.GetValue<string>(), Is.EqualTo("net1"));
        Assert.That(r["interfaces"]![0]!["mac"]!.GetValue<string>(), Is.EqualTo(mac));
        Assert.That(r["interfaces"]![0]!["sandbox"]!.GetValue<string>(), Is.EqualTo(SubInterfaceHarness.NsPath(ns)));
        Assert.That(w.HostHas(dev), Is.False, "the device left the host");
        string shown = w.Show(ns, "net1");
        Assert.That(shown, Does.Contain($"alias {dev}"), "the host name is kept in the alias, as the reference does");
        Assert.That(shown, Does.Contain("UP"));
        Assert.That(Shell.Ping(w.H.HostNs, Address(r)), Is.True, "the host reaches the pod over the device");

        if (version != "0.3.1")
            (await w.H.CheckAsync(conf, r, ns, "pod1", "net1")).AssertSuccess();

        (await w.H.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1", "net1")).AssertSuccess();
        Assert.That(w.HostHas(dev), Is.True, "the device is back under its name");
        Assert.That(w.Mac(w.H.HostNs, dev), Is.EqualTo(mac));
        Assert.That(SubInterfaceHarness.Links(ns), Is.EqualTo(new[] { "lo" }));
        (await w.H.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1", "net1")).AssertSuccess(); // twice
        Assert.That(w.H.Reservations(), Is.Empty);

        // The device can be handed out again.
        (await w.H.AddAsync(conf, ns, "pod2", "net1")).AssertSuccess();
        (await w.H.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod2", "net1")).AssertSuccess();
        Assert.That(w.HostHas(dev), Is.True);
    }

    [Test]
    public async Task HwaddrSelectsTheDeviceAndWithoutIpamItIsJustUp([ValueSource(nameof(Modes))] Mode mode)
    {
        using var w = new World(mode);
        (string dev, _) = w.Veth();
        Shell.Run("ip", "-n", w.H.HostNs, "link", "set", dev, "address", "02:42:de:ad:00:07");
        JsonObject conf = w.H.Config("1.0.0", """{"hwaddr": "02:42:DE:AD:00:07"}""", ipam: false);
        string ns = w.H.CreateNamespace();
        JsonObject r = (await w.H.AddAsync(conf, ns, "pod1")).AssertSuccess().Json;
        Assert.That(r["ips"], Is.Null);
        Assert.That(r["interfaces"]![0]!["mac"]!.GetValue<string>(), Is.EqualTo("02:42:de:ad:00:07"));
        Assert.That(w.Show(ns, "eth0"), Does.Contain(",UP"));
        (await w.H.CheckAsync(conf, r, ns, "pod1")).AssertSuccess();
        (await w.H.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1")).AssertSuccess();
        Assert.That(w.HostHas(dev), Is.True);
    }

    [Test]
    public async Task AMacvlanCanBeTheDevice([ValueSource(nameof(Modes))] Mode mode)
    {
        using var w = new World(mode);
        (string dev, _) = w.Veth();
        string mv = TestEnvironment.UniqueName("mv");
        Shell.Run("ip", "-n", w.H.HostNs, "link", "add", "link", dev, "name", mv, "type", "macvlan", "mode", "bridge");
        JsonObject conf = w.H.Config("1.1.0", $$"""{"device": "{{mv}}"}""");
        string ns = w.H.CreateNamespace();
        JsonObject r = (await w.H.AddAsync(conf, ns, "pod1")).AssertSuccess().Json;
        Assert.That(w.Show(ns, "eth0"), Does.Contain("macvlan"));
        (await w.H.CheckAsync(conf, r, ns, "pod1")).AssertSuccess();
        (await w.H.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1")).AssertSuccess();
        Assert.That(w.Show(w.H.HostNs, mv), Does.Contain("macvlan"));
        Assert.That(w.H.Reservations(), Is.Empty);
    }

    [Test]
    public async Task AFailedAddPutsTheDeviceBackAsItWas([ValueSource(nameof(Modes))] Mode mode)
    {
        using var w = new World(mode);
        (string dev, _) = w.Veth();
        Shell.Run("ip", "-n", w.H.HostNs, "link", "set", dev, "alias", "uplink to rack 7");
        string ns = w.H.CreateNamespace();
        // IPAM fails after the move: an IPAM plugin that is not installed.
        JsonObject missing = w.H.Config("1.0.0", $$$"""{"device": "{{{dev}}}", "ipam": {"type": "no-such-ipam"}}""");
        PluginOutput output = await w.H.AddAsync(missing, ns, "pod1");
        Assert.That(output.ExitCode, Is.EqualTo(1));
        Assert.That(output.Stdout, Does.Contain("no-such-ipam"));
        string shown = w.Show(w.H.HostNs, dev);
        Assert.That(shown, Does.Contain("alias uplink to rack 7"), "the alias it had");
        Assert.That(shown, Does.Contain(",UP"), "up again, as it was");
        Assert.That(SubInterfaceHarness.Links(ns), Is.EqualTo(new[] { "lo" }));

        // A route IPAM hands out that the kernel refuses: the addresses are released too.
        JsonObject badRoute = w.H.Config("1.0.0", $$"""{"device": "{{dev}}"}""");
        badRoute["ipam"]!["routes"] = JsonNode.Parse("""[{"dst": "10.200.0.0/16", "gw": "10.250.0.1"}]""");
        (await w.H.AddAsync(badRoute, ns, "pod1")).AssertError(999, "10.200.0.0/16");
        Assert.That(w.HostHas(dev), Is.True);
        Assert.That(w.H.Reservations(), Is.Empty, "the address was released");
        Assert.That(SubInterfaceHarness.Links(ns), Is.EqualTo(new[] { "lo" }));
    }

    [Test]
    public async Task RefusalsLeaveEverythingInPlace([ValueSource(nameof(Modes))] Mode mode)
    {
        using var w = new World(mode);
        (string dev, _) = w.Veth();
        string ns = w.H.CreateNamespace();
        SubInterfaceHarness.Dummy(ns, "eth0");
        JsonObject conf = w.H.Config("1.0.0", $$"""{"device": "{{dev}}"}""");
        (await w.H.AddAsync(conf, ns, "pod1")).AssertError(999, "\"eth0\" already exists in the container (CNI_IFNAME)");
        Assert.That(w.HostHas(dev), Is.True);
        Assert.That(w.H.Reservations(), Is.Empty);

        JsonObject none = w.H.Config("1.0.0", """{"device": "nosuchdev0"}""");
        (await w.H.AddAsync(none, ns, "pod1", "net1")).AssertError(999, "failed to find host device: no link \"nosuchdev0\" (device)");
        Assert.That(w.H.Reservations(), Is.Empty);
    }

    [Test]
    public async Task DelAfterTheNamespaceIsGoneOrWithoutNetnsReleasesTheAddress([ValueSource(nameof(Modes))] Mode mode)
    {
        using var w = new World(mode);
        (string dev, _) = w.Veth();
        JsonObject conf = w.H.Config("1.0.0", $$"""{"device": "{{dev}}"}""");
        string ns = w.H.CreateNamespace();
        (await w.H.AddAsync(conf, ns, "pod1")).AssertSuccess();
        Assert.That(w.H.Reservations(), Has.Length.EqualTo(1));
        w.H.DeleteNamespace(ns); // a veth is destroyed with its namespace (a physical device would return to the root namespace)
        (await w.H.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1")).AssertSuccess();
        (await w.H.DelAsync(conf, null, "pod1")).AssertSuccess();
        Assert.That(w.H.Reservations(), Is.Empty);
    }

    [Test]
    public async Task DelWhenTheHostNameIsTakenFailsAndKeepsTheDeviceInThePod([ValueSource(nameof(Modes))] Mode mode)
    {
        using var w = new World(mode);
        (string dev, _) = w.Veth();
        JsonObject conf = w.H.Config("1.0.0", $$"""{"device": "{{dev}}"}""");
        string ns = w.H.CreateNamespace();
        (await w.H.AddAsync(conf, ns, "pod1")).AssertSuccess();
        SubInterfaceHarness.Dummy(w.H.HostNs, dev); // someone took the name meanwhile
        (await w.H.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1")).AssertError(999, $"as \"{dev}\"");
        Assert.That(w.Show(ns, "eth0"), Does.Contain(",UP"), "still in the pod, up again, for a retry");
        Shell.Run("ip", "-n", w.H.HostNs, "link", "del", dev);
        (await w.H.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1")).AssertSuccess();
        Assert.That(w.HostHas(dev), Is.True);
    }

    [Test]
    public async Task CheckNamesWhatDrifted([ValueSource(nameof(Modes))] Mode mode)
    {
        using var w = new World(mode);
        (string dev, _) = w.Veth();
        JsonObject conf = w.H.Config("1.0.0", $$"""{"device": "{{dev}}"}""");
        string ns = w.H.CreateNamespace();
        JsonObject r = (await w.H.AddAsync(conf, ns, "pod1")).AssertSuccess().Json;
        (await w.H.CheckAsync(conf, r, ns, "pod1")).AssertSuccess();

        string address = r["ips"]![0]!["address"]!.GetValue<string>();
        Shell.Run("ip", "-n", ns, "addr", "del", address, "dev", "eth0");
        (await w.H.CheckAsync(conf, r, ns, "pod1")).AssertError(999, address);

        Shell.Run("ip", "-n", ns, "link", "set", "eth0", "address", "02:00:00:00:0a:0b");
        (await w.H.CheckAsync(conf, r, ns, "pod1")).AssertError(999, "MAC");

        Shell.Run("ip", "-n", ns, "link", "set", "eth0", "alias", "");
        string other = "net9";
        Shell.Run("ip", "-n", ns, "link", "set", "eth0", "down");
        Shell.Run("ip", "-n", ns, "link", "set", "eth0", "name", other);
        (await w.H.CheckAsync(conf, r, ns, "pod1")).AssertError(999, "eth0 not found");
        (await w.H.CheckAsync(conf, (JsonObject)JsonNode.Parse("""{"cniVersion": "1.0.0"}""")!, ns, "pod1")).AssertError(999, "eth0");
        Shell.Run("ip", "-n", ns, "link", "set", other, "name", "eth0");
        (await w.H.CheckAsync(conf, r, ns, "pod1")).AssertError(999, "MAC");

        // Without an alias DEL cannot know the host name: it says so.
        (await w.H.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1")).AssertError(999, "no alias");
    }

    [Test]
    public async Task GcAndStatusDelegateToIpam()
    {
        using var w = new World(Mode.Binary);
        (string dev, _) = w.Veth();
        JsonObject conf = w.H.Config("1.1.0", $$"""{"device": "{{dev}}"}""");
        string ns = w.H.CreateNamespace();
        (await w.H.AddAsync(conf, ns, "pod1")).AssertSuccess();
        (await w.H.RunAsync("STATUS", conf, null, "", "")).AssertSuccess();
        var gc = (JsonObject)conf.DeepClone();
        gc["cni.dev/valid-attachments"] = new JsonArray();
        (await w.H.RunAsync("GC", gc, null, "", "")).AssertSuccess();
        Assert.That(w.H.Reservations(), Is.Empty, "GC released the address of an attachment that is not valid any more");
        (await w.H.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1")).AssertSuccess();
    }
}
