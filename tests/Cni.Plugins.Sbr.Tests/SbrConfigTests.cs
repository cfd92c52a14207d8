using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Cni.Netlink;
using Cni.Plugins.TestSupport;
using Cni.Spec;

namespace Cni.Plugins.Sbr.Tests;

/// <summary>Configuration, address selection and table choice: no root, no namespace (every failure here happens
/// before the plugin opens the namespace, which is why a bogus CNI_NETNS is enough).</summary>
public class SbrConfigTests
{
    private const string NoSuchNs = "/var/run/netns/sbr-test-does-not-exist";

    private static CniResult Prev => SbrHarness.Result(93, "vh0", NoSuchNs);

    private static async Task<PluginOutput> Add(string json, CniResult? prev = null, string version = "1.0.0")
    {
        using var h = new SbrHarness();
        JsonObject conf = h.SbrConf(version, json);
        if (prev is not null)
            conf = SbrHarness.WithPrev(conf, prev);
        return await h.RunAsync("ADD", conf, NoSuchNs, "c1", "eth0");
    }

    [TestCase("""{"table": 0}""", "invalid table 0 (table)")]
    [TestCase("""{"table": -5}""", "invalid table -5 (table)")]
    [TestCase("""{"table": 4294967296}""", "invalid table 4294967296 (table)")]
    [TestCase("""{"gateways": ["10.0.0.1", "fd00::1", "10.0.0.2"]}""", "more than 2 entries")]
    [TestCase("""{"gateways": ["10.0.0.1", "10.0.0.2"]}""", "multiple IPv4 addresses: 10.0.0.1 and 10.0.0.2 (gateways[1])")]
    [TestCase("""{"gateways": ["fd00::1", "fd00::2"]}""", "multiple IPv6 addresses")]
    [TestCase("""{"gateways": ["not-an-ip"]}""", "invalid static gateway IP address: \"not-an-ip\" (gateways[0])")]
    [TestCase("""{"gateways": ["10.0.0"]}""", "(gateways[0])")]
    [TestCase("""{"gateways": ["010.0.0.1"]}""", "(gateways[0])")]
    [TestCase("""{"gateways": ["1"]}""", "(gateways[0])")]
    [TestCase("""{"gateways": ["fe80::1%eth0"]}""", "(gateways[0])")]
    [TestCase("""{"gateways": [null]}""", "(gateways[0])")]
    public async Task BadValuesAreRefusedNamingTheField(string json, string fragment) =>
        (await Add(json, Prev)).AssertError(7, fragment);

    [TestCase("""{"table": "100"}""", "table")]
    [TestCase("""{"table": 100.5}""", "table")]
    [TestCase("""{"gateways": "10.0.0.1"}""", "gateways")]
    [TestCase("""{"addSourceHints": "yes"}""", "addSourceHints")]
    public async Task WrongTypesAreDecodingErrors(string json, string fragment) =>
        (await Add(json, Prev)).AssertError(6, fragment);

    [Test]
    public async Task WithoutPrevResultItRefusesToRun() =>
        (await Add("{}")).AssertError(7, "must be called as chained plugin");

    [Test]
    public async Task APrevResultWithoutAddressesIsRefused() =>
        (await Add("{}", new CniResult { Interfaces = [new CniInterface { Name = "eth0" }] })).AssertError(7, "No IP addresses supplied on interface: eth0");

    [Test]
    public async Task GoodInputReachesTheNamespace() =>
        (await Add("""{"table": 4294967295, "gateways": ["192.0.2.1", "2001:db8::1"], "addSourceHints": true}""", Prev)).AssertError(5, "CNI_NETNS");

    [Test]
    public void SettingsAreRead()
    {
        using var h = new SbrHarness();
        var request = new CniRequest
        {
            Command = CniCommand.Add,
            Config = new NetConf { Name = "n", Type = "sbr", CniVersion = "1.0.0" },
            RawConfig = """{"table": 7, "GATEWAYS": ["::ffff:192.0.2.1", "2001:db8::1"], "addSourceHints": true}"""u8.ToArray(),
            Environment = new InMemoryCniEnvironment(new Dictionary<string, string>(), ""),
        };
        SbrSettings s = SbrSettings.Load(request);
        Assert.That(s, Is.EqualTo(new SbrSettings(7, IPAddress.Parse("192.0.2.1"), IPAddress.Parse("2001:db8::1"), true)), "keys case-insensitive; IPv4-mapped counts as IPv4");
    }

