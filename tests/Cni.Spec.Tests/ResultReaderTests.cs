using System.Text;
using System.Text.Json.Nodes;
using Cni.Spec.Json;

namespace Cni.Spec.Tests;

/// <summary>
/// The result-reading fast path (<see cref="ResultReader"/>) against the serializer path it stands in for: the same
/// object for plain 0.3.0-1.1.0 results, and a fallback (null) for everything else, which then parses, or fails with
/// the same error, exactly as the serializer path does.
/// </summary>
public class ResultReaderTests
{
    private static readonly string[] FastVersions = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

    public static IEnumerable<TestCaseData> GoldenResults()
    {
        foreach (string path in Directory.GetFiles(GoldenFiles.Dir, "*.json").Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(path);
            string? version = (string?)JsonNode.Parse(File.ReadAllBytes(path))?["cniVersion"];
            if (version is not null && FastVersions.Contains(version) && !name.StartsWith("error", StringComparison.Ordinal))
                yield return new TestCaseData(name, version).SetName($"golden {name}");
        }
    }

    [Test]
    public void Every_fast_version_has_golden_files()
    {
        string[] versions = GoldenResults().Select(c => (string)c.Arguments[1]!).Distinct().Order(StringComparer.Ordinal).ToArray();

        Assert.That(versions, Is.EqualTo(FastVersions));
    }

    [TestCaseSource(nameof(GoldenResults))]
    public void Golden_results_read_as_the_serializer_reads_them(string file, string version)
    {
        byte[] bytes = GoldenFiles.Bytes(file);

        AssertSameAsSerializer(bytes, version);
        AssertSameAsSerializer(bytes, null);
    }

    private static readonly (string Json, string Version)[] PlainResults =
    [
        ("""{"cniVersion":"1.0.0"}""", "1.0.0"),
        ("""{}""", "1.1.0"),
        ("""{"cniVersion":"1.0.0","interfaces":[],"ips":[],"routes":[],"dns":{}}""", "1.0.0"),
        ("""{"dns":{"unknown":{"x":[1,null]},"domain":""},"cniVersion":"0.4.0","ips":[{"address":"10.0.0.2/24"}]}""", "0.4.0"),
        ("""{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24","gateway":"10.0.0.1","interface":-1}]}""", "1.1.0"),
        ("""{"cniVersion":"0.3.1","ips":[{"version":"6","address":"10.0.0.2/24"},{"version":"","address":"fd00::2/64","interface":0}]}""", "0.3.1"),
        ("""{"cniVersion":"0.3.0","interfaces":[{"name":"","mac":"","sandbox":""},{}],"routes":[{"dst":"::/0","gw":"fd00::1","mtu":1400,"advmss":1360,"priority":0,"table":254,"scope":253}]}""", "0.3.0"),
        ("""{"cniVersion":"1.1.0","interfaces":[{"pciID":"0000:00:1f.6","socketPath":"/s","mtu":9000,"sandbox":"/n","mac":"m","name":"eth0"}]}""", "1.1.0"),
        ("""{"cni\u0056ersion":"1.0.0","interfaces":[{"n\u0061me":"\u00e9th0\t\"\\","mac":"\u0030a:58"}],"dns":{"nameservers":["\u0031.1.1.1"],"search":["a\/b"],"options":[]}}""", "1.0.0"),
        ("\n  {\"cniVersion\" : \"1.0.0\" ,\r\n \"routes\" : [ { \"dst\" : \"0.0.0.0/0\" } ] }  \n", "1.0.0"),
        ("""{"cniVersion":"1.0.0","routes":[{"dst":"10.0.0.0/8","mtu":2147483647,"scope":-2147483648}]}""", "1.0.0"),
        // The version passed in wins over the one written, as with the serializer.
        ("""{"cniVersion":"0.4.0","ips":[{"address":"10.0.0.2/24"}]}""", "1.0.0"),
        ("""{"cniVersion":"9.9.9","ips":[{"address":"10.0.0.2/24"}]}""", "0.4.0"),
    ];

    public static IEnumerable<TestCaseData> Plain() =>
        PlainResults.Select((c, i) => new TestCaseData(c.Json, c.Version).SetName($"plain result {i}"));

