using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cni.Spec.Json;

namespace Cni.Spec.Tests;

/// <summary>
/// The start-up fast paths (configuration reading and result printing without serializer metadata) against the
/// serializer paths they stand in for: same objects, same bytes, and a fallback (null) for everything else.
/// </summary>
public class StartupFastPathTests
{
    private static readonly string[] PlainConfigs =
    [
        """{"cniVersion":"1.0.0","name":"n","type":"static"}""",
        """{"name":"n","type":"bridge"}""",
        """{"cniVersion":"","name":"","type":""}""",
        """
        {
          "cniVersion": "1.0.0", "name": "bench", "type": "static",
          "ipam": {"type": "static", "addresses": [{"address": "10.10.0.1/24", "gateway": "10.10.0.254"}],
                   "routes": [{"dst": "0.0.0.0/0"}], "dns": {"nameservers": ["8.8.8.8"]}},
          "dns": {"nameservers": ["1.1.1.1", "8.8.8.8"], "domain": "example.com", "search": ["a", "b"], "options": ["ndots:2"], "unknown": {"x": [1, 2]}},
          "ipMasq": true,
          "capabilities": {"ips": true},
          "runtimeConfig": {"ips": ["10.1.2.3/24"]},
          "args": {"cni": {"ips": ["10.1.2.4/24"]}},
          "bridge": "cni0", "mtu": 1500, "hairpin": false, "nothing": null, "list": [1, "two", {"three": 3}],
          "escaped\u0041key": "va\"lue \u00e9"
        }
        """,
        """{"cni\u0056ersion":"0.4.0","name":"n","ipam":{},"dns":{},"ipMasq":false}""",
        """{"name":"n","prevResult":{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24","gateway":"10.0.0.1"}],"dns":{}},"cniVersion":"1.0.0"}""",
        "\n  {\"name\":\"n\"}  \n",
    ];

    private static readonly string[] NotPlainConfigs =
    [
        "",
        "null",
        "[]",
        "\"text\"",
        """{"name":"n"} x""",
        """{"name":"n"}{}""",
        """{"name":"n",}""",
        """{"name":"n" /* c */}""",
        """{"name":null}""",
        """{"cniVersion":null,"name":"n"}""",
        """{"name":5}""",
        """{"name":"a","name":"b"}""",
        """{"name":"n","x":1,"x":2}""",
        """{"name":"n","ipam":null}""",
        """{"name":"n","ipam":{"type":"a","type":"b"}}""",
        """{"name":"n","ipam":{"type":1}}""",
        """{"name":"n","ipam":{"x":1,"x":2}}""",
        """{"name":"n","dns":{"nameservers":[null]}}""",
        """{"name":"n","dns":{"nameservers":null}}""",
        """{"name":"n","dns":{"domain":null}}""",
        """{"name":"n","dns":{"search":"a"}}""",
        """{"name":"n","ipMasq":"true"}""",
        """{"name":"n","ipMasq":null}""",
        """{"name":"n","args":[]}""",
        """{"name":"n","args":null}""",
        """{"name":"n","prevResult":"x"}""",
        """{"name":"n""",
    ];

    public static IEnumerable<TestCaseData> Plain() => PlainConfigs.Select((c, i) => new TestCaseData(c).SetName($"plain configuration {i}"));

    public static IEnumerable<TestCaseData> NotPlain() => NotPlainConfigs.Select((c, i) => new TestCaseData(c).SetName($"configuration for the serializer {i}"));

    [TestCaseSource(nameof(Plain))]
    public void Plain_configurations_read_as_the_serializer_reads_them(string json)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(json);
        NetConf expected = NetConf.Parse(bytes);

        NetConf? fast = NetConfReader.TryRead(bytes, out string? rawVersion, out string? rawName);