    [Test]
    public void AddressesOfOtherInterfacesAreSkipped()
    {
        var prev = new CniResult
        {
            Interfaces = [new CniInterface { Name = "vh0" }, new CniInterface { Name = "eth0" }, new CniInterface { Name = "net1" }],
            Ips =
            [
                new CniIPConfig { Interface = 1, Address = IPPrefix.Parse("10.0.0.2/24") },
                new CniIPConfig { Interface = 2, Address = IPPrefix.Parse("10.1.0.2/24") },
                new CniIPConfig { Interface = null, Address = IPPrefix.Parse("10.2.0.2/24") },
                new CniIPConfig { Interface = 7, Address = IPPrefix.Parse("10.3.0.2/24") },
                new CniIPConfig { Interface = 0, Address = IPPrefix.Parse("10.4.0.2/24") },
            ],
        };
        Assert.That(SbrPlugin.SelectAddresses(prev, "eth0").Select(i => i.Address.ToString()),
            Is.EqualTo(new[] { "10.0.0.2/24", "10.2.0.2/24", "10.3.0.2/24" }), "no index or an index out of range: assumed ours, as the reference");
    }

    [Test]
    public void TheFirstTableNoRuleAndNoRouteUsesIsPicked()
    {
        Rule[] rules = [new Rule { Table = 255 }, new Rule { Table = 100 }, new Rule { Table = 254 }];
        Route[] routes = [new Route { Family = AddressFamily.InterNetwork, Table = 101 }, new Route { Family = AddressFamily.InterNetwork, Table = 254 }];
        Assert.That(SbrPlugin.NextFreeTable(rules, routes, 100), Is.EqualTo(102u));
        Assert.That(SbrPlugin.NextFreeTable(rules, routes, 103), Is.EqualTo(103u));
        Assert.That(SbrPlugin.NextFreeTable([], [], 100), Is.EqualTo(100u));
    }

    [Test]
    public void RoutesBelongToAnAddressBySourceGatewayOrNeither()
    {
        IPPrefix ip = IPPrefix.Parse("10.0.0.2/24");
        Route Make(string? src, string? gw) => new()
        {
            Family = AddressFamily.InterNetwork, Destination = IPAddress.Parse("10.9.0.0"), PrefixLength = 16,
            PreferredSource = src is null ? null : IPAddress.Parse(src), Gateway = gw is null ? null : IPAddress.Parse(gw),
        };
        Assert.Multiple(() =>
        {
            Assert.That(SbrPlugin.BelongsTo(Make("10.0.0.2", null), ip), Is.True, "source in the subnet");
            Assert.That(SbrPlugin.BelongsTo(Make(null, "10.0.0.1"), ip), Is.True, "gateway in the subnet");
            Assert.That(SbrPlugin.BelongsTo(Make(null, null), ip), Is.True, "generic");
            Assert.That(SbrPlugin.BelongsTo(Make("10.1.0.2", null), ip), Is.False);
            Assert.That(SbrPlugin.BelongsTo(Make(null, "192.0.2.1"), ip), Is.False);
        });
    }

    [Test]
    public void ACopyKeepsTheRouteButChangesTheTable()
    {
        var r = new Route
        {
            Family = AddressFamily.InterNetworkV6, Destination = IPAddress.Parse("fd00::"), PrefixLength = 64, OutputLinkIndex = 3,
            Scope = RouteScope.Universe, Table = 254, Priority = 256, Protocol = 2, Type = 1, Mtu = 1400,
        };
        Route c = SbrPlugin.CopyTo(r, 100);
        Assert.That(c.ToString(), Is.EqualTo(r.ToString().Replace("table 254", "table 100")));
        Assert.That((c.Protocol, c.Type, c.Mtu, c.Scope), Is.EqualTo(((byte?)2, (byte?)1, (uint?)1400, (RouteScope?)RouteScope.Universe)));
    }

    [Test]
    public void VersionIsEverySpecVersion()
    {
        using var h = new SbrHarness();
        Assert.That(new SbrPlugin().Info.SupportedVersions, Is.EquivalentTo(CniVersions.All));
    }
}