    [TestCaseSource(nameof(Plain))]
    public void Plain_results_read_as_the_serializer_reads_them(string json, string version)
    {
        AssertSameAsSerializer(Encoding.UTF8.GetBytes(json), version);
    }

    [TestCase("""{"cniVersion":"1.1.0","ips":[{"address":"10.0.0.2/24"}]}""", "1.1.0")]
    [TestCase("""{"ips":[{"address":"10.0.0.2/24"}],"cniVersion":"0.3.0"}""", "0.3.0")]
    [TestCase("""{"dns":{"domain":"d"},"cniVersion":"1.0.0"}""", "1.0.0")]
    public void Without_a_version_the_result_names_its_own(string json, string expectedVersion)
    {
        CniResult? fast = ResultReader.TryRead(Encoding.UTF8.GetBytes(json), null);

        Assert.That(fast, Is.Not.Null);
        Assert.That(fast!.CniVersion, Is.EqualTo(expectedVersion));
        AssertSameAsSerializer(Encoding.UTF8.GetBytes(json), null);
    }

    private static readonly (string Json, string? Version)[] ForTheSerializer =
    [
        // Accepted by the serializer, but not plain.
        ("""{"cniVersion":"1.0.0","extra":1}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24","version":"4"}]}""", "1.0.0"),
        ("""{"cniVersion":"0.4.0","interfaces":[{"name":"eth0","mtu":1500}]}""", "0.4.0"),
        ("""{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","Name":"x"}]}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0","routes":[{"dst":"0.0.0.0/0","extra":true}]}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0","dns":{"domain":"a","domain":"b"}}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0","cniVersion":"1.0.0"}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0","ips":[],"ips":[]}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24","address":"10.0.0.3/24"}]}""", "1.0.0"),
        ("""{"cniVersion":null}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0","ips":null,"routes":null,"interfaces":null,"dns":null}""", "1.0.0"),
        ("""{"cniVersion":"0.4.0","ips":null,"dns":null}""", "0.4.0"),
        ("""{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","mac":null}]}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24","gateway":null,"interface":null}]}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0","routes":[{"dst":"0.0.0.0/0","gw":null,"mtu":null}]}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0","dns":{"nameservers":null,"domain":null}}""", "1.0.0"),
        ("""{"cniVersion":"0.2.0","ip4":{"ip":"10.0.0.2/24"}}""", "0.2.0"),
        ("""{"cniVersion":"0.1.0","ip4":{"ip":"10.0.0.2/24"}}""", null),
        ("""{"ip4":{"ip":"10.0.0.2/24"}}""", null),
        ("""{"cniVersion":"","ip4":{"ip":"10.0.0.2/24"}}""", null),
        ("""{"cniVersion":"1.0.0","name":"n"}""", null),
        ("""{"cniVersion":"1.0.0","dns":{},"cniVersio":"0.4.0"}""", null),
        // Errors, which must be the serializer path's.
        ("", "1.0.0"),
        ("null", "1.0.0"),
        ("[]", "1.0.0"),
        ("\"text\"", "1.0.0"),
        ("""{"cniVersion":"1.0.0"} x""", "1.0.0"),
        ("""{"cniVersion":"1.0.0"}{}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0",}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0" /* c */}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24"}""", "1.0.0"),
        ("""{"cniVersion":1}""", "1.0.0"),
        ("""{"cniVersion":1}""", null),
        ("""{"cniVersion":"2.0.0"}""", null),
        ("""{"cniVersion":"1.0.0"}""", "2.0.0"),
        ("""{"cniVersion":"1.0.0"}""", ""),
        ("""{"cniVersion":"1.0.0","ips":{}}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0","ips":[null]}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0","ips":[1]}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0","ips":[{}]}""", "1.0.0"),
        ("""{"cniVersion":"0.4.0","ips":[{"version":"4"}]}""", "0.4.0"),
        ("""{"cniVersion":"0.4.0","ips":[{"version":4,"address":"10.0.0.2/24"}]}""", "0.4.0"),
        ("""{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2"}]}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.256/24"}]}""", "0.3.1"),
        ("""{"cniVersion":"1.0.0","ips":[{"address":5}]}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24","gateway":"10.0.0.1/24"}]}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0","ips":[{"address":"fe80::2/64","gateway":"fe80::1%eth0"}]}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24","interface":"0"}]}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24","interface":1.5}]}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24","interface":2147483648}]}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0","routes":[{}]}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0","routes":[{"gw":"10.0.0.1"}]}""", "0.4.0"),
        ("""{"cniVersion":"1.0.0","routes":[{"dst":"0.0.0.0/0","mtu":"1500"}]}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0","routes":[{"dst":"0.0.0.0/0","table":1e3}]}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0","routes":[{"dst":"0.0.0.0/0","gw":"x"}]}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0","interfaces":[{"name":1}]}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0","interfaces":[null]}""", "1.0.0"),
        ("""{"cniVersion":"1.1.0","interfaces":[{"name":"eth0","mtu":"1500"}]}""", "1.1.0"),
        ("""{"cniVersion":"1.0.0","dns":[]}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0","dns":{"nameservers":"8.8.8.8"}}""", "1.0.0"),
        ("""{"cniVersion":"1.0.0","dns":{"search":[1]}}""", "1.0.0"),
        ("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"\\ud800\"}]}", "1.0.0"),
    ];

