using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cni.Netlink;
using Cni.Netlink.Protocol;
using Cni.Netlink.Sockets;
using Cni.Runtime;
using Cni.Spec;

namespace Cni.Fuzz.Tests;

/// <summary>Every crash the fuzzer found, minimized, as a named test: each failed with an undocumented exception before its fix.</summary>
public class RegressionTests
{
    private static Dictionary<string, string> AddEnvironment() => new()
    {
        ["CNI_COMMAND"] = "ADD",
        ["CNI_CONTAINERID"] = "fuzz-regression",
        ["CNI_NETNS"] = "/var/run/netns/cni-fuzz-does-not-exist",
        ["CNI_IFNAME"] = "eth0",
        ["CNI_PATH"] = "/nonexistent",
    };

    private static (int Exit, JsonElement Stdout) RunHost(string type, byte[] stdin)
    {
        var env = new InMemoryCniEnvironment(AddEnvironment(), stdin);
        int exit = CniPluginHost.RunAsync(PluginHostFuzzTests.ParseOnly(type), env).GetAwaiter().GetResult();
        using JsonDocument doc = JsonDocument.Parse(env.StdoutText);
        return (exit, doc.RootElement.Clone());
    }

    // ------------------------------------------------------------------------------------------------------------
    // Plugin host (stdin): was code 999 "InvalidOperationException: Cannot transcode invalid UTF-8 JSON text"
    // ------------------------------------------------------------------------------------------------------------

    [TestCase("bridge")]
    [TestCase("macvlan")]
    [TestCase("host-local")]
    [TestCase("static")]
    public void InvalidUtf8InAStringIsADecodingError(string type)
    {
        byte[] stdin = [.. """{"cniVersion":"1.0.0","name":"n","type":"x","ipam":{"type":"st"""u8, 0xff, .. "\"}}"u8];
        (int exit, JsonElement error) = RunHost(type, stdin);
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(error.GetProperty("code").GetInt32(), Is.EqualTo((int)CniErrorCode.DecodingFailure));
        Assert.That(error.GetProperty("msg").GetString(), Does.Contain("not valid UTF-8 (byte 63)"));
    }

    [Test]
    public void EscapedLoneSurrogateIsADecodingError()
    {
        (int exit, JsonElement error) = RunHost("bridge", """{"cniVersion":"1.0.0","name":"n","type":"bridge","bridge":"br\ud800"}"""u8.ToArray());
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(error.GetProperty("code").GetInt32(), Is.EqualTo((int)CniErrorCode.DecodingFailure));
        Assert.That(error.GetProperty("msg").GetString(), Does.Contain("lone surrogate"));
    }

