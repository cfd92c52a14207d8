using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Cni.Spec;
using Cni.Plugins.TestSupport;

namespace Cni.Plugins.Tuning.Tests;

/// <summary>The serializer's reading of <see cref="TuningConfig"/>, as the plugin read it before it had its own reader.</summary>
[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, NumberHandling = JsonNumberHandling.Strict, GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(TuningConfig))]
internal sealed partial class SerializerTuningContext : JsonSerializerContext;

/// <summary>The serializer's reading of <see cref="SavedLinkState"/>, as the plugin read its saved file before.</summary>
[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(SavedLinkState))]
internal sealed partial class SerializerSavedLinkStateContext : JsonSerializerContext;

/// <summary>
/// tuning reads its options with its own <see cref="Cni.Spec.Json.JsonOptionReader"/> code instead of the serializer
/// (start-up cost): on every input here, valid or not, it must give what the serializer gave, the same values or the
/// same CNI error (code and message, JSON path included).
/// </summary>
public class TuningConfigReaderTests
{
    private static readonly string[] Extras =
    [
        "",
        ""","dataDir":"/tmp/t","sysctl":{"net.ipv4.conf.IFNAME.rp_filter":"2","net.core.somaxconn":"500"},"mac":"02:00:00:00:00:01","promisc":true,"mtu":1400,"txQLen":500,"allmulti":false""",
        ""","DATADIR":"/d","Sysctl":{"Net.Ipv4.X":"1"},"MAC":"02:00:00:00:00:02","Promisc":false,"MTU":9000,"TXQLEN":0,"AllMulti":true""",
        ""","runtimeConfig":{"mac":"02:00:00:00:00:03","portMappings":[{"hostPort":1}]},"RuntimeConfig":{"MAC":"02:00:00:00:00:04"}""",
        ""","args":{"cni":{"sysctl":{"net.a":"1","b":null},"mac":"02:00:00:00:00:05","promisc":true,"mtu":1280,"txQLen":100,"allmulti":true},"other":{"x":1}}""",
        ""","ARGS":{"CNI":{"SYSCTL":{"K":"v"},"Mac":null,"Promisc":null,"MTU":null,"TxQLen":null,"AllMulti":null,"labels":[{"key":"a"}]}}""",
        ""","sysctl":null,"mac":null,"txQLen":null,"allmulti":null,"runtimeConfig":null,"args":null,"dataDir":null""",
        ""","args":{"cni":null},"runtimeConfig":{"mac":null}""",
        ""","sysctl":{},"args":{"cni":{}}""",
        ""","sysctl":{"net.a":"1"},"sysctl":{"net.b":"2"},"mtu":1400,"Mtu":1500,"mac":"a","MAC":"b" """,
        ""","args":{"cni":{"sysctl":{"k":"1","k":"2","K":"3"}}}""",
        ""","sysctl":{"net.ipv4.conf.eth0.rp_filter":null}""",
        ""","sysctl":{"with space":"1","q'uote":"2","br[0]":"3"}""",
        ""","unknown":{"deep":[1,2,{"x":"y"}]},"ipam":{"type":"host-local","mtu":"not ours"},"capabilities":{"mac":true}""",
        // wrong types, each a decoding failure naming the path
        ""","promisc":"yes" """,
        ""","promisc":null""",
        ""","allmulti":1""",
        ""","mtu":"1500" """,
        ""","mtu":1500.0""",
        ""","mtu":null""",
        ""","txQLen":99999999999""",
        ""","txQLen":1e2""",
        ""","dataDir":5""",
        ""","mac":["02:00:00:00:00:01"]""",
        ""","sysctl":["net.a=1"]""",
        ""","sysctl":"net.a=1" """,
        ""","sysctl":{"net.a":1}""",
        ""","sysctl":{"net.a":"1","net.ipv4.conf.eth0.rp_filter":true}""",
        ""","sysctl":{"net a":{"v":"1"}}""",
        ""","runtimeConfig":{"mac":1}""",
        ""","args":{"cni":{"mac":false}}""",
        ""","args":{"cni":{"promisc":"true"}}""",
        ""","args":{"cni":{"mtu":1.5}}""",
        ""","args":{"cni":{"txQLen":"1"}}""",
        ""","args":{"cni":{"allmulti":0}}""",
        ""","args":{"cni":{"sysctl":{"net.a":2}}}""",
        ""","args":{"cni":{"sysctl":[]}}""",
        ""","args":{"cni":"mtu=1"}""",
        ""","args":{"cni":[{"mtu":1}]}""",
        // values the settings refuse after reading (read alike, refused alike)
        ""","mtu":-1""",
        ""","mac":"not-a-mac" """,
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
            // NetConf reads runtimeConfig and args too and refuses a non-object first in the plugin; the options
            // readers are still compared on the whole bytes.
            config = NetConf.Parse("""{"cniVersion":"1.0.0","name":"n","type":"tuning"}"""u8);
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

    private static string Outcome(Func<TuningConfig> read) => OptionsDifferential.Outcome(read, SerializerTuningContext.Default.TuningConfig);

    [TestCaseSource(nameof(Extras))]
    public void ReadsWhatTheSerializerRead(string extra)
    {
        CniRequest request = Request($$"""{"cniVersion":"1.0.0","name":"n","type":"tuning"{{extra}}}""");
        string expected = Outcome(() => request.GetOptions<TuningConfig>(SerializerTuningContext.Default));
        string actual = Outcome(() => TuningConfigReader.Read(request.RawConfig.Span));
        TestContext.Out.WriteLine(actual);
        Assert.That(actual, Is.EqualTo(expected));
        Assert.That(actual, Does.Not.StartWith("error 999"));
    }

    private static readonly string[] SavedFiles =
    [
        "{}",
        "{\n \"mac\": \"86:0b:a1:f5:d9:ff\",\n \"promisc\": false,\n \"mtu\": 1500,\n \"allmulti\": true,\n \"txQLen\": 1000\n}",
        """{"MAC":"0a:00:00:00:00:01","PROMISC":true,"Mtu":9000,"AllMulti":false,"TXQLEN":0,"future":[1,{"a":null}]}""",
        """{"mtu":1400,"mtu":1500,"mac":null,"promisc":null,"allmulti":null,"txQLen":null}""",
        """{"mtu":null}""",
        """{"mtu":"1500"}""",
        """{"mtu":1.5}""",
        """{"promisc":"true"}""",
        """{"txQLen":99999999999}""",
        """{"mac":5}""",
        """{"allmulti":[true]}""",
        "null",
        "[]",
        "\"text\"",
        "not json",
        "",
        """{"mtu":1500""",
        """{"mtu":1500} trailing""",
        """{"mtu":1500}{"mtu":1}""",
        """ {"mtu":1500} \n""",
    ];

    [TestCaseSource(nameof(SavedFiles))]
    public void ReadsTheSavedFileAsTheSerializerDid(string file)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(file);
        SavedLinkState? expected;
        try
        {
            expected = JsonSerializer.Deserialize(bytes, SerializerSavedLinkStateContext.Default.SavedLinkState);
        }
        catch (JsonException)
        {
            expected = null;
        }
        SavedLinkState? actual = SavedLinkState.TryParse(bytes);
        string Show(SavedLinkState? s) => s is null ? "null" : JsonSerializer.Serialize(s, SerializerSavedLinkStateContext.Default.SavedLinkState);
        Assert.That(Show(actual), Is.EqualTo(Show(expected)));
    }

