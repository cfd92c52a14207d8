using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Cni.Spec.Json;

namespace Cni.Spec.Tests;

/// <summary>Options shaped like a plugin's: strings, numbers, lists, Cni.Spec types, an address with its converter.</summary>
public sealed class SampleOptions
{
    [JsonPropertyName("cniVersion")]
    public string? CniVersion { get; set; }

    [JsonPropertyName("mtu")]
    public int? Mtu { get; set; }

    [JsonPropertyName("isGateway")]
    public bool IsGateway { get; set; }

    [JsonPropertyName("ipam")]
    public SampleIpam? Ipam { get; set; }
}

/// <summary>A nested section of <see cref="SampleOptions"/>.</summary>
public sealed class SampleIpam
{
    [JsonPropertyName("gateway")]
    [JsonConverter(typeof(IPAddressJsonConverter))]
    public IPAddress? Gateway { get; set; }

    [JsonPropertyName("subnet")]
    public IPPrefix? Subnet { get; set; }

    [JsonPropertyName("routes")]
    public List<CniRoute>? Routes { get; set; }

    [JsonPropertyName("dns")]
    public CniDns? Dns { get; set; }

    [JsonPropertyName("ips")]
    public List<string>? Ips { get; set; }
}

/// <summary>Read-only metadata, as plugins declare it for the cheap <see cref="CniRequest.GetOptions{T}(JsonSerializerContext)"/>.</summary>
[JsonSourceGenerationOptions(GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(SampleOptions))]
internal sealed partial class SampleOptionsContext : JsonSerializerContext;

/// <summary>A second context with default settings, to print what was read (and to read with the old overload).</summary>
[JsonSerializable(typeof(SampleOptions))]
internal sealed partial class SampleOptionsPrintContext : JsonSerializerContext;

/// <summary>
/// <see cref="CniRequest.GetOptions{T}(JsonSerializerContext)"/> (cheap metadata) must read exactly what
/// <see cref="CniRequest.GetOptions{T}(System.Text.Json.Serialization.Metadata.JsonTypeInfo{T})"/> reads, and fail with the same CNI error.
/// </summary>
public class GetOptionsTests
{
    private static CniRequest Request(string config)
    {
        byte[] raw = Encoding.UTF8.GetBytes(config);
        return new CniRequest
        {
            Command = CniCommand.Add,
            Config = NetConf.Parse(raw),
            RawConfig = raw,
            Environment = new InMemoryCniEnvironment(new Dictionary<string, string>(), raw),
        };
    }

    private const string Full = """
        {"cniVersion":"1.0.0","name":"n","type":"sample","mtu":1400,"isGateway":true,"unknown":{"x":[1,2]},
         "ipam":{"gateway":"10.1.0.1","subnet":"10.1.0.0/16","ips":["10.1.0.5/16","fd00::5/64"],
                 "routes":[{"dst":"0.0.0.0/0","gw":"10.1.0.254","mtu":1300,"priority":5},{"dst":"fd00::/8"}],
                 "dns":{"nameservers":["8.8.8.8"],"domain":"example.com","search":["a","b"],"options":["ndots:2"]}}}
        """;

    private static readonly string[] Inputs =
    [
        Full,
        """{"cniVersion":"1.0.0","name":"n","type":"sample"}""",
        """{"cniVersion":"1.0.0","name":"n","type":"sample","ipam":null,"mtu":null}""",
        """{"cniVersion":"1.0.0","name":"n","type":"sample","ipam":{"gateway":null,"routes":[]}}""",
        // Wrong types, bad values, at every depth.
        """{"cniVersion":"1.0.0","name":"n","type":"sample","mtu":"1400"}""",
        """{"cniVersion":"1.0.0","name":"n","type":"sample","isGateway":1}""",
        """{"cniVersion":"1.0.0","name":"n","type":"sample","ipam":{"dns":[]}}""",
        """{"cniVersion":"1.0.0","name":"n","type":"sample","ipam":{"gateway":"10.1.0.300"}}""",
        """{"cniVersion":"1.0.0","name":"n","type":"sample","ipam":{"gateway":42}}""",
        """{"cniVersion":"1.0.0","name":"n","type":"sample","ipam":{"gateway":"fe80::1%eth0"}}""",
        """{"cniVersion":"1.0.0","name":"n","type":"sample","ipam":{"subnet":"10.1.0.0/33"}}""",
        """{"cniVersion":"1.0.0","name":"n","type":"sample","ipam":{"routes":[{"dst":"0.0.0.0/0","gw":"nope"}]}}""",
        """{"cniVersion":"1.0.0","name":"n","type":"sample","ipam":{"routes":[{"dst":"0.0.0.0/0"},{"dst":"x"}]}}""",
        """{"cniVersion":"1.0.0","name":"n","type":"sample","ipam":{"routes":[{"dst":"0.0.0.0/0","mtu":1.5}]}}""",
        """{"cniVersion":"1.0.0","name":"n","type":"sample","ipam":{"dns":{"nameservers":"8.8.8.8"}}}""",
        """{"cniVersion":"1.0.0","name":"n","type":"sample","ipam":{"ips":[1]}}""",
        """{"cniVersion":"1.0.0","name":"n","type":"sample","mtu":99999999999}""",
    ];

