using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Cni.Spec;

namespace Cni.Plugins.Bandwidth.Tests;

/// <summary>The serializer's reading of <see cref="BandwidthConfig"/>, as the plugin read it before it had its own reader.</summary>
[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, NumberHandling = JsonNumberHandling.Strict, GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(BandwidthConfig))]
internal sealed partial class SerializerBandwidthContext : JsonSerializerContext;

/// <summary>
/// bandwidth reads its options with its own <see cref="Cni.Spec.Json.JsonOptionReader"/> code instead of the
/// serializer (start-up cost): on every input here, valid or not, it must give what the serializer gave, the same
/// values (JSON null told apart from an absent key, which decides between the top level and runtimeConfig) or the
/// same CNI error (code and message, JSON path included).
/// </summary>
public class BandwidthConfigReaderTests
{
    private static readonly string[] Extras =
    [
        "",
        ""","ingressRate":1000,"ingressBurst":800,"egressRate":2000,"egressBurst":1600,"unshapedSubnets":["10.0.0.0/8","fd00::/8"]""",
        ""","INGRESSRATE":1000,"IngressBurst":800,"egressrate":2000,"EgressBURST":1600,"SHAPEDSUBNETS":["192.168.0.0/16"]""",
        ""","runtimeConfig":{"bandwidth":{"ingressRate":100000000,"ingressBurst":1000000,"egressRate":100000000,"egressBurst":1000000,"shapedSubnets":["10.1.0.0/16"]}}""",
        ""","RuntimeConfig":{"BANDWIDTH":{"IngressRate":1,"ingressburst":8,"UnshapedSubnets":[]},"portMappings":[{"hostPort":80}]}""",
        ""","ingressRate":1000,"runtimeConfig":{"bandwidth":{"egressRate":5,"egressBurst":8}}""",
        ""","ingressRate":null,"ingressBurst":null,"runtimeConfig":{"bandwidth":{"egressRate":5,"egressBurst":8}}""",
        ""","unshapedSubnets":null,"shapedSubnets":null,"runtimeConfig":null""",
        ""","runtimeConfig":{"bandwidth":null}""",
        ""","runtimeConfig":{"bandwidth":{"ingressRate":null,"unshapedSubnets":null}}""",
        ""","ingressRate":1000,"ingressRate":2000,"ingressBurst":8,"IngressBurst":16""",
        ""","unshapedSubnets":["10.0.0.0/8",null,"bad"]""",
        ""","unknown":{"deep":[1,2,{"x":"y"}]},"ipam":{"type":"host-local","ingressRate":"not ours"},"runtimeConfig":{"other":{"ingressRate":"x"}}""",
        // numbers are kept as raw JSON: wrong ones are refused with the key's name by LoadConf, read alike here
        ""","ingressRate":-1,"ingressBurst":1.5,"egressRate":"1000","egressBurst":18446744073709551616""",
        ""","ingressRate":{"v":1},"ingressBurst":[1,2],"egressRate":true""",
        ""","runtimeConfig":{"bandwidth":{"ingressRate":1e3,"ingressBurst":"8"}}""",
        // wrong types, each a decoding failure naming the path
        ""","unshapedSubnets":"10.0.0.0/8" """,
        ""","shapedSubnets":{"a":"10.0.0.0/8"}""",
        ""","unshapedSubnets":["10.0.0.0/8",5]""",
        ""","shapedSubnets":[["10.0.0.0/8"]]""",
        ""","runtimeConfig":"bandwidth" """,
        ""","runtimeConfig":[{"bandwidth":{}}]""",
        ""","runtimeConfig":{"bandwidth":[{"ingressRate":1}]}""",
        ""","runtimeConfig":{"bandwidth":1000}""",
        ""","runtimeConfig":{"Bandwidth":{"unshapedSubnets":[true]}}""",
        ""","runtimeConfig":{"bandwidth":{"shapedSubnets":"10.0.0.0/8"}}""",
        ""","runtimeConfig":{"bandwidth":{"egressRate":1,"egressBurst":8,"shapedSubnets":["10.0.0.0/8",{"s":1}]}}""",
    ];

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
            // NetConf reads runtimeConfig too and refuses a non-object first in the plugin; the options readers are
            // still compared on the whole bytes.
            config = NetConf.Parse("""{"cniVersion":"1.0.0","name":"n","type":"bandwidth"}"""u8);
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

    private static string Present(BandwidthKeys? k) => k is null ? "none" :
        $"{k.IngressRate.HasValue}{k.IngressBurst.HasValue}{k.EgressRate.HasValue}{k.EgressBurst.HasValue}{k.UnshapedSubnets is not null}{k.ShapedSubnets is not null}";

    private static string Outcome(Func<BandwidthConfig> read)
    {
        try
        {
            BandwidthConfig c = read();
            return $"ok top {Present(c.TopLevel)} rc {Present(c.RuntimeConfig?.Bandwidth)} {JsonSerializer.Serialize(c, SerializerBandwidthContext.Default.BandwidthConfig)}";
        }
        catch (CniException ex)
        {
            return $"error {(int)ex.Code}: {ex.Message}";
        }
    }

    [TestCaseSource(nameof(Extras))]
    public void ReadsWhatTheSerializerRead(string extra)
    {
        CniRequest request = Request($$"""{"cniVersion":"1.0.0","name":"n","type":"bandwidth"{{extra}}}""");
        string expected = Outcome(() => request.GetOptions<BandwidthConfig>(SerializerBandwidthContext.Default));
        string actual = Outcome(() => BandwidthConfigReader.Read(request.RawConfig.Span));
        TestContext.Out.WriteLine(actual);
        Assert.That(actual, Is.EqualTo(expected));
        Assert.That(actual, Does.Not.StartWith("error 999"));
    }

    [Test]
    public void WrongTypesNameTheirPath()
    {
        CniException? ex = Assert.Throws<CniException>(() => BandwidthPlugin.LoadConf(Request("""{"cniVersion":"1.0.0","name":"n","type":"bandwidth","runtimeConfig":{"bandwidth":{"unshapedSubnets":["10.0.0.0/8",7]}}}""")));
        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.DecodingFailure));
        Assert.That(ex.Message, Is.EqualTo("error decoding network configuration at $.runtimeConfig.bandwidth.unshapedSubnets[1]: unexpected JSON value (wrong type)"));
    }

    [Test]
    public void NullTopLevelKeysLeaveRuntimeConfigInCharge()
    {
        BandwidthEntry? e = BandwidthPlugin.LoadConf(Request("""{"cniVersion":"1.0.0","name":"n","type":"bandwidth","ingressRate":null,"runtimeConfig":{"bandwidth":{"egressRate":5,"egressBurst":8}}}"""));
        Assert.That(e, Is.Not.Null);
        Assert.That((e!.EgressRate, e.EgressBurst, e.Source), Is.EqualTo((5UL, 8UL, "runtimeConfig.bandwidth.")));
    }
}
