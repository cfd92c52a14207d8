using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Cni.Netlink;
using Cni.Plugins.Common;
using Cni.Plugins.TestSupport;
using Cni.Spec;

namespace Cni.Plugins.Ptp.Tests;

/// <summary>Configuration validation and the pure parts of ADD: no kernel, no root.</summary>
public class PtpConfigTests
{
    private static CniRequest Request(string json, CniCommand command = CniCommand.Add)
    {
        byte[] raw = Encoding.UTF8.GetBytes(json);
        return new CniRequest
        {
            Command = command,
            Config = NetConf.Parse(raw),
            RawConfig = raw,
            Environment = new InMemoryCniEnvironment([]),
        };
    }

    private static string Conf(string extra, string ipam = ""","ipam":{"type":"host-local","subnet":"10.1.0.0/24"}""") =>
        $$"""{"cniVersion":"1.0.0","name":"n","type":"ptp"{{ipam}}{{extra}}}""";

    [Test]
    public void DefaultsAreTheReferences()
    {
        PtpSettings s = PtpSettings.Load(Request(Conf("")));
        Assert.That(s.Network, Is.EqualTo("n"));
        Assert.That(s.Options.IpMasq, Is.False);
        Assert.That(s.Mtu, Is.Null);
        Assert.That(s.MasqBackend, Is.Null, "no backend is resolved without ipMasq");
    }

    [Test]
    public void KeysAreReadCaseInsensitivelyAsGoDoes()
    {
        PtpSettings s = PtpSettings.Load(Request(Conf(""","IPMASQ":true,"MTU":1400,"ipmasqbackend":"iptables" """)));
        Assert.That(s.Options.IpMasq, Is.True);
        Assert.That(s.Mtu, Is.EqualTo(1400));
        Assert.That(s.MasqBackend, Is.EqualTo(MasqueradeBackend.Iptables));
        Assert.That(PtpSettings.Load(Request(Conf(""","ipMasq":true,"ipMasqBackend":"nftables" """))).MasqBackend, Is.EqualTo(MasqueradeBackend.Nftables));
    }

    // Every bad key through the whole plugin host: a CNI error naming the key, before the namespace is opened (the
    // path does not exist) or IPAM runs (its data directory stays empty).
    [TestCase(""","mtu": -1""", 7u, "(mtu)", TestName = "MtuNegative")]
    [TestCase(""","mtu": 67""", 7u, "invalid MTU 67 (mtu)", TestName = "MtuTooSmall")]
    [TestCase(""","mtu": 65536""", 7u, "(mtu)", TestName = "MtuTooLarge")]
    [TestCase(""","mtu": 1.5""", 6u, "mtu", TestName = "MtuNotAnInteger")]
    [TestCase(""","mtu": "1400" """, 6u, "mtu", TestName = "MtuNotANumber")]
    [TestCase(""","ipMasq": "yes" """, 6u, "ipMasq", TestName = "IpMasqNotABoolean")]
    [TestCase(""","ipMasq": true, "ipMasqBackend": "pf" """, 7u, "(ipMasqBackend)", TestName = "UnknownMasqBackend")]
    [TestCase(""","ipMasqBackend": "ebtables" """, 7u, "(ipMasqBackend)", TestName = "UnknownMasqBackendWithoutIpMasq")]
    [TestCase(""","ipam": {}""", 7u, "(ipam.type)", TestName = "IpamWithoutType")]
    [TestCase(""","ipam": null""", 7u, "(ipam.type)", TestName = "IpamNull")]
    [TestCase(""","cniVersion": "0.5.0" """, 1u, "0.5.0", TestName = "UnsupportedVersion")]
    [TestCase(""","cni.dev/valid-attachments": [{"containerID": "c"}]""", 7u, "cni.dev/valid-attachments", TestName = "ValidAttachmentWithoutIfName")]
    public async Task InvalidConfigurationFailsBeforeAnyChange(string extra, uint code, string fragment)
    {
        foreach (string version in PtpHarness.Versions)
        {
            using var h = new PtpHarness(Mode.InProcess);
            JsonObject conf = h.Config(version);
            foreach ((string key, JsonNode? value) in JsonNode.Parse("{" + extra.TrimStart(',') + "}")!.AsObject())
                conf[key] = value?.DeepClone();
            var vars = h.Variables("ADD", "/var/run/netns/cni-ptp-test-never-created", "pod1", "eth0");
            PluginOutput output = await PluginRunner.RunInProcessAsync(new PtpPlugin(), vars, conf.ToJsonString());
            output.AssertError(code, fragment);
            Assert.That(h.Reservations(), Is.Empty, "nothing reserved");
        }
    }

    [Test]
    public async Task DelWithoutIpamIsAnErrorNamingTheKeyButAMissingNamespaceIsNot()
    {
        using var h = new PtpHarness(Mode.InProcess);
        JsonObject conf = h.Config("1.0.0");
        conf.Remove("ipam");
        var vars = h.Variables("DEL", null, "pod1", "eth0");
        (await PluginRunner.RunInProcessAsync(new PtpPlugin(), vars, conf.ToJsonString())).AssertError(7, "(ipam.type)");
    }

