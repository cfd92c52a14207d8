using System.Text;
using Cni.Plugins.Ipam.HostLocal.Configuration;
using Cni.Spec;

namespace Cni.Plugins.Ipam.HostLocal.Tests;

public class ConfigParserTests
{
    internal static HostLocalConfig Parse(string ipam, string extra = "", string? argsIp = null, string version = "1.0.0") =>
        HostLocalConfigParser.Parse(Encoding.UTF8.GetBytes($$"""{"cniVersion":"{{version}}","name":"net","type":"host-local"{{extra}},"ipam":{{ipam}}}"""), argsIp);

    private static CniException Fails(string ipam, string extra = "", string? argsIp = null) =>
        Assert.Throws<CniException>(() => Parse(ipam, extra, argsIp))!;

    [Test]
    public void DefaultsMatchTheReference()
    {
        HostLocalConfig c = Parse("""{"type":"host-local","ranges":[[{"subnet":"10.1.0.0/24"}],[{"subnet":"fd00::/120"}]]}""");
        AddressRange v4 = c.RangeSets[0].Ranges[0], v6 = c.RangeSets[1].Ranges[0];
        Assert.Multiple(() =>
        {
            Assert.That(c.DataDir, Is.EqualTo("/var/lib/cni/networks"));
            Assert.That(v4.ToString(), Is.EqualTo("10.1.0.1-10.1.0.254"));
            Assert.That(v4.Gateway.ToString(), Is.EqualTo("10.1.0.1"));
            Assert.That(v6.ToString(), Is.EqualTo("fd00::1-fd00::ff"));
            Assert.That(v6.Gateway.ToString(), Is.EqualTo("fd00::1"));
            Assert.That(c.RequestedPerSet, Is.EqualTo(new object?[] { null, null }));
        });
    }

    [Test]
    public void OrderIsRuntimeRangesThenLegacyThenRanges()
    {
        HostLocalConfig c = Parse(
            """{"subnet":"10.2.0.0/24","ranges":[[{"subnet":"10.3.0.0/24"}]]}""",
            extra: ""","runtimeConfig":{"ipRanges":[[{"subnet":"10.1.0.0/24"}]]}""");
        Assert.That(c.RangeSets.Select(s => s.Ranges[0].SubnetText), Is.EqualTo(new[] { "10.1.0.0/24", "10.2.0.0/24", "10.3.0.0/24" }));
    }

    [Test]
    public void KeysMatchCaseInsensitivelyLikeGo()
    {
        HostLocalConfig c = Parse("""{"Ranges":[[{"SUBNET":"10.1.0.0/24","rangestart":"10.1.0.100","RangeEnd":"10.1.0.110","Gateway":"10.1.0.254"}]],"DATADIR":"/tmp/x"}""");
        AddressRange r = c.RangeSets[0].Ranges[0];
        Assert.Multiple(() =>
        {
            Assert.That(r.ToString(), Is.EqualTo("10.1.0.100-10.1.0.110"));
            Assert.That(r.Gateway.ToString(), Is.EqualTo("10.1.0.254"));
            Assert.That(c.DataDir, Is.EqualTo("/tmp/x"));
        });
    }

    [TestCase("10.1.0.0/31", "too small")]
    [TestCase("10.1.0.0/32", "too small")]
    [TestCase("fd00::/127", "too small")]
    [TestCase("fd00::/128", "too small")]
    [TestCase("10.1.0.1/24", "host bits")]
    [TestCase("fd00::1/64", "host bits")]
    [TestCase("10.1.0.0", "not a CIDR")]
    [TestCase("10.1.0.0/33", "not a CIDR")]
    [TestCase("::ffff:10.1.0.0/120", "not a CIDR")]
    public void RejectsBadSubnetsNamingTheRange(string subnet, string why)
    {
        CniException ex = Fails($$"""{"ranges":[[{"subnet":"10.9.0.0/24"},{"subnet":"{{subnet}}"}]]}""");
        Assert.Multiple(() =>
        {
            Assert.That(ex.Code, Is.EqualTo(CniErrorCode.InvalidNetworkConfig));
            Assert.That(ex.Message, Does.Contain("ipam.ranges[0][1].subnet").And.Contain(why));
        });
    }

