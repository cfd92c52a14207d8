using System.Text.Json.Nodes;
using Cni.Plugins.Dummy;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Dummy.Tests;

/// <summary>
/// The published dummy plugin against the kernel. It sends exactly what <c>ip link add eth0 type dummy</c> sends
/// (Golden/dummy.strace); where the kernel has no dummy module, ADD fails with a CNI error and leaves nothing behind;
/// where it has one, the pod gets its address on a dummy link.
/// </summary>
[TestFixture]
[Category(Category.Kernel)]
[NonParallelizable]
public class DummyKernelTests
{
    [SetUp]
    public void RequireRoot() => TestEnvironment.RequireRoot();

    private static SubInterfaceHarness Harness() => new("dummy", () => new DummyPlugin());

    /// <summary>True when this kernel creates dummy links (tried in a throwaway namespace).</summary>
    private static bool KernelHasDummy(SubInterfaceHarness h)
    {
        string ns = h.CreateNamespace();
        bool ok = Shell.Try("ip", "-n", ns, "link", "add", "probe0", "type", "dummy").ExitCode == 0;
        h.DeleteNamespace(ns);
        return ok;
    }

    [Test]
    public async Task TheCreationRequestIsWhatIproute2Sends()
    {
        TestEnvironment.RequireTool("strace", "apt-get install strace");
        using SubInterfaceHarness h = Harness();
        string ns = h.CreateNamespace();
        string trace = Path.Combine(h.DataDir, "ours.strace");
        await h.AddUnderStraceAsync(trace, h.Config("1.0.0"), ns, "pod1");
        byte[] ours = StraceNetlink.CreateLink(StraceNetlink.Messages(trace), "dummy");
        byte[] golden = StraceNetlink.Golden("dummy.strace", "dummy");
        Assert.That(StraceNetlink.Hex(StraceNetlink.Normalise(ours)), Is.EqualTo(StraceNetlink.Hex(StraceNetlink.Normalise(golden))));
        (await h.DelAsync(h.Config("1.0.0"), SubInterfaceHarness.NsPath(ns), "pod1")).AssertSuccess();
    }

    [Test]
    public async Task WithoutTheModuleAddFailsCleanly()
    {
        using SubInterfaceHarness h = Harness();
        if (KernelHasDummy(h))
            Assert.Ignore("this kernel has the dummy module: see DummyPodGetsItsAddress");
        string ns = h.CreateNamespace();
        JsonObject conf = h.Config("1.1.0");
        (await h.AddAsync(conf, ns, "pod1")).AssertError(999, "this kernel does not support dummy links");
        Assert.That(SubInterfaceHarness.Links(ns), Is.EqualTo(new[] { "lo" }));
        Assert.That(SubInterfaceHarness.Links(h.HostNs), Is.EqualTo(new[] { "lo" }), "nothing in the host either");
        Assert.That(h.Reservations(), Is.Empty, "the address is released");
        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1")).AssertSuccess();
    }

    [Test]
    public async Task DummyPodGetsItsAddress([ValueSource(typeof(SubInterfaceHarness), nameof(SubInterfaceHarness.Versions))] string version)
    {
        using SubInterfaceHarness h = Harness();
        if (!KernelHasDummy(h))
            Assert.Ignore("this kernel has no dummy module (CONFIG_DUMMY): see WithoutTheModuleAddFailsCleanly");
        string ns = h.CreateNamespace();
        JsonObject conf = h.Config(version);
        JsonObject r = (await h.AddAsync(conf, ns, "pod1")).AssertSuccess().Json;
        Assert.That(SubInterfaceHarness.LinkDetails(ns, "eth0"), Does.Contain("dummy"));
        string address = r["ips"]![0]!["address"]!.GetValue<string>();
        Assert.That(Shell.Run("ip", "-n", ns, "addr", "show", "dev", "eth0").Stdout, Does.Contain(address));
        if (version != "0.3.1")
            (await h.CheckAsync(conf, r, ns, "pod1")).AssertSuccess();
        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1")).AssertSuccess();
        (await h.DelAsync(conf, SubInterfaceHarness.NsPath(ns), "pod1")).AssertSuccess();
        Assert.That(SubInterfaceHarness.Links(ns), Is.EqualTo(new[] { "lo" }));
        Assert.That(h.Reservations(), Is.Empty);
    }
}
