using System.Net.NetworkInformation;
using System.Text.Json.Nodes;
using Cni.Netlink;
using Cni.Plugins.Common;
using Cni.Plugins.Macvlan;
using Cni.Plugins.TestSupport;

namespace Cni.Plugins.Macvlan.Tests;

/// <summary>The macvlan plugin's decisions against an in-memory kernel (no root).</summary>
[TestFixture]
public class MacvlanFakeKernelTests
{
    private static FakeSubInterfaceWorld World()
    {
        var world = new FakeSubInterfaceWorld("macvlan", (ipam, kernel) => new MacvlanPlugin(ipam, kernel));
        world.Kernel.Describe = (spec, link) => spec is MacvlanLinkSpec m ? FakeSubInterfaceKernel.Copy(link, macvlanMode: m.Mode) : link;
        return world;
    }

    [Test]
    public async Task Add_sends_mode_mac_mtu_and_bcqueuelen_and_check_and_del_follow([ValueSource(typeof(SubInterfaceHarness), nameof(SubInterfaceHarness.CheckVersions))] string version)
    {
        using FakeSubInterfaceWorld w = World();
        MacvlanLinkSpec? sent = null;
        w.Kernel.Describe = (spec, link) =>
        {
            sent = (MacvlanLinkSpec)spec;
            return FakeSubInterfaceKernel.Copy(link, macvlanMode: sent.Mode);
        };
        JsonObject conf = w.Config(version, """{"master": "eth0", "mode": "vepa", "mtu": 1450, "bcqueuelen": 2000}""");

        (PluginOutput add, JsonObject withPrev) = await w.AddAsync(conf, args: "IgnoreUnknown=1;MAC=02:11:22:33:44:55");

        add.AssertSuccess();
        Assert.Multiple(() =>
        {
            Assert.That(sent, Is.EqualTo(new MacvlanLinkSpec(w.Kernel.Host["eth0"]!.Index, MacvlanMode.Vepa)
            {
                Mtu = 1450, Mac = PhysicalAddress.Parse("02-11-22-33-44-55"), BroadcastQueueLength = 2000,
            }));
            Assert.That(add.Json["interfaces"]![0]!["mac"]!.GetValue<string>(), Is.EqualTo("02:11:22:33:44:55"));
            Assert.That(w.Kernel.Log[0], Is.EqualTo("create macvlan eth0 in " + FakeSubInterfaceWorld.NetNs));
        });
        (await w.RunAsync("CHECK", withPrev, args: "IgnoreUnknown=1;MAC=02:11:22:33:44:55")).AssertSuccess();

        Link link = w.Container["eth0"]!;
        w.Container.Links[w.Container.Links.IndexOf(link)] = FakeSubInterfaceKernel.Copy(link, macvlanMode: MacvlanMode.Bridge);
        (await w.RunAsync("CHECK", withPrev, args: "IgnoreUnknown=1;MAC=02:11:22:33:44:55")).AssertError(999, "container macvlan mode bridge does not match expected value: vepa");

        (await w.RunAsync("DEL", withPrev)).AssertSuccess();
        Assert.That(w.Container.Names, Is.EqualTo(new[] { "lo" }));
    }

    [Test]
    public async Task Without_ipam_the_link_is_just_set_up()
    {
        using FakeSubInterfaceWorld w = World();

        (PluginOutput add, _) = await w.AddAsync(w.Config("1.1.0", """{"master": "eth0", "ipam": null}"""));

        add.AssertSuccess();
        Assert.Multiple(() =>
        {
            Assert.That(w.Container["eth0"]!.IsUp, Is.True);
            Assert.That(add.Json["ips"], Is.Null);
            Assert.That(w.Kernel.Log.Any(l => l.StartsWith("configure", StringComparison.Ordinal)), Is.False);
        });
    }

    [Test]
    public async Task A_failure_setting_the_link_up_deletes_it()
    {
        using FakeSubInterfaceWorld w = World();
        w.Kernel.Failing.Add("setup");

        (PluginOutput add, _) = await w.AddAsync(w.Config("1.1.0", """{"master": "eth0", "ipam": null}"""));

        add.AssertError(999, "failed to set \"eth0\" up");
        Assert.That(w.Container.Names, Is.EqualTo(new[] { "lo" }));
    }

    [Test]
    public async Task Master_in_the_container_creates_the_link_there()
    {
        using FakeSubInterfaceWorld w = World();
        w.Container.AddLink("uplink0", null, 1500);

        (PluginOutput add, JsonObject withPrev) = await w.AddAsync(w.Config("1.1.0", """{"master": "uplink0", "linkInContainer": true}"""), ifName: "net1");

        add.AssertSuccess();
        Assert.Multiple(() =>
        {
            Assert.That(w.Container["net1"]!.ParentIndex, Is.EqualTo(w.Container["uplink0"]!.Index));
            Assert.That(w.Kernel.Host.Names, Is.EqualTo(new[] { "lo", "eth0" }));
        });
        (await w.RunAsync("DEL", withPrev, ifName: "net1")).AssertSuccess();
        Assert.That(w.Container.Names, Is.EqualTo(new[] { "lo", "uplink0" }));
    }

    [Test]
    public void The_temporary_name_is_derived_from_the_container_and_the_interface()
    {
        Assert.Multiple(() =>
        {
            Assert.That(SubInterfaces.TemporaryName("ctr1", "eth0"), Is.EqualTo("cni" + ManagedSha512.HexOf("ctr1\0eth0")[..12]));
            Assert.That(SubInterfaces.TemporaryName("ctr1", "eth0"), Is.Not.EqualTo(SubInterfaces.TemporaryName("ctr2", "eth0")));
            Assert.That(SubInterfaces.TemporaryName("ctr1", "eth0"), Is.Not.EqualTo(SubInterfaces.TemporaryName("ctr1", "eth1")));
            Assert.That(SubInterfaces.TemporaryName("ctr1", "eth0"), Has.Length.EqualTo(15));
        });
    }
}