    [Test]
    public void NetConfParseRefusesInvalidUtf8InAKey()
    {
        byte[] json = [.. "{\"n"u8, 0xc0, .. "\":1,\"name\":\"n\"}"u8];
        var ex = Assert.Throws<CniException>(() => NetConf.Parse(json))!;
        Assert.That(ex.Code, Is.EqualTo(CniErrorCode.DecodingFailure));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Repeated keys below the top level: was code 999 "ArgumentException: An item with the same key has already been added"
    // ------------------------------------------------------------------------------------------------------------

    [Test]
    public void RepeatedNestedKeyInArgsTakesTheLastValueAsGoDoes()
    {
        byte[] stdin = """{"cniVersion":"1.0.0","name":"n","type":"bridge","args":{"cni":null,"cni":{"mac":"0a:58:0a:00:00:03"}}}"""u8.ToArray();
        (int exit, JsonElement result) = RunHost("bridge", stdin);
        Assert.That(exit, Is.EqualTo(0), result.ToString());
        NetConf conf = NetConf.Parse(stdin);
        Assert.That(((conf.Args!["cni"] as JsonObject)!)["mac"]!.GetValue<string>(), Is.EqualTo("0a:58:0a:00:00:03"));
    }

    [Test]
    public void RepeatedKeyInAnUnknownNestedObjectSurvivesARoundTrip()
    {
        NetConf conf = NetConf.Parse("""{"cniVersion":"1.0.0","name":"n","type":"t","x":{"a":1,"b":[{"c":1,"c":2}],"a":3}}"""u8);
        Assert.That(Encoding.UTF8.GetString(conf.ToJsonBytes()), Does.Contain("\"x\":{\"b\":[{\"c\":2}],\"a\":3}"));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Results: was NullReferenceException in ResultConverter.From040 / From020 / CniResult.Clone
    // ------------------------------------------------------------------------------------------------------------

    [TestCase("""{"cniVersion":"0.4.0","ips":[null]}""", "0.4.0", "ips[0]")]
    [TestCase("""{"cniVersion":"0.3.1","interfaces":[null]}""", "0.3.1", "interfaces[0]")]
    [TestCase("""{"cniVersion":"0.4.0","routes":[null]}""", "0.4.0", "routes[0]")]
    [TestCase("""{"cniVersion":"0.2.0","ip4":{"ip":"10.0.0.2/24","routes":[null]}}""", "0.2.0", "routes[0]")]
    [TestCase("""{"cniVersion":"1.0.0","ips":[null]}""", "1.1.0", "ips[0]")]
    public void NullListItemInAResultIsAnInvalidResult(string json, string version, string field)
    {
        var ex = Assert.Throws<CniException>(() => CniResultSerializer.Parse(Encoding.UTF8.GetBytes(json), version, "prevResult"))!;
        Assert.That(ex.Code, Is.EqualTo(CniErrorCode.InvalidNetworkConfig));
        Assert.That(ex.Message, Does.Contain(field).And.Contain("prevResult"));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Runtime: conflists and cache entries (ArgumentException, InvalidOperationException from JsonNode and GoJson)
    // ------------------------------------------------------------------------------------------------------------

    [Test]
    public void RepeatedKeyInAConflistPluginTakesTheLastValue()
    {
        CniNetworkConfig network = CniNetworkConfig.Parse("""{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"a","k":1,"k":2}]}"""u8.ToArray());
        Assert.That(network.Plugins[0].ToJsonObject()["k"]!.GetValue<int>(), Is.EqualTo(2));
        Assert.That(network.Plugins[0].ToString(), Is.EqualTo("""{"k":2,"type":"a"}"""));
    }

    [Test]
    public void InvalidUtf8InAConflistIsADecodingError()
    {
        byte[] json = [.. """{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"a"""u8, 0x80, .. "\"}]}"u8];
        var ex = Assert.Throws<CniException>(() => CniNetworkConfig.Parse(json, "/etc/cni/net.d/x.conflist"))!;
        Assert.That(ex.Code, Is.EqualTo(CniErrorCode.DecodingFailure));
        Assert.That(ex.Message, Does.StartWith("/etc/cni/net.d/x.conflist: invalid JSON"));
    }

    [Test]
    public void NumberBeyondDoubleInALegacyConfIsADecodingError()
    {
        // Go cannot read 1e400 into interface{} either; GoJson used to throw "JSON cannot hold NaN or infinity".
        var ex = Assert.Throws<CniException>(() => CniNetworkConfig.FromLegacyConf("""{"cniVersion":"1.0.0","name":"n","type":"a","mtu":1e400}"""u8.ToArray()))!;
        Assert.That(ex.Code, Is.EqualTo(CniErrorCode.DecodingFailure));
    }

    [Test]
    public void CacheEntryWithRepeatedKeysParsesAndWithInvalidTextIsSkipped()
    {
        Assert.That(CniResultCache.TryParseEntry("""{"kind":"cniCacheV1","ifName":"a","ifName":"eth0","networkName":"n","containerId":"c"}"""u8, "p", out CniCachedAttachment? entry), Is.True);
        Assert.That(entry!.IfName, Is.EqualTo("eth0"));
        byte[] invalid = [.. """{"kind":"cniCacheV1","ifName":"eth"""u8, 0xed, 0xa0, 0x80, .. "\"}"u8];
        Assert.That(CniResultCache.TryParseEntry(invalid, "p", out _), Is.False);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Netlink: was ArgumentOutOfRangeException in NetlinkConnection.ThrowIfError
    // ------------------------------------------------------------------------------------------------------------

    [Test]
    public void ExtendedAckWithAHugeEchoedLengthStillGivesTheErrno()
    {
        byte[] message = new byte[16 + 20 + 8];
        BinaryPrimitives.WriteUInt32LittleEndian(message, (uint)message.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(4), NlMsgType.Error);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(6), NlmF.AckTlvs);
        BinaryPrimitives.WriteInt32LittleEndian(message.AsSpan(16), -17); // EEXIST
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(20), 0xffffffff); // the echoed request's nlmsg_len
        var ex = Assert.Throws<NetlinkException>(() => NetlinkConnection.ThrowIfError(message, new Operation("fuzz")))!;
        Assert.That(ex.IsExists, Is.True);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Found by a long run (CNI_FUZZ_ITERATIONS=40000 CNI_FUZZ_SEED=7)
    // ------------------------------------------------------------------------------------------------------------

    /// <summary>Was code 999 (NullReferenceException in BridgeSettings.CollectTrunk); the Go reference panics on it.</summary>
    [Test]
    public void NullVlanTrunkEntryIsAnInvalidConfiguration()
    {
        (int exit, JsonElement error) = RunHost("bridge", """{"cniVersion":"1.1.0","name":"trunk","type":"bridge","vlanTrunk":[{"id":101},null]}"""u8.ToArray());
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(error.GetProperty("code").GetInt32(), Is.EqualTo((int)CniErrorCode.InvalidNetworkConfig));
        Assert.That(error.GetProperty("msg").GetString(), Does.Contain("vlanTrunk"));
    }

    /// <summary>Was code 999 (ArgumentNullException in CniDns.Clone) for the static plugin's ADD in 0.4.0.</summary>
    [Test]
    public void NullDnsListInStaticConfigurationReadsAsEmpty()
    {
        (int exit, JsonElement result) = RunHost("static", """{"cniVersion":"0.4.0","name":"st","type":"static","ipam":{"type":"static","addresses":[{"address":"10.10.0.1/24"}],"dns":{"nameservers":["8.8.8.8"],"search":null}}}"""u8.ToArray());
        Assert.That(exit, Is.EqualTo(0), result.ToString());
        Assert.That(result.GetProperty("dns").GetProperty("nameservers")[0].GetString(), Is.EqualTo("8.8.8.8"));
    }

    /// <summary>Was ArgumentNullException in CniDns.Clone converting a result read in 0.4.0.</summary>
    [Test]
    public void NullDnsListInAResultReadsAsEmpty()
    {
        CniResult result = CniResultSerializer.Parse("""{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.1.2.3/24"}],"dns":{"nameservers":null}}"""u8, "0.4.0");
        Assert.That(CniResultSerializer.Serialize(result, "0.2.0"), Does.Contain("10.1.2.3/24"));
        Assert.That(result.Dns.Nameservers, Is.Empty);
    }

    /// <summary>Was NullReferenceException in PluginExecutor.PluginError for a delegated plugin printing <c>{"msg":null}</c>.</summary>
    [Test]
    public void DelegatedErrorWithNullMessageIsReportedAsRawOutput()
    {
        CniException error = PluginExecutor.PluginError("/opt/cni/bin/x", "exit 1", """{"msg":null}"""u8.ToArray(), []);
        Assert.That(error.Code, Is.EqualTo(CniErrorCode.Internal));
        Assert.That(error.Message, Does.Contain("not CNI error JSON"));
        CniException coded = PluginExecutor.PluginError("/opt/cni/bin/x", "exit 1", """{"code":7,"msg":null}"""u8.ToArray(), []);
        Assert.That(coded.NumericCode, Is.EqualTo(7u));
    }

    // ------------------------------------------------------------------------------------------------------------
    // portmap: a null item in conditionsV4/V6 was code 999 "NullReferenceException"
    // ------------------------------------------------------------------------------------------------------------

    [TestCase("conditionsV4")]
    [TestCase("conditionsV6")]
    public void PortmapNullConditionIsAnErrorNamingTheField(string field)
    {
        byte[] stdin = System.Text.Encoding.UTF8.GetBytes($$$"""{"cniVersion":"1.0.0","name":"n","type":"portmap","{{{field}}}":[null,"-s","fd00::/8"],"runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]},"prevResult":{"interfaces":[{"name":"eth0","sandbox":"/var/run/netns/x"}],"ips":[{"address":"10.1.0.2/24","interface":0}]}}""");
        (int exit, JsonElement error) = RunHost("portmap", stdin);
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(error.GetProperty("code").GetInt32(), Is.EqualTo((int)CniErrorCode.InvalidNetworkConfig));
        Assert.That(error.GetProperty("msg").GetString(), Does.Contain(field + "[0]"));
    }
}