    private static string Print(SampleOptions options) => JsonSerializer.Serialize(options, SampleOptionsPrintContext.Default.SampleOptions);

    private static string Outcome(Func<SampleOptions> read)
    {
        try
        {
            return "ok " + Print(read());
        }
        catch (CniException ex)
        {
            return $"error {ex.NumericCode}: {ex.Message} | {ex.Details}";
        }
    }

    [TestCaseSource(nameof(Inputs))]
    public void Cheap_overload_reads_and_fails_exactly_like_the_type_info_overload(string config)
    {
        CniRequest request = Request(config);
        string expected = Outcome(() => request.GetOptions(SampleOptionsPrintContext.Default.SampleOptions));
        string actual = Outcome(() => request.GetOptions<SampleOptions>(SampleOptionsContext.Default));
        Assert.That(actual, Is.EqualTo(expected));
    }

    [Test]
    public void Cheap_overload_reads_every_field()
    {
        SampleOptions o = Request(Full).GetOptions<SampleOptions>(SampleOptionsContext.Default);
        Assert.Multiple(() =>
        {
            Assert.That(o.Mtu, Is.EqualTo(1400));
            Assert.That(o.IsGateway, Is.True);
            Assert.That(o.Ipam!.Gateway, Is.EqualTo(IPAddress.Parse("10.1.0.1")));
            Assert.That(o.Ipam.Subnet.ToString(), Is.EqualTo("10.1.0.0/16"));
            Assert.That(o.Ipam.Routes!.Select(r => $"{r.Dst} {r.Gw} {r.Mtu} {r.Priority}"),
                Is.EqualTo(new[] { "0.0.0.0/0 10.1.0.254 1300 5", "fd00::/8   " }));
            Assert.That(o.Ipam.Dns!.Nameservers, Is.EqualTo(new[] { "8.8.8.8" }));
            Assert.That(o.Ipam.Dns.Options, Is.EqualTo(new[] { "ndots:2" }));
            Assert.That(o.Ipam.Ips, Is.EqualTo(new[] { "10.1.0.5/16", "fd00::5/64" }));
        });
    }

    [Test]
    public void Cheap_overload_names_the_field_in_errors()
    {
        CniException bad = Assert.Throws<CniException>(() =>
            Request("""{"cniVersion":"1.0.0","name":"n","type":"sample","ipam":{"routes":[{"dst":"0.0.0.0/0","gw":"nope"}]}}""")
                .GetOptions<SampleOptions>(SampleOptionsContext.Default))!;
        CniException wrongType = Assert.Throws<CniException>(() =>
            Request("""{"cniVersion":"1.0.0","name":"n","type":"sample","mtu":"1400"}""").GetOptions<SampleOptions>(SampleOptionsContext.Default))!;
        Assert.Multiple(() =>
        {
            Assert.That(bad.Code, Is.EqualTo(CniErrorCode.InvalidNetworkConfig));
            Assert.That(bad.Message, Does.Contain("$.ipam.routes[0].gw"));
            Assert.That(wrongType.Code, Is.EqualTo(CniErrorCode.DecodingFailure));
            Assert.That(wrongType.Message, Does.Contain("$.mtu"));
        });
    }
}
