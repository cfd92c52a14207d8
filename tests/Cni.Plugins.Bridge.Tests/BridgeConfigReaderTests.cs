using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Cni.Spec;
using Cni.Plugins.TestSupport;

namespace Cni.Plugins.Bridge.Tests;

/// <summary>The serializer's reading of <see cref="BridgeConfig"/>, as the plugin read it before it had its own reader.</summary>
[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, NumberHandling = JsonNumberHandling.Strict, GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(BridgeConfig))]
internal sealed partial class SerializerBridgeContext : JsonSerializerContext;

/// <summary>
/// The bridge reads its options with its own <see cref="Cni.Spec.Json.JsonOptionReader"/> code instead of the
/// serializer (start-up cost): on every input here, valid or not, it must give what the serializer gave, the same
/// values or the same CNI error (code and message, JSON path included).
/// </summary>
public class BridgeConfigReaderTests
{
    private static readonly string[] Extras =
    [
        "",
        ""","bridge":"br7","isGateway":true,"isDefaultGateway":false,"forceAddress":true,"ipMasq":true,"ipMasqBackend":"iptables","mtu":1400,"hairpinMode":true,"promiscMode":false,"vlan":0,"preserveDefaultVlan":true,"macspoofchk":true,"enabledad":true,"disableContainerInterface":false,"portIsolation":true""",
        ""","BRIDGE":"up","IsGateway":true,"MTU":9000,"HairPinMode":true,"PreserveDefaultVLAN":false""",
        ""","vlanTrunk":[{"id":30},{"minID":10,"maxID":12},{"MinId":1,"MAXID":2,"id":7,"extra":[1,{"a":null}]}]""",
        ""","vlanTrunk":[null,{"id":null}]""",
        ""","vlanTrunk":null,"bridge":null,"preserveDefaultVlan":null""",
        ""","cni.dev/valid-attachments":[{"containerID":"c1","ifname":"eth0"},{"ContainerId":"c2","IFNAME":"eth1"},null,{"containerID":null}]""",
        ""","mtu":1400,"mtu":1500,"bridge":"a","Bridge":"b" """,
        ""","unknown":{"deep":[1,2,{"x":"y"}]},"ipam":{"type":"host-local","mtu":"not ours"},"runtimeConfig":{"mac":"02:00:00:00:00:01"}""",
        // wrong types, each a decoding failure naming the path
        ""","isGateway":"yes" """,
        ""","isGateway":null""",
        ""","isGateway":1""",
        ""","mtu":"1500" """,
        ""","mtu":1500.0""",
        ""","mtu":1e3""",
        ""","mtu":99999999999""",
        ""","mtu":null""",
        ""","mtu":-5""",
        ""","bridge":5""",
        ""","bridge":{"a":1}""",
        ""","vlanTrunk":{"id":1}""",
        ""","vlanTrunk":[1]""",
        ""","vlanTrunk":[{"id":"1"}]""",
        ""","vlanTrunk":[{"id":1},{"minID":true}]""",
        ""","vlanTrunk":[{"id":1.5}]""",
        ""","preserveDefaultVlan":"true" """,
        ""","cni.dev/valid-attachments":{"containerID":"c"}""",
        ""","cni.dev/valid-attachments":[{"containerID":1}]""",
        ""","cni.dev/valid-attachments":[{"containerID":"c","ifname":["eth0"]}]""",
        // values the settings refuse after reading (read alike, refused alike)
        ""","vlan":4095""",
        ""","vlanTrunk":[{"minID":10,"maxID":5}]""",
        ""","bridge":"a/b" """,
    ];

    private static CniRequest Request(string json) => OptionsDifferential.Request(json);

    private static string Outcome(Func<BridgeConfig> read) => OptionsDifferential.Outcome(read, SerializerBridgeContext.Default.BridgeConfig);

    [TestCaseSource(nameof(Extras))]
    public void ReadsWhatTheSerializerRead(string extra)
    {
        CniRequest request = Request($$"""{"cniVersion":"1.0.0","name":"n","type":"bridge"{{extra}}}""");
        string expected = Outcome(() => request.GetOptions<BridgeConfig>(SerializerBridgeContext.Default));
        string actual = Outcome(() => BridgeConfigReader.Read(request.RawConfig.Span));
        Assert.That(actual, Is.EqualTo(expected));
    }

    [Test]
    public void WrongTypesNameTheirPath()
    {
        CniException? ex = Assert.Throws<CniException>(() => BridgeSettings.Load(Request("""{"cniVersion":"1.0.0","name":"n","type":"bridge","vlanTrunk":[{"id":1},{"minID":"2"}]}""")));
        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.DecodingFailure));
        Assert.That(ex.Message, Is.EqualTo("error decoding network configuration at $.vlanTrunk[1].minID: unexpected JSON value (wrong type)"));
        ex = Assert.Throws<CniException>(() => BridgeSettings.Load(Request("""{"cniVersion":"1.0.0","name":"n","type":"bridge","cni.dev/valid-attachments":[{"ifname":3}]}""")));
        Assert.That(ex!.Message, Does.Contain("at $['cni.dev/valid-attachments'][0].ifname:"));
    }
}
