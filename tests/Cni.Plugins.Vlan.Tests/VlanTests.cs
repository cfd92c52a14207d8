using System.Text.Json.Nodes;
using Cni.Plugins.TestSupport;
using Cni.Plugins.Vlan;
using Cni.TestSupport;

namespace Cni.Plugins.Vlan.Tests;

/// <summary>
/// The vlan plugin. This kernel has no 802.1Q module, so what is tested is everything up to and around the kernel's
/// refusal: configuration errors, the netlink request (byte for byte against iproute2's), a clean failure that leaves
/// no link and no reservation, DEL in every situation, and CHECK's refusal of a link that is not a VLAN.
/// </summary>
[TestFixture]
[Category(Category.Kernel)]
[NonParallelizable]
public class VlanTests
{
    private static readonly string[] Versions = SubInterfaceHarness.Versions;
    private static readonly string[] CheckVersions = SubInterfaceHarness.CheckVersions;

    [SetUp]
    public void RequireRoot() => TestEnvironment.RequireRoot();

    private static SubInterfaceHarness Harness(Mode mode = Mode.Binary) => new("vlan", () => new VlanPlugin(), mode);

    private static bool KernelHasVlan() => File.Exists("/proc/net/vlan/config") || Directory.Exists("/sys/module/8021q");

    [TestCase("""{"vlanId": 5}""", 7u, "\"master\" field is required", TestName = "MissingMaster")]
    [TestCase("""{"master": "MASTER", "vlanId": 4095}""", 7u, "vlanId", TestName = "VlanIdTooLarge")]
    [TestCase("""{"master": "MASTER", "vlanId": -1}""", 7u, "vlanId", TestName = "VlanIdNegative")]
    [TestCase("""{"master": "MASTER", "vlanId": "5"}""", 6u, "vlanId", TestName = "VlanIdNotANumber")]
    [TestCase("""{"master": "MASTER", "vlanId": 5, "mtu": 1501}""", 7u, "mtu", TestName = "MtuAboveMaster")]
    [TestCase("""{"master": "MASTER", "vlanId": 5, "mtu": -1}""", 7u, "mtu", TestName = "MtuNegative")]
    [TestCase("""{"master": "nosuchmaster0", "vlanId": 5}""", 7u, "failed to lookup master \"nosuchmaster0\"", TestName = "MasterMissing")]
    [TestCase("""{"master": "a/b", "vlanId": 5}""", 7u, "master", TestName = "MasterNameInvalid")]
    [TestCase("""{"master": "MASTER", "vlanId": 5, "ipam": {}}""", 7u, "ipam", TestName = "IpamMissing")]
    public async Task InvalidConfigurationFailsBeforeAnyChange(string json, uint code, string fragment)
    {
        // In process, with the master inside the pod (linkInContainer): nothing outside the test's namespaces is touched.
        foreach (string version in Versions)
        {
            using SubInterfaceHarness h = Harness(Mode.InProcess);
            string ns = h.CreateNamespace();
            string master = SubInterfaceHarness.Dummy(ns);
            JsonObject conf = h.Config(version, json.Replace("MASTER", master, StringComparison.Ordinal));
            conf["linkInContainer"] = true;
            if (conf["ipam"] is JsonObject { Count: 0 })
                conf.Remove("ipam");
            string[] before = SubInterfaceHarness.Links(ns);
            (await h.AddAsync(conf, ns, "pod1")).AssertError(code, fragment);
            Assert.That(SubInterfaceHarness.Links(ns), Is.EqualTo(before));
            Assert.That(h.Reservations(), Is.Empty);
        }
    }