        Assert.That(fast, Is.Not.Null, "the fast path must take plain configurations");
        NetConf actual = NetConfReader.Complete(fast!);
        JsonNode probe = JsonNode.Parse(bytes)!;
        Assert.Multiple(() =>
        {
            Assert.That(rawVersion, Is.EqualTo((string?)probe["cniVersion"]));
            Assert.That(rawName, Is.EqualTo((string?)probe["name"]));
            Assert.That(actual.CniVersion, Is.EqualTo(expected.CniVersion));
            Assert.That(actual.Name, Is.EqualTo(expected.Name));
            Assert.That(actual.Type, Is.EqualTo(expected.Type));
            Assert.That(actual.IpMasq, Is.EqualTo(expected.IpMasq));
            Assert.That(actual.Ipam?.Type, Is.EqualTo(expected.Ipam?.Type));
            Assert.That(Describe(actual.Ipam?.ExtensionData), Is.EqualTo(Describe(expected.Ipam?.ExtensionData)));
            Assert.That(actual.Dns is null, Is.EqualTo(expected.Dns is null));
            Assert.That(actual.Dns?.Nameservers, Is.EqualTo(expected.Dns?.Nameservers));
            Assert.That(actual.Dns?.Domain, Is.EqualTo(expected.Dns?.Domain));
            Assert.That(actual.Dns?.Search, Is.EqualTo(expected.Dns?.Search));
            Assert.That(actual.Dns?.Options, Is.EqualTo(expected.Dns?.Options));
            Assert.That(Describe(actual.Capabilities), Is.EqualTo(Describe(expected.Capabilities)));
            Assert.That(Describe(actual.RuntimeConfig), Is.EqualTo(Describe(expected.RuntimeConfig)));
            Assert.That(Describe(actual.Args), Is.EqualTo(Describe(expected.Args)));
            Assert.That(Describe(actual.RawPrevResult), Is.EqualTo(Describe(expected.RawPrevResult)));
            Assert.That(Describe(actual.ExtensionData), Is.EqualTo(Describe(expected.ExtensionData)));
            Assert.That(actual.PrevResult is null, Is.EqualTo(expected.PrevResult is null));
            if (expected.PrevResult is not null)
            {
                Assert.That(CniResultSerializer.Serialize(actual.PrevResult!, "1.0.0"), Is.EqualTo(CniResultSerializer.Serialize(expected.PrevResult, "1.0.0")));
            }
            Assert.That(actual.ToJsonBytes(), Is.EqualTo(expected.ToJsonBytes()));
        });
    }

    [TestCaseSource(nameof(NotPlain))]
    public void Anything_else_is_left_to_the_serializer(string json)
    {
        Assert.That(NetConfReader.TryRead(Encoding.UTF8.GetBytes(json), out _, out _), Is.Null);
    }

    public static IEnumerable<TestCaseData> Results()
    {
        yield return new TestCaseData(new CniResult()).SetName("empty result");
        yield return new TestCaseData(Full()).SetName("full result");
        CniResult noDns = Full();
        noDns.Dns = new CniDns { Domain = "" };
        yield return new TestCaseData(noDns).SetName("result with an empty dns");
        CniResult nameless = Full();
        nameless.Interfaces[0].Name = "";
        nameless.Interfaces[0].Mac = "";
        yield return new TestCaseData(nameless).SetName("interface with empty strings");
        CniResult ascii = Full();
        ascii.Dns.Domain = new string(Enumerable.Range(' ', '~' - ' ' + 1).Select(c => (char)c).Where(c => c is not ('"' or '\\' or '<' or '>' or '&' or '\'' or '+' or '`')).ToArray());
        yield return new TestCaseData(ascii).SetName("every plain ASCII character");
    }

    [TestCaseSource(nameof(Results))]
    public void Plain_results_print_as_the_serializer_prints_them(CniResult result)
    {
        foreach (string version in new[] { CniVersions.V030, CniVersions.V031, CniVersions.V040, CniVersions.V100, CniVersions.V110 })
        {
            byte[]? fast = ResultWriter.TryWrite(result, version);

            Assert.That(fast, Is.Not.Null, "the fast path must take plain results");
            Assert.That(Encoding.UTF8.GetString(fast!), Is.EqualTo(CniResultSerializer.Serialize(result, version)));
        }
    }

    [TestCase("result", "1.0.0")]
    [TestCase("result", "0.4.0")]
    [TestCase("result", "0.3.1")]
    [TestCase("result", "0.3.0")]
    [TestCase("noip", "1.0.0")]
    [TestCase("noip", "0.4.0")]
    public void Golden_results_print_byte_for_byte(string name, string version)
    {
        CniResult model = CniResultSerializer.Parse(GoldenFiles.Bytes($"{name}-1.0.0.json"));

        byte[]? fast = ResultWriter.TryWrite(model, version);

        Assert.That(fast, Is.Not.Null);
        Assert.That(Encoding.UTF8.GetString(fast!), Is.EqualTo(GoldenFiles.Text($"{name}-{version}.json")));
    }

    public static IEnumerable<TestCaseData> ResultsForTheSerializer()
    {
        foreach (string special in new[] { "a\"b", "a\\b", "a<b", "a>b", "a&b", "a'b", "a+b", "a`b", "é", "\u2028", "tab\t", "\u007f" })
        {
            CniResult r = Full();
            r.Dns.Domain = special;
            yield return new TestCaseData(r, "1.0.0").SetName($"domain needing escaping U+{(int)special[^1]:X4}");
        }
        CniResult nullNameserver = Full();
        nullNameserver.Dns.Nameservers = [null!];
        yield return new TestCaseData(nullNameserver, "1.0.0").SetName("null nameserver");
        CniResult nullDns = Full();
        nullDns.Dns = null!;
        yield return new TestCaseData(nullDns, "1.0.0").SetName("null dns");
        CniResult nullName = Full();
        nullName.Interfaces[0].Name = null!;
        yield return new TestCaseData(nullName, "1.0.0").SetName("null interface name");
        CniResult noAddress = Full();
        noAddress.Ips[0].Address = default;
        yield return new TestCaseData(noAddress, "1.0.0").SetName("missing address");
        CniResult noDst = Full();
        noDst.Routes[0].Dst = default;
        yield return new TestCaseData(noDst, "1.0.0").SetName("missing route destination");
        CniResult nullIp = Full();
        nullIp.Ips.Add(null!);
        yield return new TestCaseData(nullIp, "1.0.0").SetName("null ip");
        foreach (string version in new[] { "0.1.0", "0.2.0", "2.0.0", "" })
            yield return new TestCaseData(Full(), version).SetName($"version \"{version}\"");
    }

    [TestCaseSource(nameof(ResultsForTheSerializer))]
    public void Other_results_are_left_to_the_serializer(CniResult result, string version)
    {
        Assert.That(ResultWriter.TryWrite(result, version), Is.Null);
    }

    [TestCase("0.1.0,0.2.0,0.3.0,0.3.1,0.4.0,1.0.0,1.1.0")]
    [TestCase("1.0.0")]
    [TestCase("")]
    public void Version_info_prints_as_the_serializer_prints_it(string versions)
    {
        var info = new PluginVersionInfo { CniVersion = "1.1.0", SupportedVersions = [.. versions.Split(',', StringSplitOptions.RemoveEmptyEntries)] };

        byte[]? fast = ResultWriter.TryWriteVersionInfo(info);

        Assert.That(fast, Is.Not.Null);
        Assert.That(Encoding.UTF8.GetString(fast!),
            Is.EqualTo(System.Text.Json.JsonSerializer.Serialize(info, CniJson.TypeInfo<PluginVersionInfo>(CniJson.CompactOptions))));
    }

    [Test]
    public void Version_info_that_needs_escaping_is_left_to_the_serializer()
    {
        Assert.That(ResultWriter.TryWriteVersionInfo(new PluginVersionInfo { CniVersion = "1.1.0", SupportedVersions = ["é"] }), Is.Null);
    }

    [TestCase("plain text", "plain text")]
    [TestCase("a\"b", "a\\u0022b")]
    [TestCase("é", "\\u00E9")]
    [TestCase("😀", "\\uD83D\\uDE00")]
    public void The_plain_encoder_escapes_anything_not_plain(string text, string expected)
    {
        Assert.That(PlainJsonEncoder.Instance.Encode(text), Is.EqualTo(expected));
    }

    private static CniResult Full() => new()
    {
        CniVersion = "1.1.0",
        Interfaces =
        [
            new CniInterface { Name = "eth0", Mac = "0a:58:0a:0a:00:02", Mtu = 1500, Sandbox = "/var/run/netns/x", SocketPath = "/run/s.sock", PciId = "0000:00:1f.6" },
            new CniInterface { Name = "veth1" },
        ],
        Ips =
        [
            new CniIPConfig { Interface = 0, Address = IPPrefix.Parse("10.10.0.2/24"), Gateway = IPAddress.Parse("10.10.0.1") },
            new CniIPConfig { Address = IPPrefix.Parse("3ffe:ffff:0:1ff::1/64") },
            new CniIPConfig { Interface = -1, Address = IPPrefix.Parse("fe80::1/64"), Gateway = IPAddress.Parse("fe80::2") },
        ],
        Routes =
        [
            new CniRoute { Dst = IPPrefix.Parse("0.0.0.0/0") },
            new CniRoute { Dst = IPPrefix.Parse("192.168.0.0/16"), Gw = IPAddress.Parse("10.10.5.1"), Mtu = 1400, AdvMss = 1360, Priority = 10, Table = 100, Scope = 0 },
        ],
        Dns = new CniDns { Nameservers = ["8.8.8.8", "2001:4860:4860::8888"], Domain = "example.com", Search = ["example.com", "corp"], Options = ["ndots:5", "rotate"] },
    };

    /// <summary>A primitive as a plugin reads it: the fast path's JsonValue subclass differs from the serializer's, what
    /// it reads must not.</summary>
    private static string ReadValue(JsonValue v) => v.GetValueKind() switch
    {
        JsonValueKind.String => $"{v.GetValue<string>()}|{v.GetValue<JsonElement>().GetString()}",
        JsonValueKind.True or JsonValueKind.False => $"{v.GetValue<bool>()}|{v.GetValue<JsonElement>().GetRawText()}",
        JsonValueKind.Number => $"{v.GetValue<double>()}|{(v.TryGetValue(out long l) ? l : "-")}|{(v.TryGetValue(out int i) ? i : "-")}|{v.GetValue<JsonElement>().GetRawText()}",
        _ => v.ToJsonString(),
    };

    /// <summary>A node tree with the node classes and value kinds spelled out, so that equal text is not enough.</summary>
    private static string Describe(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject o => $"{o.GetType().Name}{{{string.Join(",", o.Select(p => $"{p.Key}:{Describe(p.Value)}"))}}}",
        JsonArray a => $"{a.GetType().Name}[{string.Join(",", a.Select(Describe))}]",
        JsonValue v => $"JsonValue<{v.GetValueKind()}>{v.ToJsonString()}={ReadValue(v)}",
        _ => node.GetType().Name,
    };

    private static NetConf FastRead(string json) => NetConfReader.Complete(NetConfReader.TryRead(Encoding.UTF8.GetBytes(json), out _, out _)!);

    [Test]
    public void The_previous_result_is_read_from_its_own_bytes_when_first_asked_for()
    {
        NetConf conf = FastRead("""{"cniVersion":"1.0.0","name":"n","type":"t","prevResult":{"cniVersion":"1.0.0","ips":[{"address":"10.1.2.3/24","gateway":"10.1.2.1"}],"dns":{"nameservers":["8.8.8.8"]}}}""");

        Assert.That(conf.PrevResult!.Ips.Single().Address.ToString(), Is.EqualTo("10.1.2.3/24"));
        Assert.That(conf.RawPrevResult!["dns"]!["nameservers"]![0]!.GetValue<string>(), Is.EqualTo("8.8.8.8"));
    }

    [Test]
    public void A_malformed_previous_result_fails_only_the_plugin_that_reads_it()
    {
        NetConf conf = FastRead("""{"cniVersion":"1.0.0","name":"n","type":"t","prevResult":{"ips":[{"address":"not an address"}]}}""");

        var ex = Assert.Throws<CniException>(() => _ = conf.PrevResult);
        Assert.That(ex!.Message, Does.Contain("prevResult"));
        Assert.That(conf.RawPrevResult!["ips"]![0]!["address"]!.GetValue<string>(), Is.EqualTo("not an address"));
    }

    [Test]
    public void Setting_the_raw_previous_result_replaces_the_bytes_read()
    {
        NetConf conf = FastRead("""{"cniVersion":"1.0.0","name":"n","type":"t","prevResult":{"cniVersion":"1.0.0","ips":[{"address":"10.1.2.3/24"}]}}""");

        conf.RawPrevResult = null;
        Assert.That(conf.PrevResult, Is.Null);
        Assert.That(Encoding.UTF8.GetString(conf.ToJsonBytes()), Does.Not.Contain("prevResult"));

        conf.RawPrevResult = JsonNode.Parse("""{"cniVersion":"1.0.0","ips":[{"address":"10.9.9.9/24"}]}""")!.AsObject();
        Assert.That(conf.PrevResult!.Ips.Single().Address.ToString(), Is.EqualTo("10.9.9.9/24"));
    }

    [Test]
    public void The_last_previous_result_set_wins_whichever_form_it_was_set_in()
    {
        NetConf conf = FastRead("""{"cniVersion":"1.0.0","name":"n","type":"t"}""");
        var model = new CniResult { Ips = [new CniIPConfig { Address = IPPrefix.Parse("10.1.1.1/24") }] };
        conf.PrevResult = model;
        Assert.That(Encoding.UTF8.GetString(conf.ToJsonBytes()), Does.Contain("10.1.1.1/24"));
        Assert.That(conf.PrevResult, Is.SameAs(model), "writing the JSON must not replace the model that was set");

        conf.RawPrevResult = JsonNode.Parse("""{"cniVersion":"1.0.0","ips":[{"address":"10.2.2.2/24"}]}""")!.AsObject();

        Assert.That(conf.PrevResult!.Ips.Single().Address.ToString(), Is.EqualTo("10.2.2.2/24"));
        Assert.That(Encoding.UTF8.GetString(conf.ToJsonBytes()), Does.Contain("10.2.2.2/24").And.Not.Contain("10.1.1.1"));
    }
}
