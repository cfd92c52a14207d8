using System.Net.Sockets;
using System.Text.Json.Nodes;
using Cni.Netlink;
using Cni.Plugins.Ipvlan;
using Cni.Plugins.TestSupport;

namespace Cni.Plugins.Ipvlan.Tests;

/// <summary>
/// The ipvlan plugin's decisions against an in-memory kernel (no root, no ipvlan module): a successful ADD, CHECK and
/// DEL with IPAM and chained without it, the rollback of a failed ADD, and CHECK's comparisons.
/// </summary>
[TestFixture]
public class IpvlanFakeKernelTests
{
    private static FakeSubInterfaceWorld World()
    {
        var world = new FakeSubInterfaceWorld("ipvlan", (ipam, kernel) => new IpvlanPlugin(ipam, kernel));
        world.Kernel.Describe = (spec, link) => spec is IpvlanLinkSpec v ? FakeSubInterfaceKernel.Copy(link, ipvlanMode: v.Mode) : link;
        // The host's default route goes out of eth0: the master when none is named.
        world.Kernel.Host.Routes.Add(new Route { Family = AddressFamily.InterNetwork, OutputLinkIndex = world.Kernel.Host["eth0"]!.Index });
        return world;
    }

    [Test]
    public async Task Add_check_and_del_on_the_default_route_interface([ValueSource(typeof(SubInterfaceHarness), nameof(SubInterfaceHarness.Versions))] string version,
        [Values("l2", "l3", "l3s")] string mode)
    {
        using FakeSubInterfaceWorld w = World();
        JsonObject conf = w.Config(version, $$"""{"mode": "{{mode}}"}""");

        (PluginOutput add, JsonObject withPrev) = await w.AddAsync(conf, ifName: "net1");

        add.AssertSuccess();
        Link link = w.Container["net1"]!;
        Link master = w.Kernel.Host["eth0"]!;
        Assert.Multiple(() =>
        {
            Assert.That(link.Kind, Is.EqualTo("ipvlan"));
            Assert.That(IpvlanPlugin.ModeName(link.IpvlanMode), Is.EqualTo(mode));
            Assert.That(link.ParentIndex, Is.EqualTo(master.Index));
            Assert.That(link.MacAddress, Is.EqualTo(master.MacAddress), "an ipvlan has its master's MAC");
            Assert.That(link.IsUp, Is.True);
            Assert.That(w.Kernel.Log, Does.Contain("create ipvlan net1 in " + FakeSubInterfaceWorld.NetNs));
        });
        if (version != "0.3.1")
            (await w.RunAsync("CHECK", withPrev, ifName: "net1")).AssertSuccess();

        (await w.RunAsync("DEL", withPrev, ifName: "net1")).AssertSuccess();
        Assert.Multiple(() =>
        {
            Assert.That(w.Container.Names, Is.EqualTo(new[] { "lo" }));
            Assert.That(w.Ipam.Reserved, Is.Empty);
            Assert.That(w.Kernel.OpenHandles, Is.Zero);
        });
    }

    [Test]
    public async Task Chained_without_ipam_it_takes_the_master_and_the_addresses_of_prevResult()
    {
        using FakeSubInterfaceWorld w = World();
        w.Kernel.Host.AddLink("uplink0", null, 9000);
        JsonObject conf = w.Config("1.0.0", """{"ipam": null}""");
        conf["prevResult"] = JsonNode.Parse("""
            {"cniVersion": "1.0.0", "interfaces": [{"name": "uplink0"}],
             "ips": [{"address": "192.0.2.7/24", "interface": 0}], "routes": [{"dst": "198.51.100.0/24", "gw": "192.0.2.1"}]}
            """);

        (PluginOutput add, JsonObject withPrev) = await w.AddAsync(conf);

        add.AssertSuccess();
        Link link = w.Container["eth0"]!;
        Assert.Multiple(() =>
        {
            Assert.That(link.ParentIndex, Is.EqualTo(w.Kernel.Host["uplink0"]!.Index));
            Assert.That(link.Mtu, Is.EqualTo(9000));
            Assert.That(w.Container.Addresses[link.Index].Select(a => a.ToString()), Is.EqualTo(new[] { "192.0.2.7/24" }));
            Assert.That(add.Json["routes"]![0]!["dst"]!.GetValue<string>(), Is.EqualTo("198.51.100.0/24"));
            Assert.That(w.Ipam.Commands, Is.Empty, "no IPAM plugin");
        });
        (await w.RunAsync("CHECK", withPrev)).AssertSuccess();
        (await w.RunAsync("DEL", withPrev)).AssertSuccess();
        Assert.That(w.Container.Names, Is.EqualTo(new[] { "lo" }));
    }

    [Test]
    public async Task A_failure_configuring_the_addresses_rolls_back_the_link_and_the_reservation()
    {
        using FakeSubInterfaceWorld w = World();
        w.Kernel.Failing.Add("configure");

        (PluginOutput add, _) = await w.AddAsync(w.Config("1.1.0"));

        add.AssertError(999, "injected failure");
        Assert.Multiple(() =>
        {
            Assert.That(w.Kernel.Log, Does.Contain("delete eth0 in " + FakeSubInterfaceWorld.NetNs));
            Assert.That(w.Container.Names, Is.EqualTo(new[] { "lo" }));
            Assert.That(w.Ipam.Reserved, Is.Empty);
        });
    }

    [Test]
    public async Task Check_names_a_mode_that_drifted()
    {
        using FakeSubInterfaceWorld w = World();
        (PluginOutput add, JsonObject withPrev) = await w.AddAsync(w.Config("1.1.0", """{"mode": "l3"}"""));
        add.AssertSuccess();
        Link link = w.Container["eth0"]!;
        w.Container.Links[w.Container.Links.IndexOf(link)] = FakeSubInterfaceKernel.Copy(link, ipvlanMode: IpvlanMode.L2);

        (await w.RunAsync("CHECK", withPrev)).AssertError(999, "Container IPVlan mode l2 does not match expected value: l3");
    }

    [Test]
    public async Task Check_of_a_named_master_that_is_gone_fails()
    {
        using FakeSubInterfaceWorld w = World();
        w.Kernel.Host.AddLink("uplink0", null, 1500);
        (PluginOutput add, JsonObject withPrev) = await w.AddAsync(w.Config("1.1.0", """{"master": "uplink0"}"""));
        add.AssertSuccess();
        w.Kernel.Host.Links.Remove(w.Kernel.Host["uplink0"]!);

        (await w.RunAsync("CHECK", withPrev)).AssertError(7, "failed to lookup master \"uplink0\"");
    }

    [Test]
    public async Task Without_a_default_route_the_error_says_to_set_master()
    {
        using FakeSubInterfaceWorld w = World();
        w.Kernel.Host.Routes.Clear();

        (PluginOutput add, _) = await w.AddAsync(w.Config("1.1.0"));

        add.AssertError(7, "no default route interface found");
        Assert.That(w.Kernel.Log, Is.Empty);
    }
}