    [Test]
    public async Task PublishedBinaryFailsCleanlyWithoutTheKernelModule([ValueSource(nameof(Versions))] string version)
    {
        if (KernelHasVlan())
            Assert.Ignore("this kernel has 802.1Q: the failure path is not reachable");
        using SubInterfaceHarness h = Harness();
        string master = h.HostVethMaster();
        string ns = h.CreateNamespace();
        JsonObject conf = h.Config(version, $$"""{"master": "{{master}}", "vlanId": 42}""");
        string msg = (await h.AddAsync(conf, ns, "pod1")).AssertError(999, "failed to create vlan");
        Assert.That(msg, Does.Contain("does not support vlan"));
        Assert.That(SubInterfaceHarness.Links(ns), Is.EqualTo(new[] { "lo" }), "no link in the pod");
        Assert.That(SubInterfaceHarness.Links(h.HostNs), Has.Length.EqualTo(3), "no link in the host");
        Assert.That(h.Reservations(), Is.Empty, "the address reserved before the failure was released");
    }

    [Test]
    public async Task LinkInContainerFailsCleanlyInProcess([Values] Mode mode)
    {
        if (KernelHasVlan())
            Assert.Ignore("this kernel has 802.1Q: the failure path is not reachable");
        using SubInterfaceHarness h = Harness(mode);
        string ns = h.CreateNamespace();
        string master = SubInterfaceHarness.Dummy(ns);
        JsonObject conf = h.Config("1.1.0", $$"""{"master": "{{master}}", "vlanId": 7, "linkInContainer": true}""");
        string[] before = SubInterfaceHarness.Links(ns);
        (await h.AddAsync(conf, ns, "pod1")).AssertError(999, "vlan");
        Assert.That(SubInterfaceHarness.Links(ns), Is.EqualTo(before));
        Assert.That(h.Reservations(), Is.Empty);
    }

    [TestCase(false, TestName = "RequestMatchesIproute2ByteForByte(master in host)")]
    [TestCase(true, TestName = "RequestMatchesIproute2ByteForByte(linkInContainer)")]
    public async Task RequestMatchesIproute2ByteForByte(bool linkInContainer)
    {
        TestEnvironment.RequireTool("strace", "apt-get install strace");
        using SubInterfaceHarness h = Harness();
        string ns = h.CreateNamespace();
        string master = linkInContainer ? SubInterfaceHarness.Dummy(ns) : h.HostVethMaster();
        JsonObject conf = h.Config("1.0.0", $$"""{"master": "{{master}}", "vlanId": 42, "mtu": 1400, "linkInContainer": {{(linkInContainer ? "true" : "false")}}}""");
        string ours = Path.Combine(h.DataDir, "ours.strace"), theirs = Path.Combine(h.DataDir, "ip.strace");
        PluginOutput output = await h.AddUnderStraceAsync(ours, conf, ns, "pod1");
        if (!KernelHasVlan())
            output.AssertError(999, "vlan");
        byte[] ourRequest = StraceNetlink.CreateLink(StraceNetlink.Messages(ours), "vlan");
        string createdName = StraceNetlink.IfName(ourRequest);
        Assert.That(createdName, Is.EqualTo("eth0"), "created under its final name, so that an interrupted ADD leaves nothing DEL cannot find");

        string[] ip = linkInContainer
            ? ["ip", "netns", "exec", ns, .. StraceNetlink.Prefix(theirs), "ip", "link", "add", "link", master, "name", createdName, "mtu", "1400", "type", "vlan", "id", "42"]
            : ["ip", "netns", "exec", h.HostNs, .. StraceNetlink.Prefix(theirs), "ip", "link", "add", "link", master, "name", createdName, "mtu", "1400", "netns", ns, "type", "vlan", "id", "42"];
        Shell.Try(ip[0], ip[1..]);
        byte[] ipRequest = StraceNetlink.CreateLink(StraceNetlink.Messages(theirs), "vlan");
        Assert.That(StraceNetlink.Hex(StraceNetlink.Normalise(ourRequest)), Is.EqualTo(StraceNetlink.Hex(StraceNetlink.Normalise(ipRequest))), "iproute2 now");
        // And the checked-in capture (fresh namespaces give the same interface indexes; the name is CNI_IFNAME, eth0).
        byte[] golden = StraceNetlink.Golden(linkInContainer ? "vlan-in-container.strace" : "vlan-host.strace", "vlan");
        Assert.That(StraceNetlink.Hex(StraceNetlink.Normalise(ourRequest)), Is.EqualTo(StraceNetlink.Hex(StraceNetlink.Normalise(golden))), "Golden capture");
        if (!KernelHasVlan())
            Assert.That(h.Reservations(), Is.Empty, "the failed ADD released its address");
    }