    [TestCase("""{"subnet":"10.1.0.0/24","rangeStart":"10.1.1.5"}""", "ipam.ranges[0][0].rangeStart")]
    [TestCase("""{"subnet":"10.1.0.0/24","rangeEnd":"10.2.0.5"}""", "ipam.ranges[0][0].rangeEnd")]
    [TestCase("""{"subnet":"10.1.0.0/24","rangeEnd":"fd00::5"}""", "ipam.ranges[0][0].rangeEnd")]
    [TestCase("""{"subnet":"10.1.0.0/24","gateway":"10.1.1.1"}""", "ipam.ranges[0][0].gateway")]
    [TestCase("""{"subnet":"10.1.0.0/24","rangeStart":"10.1.0.50","rangeEnd":"10.1.0.40"}""", "rangeStart 10.1.0.50 is after rangeEnd")]
    [TestCase("""{"subnet":"10.1.0.0/24","rangeStart":"010.1.0.5"}""", "is not an IP address")]
    [TestCase("""{"rangeStart":"10.1.0.5"}""", "ipam.ranges[0][0].subnet is missing")]
    [TestCase("""{"subnet":24}""", "ipam.ranges[0][0].subnet must be a string")]
    public void RejectsBadRangeBounds(string range, string expected) =>
        Assert.That(Fails($$"""{"ranges":[[{{range}}]]}""").Message, Does.Contain(expected));

