using System.Text.Json.Nodes;
using Cni.Netlink;
using Cni.Plugins.Common;
using Cni.Plugins.TestSupport;
using Cni.Plugins.Vlan;

namespace Cni.Plugins.Vlan.Tests;

/// <summary>
/// The vlan plugin's decisions against an in-memory kernel (no root, no 8021q module): a successful ADD, CHECK and DEL,
/// the rollback of a failed ADD, CHECK's comparisons, and the names the link is created under.
/// </summary>
[TestFixture]
public class VlanFakeKernelTests
{
    private const string Conf = """{"master": "eth0", "vlanId": 42}""";

    private static FakeSubInterfaceWorld World()
    {
        var world = new FakeSubInterfaceWorld("vlan", (ipam, kernel) => new VlanPlugin(ipam, kernel));
        world.Kernel.Describe = (spec, link) => spec is VlanLinkSpec v ? FakeSubInterfaceKernel.Copy(link, vlanId: v.VlanId) : link;
        return world;
    }

    [Test]
    public async Task Add_check_and_del_create_verify_and_remove_the_vlan([ValueSource(typeof(SubInterfaceHarness), nameof(SubInterfaceHarness.Versions))] string version)
    {
        using FakeSubInterfaceWorld w = World();
        JsonObject conf = w.Config(version, """{"master": "eth0", "vlanId": 42, "mtu": 1400}""");

        (PluginOutput add, JsonObject withPrev) = await w.AddAsync(conf);

        add.AssertSuccess();
        Link link = w.Container["eth0"]!;
        Assert.Multiple(() =>
        {
            Assert.That(link.Kind, Is.EqualTo("vlan"));
            Assert.That(link.VlanId, Is.EqualTo(42));
            Assert.That(link.Mtu, Is.EqualTo(1400));
            Assert.That(link.ParentIndex, Is.EqualTo(w.Kernel.Host["eth0"]!.Index));
            Assert.That(link.IsUp, Is.True);
            Assert.That(w.Container.Addresses[link.Index].Select(a => a.ToString()), Is.EqualTo(new[] { "10.93.0.5/24" }));
            Assert.That(w.Kernel.Log, Does.Contain("create vlan eth0 in " + FakeSubInterfaceWorld.NetNs), "created under its final name");
            Assert.That(w.Kernel.Log.Any(l => l.StartsWith("rename", StringComparison.Ordinal)), Is.False, "no rename");
            Assert.That(w.Kernel.Host.Names, Is.EqualTo(new[] { "lo", "eth0" }), "nothing in the host");
            Assert.That(add.Json["ips"]![0]!["address"]!.GetValue<string>(), Is.EqualTo("10.93.0.5/24"));
        });
        if (version != "0.3.1")
        {
            Assert.That(add.Json["interfaces"]![0]!["sandbox"]!.GetValue<string>(), Is.EqualTo(FakeSubInterfaceWorld.NetNs));
            (await w.RunAsync("CHECK", withPrev)).AssertSuccess();
        }

        (await w.RunAsync("DEL", withPrev)).AssertSuccess();
        (await w.RunAsync("DEL", withPrev)).AssertSuccess();
        Assert.Multiple(() =>
        {
            Assert.That(w.Container.Names, Is.EqualTo(new[] { "lo" }));
            Assert.That(w.Ipam.Reserved, Is.Empty);
            Assert.That(w.Kernel.OpenHandles, Is.Zero, "every namespace handle closed");
        });
    }

