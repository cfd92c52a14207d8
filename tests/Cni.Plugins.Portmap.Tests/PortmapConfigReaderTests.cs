using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Cni.Spec;

namespace Cni.Plugins.Portmap.Tests;

/// <summary>The serializer's reading of <see cref="PortmapConfig"/>, as the plugin read it before it had its own reader.</summary>
[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, NumberHandling = JsonNumberHandling.Strict, GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(PortmapConfig))]
internal sealed partial class SerializerPortmapContext : JsonSerializerContext;

/// <summary>
/// portmap reads its options (and <c>runtimeConfig.portMappings</c>) with its own
/// <see cref="Cni.Spec.Json.JsonOptionReader"/> code instead of the serializer (start-up cost): on every input here,
/// valid or not, it must give what the serializer gave, the same values or the same CNI error (code and message,
/// JSON path included).
/// </summary>
public class PortmapConfigReaderTests
{
    private static readonly string[] Extras =
    [
        "",
        // every key
        ""","snat":false,"conditionsV4":["-s","10.0.0.0/8"],"conditionsV6":["!","-s","fd00::/8"],"masqAll":true,"markMasqBit":14,"externalSetMarkChain":null,"backend":"iptables","runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp","hostIP":"127.0.0.1"}]}""",
        ""","externalSetMarkChain":"KUBE-MARK-MASQ","backend":"nftables","conditionsV4":["ip","saddr","10.0.0.1"],"snat":true""",
        // case-insensitive keys, at every level
        ""","SNAT":false,"ConditionsV4":["-d","1.2.3.4"],"MASQALL":true,"MarkMasqBIT":3,"Backend":"iptables","RuntimeConfig":{"PortMappings":[{"HOSTPORT":1,"ContainerPort":2,"Protocol":"UDP","HostIp":"::1"}]}""",
        // nulls
        ""","snat":null,"conditionsV4":null,"conditionsV6":null,"markMasqBit":null,"backend":null,"runtimeConfig":null""",
        ""","runtimeConfig":{"portMappings":null}""",
        ""","runtimeConfig":{"portMappings":[null,{"hostPort":80,"containerPort":80,"protocol":null,"hostIP":null}]}""",
        ""","conditionsV4":[null,"-s"]""",
        // repeated keys: the last one wins, lists and objects are replaced
        ""","markMasqBit":1,"markMasqBit":2,"backend":"iptables","Backend":"nftables","conditionsV4":["-a"],"conditionsV4":["-b","-c"]""",
        ""","runtimeConfig":{"portMappings":[{"hostPort":1,"containerPort":1}]},"runtimeConfig":{"other":1}""",
        ""","runtimeConfig":{"portMappings":[{"hostPort":1,"hostPort":2,"containerPort":3,"protocol":"tcp","protocol":"sctp"}],"portMappings":[{"hostPort":9}]}""",
        // unknown keys, deep, at every level
        ""","unknown":{"deep":[1,2,{"x":"y"}]},"ipam":{"type":"host-local","snat":"not ours"},"capabilities":{"portMappings":true}""",
        ""","runtimeConfig":{"bandwidth":{"ingressRate":1},"mac":"02:00:00:00:00:01","portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp","name":"web","extra":[{"a":null}]}]}""",
        // numbers: 64-bit, negative, out of range for the settings (read alike, refused alike)
        ""","markMasqBit":4294967296,"runtimeConfig":{"portMappings":[{"hostPort":-1,"containerPort":99999999999}]}""",
        ""","runtimeConfig":{"portMappings":[{"hostPort":70000,"containerPort":80,"protocol":"tcp"}]}""",
        ""","markMasqBit":32""",
        ""","markMasqBit":1,"externalSetMarkChain":"X" """,
        ""","backend":"pf" """,
        ""","conditionsV4":["ip","saddr","1.2.3.4"]""",
        ""","runtimeConfig":{"portMappings":[{"hostPort":80,"containerPort":80,"protocol":"icmp"}]}""",
        ""","runtimeConfig":{"portMappings":[{"hostPort":80,"containerPort":80,"protocol":"tcp","hostIP":"1.2.3"}]}""",
        // wrong types at the top level, each a decoding failure naming the path
        ""","snat":"false" """,
        ""","snat":0""",
        ""","masqAll":null""",
        ""","masqAll":"true" """,
        ""","markMasqBit":"13" """,
        ""","markMasqBit":13.0""",
        ""","markMasqBit":1e1""",
        ""","markMasqBit":18446744073709551616""",
        ""","markMasqBit":true""",
        ""","backend":["iptables"]""",
        ""","externalSetMarkChain":7""",
        ""","conditionsV4":"-s 10.0.0.0/8" """,
        ""","conditionsV6":{"0":"-s"}""",
        ""","conditionsV4":["-s",8]""",
        ""","conditionsV6":[["-s"]]""",
        // wrong types inside runtimeConfig and its list items
        ""","runtimeConfig":[]""",
        ""","runtimeConfig":"portMappings" """,
        ""","runtimeConfig":{"portMappings":{"hostPort":80}}""",
        ""","runtimeConfig":{"portMappings":[80]}""",
        ""","runtimeConfig":{"portMappings":[{"hostPort":80,"containerPort":80},{"hostPort":"8080"}]}""",
        ""","runtimeConfig":{"portMappings":[{"hostPort":null}]}""",
        ""","runtimeConfig":{"portMappings":[{"containerPort":80.5}]}""",
        ""","runtimeConfig":{"portMappings":[{"hostPort":80,"containerPort":80,"protocol":6}]}""",
        ""","runtimeConfig":{"portMappings":[{"hostPort":80,"containerPort":80,"protocol":"tcp","hostIP":["::"]}]}""",
        ""","runtimeConfig":{"portMappings":[{"hostPort":80,"containerPort":80,"protocol":"tcp","hostIP":{}}]}""",
        // strings JSON allows but UTF-16 does not (lone surrogates), as values and as keys, at every level
        ""","backend":"\ud800" """,
        ""","conditionsV4":["-s","\udc00"]""",
        ""","runtimeConfig":{"portMappings":[{"hostPort":80,"containerPort":80,"protocol":"tcp","hostIP":"\udfff"}]}""",
        ""","runtimeConfig":{"portMappings":[{"hostPort":80},{"\ud800":1}]}""",
        ""","runtimeConfig":{"\ud800x":[]}""",
        ""","unknown":{"\ud800":"\udc00"},"backend":"iptables" """,
        // keys the serializer writes in brackets in a path
        ""","runtimeConfig":{"portMappings":[{"host port":1,"hostPort":false}]}""",
    ];