    [Test]
    public void RejectsOverlapsAndMixedFamilies()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Fails("""{"ranges":[[{"subnet":"10.1.0.0/24"},{"subnet":"10.1.0.0/25"}]]}""").Message,
                Does.Contain("ipam.ranges[0][1]").And.Contain("overlap"));
            Assert.That(Fails("""{"ranges":[[{"subnet":"10.1.0.0/24"}],[{"subnet":"10.1.0.128/25"}]]}""").Message,
                Does.Contain("range set 0").And.Contain("overlaps with range set 1"));
            Assert.That(Fails("""{"ranges":[[{"subnet":"10.1.0.0/24"},{"subnet":"fd00::/64"}]]}""").Message,
                Does.Contain("ipam.ranges[0][1]").And.Contain("mixed address families"));
            Assert.That(Fails("""{"ranges":[[]]}""").Message, Does.Contain("ipam.ranges[0]: empty range set"));
            Assert.That(Fails("""{"ranges":[]}""").Message, Does.Contain("no IP ranges specified"));
            Assert.That(Fails("""{"type":"host-local"}""").Message, Does.Contain("no IP ranges specified"));
        });
        CniException missing = Assert.Throws<CniException>(() => HostLocalConfigParser.Parse("""{"name":"n"}"""u8, null))!;
        Assert.That(missing.Message, Does.Contain("'ipam'"));
        CniException garbage = Assert.Throws<CniException>(() => HostLocalConfigParser.Parse("{not json"u8, null))!;
        Assert.That(garbage.Code, Is.EqualTo(CniErrorCode.DecodingFailure));
    }

    [TestCase("{not json")]
    [TestCase("")]
    [TestCase("{\"ipam\":{}} trailing")]
    [TestCase("{\"ipam\":{}}{}")]
    [TestCase("{\"ipam\":{},}")]
    [TestCase("{\"ipam\":{} /* comment */}")]
    [TestCase("{\"ipam\":{\"ranges\":[[{\"subnet\":\"10.1.0.0/24\"}]]}")]
    public void TextThatIsNotOneJsonDocumentIsADecodingFailure(string text)
    {
        CniException e = Assert.Throws<CniException>(() => HostLocalConfigParser.Parse(Encoding.UTF8.GetBytes(text), null))!;
        Assert.That(e.Code, Is.EqualTo(CniErrorCode.DecodingFailure), e.Message);
    }

    [Test]
    public void ValuesAreReadFromEscapesDuplicatesAndWhiteSpaceAsJsonDefinesThem()
    {
        HostLocalConfig c = HostLocalConfigParser.Parse("""
             {"name":"net\u0031", "cniVersion":"1.0.0",
              "ipam": {"ranges":[[{"subnet":"10.9.0.0/24"}]], "ranges":[[{"subnet":"10.1.0.0\/24","gateway":"10.1.0.1"}]],
                       "dataDir":"/tmp/x", "routes":[{"dst":"0.0.0.0/0"}], "unknown":[1, 2.5, true, false, null, {"a":[]}]}}
            """u8, null);
        Assert.Multiple(() =>
        {
            Assert.That(c.Name, Is.EqualTo("net1"));
            Assert.That(c.RangeSets.Single().ToString(), Does.StartWith("10.1.0."), "the last duplicate key wins, as in Go");
            Assert.That(c.Routes.Single().Dst.ToString(), Is.EqualTo("0.0.0.0/0"));
        });
    }

    [Test]
    public void RequestedAddressesComeFromArgsArgsCniAndRuntimeConfig()
    {
        HostLocalConfig c = Parse("""{"ranges":[[{"subnet":"10.1.0.0/24"}],[{"subnet":"fd00::/64"}],[{"subnet":"10.2.0.0/24"}]]}""",
            extra: ""","args":{"cni":{"ips":["fd00::9"]}},"runtimeConfig":{"ips":["10.2.0.7/24","10.1.0.5"]}""", argsIp: "10.1.0.5");
        Assert.Multiple(() =>
        {
            Assert.That(c.RequestedIps.Select(i => i.ToString()), Is.EqualTo(new[] { "10.1.0.5", "fd00::9", "10.2.0.7" }));
            Assert.That(c.RequestedPerSet.Select(i => i?.ToString()), Is.EqualTo(new[] { "10.1.0.5", "fd00::9", "10.2.0.7" }));
        });
    }

    [Test]
    public void RejectsRequestedAddressesNoSetCanHonour()
    {
        const string Ipam = """{"ranges":[[{"subnet":"10.1.0.0/24","rangeStart":"10.1.0.10"}]]}""";
        Assert.Multiple(() =>
        {
            Assert.That(Fails(Ipam, argsIp: "10.9.0.1").Message, Does.Contain("10.9.0.1").And.Contain("outside every range set"));
            Assert.That(Fails(Ipam, argsIp: "10.1.0.5").Message, Does.Contain("outside every range set"));
            Assert.That(Fails("""{"ranges":[[{"subnet":"10.1.0.0/24"}]]}""", argsIp: "10.1.0.1").Message, Does.Contain("gateway"));
            Assert.That(Fails(Ipam, extra: ""","args":{"cni":{"ips":["10.1.0.11","10.1.0.12"]}}""").Message, Does.Contain("both fall in range set 0"));
            Assert.That(Fails(Ipam, argsIp: "nonsense").Code, Is.EqualTo(CniErrorCode.InvalidEnvironmentVariables));
            Assert.That(Fails(Ipam, extra: ""","runtimeConfig":{"ips":["bad"]}""").Message, Does.Contain("runtimeConfig.ips[0]"));
        });
    }

    [Test]
    public void Requested_addresses_may_carry_a_prefix_everywhere_as_in_the_reference()
    {
        // The reference reads CNI_ARGS IP, args.cni.ips and runtimeConfig.ips all with pkg/ip's ParseIP: "ip" or "ip/prefix".
        const string Ipam = """{"ranges":[[{"subnet":"10.1.0.0/24"}],[{"subnet":"fd00::/120"}],[{"subnet":"10.2.0.0/24"}]]}""";
        HostLocalConfig c = Parse(Ipam, argsIp: "10.1.0.5/24", extra: ""","args":{"cni":{"ips":["fd00::9/120"]}},"runtimeConfig":{"ips":["10.2.0.7/24"]}""");
        Assert.That(c.RequestedIps.Select(i => i.ToString()), Is.EqualTo(new[] { "10.1.0.5", "fd00::9", "10.2.0.7" }));
        Assert.Multiple(() =>
        {
            Assert.That(Fails(Ipam, argsIp: "10.1.0.5/33").Message, Does.Contain("CNI_ARGS").And.Contain("10.1.0.5/33"));
            Assert.That(Fails(Ipam, extra: ""","args":{"cni":{"ips":["10.1.0.5/x"]}}""").Message, Does.Contain("args.cni.ips[0]"));
        });
    }

    [Test]
    public void OldVersionsAllowOneAddressPerFamily()
    {
        const string Two = """{"ranges":[[{"subnet":"10.1.0.0/24"}],[{"subnet":"10.2.0.0/24"}]]}""";
        Assert.That(() => Parse(Two, version: "0.2.0"), Throws.TypeOf<CniException>().With.Property("Code").EqualTo(CniErrorCode.IncompatibleCniVersion));
        Assert.That(Parse(Two, version: "0.3.1").RangeSets, Has.Count.EqualTo(2));
    }

    [Test]
    public void ReadsRoutes()
    {
        HostLocalConfig c = Parse("""{"subnet":"10.1.0.0/24","routes":[{"dst":"0.0.0.0/0"},{"dst":"10.9.0.0/16","gw":"10.1.0.254","mtu":1400}]}""");
        Assert.Multiple(() =>
        {
            Assert.That(c.Routes, Has.Count.EqualTo(2));
            Assert.That(c.Routes[1].Dst.ToString(), Is.EqualTo("10.9.0.0/16"));
            Assert.That(c.Routes[1].Gw!.ToString(), Is.EqualTo("10.1.0.254"));
            Assert.That(c.Routes[1].Mtu, Is.EqualTo(1400));
        });
        Assert.That(Fails("""{"subnet":"10.1.0.0/24","routes":[{"gw":"10.1.0.1"}]}""").Message, Does.Contain("ipam.routes[0].dst"));
    }
}

/// <summary>host-local reads the top-level keys as Go's encoding/json (and so as the plugin host) does.</summary>
public class GoJsonKeyParserTests
{
    [TestCaseSource(typeof(Cni.TestSupport.GoJsonKeyCases), nameof(Cni.TestSupport.GoJsonKeyCases.NameAndVersion))]
    public void Name_and_version_are_read_as_Go_does(string config, string name, string version)
    {
        HostLocalConfig conf = HostLocalConfigParser.Parse(System.Text.Encoding.UTF8.GetBytes(config), null);

        Assert.That((conf.Name, conf.CniVersion), Is.EqualTo((name, version)));
    }
}
