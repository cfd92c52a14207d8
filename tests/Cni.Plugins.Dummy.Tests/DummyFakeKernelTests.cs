using System.Text.Json.Nodes;
using Cni.Netlink;
using Cni.Plugins.Common;
using Cni.Plugins.Dummy;
using Cni.Plugins.TestSupport;

namespace Cni.Plugins.Dummy.Tests;

/// <summary>The dummy plugin's decisions against an in-memory kernel (no root, no dummy module needed).</summary>
[TestFixture]
public class DummyFakeKernelTests
{
    private static readonly string[] Versions = ["0.1.0", "0.2.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

    private static FakeSubInterfaceWorld World() => new("dummy", (ipam, kernel) => new DummyPlugin(ipam, kernel));

    [Test]
    public async Task AddCreatesADummyInTheContainerWithTheAddressThenCheckAndDel([ValueSource(nameof(Versions))] string version)
    {
        using FakeSubInterfaceWorld w = World();
        SubInterfaceLinkSpec? sent = null;
        w.Kernel.Describe = (spec, link) => { sent = spec; return link; };
        JsonObject conf = w.Config(version);

        (PluginOutput add, JsonObject withPrev) = await w.AddAsync(conf);

        add.AssertSuccess();
        Assert.Multiple(() =>
        {
            Assert.That(sent, Is.EqualTo(new DummyLinkSpec()), "no master, MTU or MAC: the kernel's defaults");
            Assert.That(w.Kernel.Log[0], Is.EqualTo("create dummy eth0 in " + FakeSubInterfaceWorld.NetNs), "created in the container, not the host");
            Assert.That(w.Kernel.Host.Names, Is.EqualTo(new[] { "lo", "eth0" }), "the host is untouched");
            Assert.That(w.Container["eth0"]!.IsUp, Is.True);
        });
        if (version is "0.1.0" or "0.2.0")
            Assert.That(add.Json["ip4"]!["ip"]!.GetValue<string>(), Is.EqualTo("10.93.0.5/24"));
        else
        {
            Assert.That(add.Json["ips"]![0]!["address"]!.GetValue<string>(), Is.EqualTo("10.93.0.5/24"));
            Assert.That(add.Json["interfaces"]![0]!["sandbox"]!.GetValue<string>(), Is.EqualTo(FakeSubInterfaceWorld.NetNs));
        }
        if (version is not ("0.1.0" or "0.2.0" or "0.3.1"))
            (await w.RunAsync("CHECK", withPrev)).AssertSuccess();

        (await w.RunAsync("DEL", withPrev)).AssertSuccess();
        (await w.RunAsync("DEL", withPrev)).AssertSuccess();
        Assert.That(w.Container.Names, Is.EqualTo(new[] { "lo" }));
        Assert.That(w.Ipam.Reserved, Is.Empty);
    }

    [Test]
    public async Task WithoutIpamNothingIsCreated()
    {
        using FakeSubInterfaceWorld w = World();
        JsonObject conf = w.Config("1.0.0", """{"ipam": null}""");
        (await w.RunAsync("ADD", conf)).AssertError(7, "dummy interface requires an IPAM configuration (ipam)");
        (await w.RunAsync("DEL", conf)).AssertError(7, "(ipam)");
        (await w.RunAsync("ADD", w.Config("1.0.0", """{"ipam": {}}"""))).AssertError(7, "(ipam)");
        Assert.That(w.Kernel.Log, Is.Empty);
        Assert.That(w.Ipam.Commands, Is.Empty);
    }

    [Test]
    public async Task WithoutTheModuleAddSaysSoAndReleasesTheAddress()
    {
        using FakeSubInterfaceWorld w = World();
        w.Kernel.MissingKinds.Add("dummy");
        (PluginOutput add, _) = await w.AddAsync(w.Config("1.0.0"));
        add.AssertError(999, "this kernel does not support dummy links (module missing?)");
        Assert.That(w.Container.Names, Is.EqualTo(new[] { "lo" }));
        Assert.That(w.Ipam.Reserved, Is.Empty, "the address IPAM handed out alongside was released");
    }

    [Test]
    public async Task FailuresAfterTheLinkExistsRollBack()
    {
        using FakeSubInterfaceWorld w = World();
        w.Ipam.AddFailure = new Cni.Spec.CniException(Cni.Spec.CniErrorCode.TryAgainLater, "pool exhausted");
        (await w.AddAsync(w.Config("1.0.0"))).Add.AssertError(11, "pool exhausted");
        Assert.That(w.Container.Names, Is.EqualTo(new[] { "lo" }));

        w.Ipam.AddFailure = null;
        w.Kernel.Failing.Add("configure");
        (await w.AddAsync(w.Config("1.0.0"))).Add.AssertError(999, "");
        Assert.That(w.Container.Names, Is.EqualTo(new[] { "lo" }));
        Assert.That(w.Ipam.Reserved, Is.Empty);
    }

    [Test]
    public async Task RefusesAnInterfaceNameThatIsTakenAndAMissingNamespace()
    {
        using FakeSubInterfaceWorld w = World();
        w.Container.AddLink("eth0", "veth", 1500);
        (await w.AddAsync(w.Config("1.0.0"))).Add.AssertError(999, "already exists in the container (CNI_IFNAME)");
        Assert.That(w.Ipam.Commands, Is.Empty);
        (await w.RunAsync("ADD", w.Config("1.0.0"), netns: "/run/netns/nope")).AssertError(5, "CNI_NETNS");
        (await w.RunAsync("DEL", w.Config("1.0.0"), netns: "/run/netns/nope")).AssertSuccess();
        (await w.RunAsync("DEL", w.Config("1.0.0"), netns: null)).AssertSuccess();
    }

    [Test]
    public async Task CheckNamesWhatDrifted()
    {
        using FakeSubInterfaceWorld w = World();
        (PluginOutput add, JsonObject withPrev) = await w.AddAsync(w.Config("1.0.0"));
        add.AssertSuccess();
        Link link = w.Container["eth0"]!;
        w.Container.Links[w.Container.Links.IndexOf(link)] = FakeSubInterfaceKernel.Copy(link, flags: link.Flags & ~LinkFlags.Up);
        (await w.RunAsync("CHECK", withPrev)).AssertError(999, "Interface eth0 is down");
        w.Container.Links.Remove(w.Container["eth0"]!);
        w.Container.AddLink("eth0", "veth", 1500);
        (await w.RunAsync("CHECK", withPrev)).AssertError(999, "not of type dummy (it is veth)");
        var noPrev = (JsonObject)withPrev.DeepClone();
        noPrev.Remove("prevResult");
        (await w.RunAsync("CHECK", noPrev)).AssertError(7, "prevResult");
    }
}
