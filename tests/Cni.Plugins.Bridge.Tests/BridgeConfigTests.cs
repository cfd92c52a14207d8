using System.Text;
using Cni.Spec;

namespace Cni.Plugins.Bridge.Tests;

/// <summary>Configuration validation and the pure parts of ADD: no kernel needed.</summary>
public class BridgeConfigTests
{
    private static CniRequest Request(string json, string? cniArgs = null)
    {
        byte[] raw = Encoding.UTF8.GetBytes(json);
        return new CniRequest
        {
            Command = CniCommand.Add,
            Config = NetConf.Parse(raw),
            RawConfig = raw,
            Args = CniArgs.Parse(cniArgs),
            Environment = new InMemoryCniEnvironment([]),
        };
    }

    private static string Conf(string extra) => $$"""{"cniVersion":"1.0.0","name":"n","type":"bridge"{{extra}}}""";

    [Test]
    public void DefaultsAreTheReferences()
    {
        BridgeSettings s = BridgeSettings.Load(Request(Conf("")));
        Assert.That(s.BridgeName, Is.EqualTo("cni0"));
        Assert.That(s.IsLayer3, Is.False);
        Assert.That(s.IsGateway, Is.False);
        Assert.That(s.PreserveDefaultVlan, Is.False);
        Assert.That(BridgeSettings.Load(Request(Conf(",\"preserveDefaultVlan\": true"))).PreserveDefaultVlan, Is.True);
        Assert.That(s.VlanFiltering, Is.False);
        Assert.That(s.MasqBackend, Is.Null);
    }

    [Test]
    public void IsDefaultGatewayImpliesIsGatewayAndKeysAreCaseInsensitive()
    {
        BridgeSettings s = BridgeSettings.Load(Request(Conf(""","isdefaultgateway":true,"Bridge":"br9","ipam":{"type":"host-local"}""")));
        Assert.That(s.IsGateway, Is.True);
        Assert.That(s.BridgeName, Is.EqualTo("br9"));
        Assert.That(s.IsLayer3, Is.True);
    }