    [Test]
    public void TheSavedFileIsWrittenAsTheJsonWriterWritesIt()
    {
        // ToJson writes the file by hand (the writer's default encoder is expensive to set up): every combination of
        // keys, and MAC texts that need escaping (written by the writer then), must give the writer's bytes.
        string?[] macs = [null, "", "86:0b:a1:f5:d9:ff", "0A:00:00:00:00:01", "a\"b", "a<b>&'+`", "caf\u00e9", "tab\t", "back\\slash"];
        int cases = 0;
        foreach (string? mac in macs)
        {
            foreach (bool? promisc in new bool?[] { null, false, true })
            {
                foreach (int mtu in new[] { 0, 1500, -1 })
                {
                    foreach (bool? allmulti in new bool?[] { null, true })
                    {
                        foreach (int? txQLen in new int?[] { null, 0, int.MaxValue })
                        {
                            var state = new SavedLinkState { Mac = mac, Promisc = promisc, Mtu = mtu, Allmulti = allmulti, TxQLen = txQLen };
                            Assert.That(Encoding.UTF8.GetString(state.ToJson()), Is.EqualTo(Encoding.UTF8.GetString(state.ToJsonWithWriter())));
                            cases++;
                        }
                    }
                }
            }
        }
        Assert.That(cases, Is.EqualTo(9 * 3 * 3 * 2 * 3));
    }

    [Test]
    public void WrongTypesNameTheirPath()
    {
        var plugin = new TuningPlugin(allowlistPath: "/nonexistent/allowlist.conf", defaultDataDir: "/nonexistent/tuning");
        CniException? ex = Assert.Throws<CniException>(() => plugin.LoadConf(Request("""{"cniVersion":"1.0.0","name":"n","type":"tuning","args":{"cni":{"sysctl":{"net.ipv4.ip_forward":1}}}}""")));
        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.DecodingFailure));
        Assert.That(ex.Message, Is.EqualTo("error decoding network configuration at $.args.cni.sysctl['net.ipv4.ip_forward']: unexpected JSON value (wrong type)"));
        ex = Assert.Throws<CniException>(() => plugin.LoadConf(Request("""{"cniVersion":"1.0.0","name":"n","type":"tuning","runtimeConfig":{"mac":7}}""")));
        Assert.That(ex!.Message, Is.EqualTo("error decoding network configuration at $.runtimeConfig.mac: unexpected JSON value (wrong type)"));
    }
}
