using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Cni.Spec;
using Cni.Plugins.TestSupport;

namespace Cni.Plugins.Ipvlan.Tests;

/// <summary>The serializer's reading of <see cref="IpvlanConfig"/>, as the plugin read it before it had its own reader.</summary>
[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, NumberHandling = JsonNumberHandling.Strict, GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(IpvlanConfig))]
internal sealed partial class SerializerIpvlanContext : JsonSerializerContext;

/// <summary>
/// The ipvlan plugin reads its options with its own <see cref="Cni.Spec.Json.JsonOptionReader"/> code instead of the
/// serializer (start-up cost): on every input here, valid or not, it must give what the serializer gave, the same
/// values or the same CNI error (code and message, JSON path included).
/// </summary>
public class IpvlanConfigReaderTests
{
    private static readonly string[] Extras =
    [
        "",
        ""","master":"eth0","mode":"l3s","mtu":1400,"linkInContainer":true""",
        ""","MASTER":"eth0","Mode":"l3","Mtu":9000,"LinkInContainer":false""",
        ""","mode":null""",
        ""","mode":3""",
        ""","mode":{"l2":true}""",
        ""","mode":"bogus","mode":"l2" """,
        ""","prevResult":{"cniVersion":"1.0.0","interfaces":[{"name":"eth0"}],"ips":[{"address":"10.0.0.2/24"}]}""",
        ""","unknown":{"deep":[1,2,{"x":"y"}]},"ipam":{"type":"host-local","mtu":"not ours"},"runtimeConfig":{"mac":"02:00:00:00:00:01","mtu":"x"},"args":{"cni":{"mac":[1]}}""",
        ""","master":null""",
        ""","master":5""",
        ""","master":{"name":"eth0"}""",
        ""","master":["eth0"]""",
        ""","master":true""",
        ""","mtu":"1500" """,
        ""","mtu":1500.0""",
        ""","mtu":1e3""",
        ""","mtu":99999999999""",
        ""","mtu":null""",
        ""","mtu":-5""",
        ""","mtu":[1500]""",
        ""","MTU":{"v":1}""",
        ""","linkInContainer":"true" """,
        ""","linkInContainer":1""",
        ""","linkInContainer":null""",
        ""","LINKINCONTAINER":true,"linkincontainer":false""",
        ""","mtu":1400,"mtu":1500,"master":"a","Master":"b" """,
        ""","M\u0041STER":"escaped-upper","mtu":0""",
        ""","mas\u0074er":"escaped-key" """,
        ""","master.x":1,"a b":[{"c":null}],"master":"eth1" """,
    ];

    private static CniRequest Request(string json) => OptionsDifferential.Request(json);

    private static string Outcome(Func<IpvlanConfig> read) => OptionsDifferential.Outcome(read, SerializerIpvlanContext.Default.IpvlanConfig);

    [TestCaseSource(nameof(Extras))]
    public void ReadsWhatTheSerializerRead(string extra)
    {
        CniRequest request = Request($$"""{"cniVersion":"1.0.0","name":"n","type":"ipvlan"{{extra}}}""");
        string expected = Outcome(() => request.GetOptions<IpvlanConfig>(SerializerIpvlanContext.Default));
        string actual = Outcome(() => IpvlanConfigReader.Read(request.RawConfig.Span));
        Assert.That(actual, Is.EqualTo(expected));
    }

    [Test]
    public void AllInputsAreDistinct() => Assert.That(Extras.Distinct().Count(), Is.EqualTo(Extras.Length).And.GreaterThanOrEqualTo(25));

    [Test]
    public void WrongTypesNameTheirPath()
    {
        CniException? ex = Assert.Throws<CniException>(() => IpvlanConfigReader.Read(Request("""{"cniVersion":"1.0.0","name":"n","type":"ipvlan","MTU":"1500"}""").RawConfig.Span));
        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.DecodingFailure));
        Assert.That(ex.Message, Is.EqualTo("error decoding network configuration at $.MTU: unexpected JSON value (wrong type)"));
    }
}