    private static readonly string PrevResult =
        ""","prevResult":{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/var/run/netns/x"}],"ips":[{"address":"10.1.0.2/16","interface":0}]}""";

    private static CniRequest Request(string json, byte[]? rawOptions = null)
    {
        byte[] raw = Encoding.UTF8.GetBytes(json);
        return new CniRequest
        {
            Command = CniCommand.Add,
            ContainerId = "c1",
            IfName = "eth0",
            Config = NetConf.Parse(raw),
            RawConfig = rawOptions ?? raw,
            Args = CniArgs.Parse(null),
            Environment = new InMemoryCniEnvironment([]),
        };
    }

    private static string Outcome<T>(Func<T> read, Func<T, string> show)
    {
        try
        {
            return "ok " + show(read());
        }
        catch (CniException ex)
        {
            return $"error {(int)ex.Code}: {ex.Message}";
        }
    }

    private static string Json(PortmapConfig o) => JsonSerializer.Serialize(o, SerializerPortmapContext.Default.PortmapConfig);

    // GetOptions reads RawConfig only; the request's parsed NetConf is that of a minimal configuration, as the whole
    // one may be refused before the plugin's options are read (NetConf reads runtimeConfig too).
    private static CniRequest OptionsRequest(string json) =>
        Request("""{"cniVersion":"1.0.0","name":"n","type":"portmap"}""", Encoding.UTF8.GetBytes(json));

    [TestCaseSource(nameof(Extras))]
    public void ReadsWhatTheSerializerRead(string extra)
    {
        CniRequest request = OptionsRequest($$"""{"cniVersion":"1.0.0","name":"n","type":"portmap"{{extra}}{{PrevResult}}}""");
        string expected = Outcome(() => request.GetOptions<PortmapConfig>(SerializerPortmapContext.Default), Json);
        string actual = Outcome(() => PortmapConfigReader.Read(request.RawConfig.Span), Json);
        Assert.That(actual, Is.EqualTo(expected));
    }

    [Test]
    public void WrongTypesNameTheirPath()
    {
        CniException? ex = Assert.Throws<CniException>(() => PortmapSettings.Load(
            Request("""{"cniVersion":"1.0.0","name":"n","type":"portmap","runtimeConfig":{"portMappings":[{"hostPort":80},{"containerPort":"80"}]}}"""),
            iptablesInstalled: true, nftInstalled: false));
        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.DecodingFailure));
        Assert.That(ex.Message, Is.EqualTo("error decoding network configuration at $.runtimeConfig.portMappings[1].containerPort: unexpected JSON value (wrong type)"));
        ex = Assert.Throws<CniException>(() => PortmapSettings.Load(
            Request("""{"cniVersion":"1.0.0","name":"n","type":"portmap","conditionsV6":["-s",1]}"""), iptablesInstalled: true, nftInstalled: false));
        Assert.That(ex!.Message, Does.Contain("at $.conditionsV6[1]:"));
    }
}