    [TestCase("configure", TestName = "A failure configuring the addresses rolls back the link and the reservation")]
    [TestCase("create", TestName = "A failure creating the link releases the reservation")]
    public async Task A_failed_add_leaves_nothing(string failing)
    {
        using FakeSubInterfaceWorld w = World();
        w.Kernel.Failing.Add(failing);

        (PluginOutput add, _) = await w.AddAsync(w.Config("1.0.0", Conf));

        add.AssertError(999, failing == "create" ? "failed to create vlan" : "injected failure");
        Assert.Multiple(() =>
        {
            Assert.That(w.Container.Names, Is.EqualTo(new[] { "lo" }));
            Assert.That(w.Kernel.Host.Names, Is.EqualTo(new[] { "lo", "eth0" }));
            if (w.Ipam.Commands.Contains("ADD ctr1"))
                Assert.That(w.Ipam.Commands, Does.Contain("DEL ctr1"), "the reservation made alongside was released");
            Assert.That(w.Ipam.Reserved, Is.Empty);
            Assert.That(w.Kernel.OpenHandles, Is.Zero);
        });
    }

    [Test]
    public async Task A_kernel_without_8021q_is_named_in_the_error()
    {
        using FakeSubInterfaceWorld w = World();
        w.Kernel.MissingKinds.Add("vlan");

        (PluginOutput add, _) = await w.AddAsync(w.Config("1.1.0", Conf));

        add.AssertError(999, "this kernel does not support vlan links");
        Assert.That(w.Ipam.Reserved, Is.Empty);
    }

    [Test]
    public async Task An_ipam_failure_creates_nothing_or_removes_what_was_created()
    {
        using FakeSubInterfaceWorld w = World();
        w.Ipam.AddFailure = new Cni.Spec.CniException(Cni.Spec.CniErrorCode.InvalidNetworkConfig, "no addresses left");

        (PluginOutput add, _) = await w.AddAsync(w.Config("1.1.0", Conf));

        Assert.That(add.ExitCode, Is.EqualTo(1));
        Assert.That(add.Stdout, Does.Contain("no addresses left"));
        Assert.That(w.Container.Names, Is.EqualTo(new[] { "lo" }));
    }

    [TestCase("vlan-id", "has VLAN id 7, configured vlanId is 42")]
    [TestCase("kind", "not of type vlan")]
    [TestCase("mtu", "configured MTU of eth0 is 1500, current value is 1300")]
    [TestCase("gone", "eth0 not found")]
    [TestCase("address", "Failed to match addr 10.93.0.5/24")]
    public async Task Check_names_what_drifted(string drift, string fragment)
    {
        using FakeSubInterfaceWorld w = World();
        (PluginOutput add, JsonObject withPrev) = await w.AddAsync(w.Config("1.1.0", Conf));
        add.AssertSuccess();
        Link link = w.Container["eth0"]!;
        switch (drift)
        {
            case "vlan-id": w.Container.Links[w.Container.Links.IndexOf(link)] = FakeSubInterfaceKernel.Copy(link, vlanId: 7); break;
            case "kind": w.Container.Links[w.Container.Links.IndexOf(link)] = FakeSubInterfaceKernel.Copy(link, kind: "macvlan"); break;
            case "mtu": w.Container.Links[w.Container.Links.IndexOf(link)] = FakeSubInterfaceKernel.Copy(link, mtu: 1300); break;
            case "gone": w.Container.Links.Remove(link); break;
            case "address": w.Container.Addresses[link.Index].Clear(); break;
        }

        (await w.RunAsync("CHECK", withPrev)).AssertError(999, fragment);
    }

    [Test]
    public async Task Where_the_kernel_checks_the_name_in_the_host_the_link_is_created_under_a_name_del_knows_and_renamed()
    {
        using FakeSubInterfaceWorld w = World();
        w.Kernel.NamesCheckedInCreatingNamespace = true; // and the host's master is called eth0, like CNI_IFNAME
        string temporary = SubInterfaces.TemporaryName("ctr1", "eth0");

        (PluginOutput add, JsonObject withPrev) = await w.AddAsync(w.Config("1.1.0", Conf));

        add.AssertSuccess();
        Assert.Multiple(() =>
        {
            Assert.That(temporary, Does.Match("^cni[0-9a-f]{12}$"));
            Assert.That(w.Kernel.Log, Does.Contain($"create vlan {temporary} in {FakeSubInterfaceWorld.NetNs}"));
            Assert.That(w.Container.Names, Is.EqualTo(new[] { "lo", "eth0" }));
        });
        (await w.RunAsync("CHECK", withPrev)).AssertSuccess();
    }

