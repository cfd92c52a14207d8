using System.Text.Json.Nodes;
using Cni.Plugins.Tap;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Tap.Tests;

/// <summary>
/// The tap plugin against the kernel: everything it makes is inside the pod's namespace, so it runs in process and as
/// the published binary from the test's own namespace without touching it.
/// </summary>
[TestFixture]
[Category(Category.Kernel)]
[NonParallelizable]
public class TapKernelTests
{
    private static readonly string[] Versions = SubInterfaceHarness.Versions;
    private static readonly Mode[] Modes = [Mode.InProcess, Mode.Binary];

    [SetUp]
    public void RequireRoot()
    {
        TestEnvironment.RequireRoot();
        if (!File.Exists("/dev/net/tun"))
            Assert.Ignore("no /dev/net/tun on this machine (modprobe tun)");
    }

    private static SubInterfaceHarness Harness(Mode mode) => new("tap", () => new TapPlugin(), mode);

    private static JsonNode Details(string ns, string name) => JsonNode.Parse(Shell.Run("ip", "-j", "-d", "-n", ns, "link", "show", name).Stdout)![0]!;

    [Test]
    public async Task TapWithAddressMacAndMtuThenCheckAndDelete([ValueSource(nameof(Modes))] Mode mode, [ValueSource(nameof(Versions))] string version)
    {
        using SubInterfaceHarness h = Harness(mode);
        JsonObject conf = h.Config(version, """{"mac": "02:11:22:33:44:55", "mtu": 1400}""");
        string ns = h.CreateNamespace();
        JsonObject r = (await h.AddAsync(conf, ns, "vm1", "tap0")).AssertSuccess().Json;
        Assert.That(r["cniVersion"]!.GetValue<string>(), Is.EqualTo(version));
        Assert.That(r["interfaces"]![0]!["name"]!.GetValue<string>(), Is.EqualTo("tap0"));
        Assert.That(r["interfaces"]![0]!["mac"]!.GetValue<string>(), Is.EqualTo("02:11:22:33:44:55"));
        Assert.That(r["interfaces"]![0]!["sandbox"]!.GetValue<string>(), Is.EqualTo(SubInterfaceHarness.NsPath(ns)));
        JsonNode d = Details(ns, "tap0");
        Assert.That(d["linkinfo"]!["info_kind"]!.GetValue<string>(), Is.EqualTo("tun"));
        Assert.That(d["linkinfo"]!["info_data"]!["type"]!.GetValue<string>(), Is.EqualTo("tap"));
        Assert.That(d["linkinfo"]!["info_data"]!["pi"]!.GetValue<bool>(), Is.False, "no packet information header, as ip tuntap add");
        Assert.That(d["linkinfo"]!["info_data"]!["persist"]!.GetValue<bool>(), Is.True);
        Assert.That(d["mtu"]!.GetValue<int>(), Is.EqualTo(1400));
        Assert.That(d["flags"]!.AsArray().Select(f => f!.GetValue<string>()), Does.Contain("UP"));
        string address = r["ips"]![0]!["address"]!.GetValue<string>();
        Assert.That(Shell.Run("ip", "-n", ns, "addr", "show", "dev", "tap0").Stdout, Does.Contain(address));
        Assert.That(Shell.Run("ip", "netns", "exec", ns, "cat", "/proc/sys/net/ipv4/conf/tap0/arp_notify").Stdout.Trim(), Is.EqualTo("1"));

        if (version != "0.3.1")
            (await h.CheckAsync(conf, r, ns, "vm1", "tap0")).AssertSuccess();

        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "vm1", "tap0")).AssertSuccess();
        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "vm1", "tap0")).AssertSuccess();
        Assert.That(SubInterfaceHarness.Links(ns), Is.EqualTo(new[] { "lo" }));
        Assert.That(h.Reservations(), Is.Empty);
    }

    [Test]
    public async Task MultiQueueOwnerGroupAndBridgeWithoutIpam([ValueSource(nameof(Modes))] Mode mode)
    {
        using SubInterfaceHarness h = Harness(mode);
        string ns = h.CreateNamespace();
        Shell.Run("ip", "-n", ns, "link", "add", "br0", "type", "bridge");
        JsonObject conf = h.Config("1.1.0", """{"multiQueue": true, "owner": 1234, "group": 5678, "bridge": "br0"}""", ipam: false);
        JsonObject r = (await h.AddAsync(conf, ns, "vm1", "tap0")).AssertSuccess().Json;
        Assert.That(r["ips"], Is.Null);
        JsonNode d = Details(ns, "tap0");
        JsonNode data = d["linkinfo"]!["info_data"]!;
        Assert.That(data["multi_queue"]!.GetValue<bool>(), Is.True);
        Assert.That(data["user"]!.ToString(), Is.EqualTo("1234"));
        Assert.That(data["group"]!.ToString(), Is.EqualTo("5678"));
        Assert.That(d["master"]!.GetValue<string>(), Is.EqualTo("br0"));
        (await h.CheckAsync(conf, r, ns, "vm1", "tap0")).AssertSuccess();

        // Drift: another configuration than what the tap has.
        JsonObject single = h.Config("1.1.0", """{"owner": 1234, "group": 5678, "bridge": "br0"}""", ipam: false);
        (await h.CheckAsync(single, r, ns, "vm1", "tap0")).AssertError(999, "multiQueue is true, configured false");
        JsonObject otherOwner = h.Config("1.1.0", """{"multiQueue": true, "owner": 1, "group": 5678, "bridge": "br0"}""", ipam: false);
        (await h.CheckAsync(otherOwner, r, ns, "vm1", "tap0")).AssertError(999, "owner is 1234, configured 1");
        Shell.Run("ip", "-n", ns, "link", "set", "tap0", "nomaster");
        (await h.CheckAsync(conf, r, ns, "vm1", "tap0")).AssertError(999, "enslaved to nothing, configured bridge br0");

        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "vm1", "tap0")).AssertSuccess();
        Assert.That(SubInterfaceHarness.Links(ns), Is.EqualTo(new[] { "lo", "br0" }));
    }

    [Test]
    public async Task RefusalsLeaveNothingBehind([ValueSource(nameof(Modes))] Mode mode)
    {
        using SubInterfaceHarness h = Harness(mode);
        string ns = h.CreateNamespace();
        SubInterfaceHarness.Dummy(ns, "notbr");
        (await h.AddAsync(h.Config("1.0.0", """{"bridge": "nobr0"}"""), ns, "vm1", "tap0")).AssertError(999, "failed to find bridge \"nobr0\" in the container (bridge)");
        (await h.AddAsync(h.Config("1.0.0", """{"bridge": "notbr"}"""), ns, "vm1", "tap0")).AssertError(999, "is not a bridge but veth (bridge)");
        (await h.AddAsync(h.Config("1.0.0", "{}"), ns, "vm1", "notbr")).AssertError(999, "already exists in the container (CNI_IFNAME)");
        Assert.That(h.Reservations(), Is.Empty);
        Assert.That(SubInterfaceHarness.Links(ns), Has.Length.EqualTo(3), "lo and the veth pair only");

        // A failure after the tap exists (a route the kernel refuses): the tap is deleted and the address released.
        JsonObject badRoute = h.Config("1.0.0", "{}");
        badRoute["ipam"]!["routes"] = JsonNode.Parse("""[{"dst": "10.200.0.0/16", "gw": "10.250.0.1"}]""");
        (await h.AddAsync(badRoute, ns, "vm1", "tap0")).AssertError(999, "10.200.0.0/16");
        Assert.That(h.Reservations(), Is.Empty);
        Assert.That(SubInterfaceHarness.Links(ns), Has.Length.EqualTo(3));
    }

    [Test]
    public async Task DelRemovesATapLeftUnderTheTemporaryNameAndToleratesAGoneNamespace([ValueSource(nameof(Modes))] Mode mode)
    {
        using SubInterfaceHarness h = Harness(mode);
        string ns = h.CreateNamespace();
        string temp = Cni.Plugins.Common.SubInterfaces.TemporaryName("vm1", "tap0");
        Shell.Run("ip", "-n", ns, "tuntap", "add", "mode", "tap", "name", temp); // as an ADD killed before the rename
        JsonObject conf = h.Config("1.0.0", "{}");
        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "vm1", "tap0")).AssertSuccess();
        Assert.That(SubInterfaceHarness.Links(ns), Is.EqualTo(new[] { "lo" }));

        (await h.AddAsync(conf, ns, "vm2", "tap0")).AssertSuccess();
        h.DeleteNamespace(ns);
        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "vm2", "tap0")).AssertSuccess();
        Assert.That(h.Reservations(), Is.Empty);
    }

    [Test]
    public async Task TheSameIoctlsAsIpTuntapAdd()
    {
        string strace = TestEnvironment.RequireTool("strace", "apt-get install strace");
        using SubInterfaceHarness h = Harness(Mode.Binary);
        string ns = h.CreateNamespace();
        string dir = h.DataDir;
        // iproute2 (run inside the namespace) and our binary, both traced for their tun ioctls.
        Shell.Run("ip", "netns", "exec", ns, strace, "-f", "-o", Path.Combine(dir, "ip.trace"), "-e", "trace=ioctl", "-X", "raw", "ip", "tuntap", "add", "mode", "tap", "name", "iptap0", "multi_queue", "user", "1234", "group", "5678");
        JsonObject conf = h.Config("1.0.0", """{"multiQueue": true, "owner": 1234, "group": 5678}""", ipam: false);
        PluginOutput ours = await PluginRunner.RunProcessAsync(strace, ["-f", "-o", Path.Combine(dir, "ours.trace"), "-e", "trace=ioctl", "-X", "raw", h.BinaryPath!],
            h.Variables("ADD", SubInterfaceHarness.NsPath(ns), "vm1", "tap0"), conf.ToJsonString());
        ours.AssertSuccess();
        static string[] TunIoctls(string file) => File.ReadAllLines(file)
            .Select(l => System.Text.RegularExpressions.Regex.Match(l, @"ioctl\(\d+, (0x4004540[0-9a-f]|0x400454[0-9a-f]{2}), ([^)]*)\)"))
            .Where(m => m.Success)
            .Select(m => m.Groups[1].Value + (m.Groups[1].Value == "0x400454ca" ? "" : " " + m.Groups[2].Value))
            .ToArray();
        string[] expected = TunIoctls(Path.Combine(dir, "ip.trace"));
        Assert.That(expected, Is.EqualTo(new[] { "0x400454ca", "0x400454cc 0x4d2", "0x400454ce 0x162e", "0x400454cb 0x1" }), "iproute2: TUNSETIFF, TUNSETOWNER, TUNSETGROUP, TUNSETPERSIST");
        Assert.That(TunIoctls(Path.Combine(dir, "ours.trace")), Is.EqualTo(expected));
        JsonNode theirs = Details(ns, "iptap0")["linkinfo"]!["info_data"]!, mine = Details(ns, "tap0")["linkinfo"]!["info_data"]!;
        Assert.That(mine.ToJsonString(), Is.EqualTo(theirs.ToJsonString()), "the same tap as ip tuntap add makes");
    }
}