    [TestCase(""","vlan":4095""", "invalid VLAN ID 4095")]
    [TestCase(""","vlan":-1""", "invalid VLAN ID -1")]
    [TestCase(""","hairpinMode":true,"promiscMode":true""", "hairpin mode and promiscuous mode")]
    [TestCase(""","vlan":5,"vlanTrunk":[{"id":6}]""", "cannot set vlan and vlanTrunk")]
    [TestCase(""","vlanTrunk":[{"minID":10}]""", "maxID is missing")]
    [TestCase(""","vlanTrunk":[{"maxID":10}]""", "minID is missing")]
    [TestCase(""","vlanTrunk":[{"minID":10,"maxID":5}]""", "minID is greater than maxID")]
    [TestCase(""","vlanTrunk":[{"id":0}]""", "incorrect trunk id")]
    [TestCase(""","vlanTrunk":[{"minID":0,"maxID":5}]""", "incorrect trunk minID")]
    [TestCase(""","bridge":"a/b" """, "invalid bridge name")]
    [TestCase(""","bridge":"averyveryverylongbridge" """, "invalid bridge name")]
    [TestCase(""","mtu":20""", "invalid MTU 20")]
    [TestCase(""","ipMasq":true,"ipMasqBackend":"pf" """, "ipMasqBackend")]
    [TestCase(""","disableContainerInterface":true,"ipam":{"type":"host-local"}""", "disableContainerInterface")]
    [TestCase(""","runtimeConfig":{"mac":"nope"}""", "runtimeConfig.mac")]
    [TestCase(""","runtimeConfig":{"mac":"01:00:5e:00:00:01"}""", "(runtimeConfig.mac): a multicast")]
    public void InvalidConfigurationIsRefusedBeforeAnyKernelChange(string extra, string message)
    {
        CniException? ex = Assert.Throws<CniException>(() => BridgeSettings.Load(Request(Conf(extra))));
        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.InvalidNetworkConfig));
        Assert.That(ex.Message, Does.Contain(message));
    }

    [Test]
    public void DelIgnoresABadMac()
    {
        // Runtimes send DEL after a failed ADD with the same arguments: the MAC that failed ADD must not fail DEL.
        byte[] raw = Encoding.UTF8.GetBytes(Conf(""","runtimeConfig":{"mac":"01:00:5e:00:00:01"}"""));
        var del = new CniRequest { Command = CniCommand.Del, Config = NetConf.Parse(raw), RawConfig = raw, Args = CniArgs.Parse("MAC=nonsense"), Environment = new InMemoryCniEnvironment([]) };
        Assert.That(BridgeSettings.Load(del).Mac, Is.Null);
    }

    [Test]
    public void WrongTypesAreDecodingFailures()
    {
        CniException? ex = Assert.Throws<CniException>(() => BridgeSettings.Load(Request(Conf(""","isGateway":"yes" """))));
        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.DecodingFailure));
        Assert.That(ex.Message, Does.Contain("isGateway"));
    }

    [Test]
    public void TrunkIsSortedAndDistinct()
    {
        BridgeSettings s = BridgeSettings.Load(Request(Conf(""","vlanTrunk":[{"id":30},{"minID":10,"maxID":12},{"id":11}]""")));
        Assert.That(s.TrunkVlans, Is.EqualTo(new[] { 10, 11, 12, 30 }));
        Assert.That(s.VlanFiltering, Is.True);
    }

    [Test]
    public void GatewaysAreComputedAndDefaultRoutesAdded()
    {
        BridgeSettings s = BridgeSettings.Load(Request(Conf(""","isDefaultGateway":true,"ipam":{"type":"x"}""")));
        var result = new CniResult
        {
            Ips =
            [
                new CniIPConfig { Address = IPPrefix.Parse("10.1.2.7/24") },
                new CniIPConfig { Address = IPPrefix.Parse("fd00:1::7/64"), Gateway = System.Net.IPAddress.Parse("fd00:1::fe") },
            ],
        };
        List<IPPrefix> gateways = BridgePlugin.CalculateGateways(result, s);
        Assert.That(gateways.Select(g => g.ToString()), Is.EqualTo(new[] { "10.1.2.1/24", "fd00:1::fe/64" }));
        Assert.That(result.Ips.All(ip => ip.Interface == 2), Is.True);
        Assert.That(result.Ips[0].Gateway!.ToString(), Is.EqualTo("10.1.2.1"));
        Assert.That(result.Routes.Select(r => $"{r.Dst} via {r.Gw}"), Is.EqualTo(new[] { "0.0.0.0/0 via 10.1.2.1", "::/0 via fd00:1::fe" }));
    }

    [Test]
    public void AnExistingDefaultRouteWithAGatewayIsKept()
    {
        BridgeSettings s = BridgeSettings.Load(Request(Conf(""","isDefaultGateway":true,"ipam":{"type":"x"}""")));
        var result = new CniResult
        {
            Ips = [new CniIPConfig { Address = IPPrefix.Parse("10.1.2.7/24") }],
            Routes = [new CniRoute { Dst = IPPrefix.Parse("0.0.0.0/0"), Gw = System.Net.IPAddress.Parse("10.1.2.254") }],
        };
        BridgePlugin.CalculateGateways(result, s);
        Assert.That(result.Routes, Has.Count.EqualTo(1));
    }

    [Test]
    public void HostVethNamesAreStableShortAndDistinct()
    {
        string a = BridgePlugin.HostVethName("net", "c1", "eth0");
        Assert.That(a, Is.EqualTo(BridgePlugin.HostVethName("net", "c1", "eth0")));
        Assert.That(a, Does.Match("^veth[0-9a-f]{11}$"), "the whole 15 characters a name may have");
        Assert.That(a, Is.Not.EqualTo(BridgePlugin.HostVethName("net", "c1", "eth1")));
        Assert.That(a, Is.Not.EqualTo(BridgePlugin.HostVethName("net", "c2", "eth0")));
    }

    [Test]
    public void NextAddressCarries()
    {
        Assert.That(BridgePlugin.NextAddress(System.Net.IPAddress.Parse("10.1.2.255")).ToString(), Is.EqualTo("10.1.3.0"));
        Assert.That(BridgePlugin.NextAddress(System.Net.IPAddress.Parse("fd00::")).ToString(), Is.EqualTo("fd00::1"));
    }
}
