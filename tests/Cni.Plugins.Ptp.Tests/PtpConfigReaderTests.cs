using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Cni.Spec;
using Cni.Plugins.TestSupport;

namespace Cni.Plugins.Ptp.Tests;

/// <summary>The serializer's reading of <see cref="PtpConfig"/>, as the plugin read it before it had its own reader.</summary>
[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, NumberHandling = JsonNumberHandling.Strict, GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(PtpConfig))]
internal sealed partial class SerializerPtpContext : JsonSerializerContext;

/// <summary>
/// ptp reads its options with its own <see cref="Cni.Spec.Json.JsonOptionReader"/> code instead of the serializer
/// (start-up cost): on every input here, valid or not, it must give what the serializer gave, the same values or the
/// same CNI error (code and message, JSON path included).
/// </summary>
public class PtpConfigReaderTests
{
    private static readonly string[] Extras =
    [
        "",
        ""","ipMasq":true,"ipMasqBackend":"iptables","mtu":1400,"cni.dev/valid-attachments":[{"containerID":"c1","ifname":"eth0"}]""",
        ""","IPMASQ":false,"IpMasqBackend":"nftables","MTU":9000""",
        ""","ipmasq":true,"ipMasq":false,"mtu":1400,"Mtu":1500""",
        ""","cni.dev/valid-attachments":[{"containerID":"c1","ifname":"eth0"},{"ContainerId":"c2","IFNAME":"eth1"},null,{"containerID":null}]""",
        ""","CNI.DEV/VALID-ATTACHMENTS":[{"CONTAINERID":"c","ifName":"e","extra":{"deep":[1,{"a":null}]}}]""",
        ""","cni.dev/valid-attachments":null,"ipMasqBackend":null""",
        ""","cni.dev/valid-attachments":[]""",
        ""","unknown":{"deep":[1,2,{"x":"y"}]},"ipam":{"type":"host-local","mtu":"not ours"},"runtimeConfig":{"mtu":"x"},"args":{"cni":{"mtu":"y"}}""",
        // wrong types, each a decoding failure naming the path
        ""","ipMasq":"yes" """,
        ""","ipMasq":null""",
        ""","ipMasq":0""",
        ""","ipMasq":[true]""",
        ""","mtu":"1500" """,
        ""","mtu":1500.0""",
        ""","mtu":1e3""",
        ""","mtu":99999999999""",
        ""","mtu":null""",
        ""","mtu":-5""",
        ""","mtu":{"v":1}""",
        ""","ipMasqBackend":5""",
        ""","ipMasqBackend":false""",
        ""","ipMasqBackend":["nftables"]""",
        ""","cni.dev/valid-attachments":{"containerID":"c"}""",
        ""","cni.dev/valid-attachments":"c1" """,
        ""","cni.dev/valid-attachments":[1]""",
        ""","cni.dev/valid-attachments":[[{"containerID":"c"}]]""",
        ""","cni.dev/valid-attachments":[{"containerID":1}]""",
        ""","cni.dev/valid-attachments":[{"containerID":"c","ifname":["eth0"]}]""",
        ""","cni.dev/valid-attachments":[{"containerID":"c","ifname":"e"},{"ifname":true}]""",
        // values the settings refuse after reading (read alike, refused alike)
        ""","mtu":40""",
        ""","ipMasqBackend":"pf" """,
        ""","cni.dev/valid-attachments":[{"containerID":"c"}]""",
    ];

    private const string Ipam = ""","ipam":{"type":"host-local","subnet":"10.1.0.0/24"}""";

    private static CniRequest Request(string json)
    {
        byte[] raw = Encoding.UTF8.GetBytes(json);
        NetConf config;
        try
        {
            config = NetConf.Parse(raw);
        }
        catch (CniException)
        {
            // The common keys (ipMasq) are read by NetConf too, which refuses a wrong type first in the plugin; the
            // options readers are still compared on the whole bytes.
            config = NetConf.Parse("""{"cniVersion":"1.0.0","name":"n","type":"ptp"}"""u8);
        }
        return new CniRequest
        {
            Command = CniCommand.Add,
            Config = config,
            RawConfig = raw,
            Args = CniArgs.Parse(null),
            Environment = new InMemoryCniEnvironment([]),
        };
    }

    private static string Outcome(Func<PtpConfig> read) => OptionsDifferential.Outcome(read, SerializerPtpContext.Default.PtpConfig);

    [TestCaseSource(nameof(Extras))]
    public void ReadsWhatTheSerializerRead(string extra)
    {
        CniRequest request = Request($$"""{"cniVersion":"1.0.0","name":"n","type":"ptp"{{Ipam}}{{extra}}}""");
        string expected = Outcome(() => request.GetOptions<PtpConfig>(SerializerPtpContext.Default));
        string actual = Outcome(() => PtpConfigReader.Read(request.RawConfig.Span));
        TestContext.Out.WriteLine(actual);
        Assert.That(actual, Is.EqualTo(expected));
        Assert.That(actual, Does.Not.StartWith("error 999"));
    }

    [Test]
    public void WrongTypesNameTheirPath()
    {
        CniException? ex = Assert.Throws<CniException>(() => PtpSettings.Load(Request($$"""{"cniVersion":"1.0.0","name":"n","type":"ptp"{{Ipam}},"cni.dev/valid-attachments":[{"containerID":"c","ifname":"e"},{"ifname":3}]}""")));
        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.DecodingFailure));
        Assert.That(ex.Message, Is.EqualTo("error decoding network configuration at $['cni.dev/valid-attachments'][1].ifname: unexpected JSON value (wrong type)"));
        ex = Assert.Throws<CniException>(() => PtpSettings.Load(Request($$"""{"cniVersion":"1.0.0","name":"n","type":"ptp"{{Ipam}},"MTU":"9000"}""")));
        Assert.That(ex!.Message, Is.EqualTo("error decoding network configuration at $.MTU: unexpected JSON value (wrong type)"));
    }
}
