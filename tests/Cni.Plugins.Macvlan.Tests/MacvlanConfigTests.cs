using System.Text.Json.Nodes;
using Cni.Netlink;
using Cni.Plugins.Macvlan;
using Cni.Plugins.TestSupport;
using Cni.Spec;
using Cni.TestSupport;

namespace Cni.Plugins.Macvlan.Tests;

/// <summary>
/// Configuration handling against an in-memory kernel (no root): every bad value is a CNI error naming the key, raised
/// before any change.
/// </summary>
[TestFixture]
public class MacvlanConfigTests
{
    private static FakeSubInterfaceWorld World() => new("macvlan", (ipam, kernel) => new MacvlanPlugin(ipam, kernel));

    [TestCase("""{"mode": "bridged"}""", null, 7u, "unknown macvlan mode: \"bridged\" (mode)", TestName = "UnknownMode")]
    [TestCase("""{"mode": 4}""", null, 6u, "mode", TestName = "ModeNotAString")]
    [TestCase("""{"mac": "02:00:00:00:00"}""", null, 7u, "(mac)", TestName = "MacTooShort")]
    [TestCase("""{"mac": "zz:00:00:00:00:01"}""", null, 7u, "(mac)", TestName = "MacNotHex")]
    [TestCase("{}", "IgnoreUnknown=1;MAC=nonsense", 7u, "CNI_ARGS MAC", TestName = "CniArgsMacInvalid")]
    [TestCase("""{"mac": "01:00:5e:00:00:01"}""", null, 7u, "multicast", TestName = "MacMulticast")]
    [TestCase("{}", "IgnoreUnknown=1;MAC=ff:ff:ff:ff:ff:ff", 7u, "(CNI_ARGS MAC): a multicast", TestName = "CniArgsMacMulticast")]
    [TestCase("""{"runtimeConfig": {"mac": "1:2:3"}}""", null, 7u, "runtimeConfig.mac", TestName = "RuntimeConfigMacInvalid")]
    [TestCase("{}", "FOO=bar", 4u, "FOO", TestName = "UnknownCniArgsKey")]
    [TestCase("""{"bcqueuelen": -1}""", null, 7u, "bcqueuelen", TestName = "BcQueueLenNegative")]
    [TestCase("""{"bcqueuelen": 4294967296}""", null, 7u, "invalid broadcast queue length 4294967296, must be [0, 4294967295] (bcqueuelen)", TestName = "BcQueueLenAboveU32")]
    [TestCase("""{"bcqueuelen": 1.5}""", null, 6u, "bcqueuelen", TestName = "BcQueueLenNotAnInteger")]
    [TestCase("""{"bcqueuelen": "1000"}""", null, 6u, "bcqueuelen", TestName = "BcQueueLenNotANumber")]
    [TestCase("""{"mtu": 9000}""", null, 7u, "must be [0, master MTU(1500)] (mtu)", TestName = "MtuAboveMaster")]
    [TestCase("""{"mtu": 1.5}""", null, 6u, "mtu", TestName = "MtuNotAnInteger")]
    [TestCase("""{"master": "bad name"}""", null, 7u, "invalid master name", TestName = "MasterNameInvalid")]
    [TestCase("""{"master": "nosuchdev0"}""", null, 7u, "failed to lookup master \"nosuchdev0\" (master)", TestName = "MasterMissing")]
    [TestCase("""{"cniVersion": "0.5.0"}""", null, 1u, "0.5.0", TestName = "UnsupportedVersion")]
    [TestCase("""{"ipam": {"type": "no-such-ipam"}}""", null, 0u, "no-such-ipam", TestName = "IpamPluginMissing")]
    public async Task InvalidConfigurationFailsBeforeAnyChange(string json, string? args, uint code, string fragment)
    {
        foreach (string version in SubInterfaceHarness.Versions)
        {
            using FakeSubInterfaceWorld w = World();
            JsonObject conf = w.Config(version, """{"master": "eth0"}""");
            foreach ((string key, JsonNode? value) in JsonNode.Parse(json)!.AsObject())
                conf[key] = value?.DeepClone();
            PluginOutput output = await w.RunAsync("ADD", conf, args: args);
            if (code == 0)
            {
                Assert.That(output.ExitCode, Is.EqualTo(1));
                Assert.That(output.Json["msg"]!.GetValue<string>() + output.Json["details"], Does.Contain(fragment));
            }
            else
            {
                output.AssertError(code, fragment);
            }
            if (code != 0) // a missing IPAM plugin is found missing only when IPAM runs, alongside the link creation
                Assert.That(w.Kernel.Log, Is.Empty, "nothing created");
            Assert.That(w.Container.Names, Is.EqualTo(new[] { "lo" }));
            Assert.That(w.Ipam.Reserved, Is.Empty, "nothing reserved");
        }
    }

