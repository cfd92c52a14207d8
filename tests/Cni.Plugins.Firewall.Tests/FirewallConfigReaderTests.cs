using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Cni.Spec;
using Cni.Plugins.TestSupport;

namespace Cni.Plugins.Firewall.Tests;

/// <summary>The serializer's reading of <see cref="FirewallConfig"/>, as the plugin read it before it had its own reader.</summary>
[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, NumberHandling = JsonNumberHandling.Strict, GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(FirewallConfig))]
internal sealed partial class SerializerFirewallContext : JsonSerializerContext;

/// <summary>
/// The firewall plugin reads its options with its own <see cref="Cni.Spec.Json.JsonOptionReader"/> code instead of the
/// serializer (start-up cost): on every input here, valid or not, it must give what the serializer gave, the same
/// values or the same CNI error (code and message, JSON path included).
/// </summary>
public class FirewallConfigReaderTests
{
    private static readonly string[] Extras =
    [
        "",
        // every key
        ""","backend":"iptables","iptablesAdminChainName":"MY-ADMIN","firewalldZone":"public","ingressPolicy":"same-bridge" """,
        ""","backend":"firewalld","ingressPolicy":"isolated" """,
        // case-insensitive keys
        ""","BACKEND":"iptables","IptablesAdminChainNAME":"A","FirewalldZONE":"z","IngressPolicy":"open" """,
        ""","backEnd":"","ingresspolicy":"" """,
        // nulls
        ""","backend":null,"iptablesAdminChainName":null,"firewalldZone":null,"ingressPolicy":null""",
        // repeated keys: the last one wins, whatever its case
        ""","backend":"iptables","backend":"firewalld" """,
        ""","ingressPolicy":"isolated","INGRESSPOLICY":"open","firewalldZone":"a","firewalldZone":null""",
        // unknown keys, nested objects and lists
        ""","unknown":{"deep":[1,2,{"x":"y"}]},"ipam":{"type":"host-local","backend":7},"runtimeConfig":{"backend":[]}""",
        ""","prevResult":{"cniVersion":"1.0.0","interfaces":[{"name":"cni0"}],"ips":[{"address":"10.1.0.2/16"}]},"backend":"iptables" """,
        ""","a b":{"backend":1},"cni.dev/x":[{"ingressPolicy":2}],"ingressPolicy":"same-bridge" """,
        // strings with escapes and non-ASCII
        ""","iptablesAdminChainName":"A\u0042C","firewalldZone":"zon\u00e9" """,
        // values the settings refuse after reading (read alike, refused alike)
        ""","backend":"nftables" """,
        ""","ingressPolicy":"closed" """,
        ""","iptablesAdminChainName":"-X" """,
        ""","iptablesAdminChainName":"ACCEPT" """,
        ""","firewalldZone":"my zone" """,
        // wrong types, each a decoding failure naming the path
        ""","backend":1""",
        ""","backend":true""",
        ""","backend":["iptables"]""",
        ""","backend":{"name":"iptables"}""",
        ""","iptablesAdminChainName":12.5""",
        ""","firewalldZone":false""",
        ""","ingressPolicy":["open"]""",
        ""","ingressPolicy":{}""",
        ""","backend":"iptables","ingressPolicy":0""",
        ""","BackEnd":null,"FirewalldZone":[null]""",
        // a string JSON allows but UTF-16 does not (a lone surrogate)
        ""","firewalldZone":"\ud800" """,
        ""","unknown":"\ud800","backend":"iptables" """,
        ""","\udc00x":1,"backend":"iptables" """,
        ""","backend\ud800":"iptables" """,
    ];

    private static CniRequest Request(string json, byte[]? rawOptions = null)
    {
        byte[] raw = Encoding.UTF8.GetBytes(json);
        return new CniRequest
        {
            Command = CniCommand.Add,
            Config = NetConf.Parse(raw),
            RawConfig = rawOptions ?? raw,
            Args = CniArgs.Parse(null),
            Environment = new InMemoryCniEnvironment([]),
        };
    }

    private static string Outcome(Func<FirewallConfig> read) => OptionsDifferential.Outcome(read, SerializerFirewallContext.Default.FirewallConfig);

    // GetOptions reads RawConfig only; the request's parsed NetConf is that of a minimal configuration, as the whole
    // one may be refused before the plugin's options are read (NetConf reads runtimeConfig too).
    private static CniRequest OptionsRequest(string json) =>
        Request("""{"cniVersion":"1.0.0","name":"n","type":"firewall"}""", Encoding.UTF8.GetBytes(json));

    [TestCaseSource(nameof(Extras))]
    public void ReadsWhatTheSerializerRead(string extra)
    {
        CniRequest request = OptionsRequest($$"""{"cniVersion":"1.0.0","name":"n","type":"firewall"{{extra}}}""");
        string expected = Outcome(() => request.GetOptions<FirewallConfig>(SerializerFirewallContext.Default));
        string actual = Outcome(() => FirewallConfigReader.Read(request.RawConfig.Span));
        Assert.That(actual, Is.EqualTo(expected));
    }

    [Test]
    public void WrongTypesNameTheirPath()
    {
        CniException? ex = Assert.Throws<CniException>(() => FirewallPlugin.LoadConf(Request("""{"cniVersion":"1.0.0","name":"n","type":"firewall","ingressPolicy":["open"]}""")));
        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.DecodingFailure));
        Assert.That(ex.Message, Is.EqualTo("error decoding network configuration at $.ingressPolicy: unexpected JSON value (wrong type)"));
        ex = Assert.Throws<CniException>(() => FirewallPlugin.LoadConf(Request("""{"cniVersion":"1.0.0","name":"n","type":"firewall","backend":"nft"}""")));
        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.InvalidNetworkConfig));
        Assert.That(ex.Message, Does.Contain("(backend)"));
    }
}