    [Test]
    public async Task Del_removes_a_vlan_an_interrupted_add_left_under_the_temporary_name()
    {
        using FakeSubInterfaceWorld w = World();
        string temporary = SubInterfaces.TemporaryName("ctr1", "eth0");
        w.Container.AddLink(temporary, "vlan", 1500, parent: 2);
        w.Container.AddLink(SubInterfaces.TemporaryName("ctr1", "net1"), "vlan", 1500, parent: 2);

        (await w.RunAsync("DEL", w.Config("1.1.0", Conf))).AssertSuccess();

        Assert.That(w.Container.Names, Is.EqualTo(new[] { "lo", SubInterfaces.TemporaryName("ctr1", "net1") }), "only this container's eth0 leftover");
    }

    [Test]
    public async Task Del_leaves_a_link_of_another_kind_under_the_temporary_name()
    {
        using FakeSubInterfaceWorld w = World();
        string temporary = SubInterfaces.TemporaryName("ctr1", "eth0");
        w.Container.AddLink(temporary, "veth", 1500);

        (await w.RunAsync("DEL", w.Config("1.1.0", Conf))).AssertSuccess();

        Assert.That(w.Container.Names, Does.Contain(temporary));
    }

    [Test]
    public async Task A_retried_add_replaces_the_leftover_of_an_interrupted_one()
    {
        using FakeSubInterfaceWorld w = World();
        w.Kernel.NamesCheckedInCreatingNamespace = true;
        string temporary = SubInterfaces.TemporaryName("ctr1", "eth0");
        w.Container.AddLink(temporary, "vlan", 1500, parent: 2);

        (PluginOutput add, _) = await w.AddAsync(w.Config("1.1.0", Conf));

        add.AssertSuccess();
        Assert.That(w.Container.Names, Is.EqualTo(new[] { "lo", "eth0" }));
    }

    [Test]
    public async Task An_existing_interface_of_that_name_in_the_container_fails_before_ipam()
    {
        using FakeSubInterfaceWorld w = World();
        w.Container.AddLink("eth0", "veth", 1500);

        (PluginOutput add, _) = await w.AddAsync(w.Config("1.1.0", Conf));

        add.AssertError(999, "\"eth0\" already exists in the container");
        Assert.That(w.Ipam.Reserved, Is.Empty);
    }

    [TestCase(null, TestName = "DEL without CNI_NETNS releases the address")]
    [TestCase("/run/netns/gone", TestName = "DEL of a namespace that is gone releases the address")]
    public async Task Del_without_the_namespace_releases_the_address(string? netns)
    {
        using FakeSubInterfaceWorld w = World();

        (await w.RunAsync("DEL", w.Config("1.1.0", Conf), netns: netns)).AssertSuccess();

        Assert.That(w.Ipam.Commands, Is.EqualTo(new[] { "DEL ctr1" }));
    }

    [TestCase("""{"master": "nosuch0", "vlanId": 5}""", 7u, "failed to lookup master \"nosuch0\" (master)")]
    [TestCase("""{"master": "eth0", "vlanId": 4095}""", 7u, "(vlanId)")]
    [TestCase("""{"master": "eth0", "vlanId": 5, "mtu": 1501}""", 7u, "(mtu)")]
    [TestCase("""{"vlanId": 5}""", 7u, "\"master\" field is required")]
    [TestCase("""{"master": "eth0", "vlanId": 5, "ipam": null}""", 7u, "ipam")]
    public async Task Bad_configuration_changes_nothing(string json, uint code, string fragment)
    {
        using FakeSubInterfaceWorld w = World();

        (PluginOutput add, _) = await w.AddAsync(w.Config("1.1.0", json));

        add.AssertError(code, fragment);
        Assert.That(w.Kernel.Log, Is.Empty);
        Assert.That(w.Ipam.Commands, Is.Empty);
    }
}