    [Test]
    public void ModesRoundTrip()
    {
        foreach (string mode in new[] { "bridge", "private", "vepa", "passthru" })
            Assert.That(MacvlanPlugin.ModeName(MacvlanPlugin.ParseMode(mode)), Is.EqualTo(mode));
        Assert.That(MacvlanPlugin.ParseMode(""), Is.EqualTo(MacvlanMode.Bridge));
        Assert.That(MacvlanPlugin.ParseMode(null), Is.EqualTo(MacvlanMode.Bridge));
        Assert.That(() => MacvlanPlugin.ParseMode("Bridge"), Throws.TypeOf<CniException>().With.Property(nameof(CniException.Code)).EqualTo(CniErrorCode.InvalidNetworkConfig));
    }

    [Test]
    public void DefaultRouteInterfaceIsFoundInTheFakeHost()
    {
        var kernel = new FakeSubInterfaceKernel();
        using (Cni.Plugins.Common.ISubInterfaceNamespace host = kernel.OpenHost())
            Assert.That(() => Cni.Plugins.Common.SubInterfaces.DefaultRouteInterface(host), Throws.TypeOf<CniException>().With.Message.Contains("master"));
        Link v4 = kernel.Host.AddLink("up4", null, 1500), v6 = kernel.Host.AddLink("up6", null, 1500);
        kernel.Host.Routes.Add(new Route { Family = System.Net.Sockets.AddressFamily.InterNetworkV6, OutputLinkIndex = v6.Index });
        using (Cni.Plugins.Common.ISubInterfaceNamespace host = kernel.OpenHost())
            Assert.That(Cni.Plugins.Common.SubInterfaces.DefaultRouteInterface(host), Is.EqualTo("up6"));
        kernel.Host.Routes.Add(new Route { Family = System.Net.Sockets.AddressFamily.InterNetwork, OutputLinkIndex = v4.Index });
        using (Cni.Plugins.Common.ISubInterfaceNamespace host = kernel.OpenHost())
            Assert.That(Cni.Plugins.Common.SubInterfaces.DefaultRouteInterface(host), Is.EqualTo("up4"), "IPv4 first");
    }
}

/// <summary>The default-route lookup over rtnetlink, in a namespace of the test's own.</summary>
[TestFixture]
[Category(Category.Kernel)]
[NonParallelizable]
public class MacvlanDefaultRouteKernelTests
{
    [SetUp]
    public void RequireRoot() => TestEnvironment.RequireRoot();

    [Test]
    public void DefaultRouteInterfaceIsFoundInTheGivenNamespace()
    {
        using var h = new SubInterfaceHarness("macvlan", () => new MacvlanPlugin(), Mode.InProcess);
        string ns = h.CreateNamespace();
        string v4 = SubInterfaceHarness.Dummy(ns), v6 = SubInterfaceHarness.Dummy(ns);
        using NetNs handle = NetNs.Open(SubInterfaceHarness.NsPath(ns));
        using RtNetlink nl = RtNetlink.Open(handle);
        Assert.That(() => Cni.Plugins.Common.SubInterfaces.DefaultRouteInterface(nl), Throws.TypeOf<CniException>().With.Message.Contains("master"));

        Shell.Run("ip", "-n", ns, "-6", "addr", "add", "fd00:97::1/64", "dev", v6, "nodad");
        Shell.Run("ip", "-n", ns, "-6", "route", "add", "default", "via", "fd00:97::fe", "dev", v6);
        Assert.That(Cni.Plugins.Common.SubInterfaces.DefaultRouteInterface(nl), Is.EqualTo(v6));

        Shell.Run("ip", "-n", ns, "addr", "add", "192.168.97.1/24", "dev", v4);
        Shell.Run("ip", "-n", ns, "route", "add", "default", "via", "192.168.97.254", "dev", v4);
        Assert.That(Cni.Plugins.Common.SubInterfaces.DefaultRouteInterface(nl), Is.EqualTo(v4), "IPv4 first");
    }
}