    [Test]
    public void ResultPutsEveryAddressOnTheContainerEndAndNeedsAGatewayPerAddress()
    {
        CniRequest request = Request(Conf(""));
        var ipam = new CniResult
        {
            Ips =
            [
                new CniIPConfig { Address = IPPrefix.Parse("10.1.0.5/24"), Gateway = IPAddress.Parse("10.1.0.1") },
                new CniIPConfig { Address = IPPrefix.Parse("fd00::5/64"), Gateway = IPAddress.Parse("fd00::1") },
            ],
        };
        CniResult r = PtpPlugin.ResultFromIpam(ipam, request, "/var/run/netns/x", "veth01234567");
        Assert.That(r.Interfaces.Select(i => (i.Name, i.Sandbox)), Is.EqualTo(new[] { ("veth01234567", (string?)null), ("", "/var/run/netns/x") }));
        Assert.That(r.Ips.Select(i => i.Interface), Is.All.EqualTo(1));

        var noGateway = new CniResult { Ips = [new CniIPConfig { Address = IPPrefix.Parse("10.1.0.5/24") }] };
        var ex = Assert.Throws<CniException>(() => PtpPlugin.ResultFromIpam(noGateway, request, "/x", "v"));
        Assert.That(ex!.Message, Does.Contain("no gateway for 10.1.0.5/24"));
        var wrongFamily = new CniResult { Ips = [new CniIPConfig { Address = IPPrefix.Parse("10.1.0.5/24"), Gateway = IPAddress.Parse("fd00::1") }] };
        Assert.That(Assert.Throws<CniException>(() => PtpPlugin.ResultFromIpam(wrongFamily, request, "/x", "v"))!.Message, Does.Contain("family"));
        var self = new CniResult { Ips = [new CniIPConfig { Address = IPPrefix.Parse("10.1.0.5/24"), Gateway = IPAddress.Parse("10.1.0.5") }] };
        Assert.That(Assert.Throws<CniException>(() => PtpPlugin.ResultFromIpam(self, request, "/x", "v"))!.Message, Does.Contain("own address"));
    }

    [Test]
    public void ContainerRoutesAreTheReferencesLayout()
    {
        var ip = new CniIPConfig { Address = IPPrefix.Parse("10.1.0.5/24"), Gateway = IPAddress.Parse("10.1.0.1") };
        Route[] routes = PtpPlugin.ContainerRoutes(ip, 7);
        // 10.1.0.1 dev IF scope link src 10.1.0.5
        Assert.That(routes[0].Destination, Is.EqualTo(IPAddress.Parse("10.1.0.1")));
        Assert.That(routes[0].PrefixLength, Is.EqualTo(32));
        Assert.That(routes[0].Gateway, Is.Null);
        Assert.That(routes[0].Scope, Is.EqualTo(RouteScope.Link));
        Assert.That(routes[0].PreferredSource, Is.EqualTo(IPAddress.Parse("10.1.0.5")));
        Assert.That(routes[0].OutputLinkIndex, Is.EqualTo(7));
        // 10.1.0.0/24 via 10.1.0.1 dev IF src 10.1.0.5
        Assert.That(routes[1].Destination, Is.EqualTo(IPAddress.Parse("10.1.0.0")));
        Assert.That(routes[1].PrefixLength, Is.EqualTo(24));
        Assert.That(routes[1].Gateway, Is.EqualTo(IPAddress.Parse("10.1.0.1")));
        Assert.That(routes[1].Scope, Is.EqualTo(RouteScope.Universe));
        Assert.That(routes[1].PreferredSource, Is.EqualTo(IPAddress.Parse("10.1.0.5")));

        var v6 = new CniIPConfig { Address = IPPrefix.Parse("fd00:1::5/64"), Gateway = IPAddress.Parse("fd00:1::1") };
        Route[] routes6 = PtpPlugin.ContainerRoutes(v6, 7);
        Assert.That(routes6[0].PrefixLength, Is.EqualTo(128));
        Assert.That(routes6[0].Family, Is.EqualTo(AddressFamily.InterNetworkV6));
        Assert.That(routes6[1].Destination, Is.EqualTo(IPAddress.Parse("fd00:1::")));
        Assert.That(routes6[1].PrefixLength, Is.EqualTo(64));
    }

    [Test]
    public void HostRouteIsAHostScopedRouteToTheContainerAddress()
    {
        Route r = PtpPlugin.HostRoute(new CniIPConfig { Address = IPPrefix.Parse("10.1.0.5/24"), Gateway = IPAddress.Parse("10.1.0.1") }, 3);
        Assert.That((r.Destination, r.PrefixLength, r.Gateway, r.Scope, r.OutputLinkIndex), Is.EqualTo((IPAddress.Parse("10.1.0.5"), 32, (IPAddress?)null, (RouteScope?)RouteScope.Host, (int?)3)));
        Route r6 = PtpPlugin.HostRoute(new CniIPConfig { Address = IPPrefix.Parse("fd00::5/64"), Gateway = IPAddress.Parse("fd00::1") }, 3);
        Assert.That(r6.PrefixLength, Is.EqualTo(128));
    }

    [Test]
    public void HostVethNameIsStableAndDiffersPerAttachment()
    {
        string a = HostVeth.Name("net", "c1", "eth0");
        Assert.That(a, Does.Match("^veth[0-9a-f]{11}$"));
        Assert.That(HostVeth.Name("net", "c1", "eth0"), Is.EqualTo(a));
        Assert.That(HostVeth.Name("net", "c1", "eth1"), Is.Not.EqualTo(a));
        Assert.That(HostVeth.Name("net2", "c1", "eth0"), Is.Not.EqualTo(a));
    }
}
