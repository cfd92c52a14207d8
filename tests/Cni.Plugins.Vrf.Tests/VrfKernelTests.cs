using System.Text.Json.Nodes;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Vrf.Tests;

/// <summary>
/// The published vrf plugin against the kernel, chained after an interface in the pod (a veth pair there stands for
/// what an earlier plugin made): it sends exactly what <c>ip link add vrf0 type vrf table 10</c> sends
/// (Golden/vrf-table10.strace); without the vrf module ADD fails with a CNI error and leaves nothing; with it, the
/// interface lands in the VRF and DEL undoes it.
/// </summary>
[TestFixture]
[Category(Category.Kernel)]
[NonParallelizable]
public class VrfKernelTests
{
    [SetUp]
    public void RequireRoot() => TestEnvironment.RequireRoot();

    private static SubInterfaceHarness Harness() => new("vrf", () => new VrfPlugin());

    internal static bool KernelHasVrf(PluginHarness h)
    {
        string ns = h.CreateNamespace();
        bool ok = Shell.Try("ip", "-n", ns, "link", "add", "probe0", "type", "vrf", "table", "10").ExitCode == 0;
        h.DeleteNamespace(ns);
        return ok;
    }

    /// <summary>A pod with eth0 (a veth whose peer stays in the pod) holding 10.1.0.5/24 and fd00::5/64.</summary>
    internal static string Pod(PluginHarness h)
    {
        string ns = h.CreateNamespace();
        SubInterfaceHarness.Dummy(ns, "eth0");
        Shell.Run("ip", "-n", ns, "addr", "add", "10.1.0.5/24", "dev", "eth0");
        Shell.Run("ip", "-n", ns, "addr", "add", "fd00::5/64", "dev", "eth0", "nodad");
        return ns;
    }

    private static JsonObject Config(PluginHarness h, string version, string ns, string vrf = "vrf0", int table = 10)
    {
        JsonObject conf = h.Config(version, $$"""{"vrfname": "{{vrf}}", "table": {{table}}}""", ipam: false);
        conf["prevResult"] = JsonNode.Parse($$"""
            {"cniVersion": "{{version}}", "interfaces": [{"name": "eth0", "sandbox": "{{PluginHarness.NsPath(ns)}}"}],
             "ips": [{"address": "10.1.0.5/24", "interface": 0}]}
            """);
        return conf;
    }

    [Test]
    public async Task TheCreationRequestIsWhatIproute2Sends()
    {
        TestEnvironment.RequireTool("strace", "apt-get install strace");
        using SubInterfaceHarness h = Harness();
        string ns = Pod(h);
        string trace = Path.Combine(h.DataDir, "ours.strace");
        await h.AddUnderStraceAsync(trace, Config(h, "1.0.0", ns), ns, "pod1");
        byte[] ours = StraceNetlink.CreateLink(StraceNetlink.Messages(trace), "vrf");
        byte[] golden = StraceNetlink.Golden("vrf-table10.strace", "vrf");
        Assert.That(StraceNetlink.Hex(StraceNetlink.Normalise(ours)), Is.EqualTo(StraceNetlink.Hex(StraceNetlink.Normalise(golden))));
        (await h.DelAsync(Config(h, "1.0.0", ns), SubInterfaceHarness.NsPath(ns), "pod1")).AssertSuccess();
    }

    [Test]
    public async Task WithoutTheModuleAddFailsCleanly()
    {
        using SubInterfaceHarness h = Harness();
        if (KernelHasVrf(h))
            Assert.Ignore("this kernel has the vrf module: see InterfaceGoesIntoTheVrfAndBack");
        string ns = Pod(h);
        JsonObject conf = Config(h, "1.1.0", ns);
        (await h.AddAsync(conf, ns, "pod1")).AssertError(999, "this kernel does not support vrf links");
        Assert.That(SubInterfaceHarness.Links(ns), Has.Length.EqualTo(3), "lo and the veth pair, nothing else");
        Assert.That(SubInterfaceHarness.LinkDetails(ns, "eth0"), Does.Not.Contain("master"));
        Assert.That(Shell.Run("ip", "-n", ns, "addr", "show", "dev", "eth0").Stdout, Does.Contain("fd00::5/64"));
        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1")).AssertSuccess();
    }

    [Test]
    public async Task InterfaceGoesIntoTheVrfAndBack([ValueSource(typeof(SubInterfaceHarness), nameof(SubInterfaceHarness.Versions))] string version)
    {
        using SubInterfaceHarness h = Harness();
        if (!KernelHasVrf(h))
            Assert.Ignore("this kernel has no vrf module (CONFIG_NET_VRF): see WithoutTheModuleAddFailsCleanly");
        string ns = Pod(h);
        JsonObject conf = Config(h, version, ns);
        JsonObject r = (await h.AddAsync(conf, ns, "pod1")).AssertSuccess().Json;
        Assert.That(r["ips"]![0]!["address"]!.GetValue<string>(), Is.EqualTo("10.1.0.5/24"));
        Assert.That(SubInterfaceHarness.LinkDetails(ns, "eth0"), Does.Contain("master vrf0"));
        Assert.That(SubInterfaceHarness.LinkDetails(ns, "vrf0"), Does.Contain("table 10"));
        Assert.That(Shell.Run("ip", "-n", ns, "addr", "show", "dev", "eth0").Stdout, Does.Contain("fd00::5/64"), "IPv6 address kept");
        if (version != "0.3.1")
            (await h.CheckAsync(conf, r, ns, "pod1")).AssertSuccess();
        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1")).AssertSuccess();
        Assert.That(SubInterfaceHarness.Links(ns), Does.Not.Contain("vrf0"));
        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1")).AssertSuccess();
    }
}