    public static IEnumerable<TestCaseData> NotPlain() =>
        ForTheSerializer.Select((c, i) => new TestCaseData(c.Json, c.Version).SetName($"result for the serializer {i}"));

    [TestCaseSource(nameof(NotPlain))]
    public void Anything_else_falls_back_to_the_serializer_with_the_same_outcome(string json, string? version)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(json);

        Assert.That(ResultReader.TryRead(bytes, version), Is.Null);
        (string? expected, CniException? expectedError) = Outcome(() => CniResultSerializer.ParseWithSerializer(bytes, version, "prevResult"));
        (string? actual, CniException? actualError) = Outcome(() => CniResultSerializer.Parse(bytes, version, "prevResult"));
        Assert.Multiple(() =>
        {
            Assert.That(actual, Is.EqualTo(expected));
            Assert.That(actualError?.NumericCode, Is.EqualTo(expectedError?.NumericCode));
            Assert.That(actualError?.Message, Is.EqualTo(expectedError?.Message));
            Assert.That(actualError?.Details, Is.EqualTo(expectedError?.Details));
        });
    }

    [TestCase("""{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.256/24"}]}""", "1.0.0", CniErrorCode.InvalidNetworkConfig)]
    [TestCase("""{"cniVersion":"1.0.0","ips":[{}]}""", "1.0.0", CniErrorCode.InvalidNetworkConfig)]
    [TestCase("""{"cniVersion":"1.0.0","ips":[{"address":5}]}""", "1.0.0", CniErrorCode.DecodingFailure)]
    [TestCase("""{"cniVersion":"1.0.0",""", "1.0.0", CniErrorCode.DecodingFailure)]
    [TestCase("""{"cniVersion":"1.0.0"}""", "2.0.0", CniErrorCode.IncompatibleCniVersion)]
    public void Malformed_results_fail_with_the_serializer_paths_error(string json, string version, CniErrorCode code)
    {
        CniException error = Assert.Throws<CniException>(() => CniResultSerializer.Parse(Encoding.UTF8.GetBytes(json), version, "prevResult"))!;

        Assert.That(error.Code, Is.EqualTo(code));
        Assert.That(error.Message, Does.Contain("prevResult"));
    }

    [Test]
    public void PrevResult_is_read_by_the_fast_path_with_the_configurations_version()
    {
        byte[] config = Encoding.UTF8.GetBytes(
            """{"cniVersion":"0.4.0","name":"n","type":"bridge","prevResult":{"cniVersion":"0.4.0","interfaces":[{"name":"eth0"}],"ips":[{"version":"4","interface":0,"address":"10.0.0.2/24","gateway":"10.0.0.1"}],"dns":{}}}""");

        NetConf conf = NetConf.Parse(config);

        Assert.That(ResultReader.TryRead(Encoding.UTF8.GetBytes(conf.RawPrevResult!.ToJsonString()), "0.4.0"), Is.Not.Null, "the fast path must take this prevResult");
        Assert.That(conf.PrevResult, Is.Not.Null);
        Assert.That(Dump(conf.PrevResult!), Is.EqualTo(
            "cniVersion=0.4.0;if{name=eth0,mac=<null>,mtu=<null>,sandbox=<null>,socketPath=<null>,pciID=<null>};" +
            "ip{interface=0,address=10.0.0.2/24,gateway=10.0.0.1};dns{ns=[],domain=<null>,search=[],options=[]}"));
    }

    [TestCase("""{"cniVersion":"1.0.0","interfaces":[{"name":"é<+>&'`\"\\😀\u2028"}],"dns":{"domain":"a\u00e9b"}}""")]
    [TestCase("""{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24"}],"extra":{"a":[1,null,"x"]}}""")]
    [TestCase("""{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.300/24"}]}""")]
    [TestCase("""{"cniVersion":"1.0.0","ips":[{"address":"é"}]}""")]
    [TestCase("""{"cniVersion":"1.0.0","routes":[{"dst":"0.0.0.0/0","mtu":"x"}]}""")]
    public void PrevResult_reads_as_its_raw_json_does(string prevResult)
    {
        byte[] config = Encoding.UTF8.GetBytes($$"""{"cniVersion":"1.0.0","name":"n","type":"bridge","prevResult":{{prevResult}}}""");
        NetConf conf = NetConf.Parse(config);

        (string? expected, CniException? expectedError) = Outcome(() => CniResultSerializer.ParseWithSerializer(Encoding.UTF8.GetBytes(prevResult), "1.0.0", "prevResult"));
        (string? actual, CniException? actualError) = Outcome(() => conf.PrevResult!);

        Assert.Multiple(() =>
        {
            Assert.That(actual, Is.EqualTo(expected));
            Assert.That(actualError?.NumericCode, Is.EqualTo(expectedError?.NumericCode));
            Assert.That(actualError?.Message, Is.EqualTo(expectedError?.Message));
        });
    }

    private static void AssertSameAsSerializer(byte[] bytes, string? version)
    {
        CniResult expected = CniResultSerializer.ParseWithSerializer(bytes, version, "result");

        CniResult? fast = ResultReader.TryRead(bytes, version);

        Assert.That(fast, Is.Not.Null, "the fast path must take plain results");
        Assert.That(Dump(fast!), Is.EqualTo(Dump(expected)));
        foreach (string v in FastVersions)
        {
            Assert.That(CniResultSerializer.SerializeToUtf8Bytes(fast!, v), Is.EqualTo(CniResultSerializer.SerializeToUtf8Bytes(expected, v)), v);
        }
        Assert.That(CniResultSerializer.SerializeToUtf8Bytes(fast!, expected.CniVersion), Is.EqualTo(CniResultSerializer.SerializeToUtf8Bytes(expected, expected.CniVersion)));
    }

    private static (string? Result, CniException? Error) Outcome(Func<CniResult> parse)
    {
        try
        {
            return (Dump(parse()), null);
        }
        catch (CniException ex)
        {
            return (null, ex);
        }
    }

    /// <summary>Every field of the model, null and empty told apart, so that equal JSON output is not enough.</summary>
    private static string Dump(CniResult r) => string.Join(";",
        new[] { $"cniVersion={r.CniVersion}" }
            .Concat(r.Interfaces.Select(i => $"if{{name={S(i.Name)},mac={S(i.Mac)},mtu={S(i.Mtu)},sandbox={S(i.Sandbox)},socketPath={S(i.SocketPath)},pciID={S(i.PciId)}}}"))
            .Concat(r.Ips.Select(ip => $"ip{{interface={S(ip.Interface)},address={ip.Address},gateway={S(ip.Gateway)}}}"))
            .Concat(r.Routes.Select(x => $"route{{dst={x.Dst},gw={S(x.Gw)},mtu={S(x.Mtu)},advmss={S(x.AdvMss)},priority={S(x.Priority)},table={S(x.Table)},scope={S(x.Scope)}}}"))
            .Append($"dns{{ns=[{string.Join(",", r.Dns.Nameservers)}],domain={S(r.Dns.Domain)},search=[{string.Join(",", r.Dns.Search)}],options=[{string.Join(",", r.Dns.Options)}]}}"));

    private static string S(object? value) => value?.ToString() ?? "<null>";
}
