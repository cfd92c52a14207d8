using System.Text.Json.Nodes;
using Cni.Plugins.Ipvlan;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Ipvlan.Tests;

/// <summary>
/// The ipvlan plugin. This kernel has no ipvlan module, so what is tested is everything up to and around the kernel's
/// refusal: configuration errors, master resolution (named, default route, chained prevResult), the netlink request
/// (byte for byte against iproute2's), a clean failure that leaves no link and no reservation, DEL, and CHECK's
/// refusal of a link that is not an ipvlan.
/// </summary>
[TestFixture]
[Category(Category.Kernel)]
[NonParallelizable]
public class IpvlanTests
{
    private static readonly string[] Versions = SubInterfaceHarness.Versions;
    private static readonly string[] CheckVersions = SubInterfaceHarness.CheckVersions;

    [SetUp]
    public void RequireRoot() => TestEnvironment.RequireRoot();

    private static SubInterfaceHarness Harness(Mode mode = Mode.Binary) => new("ipvlan", () => new IpvlanPlugin(), mode);

    private static bool KernelHasIpvlan() => Directory.Exists("/sys/module/ipvlan");

    private static JsonObject PrevResult(string version, string ns, params string[] interfaces)
    {
        var ifs = new JsonArray();
        foreach (string name in interfaces)
            ifs.Add(new JsonObject { ["name"] = name, ["sandbox"] = SubInterfaceHarness.NsPath(ns) });
        var ip = new JsonObject { ["address"] = "10.95.0.7/24", ["gateway"] = "10.95.0.1", ["interface"] = 0 };
        if (version is "0.3.1" or "0.4.0")
            ip["version"] = "4";
        return new JsonObject { ["cniVersion"] = version, ["interfaces"] = ifs, ["ips"] = new JsonArray(ip) };
    }

