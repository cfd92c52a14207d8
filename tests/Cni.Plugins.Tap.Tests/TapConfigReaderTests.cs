using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Cni.Spec;
using Cni.Plugins.TestSupport;

namespace Cni.Plugins.Tap.Tests;

/// <summary>The serializer's reading of <see cref="TapConfig"/>, as the plugin read it before it had its own reader.</summary>
[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, NumberHandling = JsonNumberHandling.Strict, GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(TapConfig))]
internal sealed partial class SerializerTapContext : JsonSerializerContext;

/// <summary>
/// tap reads its options with its own <see cref="Cni.Spec.Json.JsonOptionReader"/> code instead of the serializer
/// (start-up cost): on every input here, valid or not, it must give what the serializer gave, the same values or the
/// same CNI error (code and message, JSON path included).
/// </summary>
public class TapConfigReaderTests
{
    private static readonly string[] Extras =
    [
        "",
        ""","mac":"02:00:00:00:00:01","mtu":1400,"selinuxContext":"system_u:system_r:container_t:s0","multiQueue":true,"owner":1000,"group":1001,"bridge":"br0" """,
        ""","MAC":"02:00:00:00:00:02","Mtu":9000,"SELINUXCONTEXT":"x","MultiQueue":false,"OWNER":0,"Group":4294967295,"BRIDGE":"b" """,
        ""","mtu":1400,"mtu":1500,"bridge":"a","Bridge":"b","owner":1,"OWNER":2""",
        ""","mac":null,"selinuxContext":null,"owner":null,"group":null,"bridge":null""",
        ""","unknown":{"deep":[1,2,{"x":"y"}]},"ipam":{"type":"static","mtu":"not ours"},"runtimeConfig":{"mac":"02:00:00:00:00:03","extra":[null]}""",
        ""","owner":4294967296,"group":-1""",
        ""","owner":9223372036854775807""",
        // wrong types, each a decoding failure naming the path
        ""","owner":9223372036854775808""",
        ""","owner":"root" """,
        ""","owner":1.5""",
        ""","group":1e2""",
        ""","group":[1]""",
        ""","mtu":"1500" """,
        ""","mtu":1500.0""",
        ""","mtu":null""",
        ""","mtu":99999999999""",
        ""","multiQueue":"yes" """,
        ""","multiQueue":null""",
        ""","multiQueue":1""",
        ""","mac":5""",
        ""","mac":["02:00:00:00:00:01"]""",
        ""","selinuxContext":{"a":1}""",
        ""","bridge":true""",
        ""","Bridge":false""",
        // values LoadConf refuses after reading (read alike, refused alike)
        ""","mtu":-1""",
        ""","mtu":70000""",
    ];

    private static CniRequest Request(string json) => OptionsDifferential.Request(json);

    private static string Outcome(Func<TapConfig> read) => OptionsDifferential.Outcome(read, SerializerTapContext.Default.TapConfig);

    [TestCaseSource(nameof(Extras))]
    public void ReadsWhatTheSerializerRead(string extra)
    {
        CniRequest request = Request($$"""{"cniVersion":"1.0.0","name":"n","type":"tap"{{extra}}}""");
        string expected = Outcome(() => request.GetOptions<TapConfig>(SerializerTapContext.Default));
        string actual = Outcome(() => TapConfigReader.Read(request.RawConfig.Span));
        Assert.That(actual, Is.EqualTo(expected));
    }

    [TestCase("""{"cniVersion":"1.0.0","name":"n","type":"tap","mac":"x",}""")]
    [TestCase("""{"cniVersion":"1.0.0","name":"n","type":"tap","owner":01}""")]
    public void MalformedJsonFailsAlike(string json)
    {
        CniRequest request = Request("""{"cniVersion":"1.0.0","name":"n","type":"tap"}""");
        request = new CniRequest { Command = request.Command, Config = request.Config, RawConfig = Encoding.UTF8.GetBytes(json), Args = request.Args, Environment = request.Environment };
        string expected = Outcome(() => request.GetOptions<TapConfig>(SerializerTapContext.Default));
        string actual = Outcome(() => TapConfigReader.Read(request.RawConfig.Span));
        Assert.That(actual, Is.EqualTo(expected));
    }

    [Test]
    public void WrongTypesNameTheirPath()
    {
        CniException? ex = Assert.Throws<CniException>(() => new TapPlugin().LoadConf(Request("""{"cniVersion":"1.0.0","name":"n","type":"tap","Owner":"root"}""")));
        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.DecodingFailure));
        Assert.That(ex.Message, Is.EqualTo("error decoding network configuration at $.Owner: unexpected JSON value (wrong type)"));
    }
}