    [Test]
    public async Task DelSucceedsWhenTheNamespaceTheInterfaceOrTheMasterIsGone([ValueSource(nameof(Versions))] string version, [Values] Mode mode)
    {
        using SubInterfaceHarness h = Harness(mode);
        string ns = h.CreateNamespace();
        // The master does not exist (deleted meanwhile): the Go reference fails here, DEL must not.
        JsonObject conf = h.Config(version, """{"master": "gonemaster0", "vlanId": 42}""");
        // A reservation as a successful ADD would have left it, made by host-local directly.
        var ipamAdd = Shell.Run("ip", ["netns", "exec", ns, "env", "CNI_COMMAND=ADD", "CNI_CONTAINERID=pod1", $"CNI_NETNS={SubInterfaceHarness.NsPath(ns)}", "CNI_IFNAME=eth0", $"CNI_PATH={h.CniPath}",
            Path.Combine(TestEnvironment.PluginBinDir, "host-local")], allowFailure: true, stdin: conf.ToJsonString());
        Assert.That(ipamAdd.ExitCode, Is.EqualTo(0), ipamAdd.Stdout + ipamAdd.Stderr);
        Assert.That(h.Reservations(), Has.Length.EqualTo(1));

        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1")).AssertSuccess();   // interface missing
        Assert.That(h.Reservations(), Is.Empty);
        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1")).AssertSuccess();   // twice
        (await h.DelAsync(conf, null, "pod1")).AssertSuccess();                             // empty CNI_NETNS
        h.DeleteNamespace(ns);
        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1")).AssertSuccess();   // namespace gone
    }

    [Test]
    public async Task DelRemovesTheInterface([Values] Mode mode)
    {
        using SubInterfaceHarness h = Harness(mode);
        string ns = h.CreateNamespace();
        SubInterfaceHarness.Dummy(ns, "eth0");
        JsonObject conf = h.Config("1.0.0", """{"master": "gonemaster0", "vlanId": 42}""");
        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1")).AssertSuccess();
        Assert.That(SubInterfaceHarness.Links(ns), Does.Not.Contain("eth0"));
    }

    [Test]
    public async Task CheckRefusesALinkThatIsNotAVlan([ValueSource(nameof(CheckVersions))] string version, [Values] Mode mode)
    {
        using SubInterfaceHarness h = Harness(mode);
        string ns = h.CreateNamespace();
        string master = SubInterfaceHarness.Dummy(ns);
        SubInterfaceHarness.Dummy(ns, "eth0");
        JsonObject conf = h.Config(version, $$"""{"master": "{{master}}", "vlanId": 42, "linkInContainer": true}""", ipam: false);
        conf["ipam"] = new JsonObject { ["type"] = "static", ["addresses"] = new JsonArray(new JsonObject { ["address"] = "10.94.0.2/24" }) };
        var prev = JsonNode.Parse($$"""{"cniVersion": "{{version}}", "interfaces": [{"name": "eth0", "sandbox": "{{SubInterfaceHarness.NsPath(ns)}}"}], "ips": [{"{{(version == "0.4.0" ? "version\": \"4\", \"" : "")}}address": "10.94.0.2/24", "interface": 0}]}""")!.AsObject();
        (await h.CheckAsync(conf, prev, ns, "pod1")).AssertError(999, "not of type vlan");
        // Without prevResult CHECK says so.
        (await h.RunAsync("CHECK", conf, SubInterfaceHarness.NsPath(ns), "pod1", "eth0")).AssertError(7, "prevResult");
        // A sandbox that does not match.
        prev["interfaces"]![0]!["sandbox"] = "/var/run/netns/other";
        (await h.CheckAsync(conf, prev, ns, "pod1")).AssertError(999, "Sandbox");
    }
}