    [TestCase("""{"master": "MASTER", "mode": "l4"}""", 7u, "unknown ipvlan mode: \"l4\" (mode)", TestName = "UnknownMode")]
    [TestCase("""{"master": "MASTER", "mtu": 1501}""", 7u, "mtu", TestName = "MtuAboveMaster")]
    [TestCase("""{"master": "nosuchmaster0"}""", 7u, "failed to lookup master \"nosuchmaster0\"", TestName = "MasterMissing")]
    [TestCase("""{"master": "MASTER", "ipam": {}}""", 7u, "ipam", TestName = "NoIpamAndNoPrevResult")]
    [TestCase("""{"master": "MASTER", "mtu": "big"}""", 6u, "mtu", TestName = "MtuNotANumber")]
    public async Task InvalidConfigurationFailsBeforeAnyChange(string json, uint code, string fragment)
    {
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
    public async Task ChainedWithoutMasterTakesTheSingleInterfaceOfPrevResult([ValueSource(nameof(Versions))] string version, [Values] Mode mode)
    {
        if (KernelHasIpvlan())
            Assert.Ignore("this kernel has ipvlan: the failure path is not reachable");
        using SubInterfaceHarness h = Harness(mode);
        string ns = h.CreateNamespace();
        string master = SubInterfaceHarness.Dummy(ns);
        // No ipam: the addresses come from prevResult. No master: prevResult's single interface is the master.
        JsonObject conf = h.Config(version, """{"linkInContainer": true}""", ipam: false);
        conf["prevResult"] = PrevResult(version, ns, master);
        // Past master resolution, the kernel refuses the link: proof that the master was found in the pod.
        (await h.AddAsync(conf, ns, "pod1", "net1")).AssertError(999, "failed to create ipvlan");

        conf["prevResult"] = PrevResult(version, ns, master, "other0");
        (await h.AddAsync(conf, ns, "pod1", "net1")).AssertError(7, "chained master failure");
        Assert.That(SubInterfaceHarness.Links(ns), Has.Length.EqualTo(3));
        // Chained without ipam, DEL has nothing to release and must still succeed.
        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1", "net1")).AssertSuccess();
    }

    [Test]
    public async Task MasterDefaultsToTheDefaultRouteInterface()
    {
        if (KernelHasIpvlan())
            Assert.Ignore("this kernel has ipvlan: the failure path is not reachable");
        TestEnvironment.RequireTool("strace", "apt-get install strace");
        using SubInterfaceHarness h = Harness();
        string master = h.HostVethMaster();
        Shell.Run("ip", "-n", h.HostNs, "-6", "addr", "add", "fd00:96::1/64", "dev", master, "nodad");
        Shell.Run("ip", "-n", h.HostNs, "-6", "route", "add", "default", "via", "fd00:96::fe", "dev", master);
        string ns = h.CreateNamespace();
        JsonObject conf = h.Config("1.1.0");
        string ours = Path.Combine(h.DataDir, "ours.strace");
        PluginOutput output = await h.AddUnderStraceAsync(ours, conf, ns, "pod1");
        output.AssertError(999, "failed to create ipvlan");
        // IFLA_LINK (5) of the request is the index of the IPv6 default route's interface.
        byte[] request = StraceNetlink.CreateLink(StraceNetlink.Messages(ours), "ipvlan");
        (ushort _, int off, int _) = StraceNetlink.Attributes(request).First(a => a.Type == 5);
        int index = BitConverter.ToInt32(request, off);
        string expected = Shell.Run("ip", "-n", h.HostNs, "-o", "link", "show", master).Stdout.Split(':')[0];
        Assert.That(index.ToString(System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(expected));
        Assert.That(h.Reservations(), Is.Empty);
    }

    [Test]
    public async Task PublishedBinaryFailsCleanlyWithoutTheKernelModule([ValueSource(nameof(Versions))] string version)
    {
        if (KernelHasIpvlan())
            Assert.Ignore("this kernel has ipvlan: the failure path is not reachable");
        using SubInterfaceHarness h = Harness();
        string master = h.HostVethMaster();
        string ns = h.CreateNamespace();
        JsonObject conf = h.Config(version, $$"""{"master": "{{master}}", "mode": "l3s"}""");
        string msg = (await h.AddAsync(conf, ns, "pod1")).AssertError(999, "failed to create ipvlan");
        Assert.That(msg, Does.Contain("does not support ipvlan"));
        Assert.That(SubInterfaceHarness.Links(ns), Is.EqualTo(new[] { "lo" }), "no link in the pod");
        Assert.That(SubInterfaceHarness.Links(h.HostNs), Has.Length.EqualTo(3), "no link in the host");
        Assert.That(h.Reservations(), Is.Empty, "the address reserved before the failure was released");
    }

    [TestCase("l2", false, TestName = "RequestMatchesIproute2ByteForByte(l2, master in host)")]
    [TestCase("l3", false, TestName = "RequestMatchesIproute2ByteForByte(l3, master in host)")]
    [TestCase("l3s", true, TestName = "RequestMatchesIproute2ByteForByte(l3s, linkInContainer)")]
    public async Task RequestMatchesIproute2ByteForByte(string mode, bool linkInContainer)
    {
        TestEnvironment.RequireTool("strace", "apt-get install strace");
        using SubInterfaceHarness h = Harness();
        string ns = h.CreateNamespace();
        string master = linkInContainer ? SubInterfaceHarness.Dummy(ns) : h.HostVethMaster();
        JsonObject conf = h.Config("1.0.0", $$"""{"master": "{{master}}", "mode": "{{mode}}", "mtu": 1450, "linkInContainer": {{(linkInContainer ? "true" : "false")}}}""");
        string ours = Path.Combine(h.DataDir, "ours.strace"), theirs = Path.Combine(h.DataDir, "ip.strace");
        PluginOutput output = await h.AddUnderStraceAsync(ours, conf, ns, "pod1");
        if (!KernelHasIpvlan())
            output.AssertError(999, "ipvlan");
        byte[] ourRequest = StraceNetlink.CreateLink(StraceNetlink.Messages(ours), "ipvlan");
        string createdName = StraceNetlink.IfName(ourRequest);
        Assert.That(createdName, Is.EqualTo("eth0"), "created under its final name, so that an interrupted ADD leaves nothing DEL cannot find");

        string[] ip = linkInContainer
            ? ["ip", "netns", "exec", ns, .. StraceNetlink.Prefix(theirs), "ip", "link", "add", "link", master, "name", createdName, "mtu", "1450", "type", "ipvlan", "mode", mode]
            : ["ip", "netns", "exec", h.HostNs, .. StraceNetlink.Prefix(theirs), "ip", "link", "add", "link", master, "name", createdName, "mtu", "1450", "netns", ns, "type", "ipvlan", "mode", mode];
        Shell.Try(ip[0], ip[1..]);
        byte[] ipRequest = StraceNetlink.CreateLink(StraceNetlink.Messages(theirs), "ipvlan");
        Assert.That(StraceNetlink.Hex(StraceNetlink.Normalise(ourRequest)), Is.EqualTo(StraceNetlink.Hex(StraceNetlink.Normalise(ipRequest))), "iproute2 now");
        // And the checked-in capture (fresh namespaces give the same interface indexes; the name is CNI_IFNAME, eth0).
        byte[] golden = StraceNetlink.Golden(linkInContainer ? $"ipvlan-in-container-{mode}.strace" : $"ipvlan-host-{mode}.strace", "ipvlan");
        Assert.That(StraceNetlink.Hex(StraceNetlink.Normalise(ourRequest)), Is.EqualTo(StraceNetlink.Hex(StraceNetlink.Normalise(golden))), "Golden capture");
        if (!KernelHasIpvlan())
            Assert.That(h.Reservations(), Is.Empty, "the failed ADD released its address");
    }

    [Test]
    public async Task DelSucceedsWhenTheNamespaceOrTheInterfaceIsGone([ValueSource(nameof(Versions))] string version, [Values] Mode mode)
    {
        using SubInterfaceHarness h = Harness(mode);
        string ns = h.CreateNamespace();
        JsonObject conf = h.Config(version, """{"master": "gonemaster0"}""");
        var ipamAdd = Shell.Run("ip", ["netns", "exec", ns, "env", "CNI_COMMAND=ADD", "CNI_CONTAINERID=pod1", $"CNI_NETNS={SubInterfaceHarness.NsPath(ns)}", "CNI_IFNAME=eth0", $"CNI_PATH={h.CniPath}",
            Path.Combine(TestEnvironment.PluginBinDir, "host-local")], allowFailure: true, stdin: conf.ToJsonString());
        Assert.That(ipamAdd.ExitCode, Is.EqualTo(0), ipamAdd.Stdout + ipamAdd.Stderr);
        SubInterfaceHarness.Dummy(ns, "eth0");

        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1")).AssertSuccess();
        Assert.That(SubInterfaceHarness.Links(ns), Does.Not.Contain("eth0"));
        Assert.That(h.Reservations(), Is.Empty);
        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1")).AssertSuccess();
        (await h.DelAsync(conf, null, "pod1")).AssertSuccess();
        h.DeleteNamespace(ns);
        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1")).AssertSuccess();
    }

    [Test]
    public async Task CheckRefusesALinkThatIsNotAnIpvlan([ValueSource(nameof(CheckVersions))] string version, [Values] Mode mode)
    {
        using SubInterfaceHarness h = Harness(mode);
        string ns = h.CreateNamespace();
        SubInterfaceHarness.Dummy(ns, "eth0");
        JsonObject conf = h.Config(version, ipam: false);
        conf["prevResult"] = PrevResult(version, ns, "eth0");
        (await h.RunAsync("CHECK", conf, SubInterfaceHarness.NsPath(ns), "pod1", "eth0")).AssertError(999, "not of type ipvlan");
        conf["mode"] = "l9";
        (await h.RunAsync("CHECK", conf, SubInterfaceHarness.NsPath(ns), "pod1", "eth0")).AssertError(7, "mode");
    }
}
