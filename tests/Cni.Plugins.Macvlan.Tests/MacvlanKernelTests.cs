using System.Text.Json.Nodes;
using Cni.Plugins.Macvlan;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Macvlan.Tests;

/// <summary>
/// The macvlan plugin against the kernel: the published binary runs in a throwaway "host" namespace whose veth is the
/// master; pods are namespaces of their own. In-process runs only where the host is not touched (linkInContainer).
/// </summary>
[TestFixture]
[Category(Category.Kernel)]
[NonParallelizable]
public class MacvlanKernelTests
{
    private static readonly string[] Versions = SubInterfaceHarness.Versions;
    private static readonly string[] CheckVersions = SubInterfaceHarness.CheckVersions;

    [SetUp]
    public void RequireRoot()
    {
        TestEnvironment.RequireRoot();
        TestEnvironment.RequireTool("busybox", "apt-get install busybox-static");
    }

    private static SubInterfaceHarness Harness(Mode mode = Mode.Binary) => new("macvlan", () => new MacvlanPlugin(), mode);

    private static string Address(JsonObject result, int index = 0) => result["ips"]![index]!["address"]!.GetValue<string>().Split('/')[0];

    [Test]
    public async Task TwoPodsOnOneMasterPingEachOtherThenCheckAndDelete([ValueSource(nameof(Versions))] string version)
    {
        using SubInterfaceHarness h = Harness();
        string master = h.HostVethMaster();
        JsonObject conf = h.Config(version, $$"""{"master": "{{master}}"}""");
        string ns1 = h.CreateNamespace(), ns2 = h.CreateNamespace();

        JsonObject r1 = (await h.AddAsync(conf, ns1, "pod1")).AssertSuccess().Json;
        JsonObject r2 = (await h.AddAsync(conf, ns2, "pod2")).AssertSuccess().Json;

        Assert.That(r1["cniVersion"]!.GetValue<string>(), Is.EqualTo(version));
        JsonArray interfaces = r1["interfaces"]!.AsArray();
        Assert.That(interfaces, Has.Count.EqualTo(1));
        Assert.That(interfaces[0]!["name"]!.GetValue<string>(), Is.EqualTo("eth0"));
        Assert.That(interfaces[0]!["sandbox"]!.GetValue<string>(), Is.EqualTo(SubInterfaceHarness.NsPath(ns1)));
        Assert.That(interfaces[0]!["mac"]!.GetValue<string>(), Does.Match("^([0-9a-f]{2}:){5}[0-9a-f]{2}$"));
        Assert.That(r1["ips"]![0]!["interface"]!.GetValue<int>(), Is.EqualTo(0));
        Assert.That(SubInterfaceHarness.LinkDetails(ns1, "eth0"), Does.Contain("macvlan mode bridge"));
        Assert.That(SubInterfaceHarness.Links(h.HostNs), Has.Length.EqualTo(3), "nothing but lo and the veth pair in the host");
        // As the reference: the interface announces its addresses (ARP and IPv6 neighbour notifications).
        Assert.That(Shell.Run("ip", "netns", "exec", ns1, "cat", "/proc/sys/net/ipv4/conf/eth0/arp_notify").Stdout.Trim(), Is.EqualTo("1"), "arp_notify");
        Assert.That(Shell.Run("ip", "netns", "exec", ns1, "cat", "/proc/sys/net/ipv6/conf/eth0/ndisc_notify").Stdout.Trim(), Is.EqualTo("1"), "ndisc_notify");

        Assert.That(Shell.Ping(ns1, Address(r2)), Is.True, "pod1 -> pod2");
        Assert.That(Shell.Ping(ns2, Address(r1)), Is.True, "pod2 -> pod1");

        if (version == "0.3.1")
        {
            (await h.CheckAsync(conf, r1, ns1, "pod1")).AssertError(1, "CHECK");
        }
        else
        {
            (await h.CheckAsync(conf, r1, ns1, "pod1")).AssertSuccess();
            (await h.CheckAsync(conf, r2, ns2, "pod2")).AssertSuccess();
        }

        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns1), "pod1")).AssertSuccess();
        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns1), "pod1")).AssertSuccess(); // twice
        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns2), "pod2")).AssertSuccess();
        Assert.That(SubInterfaceHarness.Links(ns1), Is.EqualTo(new[] { "lo" }));
        Assert.That(SubInterfaceHarness.Links(ns2), Is.EqualTo(new[] { "lo" }));
        Assert.That(h.Reservations(), Is.Empty);
    }

    [Test]
    public async Task DualStackPodsPingEachOtherOverIPv6([ValueSource(nameof(Versions))] string version)
    {
        using SubInterfaceHarness h = Harness();
        string master = h.HostVethMaster();
        JsonObject conf = h.Config(version, $$"""{"master": "{{master}}"}""");
        conf["ipam"]!["ranges"] = JsonNode.Parse("""[[{"subnet": "10.98.0.0/24"}], [{"subnet": "fd00:98::/64"}]]""");
        string ns1 = h.CreateNamespace(), ns2 = h.CreateNamespace();
        JsonObject r1 = (await h.AddAsync(conf, ns1, "pod1")).AssertSuccess().Json;
        JsonObject r2 = (await h.AddAsync(conf, ns2, "pod2")).AssertSuccess().Json;
        Assert.That(r1["ips"]!.AsArray(), Has.Count.EqualTo(2));
        string v6 = r2["ips"]!.AsArray().Select(i => i!["address"]!.GetValue<string>()).Single(a => a.Contains(':')).Split('/')[0];
        Assert.That(Shell.Ping(ns1, v6), Is.True, "IPv6 pod1 -> pod2");
        Assert.That(Shell.Ping(ns2, Address(r1)), Is.True, "IPv4 pod2 -> pod1");
        if (version != "0.3.1")
            (await h.CheckAsync(conf, r1, ns1, "pod1")).AssertSuccess();
        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns1), "pod1")).AssertSuccess();
        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns2), "pod2")).AssertSuccess();
        Assert.That(h.Reservations(), Is.Empty);
    }

    [Test]
    public async Task GcAndStatusDelegateToIpam()
    {
        using SubInterfaceHarness h = Harness();
        string master = h.HostVethMaster();
        JsonObject conf = h.Config("1.1.0", $$"""{"master": "{{master}}"}""");
        string ns1 = h.CreateNamespace(), ns2 = h.CreateNamespace();
        (await h.AddAsync(conf, ns1, "pod1")).AssertSuccess();
        (await h.AddAsync(conf, ns2, "pod2")).AssertSuccess();
        Assert.That(h.Reservations(), Has.Length.EqualTo(2));

        (await h.RunAsync("STATUS", conf, null, "", "")).AssertSuccess();
        var gc = (JsonObject)conf.DeepClone();
        gc["cni.dev/valid-attachments"] = JsonNode.Parse("""[{"containerID": "pod1", "ifname": "eth0"}]""");
        (await h.RunAsync("GC", gc, null, "", "")).AssertSuccess();
        Assert.That(h.Reservations(), Has.Length.EqualTo(1), "pod2's address was garbage-collected, pod1's kept");

        // Without ipam there is nothing to collect or report.
        JsonObject l2 = h.Config("1.1.0", $$"""{"master": "{{master}}"}""", ipam: false);
        (await h.RunAsync("GC", l2, null, "", "")).AssertSuccess();
        (await h.RunAsync("STATUS", l2, null, "", "")).AssertSuccess();
        // An IPAM plugin that is not installed: STATUS says so.
        JsonObject missing = h.Config("1.1.0", $$$"""{"master": "{{{master}}}", "ipam": {"type": "no-such-ipam"}}""");
        Assert.That((await h.RunAsync("STATUS", missing, null, "", "")).ExitCode, Is.EqualTo(1));
    }

    [Test]
    public async Task CheckNamesWhatDrifted([ValueSource(nameof(CheckVersions))] string version)
    {
        using SubInterfaceHarness h = Harness();
        string master = h.HostVethMaster();
        JsonObject conf = h.Config(version, $$"""{"master": "{{master}}", "mode": "private"}""");
        string ns = h.CreateNamespace();
        JsonObject r = (await h.AddAsync(conf, ns, "pod1")).AssertSuccess().Json;
        (await h.CheckAsync(conf, r, ns, "pod1")).AssertSuccess();

        // Another mode in the configuration than on the link.
        JsonObject vepa = h.Config(version, $$"""{"master": "{{master}}", "mode": "vepa"}""");
        (await h.CheckAsync(vepa, r, ns, "pod1")).AssertError(999, "mode private does not match expected value: vepa");

        // An address removed by hand.
        string address = r["ips"]![0]!["address"]!.GetValue<string>();
        Shell.Run("ip", "-n", ns, "addr", "del", address, "dev", "eth0");
        (await h.CheckAsync(conf, r, ns, "pod1")).AssertError(999, address);

        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1")).AssertSuccess();
        Assert.That(h.Reservations(), Is.Empty);
    }

    [Test]
    public async Task L2OnlyAttachmentIsUpWithoutAddresses([ValueSource(nameof(Versions))] string version)
    {
        using SubInterfaceHarness h = Harness();
        string master = h.HostVethMaster();
        JsonObject conf = h.Config(version, $$"""{"master": "{{master}}"}""", ipam: false);
        string ns = h.CreateNamespace();
        JsonObject r = (await h.AddAsync(conf, ns, "pod1")).AssertSuccess().Json;
        Assert.That(r["ips"], Is.Null);
        Assert.That(r["interfaces"]!.AsArray(), Has.Count.EqualTo(1));
        Assert.That(SubInterfaceHarness.LinkDetails(ns, "eth0"), Does.Contain(",UP"));
        Assert.That(Shell.Run("ip", "-n", ns, "-4", "addr", "show", "dev", "eth0").Stdout, Does.Not.Contain("inet "));
        if (version != "0.3.1")
            (await h.CheckAsync(conf, r, ns, "pod1")).AssertSuccess();
        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1")).AssertSuccess();
        Assert.That(SubInterfaceHarness.Links(ns), Is.EqualTo(new[] { "lo" }));
    }

    [Test]
    public async Task DelAfterTheNamespaceIsGoneAndWithEmptyNetnsReleasesTheAddress([ValueSource(nameof(Versions))] string version)
    {
        using SubInterfaceHarness h = Harness();
        string master = h.HostVethMaster();
        JsonObject conf = h.Config(version, $$"""{"master": "{{master}}"}""");
        string ns1 = h.CreateNamespace(), ns2 = h.CreateNamespace();
        (await h.AddAsync(conf, ns1, "pod1")).AssertSuccess();
        (await h.AddAsync(conf, ns2, "pod2")).AssertSuccess();
        Assert.That(h.Reservations(), Has.Length.EqualTo(2));

        h.DeleteNamespace(ns1);
        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns1), "pod1")).AssertSuccess();
        (await h.DelAsync(conf, null, "pod2")).AssertSuccess();
        Assert.That(h.Reservations(), Is.Empty);
    }

    [Test]
    public async Task MasterDefaultsToTheDefaultRouteInterface()
    {
        using SubInterfaceHarness h = Harness();
        string master = h.HostVethMaster();
        Shell.Run("ip", "-n", h.HostNs, "addr", "add", "192.168.213.1/24", "dev", master);
        Shell.Run("ip", "-n", h.HostNs, "route", "add", "default", "via", "192.168.213.254", "dev", master);
        JsonObject conf = h.Config("1.0.0");
        string ns1 = h.CreateNamespace(), ns2 = h.CreateNamespace();
        JsonObject r1 = (await h.AddAsync(conf, ns1, "pod1")).AssertSuccess().Json;
        JsonObject r2 = (await h.AddAsync(conf, ns2, "pod2")).AssertSuccess().Json;
        Assert.That(Shell.Ping(ns1, Address(r2)), Is.True, "both pods are on the default-route interface");
        (await h.CheckAsync(conf, r1, ns1, "pod1")).AssertSuccess();
        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns1), "pod1")).AssertSuccess();
        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns2), "pod2")).AssertSuccess();
    }

    [Test]
    public async Task WithoutMasterOrDefaultRouteAddFailsNamingMaster()
    {
        using SubInterfaceHarness h = Harness();
        h.HostVethMaster();
        string ns = h.CreateNamespace();
        (await h.AddAsync(h.Config("1.0.0"), ns, "pod1")).AssertError(7, "master");
        Assert.That(h.Reservations(), Is.Empty);
    }

    [Test]
    public async Task MacComesFromRuntimeConfigThenCniArgsThenTheConfiguration()
    {
        using SubInterfaceHarness h = Harness();
        string master = h.HostVethMaster();
        string ns1 = h.CreateNamespace(), ns2 = h.CreateNamespace(), ns3 = h.CreateNamespace();
        JsonObject conf = h.Config("1.1.0", $$"""{"master": "{{master}}", "mac": "02:11:22:33:44:01"}""");
        JsonObject r1 = (await h.AddAsync(conf, ns1, "pod1")).AssertSuccess().Json;
        JsonObject r2 = (await h.AddAsync(conf, ns2, "pod2", args: "IgnoreUnknown=1;MAC=02:11:22:33:44:02")).AssertSuccess().Json;
        JsonObject withRuntime = h.Config("1.1.0", $$$"""{"master": "{{{master}}}", "mac": "02:11:22:33:44:01", "runtimeConfig": {"mac": "02:11:22:33:44:03"}}""");
        JsonObject r3 = (await h.AddAsync(withRuntime, ns3, "pod3", args: "IgnoreUnknown=1;MAC=02:11:22:33:44:02")).AssertSuccess().Json;
        Assert.That(r1["interfaces"]![0]!["mac"]!.GetValue<string>(), Is.EqualTo("02:11:22:33:44:01"));
        Assert.That(r2["interfaces"]![0]!["mac"]!.GetValue<string>(), Is.EqualTo("02:11:22:33:44:02"));
        Assert.That(r3["interfaces"]![0]!["mac"]!.GetValue<string>(), Is.EqualTo("02:11:22:33:44:03"));
        Assert.That(SubInterfaceHarness.LinkDetails(ns3, "eth0"), Does.Contain("02:11:22:33:44:03"));
        (await h.CheckAsync(withRuntime, r3, ns3, "pod3")).AssertSuccess();
        // A MAC changed by hand is drift.
        Shell.Run("ip", "-n", ns3, "link", "set", "eth0", "address", "02:11:22:33:44:99");
        (await h.CheckAsync(withRuntime, r3, ns3, "pod3")).AssertError(999, "MAC");
    }

    [Test]
    public async Task MtuIsAppliedAndLimitedByTheMaster()
    {
        using SubInterfaceHarness h = Harness();
        string master = h.HostVethMaster(mtu: 1400);
        string ns = h.CreateNamespace();
        (await h.AddAsync(h.Config("1.1.0", $$"""{"master": "{{master}}", "mtu": 1401}"""), ns, "pod1")).AssertError(7, "mtu");
        (await h.AddAsync(h.Config("1.1.0", $$"""{"master": "{{master}}", "mtu": -1}"""), ns, "pod1")).AssertError(7, "mtu");
        JsonObject conf = h.Config("1.1.0", $$"""{"master": "{{master}}", "mtu": 1300}""");
        JsonObject r = (await h.AddAsync(conf, ns, "pod1")).AssertSuccess().Json;
        Assert.That(r["interfaces"]![0]!["mtu"]!.GetValue<int>(), Is.EqualTo(1300));
        Assert.That(SubInterfaceHarness.LinkDetails(ns, "eth0"), Does.Contain("mtu 1300"));
        Shell.Run("ip", "-n", ns, "link", "set", "eth0", "mtu", "1200");
        (await h.CheckAsync(conf, r, ns, "pod1")).AssertError(999, "MTU");
        Assert.That(h.Reservations(), Has.Length.EqualTo(1), "only the successful ADD holds an address");
    }

    [Test]
    public async Task BcQueueLenIsSetOnlyWhenAboveZeroAndNotChecked([ValueSource(nameof(CheckVersions))] string version)
    {
        // In process, with the master in the pod's namespace (linkInContainer), so the test's own namespace is untouched.
        using SubInterfaceHarness h = Harness(Mode.InProcess);
        string ns = h.CreateNamespace();
        string master = SubInterfaceHarness.Dummy(ns);
        JsonObject conf = h.Config(version, $$"""{"master": "{{master}}", "linkInContainer": true, "bcqueuelen": 2345}""", ipam: false);
        JsonObject r = (await h.AddAsync(conf, ns, "pod1", "mva")).AssertSuccess().Json;
        Assert.That(SubInterfaceHarness.LinkDetails(ns, "mva"), Does.Contain("macvlan mode bridge bcqueuelen 2345 usedbcqueuelen 2345"));

        // 0 sends nothing: the kernel default (1000) is requested, the queue in use stays the parent's maximum.
        JsonObject zero = h.Config(version, $$"""{"master": "{{master}}", "linkInContainer": true, "bcqueuelen": 0}""", ipam: false);
        (await h.AddAsync(zero, ns, "pod2", "mvb")).AssertSuccess();
        Assert.That(SubInterfaceHarness.LinkDetails(ns, "mvb"), Does.Contain("bcqueuelen 1000 usedbcqueuelen 2345"));

        // CHECK does not compare bcqueuelen (neither does the reference): a different value still passes.
        JsonObject other = h.Config(version, $$"""{"master": "{{master}}", "linkInContainer": true, "bcqueuelen": 10}""", ipam: false);
        (await h.CheckAsync(conf, r, ns, "pod1", "mva")).AssertSuccess();
        (await h.CheckAsync(other, r, ns, "pod1", "mva")).AssertSuccess();

        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1", "mva")).AssertSuccess();
        (await h.DelAsync(zero, SubInterfaceHarness.NsPath(ns), "pod2", "mvb")).AssertSuccess();
        Assert.That(SubInterfaceHarness.Links(ns), Does.Not.Contain("mva").And.Not.Contain("mvb"));
    }

    [Test]
    public async Task FailedAddLeavesNothing([Values("multicast-mac", "ifname-taken", "bad-route", "bad-ipam")] string failure)
    {
        using SubInterfaceHarness h = Harness();
        string master = h.HostVethMaster();
        string ns = h.CreateNamespace();
        JsonObject conf = h.Config("1.0.0", $$"""{"master": "{{master}}"}""");
        string? args = null;
        switch (failure)
        {
            case "multicast-mac":
                // Refused with the configuration now (the kernel would refuse it only after IPAM reserved an address).
                args = "IgnoreUnknown=1;MAC=03:00:00:00:00:01";
                break;
            case "ifname-taken":
                SubInterfaceHarness.Dummy(ns, "eth0");
                break;
            case "bad-route":
                // The link exists and has its address when the route fails: both must go, with the reservation.
                conf["ipam"]!["routes"] = JsonNode.Parse("""[{"dst": "10.200.0.0/16", "gw": "192.168.77.1"}]""");
                break;
            case "bad-ipam":
                conf["ipam"]!["ranges"] = JsonNode.Parse("""[[{"subnet": "10.300.0.0/24"}]]""");
                break;
        }
        string[] before = SubInterfaceHarness.Links(ns);
        PluginOutput output = await h.AddAsync(conf, ns, "pod1", args: args);
        Assert.That(output.ExitCode, Is.EqualTo(1), output.Stdout + output.Stderr);
        Assert.That(output.Json["msg"]!.GetValue<string>(), Is.Not.Empty);
        Assert.That(SubInterfaceHarness.Links(ns), Is.EqualTo(before), "no link left in the pod");
        Assert.That(SubInterfaceHarness.Links(h.HostNs), Has.Length.EqualTo(3), "no link left in the host");
        Assert.That(h.Reservations(), Is.Empty, "no address left reserved");
    }

    [Test]
    public async Task LinkInContainerUsesAMasterInsideThePod([Values] Mode mode, [ValueSource(nameof(Versions))] string version)
    {
        using SubInterfaceHarness h = Harness(mode);
        string ns = h.CreateNamespace();
        string master = SubInterfaceHarness.Dummy(ns);
        JsonObject conf = h.Config(version, $$"""{"master": "{{master}}", "linkInContainer": true, "mode": "private"}""");
        JsonObject r = (await h.AddAsync(conf, ns, "pod1", "net1")).AssertSuccess().Json;
        Assert.That(SubInterfaceHarness.LinkDetails(ns, "net1"), Does.Contain($"net1@{master}").And.Contain("macvlan mode private"));
        Assert.That(r["interfaces"]![0]!["name"]!.GetValue<string>(), Is.EqualTo("net1"));
        if (version != "0.3.1")
            (await h.CheckAsync(conf, r, ns, "pod1", "net1")).AssertSuccess();
        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1", "net1")).AssertSuccess();
        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1", "net1")).AssertSuccess();
        Assert.That(SubInterfaceHarness.Links(ns), Has.Length.EqualTo(3).And.Contains(master).And.No.Contains("net1"));
        Assert.That(h.Reservations(), Is.Empty);
    }

    [Test]
    public async Task LinkInContainerWithAMissingMasterFailsNamingIt([Values] Mode mode)
    {
        using SubInterfaceHarness h = Harness(mode);
        string ns = h.CreateNamespace();
        JsonObject conf = h.Config("1.1.0", """{"master": "nosuchdev0", "linkInContainer": true}""");
        (await h.AddAsync(conf, ns, "pod1")).AssertError(7, "failed to lookup master \"nosuchdev0\"");
        Assert.That(SubInterfaceHarness.Links(ns), Is.EqualTo(new[] { "lo" }));
        Assert.That(h.Reservations(), Is.Empty);
    }

    [Test]
    public async Task CreationRequestMatchesIproute2ByteForByte()
    {
        TestEnvironment.RequireTool("strace", "apt-get install strace");
        using SubInterfaceHarness h = Harness();
        string master = h.HostVethMaster();
        string ns = h.CreateNamespace();
        JsonObject conf = h.Config("1.0.0", $$"""{"master": "{{master}}", "mode": "vepa", "mtu": 1400}""", ipam: false);
        string ours = Path.Combine(h.DataDir, "ours.strace"), theirs = Path.Combine(h.DataDir, "ip.strace");
        (await h.AddUnderStraceAsync(ours, conf, ns, "pod1", args: "IgnoreUnknown=1;MAC=02:00:00:aa:bb:cc")).AssertSuccess();
        byte[] ourRequest = StraceNetlink.CreateLink(StraceNetlink.Messages(ours), "macvlan");
        string createdName = StraceNetlink.IfName(ourRequest);
        Assert.That(createdName, Is.EqualTo("eth0"), "created under its final name, so that an interrupted ADD leaves nothing DEL cannot find");

        // The same link from iproute2, into a second pod (the fd number of the namespace is the only other difference).
        string ns2 = h.CreateNamespace();
        Shell.Run("ip", ["netns", "exec", h.HostNs, .. StraceNetlink.Prefix(theirs),
            "ip", "link", "add", "link", master, "name", createdName, "mtu", "1400", "address", "02:00:00:aa:bb:cc", "netns", ns2, "type", "macvlan", "mode", "vepa"], allowFailure: false);
        byte[] ipRequest = StraceNetlink.CreateLink(StraceNetlink.Messages(theirs), "macvlan");
        Assert.That(StraceNetlink.Hex(StraceNetlink.Normalise(ourRequest)), Is.EqualTo(StraceNetlink.Hex(StraceNetlink.Normalise(ipRequest))));
        Assert.That(SubInterfaceHarness.Links(ns2), Does.Contain(createdName));
    }

    [Test]
    public async Task TheContainerInterfaceIsCreatedUnderItsFinalNameEvenWhenTheHostHasALinkOfThatName()
    {
        // #14 item 7: no temporary name, so an ADD killed after the creation leaves a link DEL finds. This kernel checks the
        // name in the target namespace, so a host link called like CNI_IFNAME is no obstacle.
        using SubInterfaceHarness h = Harness();
        string master = h.HostVethMaster();
        Shell.Run("ip", "-n", h.HostNs, "link", "add", "eth0", "type", "veth", "peer", "name", TestEnvironment.UniqueName("ep"));
        string ns = h.CreateNamespace();
        JsonObject conf = h.Config("1.1.0", $$"""{"master": "{{master}}"}""");
        string ours = Path.Combine(h.DataDir, "final.strace");

        JsonObject result = (await h.AddUnderStraceAsync(ours, conf, ns, "pod1")).AssertSuccess().Json;

        Assert.Multiple(() =>
        {
            Assert.That(StraceNetlink.IfName(StraceNetlink.CreateLink(StraceNetlink.Messages(ours), "macvlan")), Is.EqualTo("eth0"));
            Assert.That(SubInterfaceHarness.LinkDetails(ns, "eth0"), Does.Contain("macvlan"));
            Assert.That(SubInterfaceHarness.Links(h.HostNs), Does.Contain("eth0").And.Length.EqualTo(5), "the host's own eth0 untouched, nothing added");
        });
        (await h.CheckAsync(conf, result, ns, "pod1")).AssertSuccess();
        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1")).AssertSuccess();
        Assert.That(SubInterfaceHarness.Links(ns), Is.EqualTo(new[] { "lo" }));
    }

    [Test]
    public async Task DelRemovesAMacvlanAnInterruptedAddLeftUnderTheTemporaryName([Values] Mode mode)
    {
        // What an ADD killed between creation and rename leaves on a kernel that made it fall back to the temporary name.
        using SubInterfaceHarness h = Harness(mode);
        string master = h.HostVethMaster();
        string ns = h.CreateNamespace();
        string leftover = Cni.Plugins.Common.SubInterfaces.TemporaryName("pod1", "eth0");
        Shell.Run("ip", "-n", h.HostNs, "link", "add", "link", master, "name", leftover, "netns", ns, "type", "macvlan");
        JsonObject conf = h.Config("1.1.0", $$"""{"master": "{{master}}"}""", ipam: false);

        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1")).AssertSuccess();

        Assert.That(SubInterfaceHarness.Links(ns), Is.EqualTo(new[] { "lo" }));
    }
}
