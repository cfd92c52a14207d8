using System.Text;
using System.Text.Json.Nodes;
using Cni.Plugins.TestSupport;
using Cni.Plugins.Tuning;
using Cni.Spec;

namespace Cni.Plugins.Tuning.Tests;

/// <summary>Configuration, sysctl keys and the saved-state file, without root: every error is raised before the
/// namespace is even opened (CNI_NETNS names no namespace here).</summary>
[TestFixture]
public class TuningConfigTests
{
    private const string NoNamespace = "/nonexistent/netns";
    private const string PrevResult = """{"cniVersion": "1.0.0", "interfaces": [{"name": "eth0", "mac": "0a:00:00:00:00:01", "sandbox": "/nonexistent/netns"}], "ips": [{"address": "10.1.2.3/24", "interface": 0}]}""";

    private static JsonObject Conf(string json, string version = "1.0.0")
    {
        var conf = new JsonObject { ["cniVersion"] = version, ["name"] = "tuned", ["type"] = "tuning", ["prevResult"] = JsonNode.Parse(PrevResult) };
        foreach ((string key, JsonNode? value) in JsonNode.Parse(json)!.AsObject())
            conf[key] = value?.DeepClone();
        return conf;
    }

    private static Task<PluginOutput> Run(string command, JsonObject conf, string? args = null, string? allowlist = null, string ifName = "eth0") =>
        PluginRunner.RunInProcessAsync(new TuningPlugin(allowlistPath: allowlist ?? "/nonexistent/allowlist.conf", defaultDataDir: "/nonexistent/tuning"),
            PluginRunner.Variables(command, NoNamespace, "ctr1", ifName, "/nonexistent", args), conf.ToJsonString());

    private static CniRequest Request(JsonObject conf, string? args = null, string ifName = "eth0")
    {
        byte[] raw = Encoding.UTF8.GetBytes(conf.ToJsonString());
        return new CniRequest
        {
            Command = CniCommand.Add,
            ContainerId = "ctr1",
            NetNs = NoNamespace,
            IfName = ifName,
            Args = CniArgs.Parse(args),
            Config = NetConf.Parse(raw),
            RawConfig = raw,
            Environment = new InMemoryCniEnvironment(new Dictionary<string, string>(), ""),
        };
    }

    // ------------------------------------------------------------------ sysctl keys

    [TestCase("net.core.somaxconn", "eth0", "net/core/somaxconn")]
    [TestCase("net.ipv4.conf.IFNAME.arp_notify", "eth0", "net/ipv4/conf/eth0/arp_notify")]
    [TestCase("net.ipv4.conf.IFNAME.arp_notify", "eth0.100", "net/ipv4/conf/eth0.100/arp_notify")]
    [TestCase("net/ipv4/conf/eth0.100/rp_filter", "eth0", "net/ipv4/conf/eth0.100/rp_filter")]
    [TestCase("net/ipv6/conf/IFNAME/accept_ra", "vlan.5", "net/ipv6/conf/vlan.5/accept_ra")]
    [TestCase("net.ipv4.conf.IFNAME.IFNAME", "e1", "net/ipv4/conf/e1/IFNAME")]
    public void SysctlKeysResolveBelowProcSysNet(string key, string ifName, string expected) =>
        Assert.That(SysctlKeys.Resolve(key, ifName), Is.EqualTo(expected));

    [TestCase("net/../kernel/hostname")]
    [TestCase("net/ipv4/../../kernel/hostname")]
    [TestCase("..")]
    [TestCase("../../etc/passwd")]
    [TestCase("/etc/passwd")]
    [TestCase("/proc/sys/net/core/somaxconn")]
    [TestCase("/net/core/somaxconn")]
    [TestCase("kernel.hostname")]
    [TestCase("kernel/hostname")]
    [TestCase("net")]
    [TestCase("net.")]
    [TestCase("net..core.somaxconn")]
    [TestCase("net/./core/somaxconn")]
    [TestCase("net/core/")]
    [TestCase("net/core//somaxconn")]
    [TestCase("net.core.some\nthing")]
    [TestCase("net/core/x\0y")]
    [TestCase("")]
    [TestCase("netfilter.x")]
    public void HostileSysctlKeysAreRefusedNamingTheKey(string key)
    {
        var ex = Assert.Throws<CniException>(() => SysctlKeys.Resolve(key, "eth0"))!;
        Assert.Multiple(() =>
        {
            Assert.That(ex.NumericCode, Is.EqualTo((uint)CniErrorCode.InvalidNetworkConfig));
            Assert.That(ex.Message, Does.Contain($"\"{key}\"").And.Contain("(sysctl)"));
        });
    }

    [Test]
    public void IfNameCannotEscapeEither()
    {
        // CNI_IFNAME is validated by the host (no '/', not . or ..); the key check would still catch what slipped through.
        Assert.Throws<CniException>(() => SysctlKeys.Resolve("net.ipv4.conf.IFNAME.x", ".."));
        Assert.Throws<CniException>(() => SysctlKeys.Resolve("net/ipv4/conf/IFNAME/x", "../../../kernel"));
    }

    // ------------------------------------------------------------------ bad input through the host

    [TestCase("""{"sysctl": {"net/../kernel/hostname": "x"}}""", null, 7u, "invalid net sysctl key: \"net/../kernel/hostname\" (sysctl)", TestName = "SysctlEscapesNet")]
    [TestCase("""{"sysctl": {"kernel.hostname": "x"}}""", null, 7u, "\"kernel.hostname\" (sysctl)", TestName = "SysctlOutsideNet")]
    [TestCase("""{"args": {"cni": {"sysctl": {"/etc/passwd": "x"}}}}""", null, 7u, "\"/etc/passwd\" (sysctl)", TestName = "ArgsSysctlAbsolute")]
    [TestCase("""{"sysctl": {"net.core.somaxconn": 5}}""", null, 6u, "sysctl", TestName = "SysctlValueNotAString")]
    [TestCase("""{"sysctl": ["net.core.somaxconn"]}""", null, 6u, "sysctl", TestName = "SysctlNotAnObject")]
    [TestCase("""{"sysctl": {"net.core.somaxconn": "1", "net.core.somaxconn": "2"}}""", null, 7u, "duplicated sysctl keys are not allowed: \"net.core.somaxconn\"", TestName = "SysctlDuplicateKey")]
    [TestCase("""{"mac": "02:00:00:00:00"}""", null, 7u, "(mac)", TestName = "MacTooShort")]
    [TestCase("""{"mac": "01:00:5e:00:00:01"}""", null, 7u, "multicast", TestName = "MacMulticast")]
    [TestCase("""{"mac": 5}""", null, 6u, "mac", TestName = "MacNotAString")]
    [TestCase("{}", "MAC=nonsense", 7u, "(CNI_ARGS MAC)", TestName = "CniArgsMacInvalid")]
    [TestCase("""{"runtimeConfig": {"mac": "1:2:3"}}""", null, 7u, "(runtimeConfig.mac)", TestName = "RuntimeConfigMacInvalid")]
    [TestCase("""{"args": {"cni": {"mac": "zz:00:00:00:00:01"}}}""", null, 7u, "(args.cni.mac)", TestName = "ArgsMacInvalid")]
    [TestCase("{}", "FOO=bar", 4u, "FOO", TestName = "UnknownCniArgsKey")]
    [TestCase("""{"mtu": -1}""", null, 7u, "(mtu)", TestName = "MtuNegative")]
    [TestCase("""{"mtu": 4294967296}""", null, 6u, "mtu", TestName = "MtuBeyondAnInteger")]
    [TestCase("""{"mtu": 1.5}""", null, 6u, "mtu", TestName = "MtuNotAnInteger")]
    [TestCase("""{"args": {"cni": {"mtu": -5}}}""", null, 7u, "(args.cni.mtu)", TestName = "ArgsMtuNegative")]
    [TestCase("""{"txQLen": -1}""", null, 7u, "(txQLen)", TestName = "TxQLenNegative")]
    [TestCase("""{"txQLen": "100"}""", null, 6u, "txQLen", TestName = "TxQLenNotANumber")]
    [TestCase("""{"args": {"cni": {"txQLen": -1}}}""", null, 7u, "(args.cni.txQLen)", TestName = "ArgsTxQLenNegative")]
    [TestCase("""{"promisc": "yes"}""", null, 6u, "promisc", TestName = "PromiscNotABoolean")]
    [TestCase("""{"allmulti": 1}""", null, 6u, "allmulti", TestName = "AllmultiNotABoolean")]
    [TestCase("""{"dataDir": 3}""", null, 6u, "dataDir", TestName = "DataDirNotAString")]
    [TestCase("""{"prevResult": null}""", null, 7u, "prevResult", TestName = "PrevResultMissing")]
    public async Task BadInputIsACniErrorNamingTheField(string json, string? args, uint code, string fragment)
    {
        foreach (string version in new[] { "0.3.1", "0.4.0", "1.0.0", "1.1.0" })
        {
            JsonObject conf = Conf(json, version);
            if (conf["prevResult"] is null)
                conf.Remove("prevResult");
            (await Run("ADD", conf, args)).AssertError(code, fragment);
        }
    }

    [Test]
    public async Task CheckValidatesTheSameWay()
    {
        (await Run("CHECK", Conf("""{"sysctl": {"net/../kernel/hostname": "x"}}"""))).AssertError(7, "(sysctl)");
        JsonObject noPrev = Conf("{}");
        noPrev.Remove("prevResult");
        (await Run("CHECK", noPrev)).AssertError(7, "prevResult");
    }

    [Test]
    public async Task ValidConfigurationGetsAsFarAsTheNamespace()
    {
        // Proves the cases above fail on their own field: a valid configuration only fails at CNI_NETNS.
        string all = """{"sysctl": {"net.ipv4.conf.IFNAME.arp_notify": "1"}, "mac": "0a:58:0a:01:02:03", "mtu": 1400, "txQLen": 0, "promisc": true, "allmulti": false}""";
        (await Run("ADD", Conf(all), "IgnoreUnknown=1;FOO=bar")).AssertError(5, "CNI_NETNS");
        (await Run("ADD", Conf(all), "MAC=0a:58:0a:01:02:04")).AssertError(5, "CNI_NETNS");
    }

    [Test]
    public async Task DelNeedsNoValidConfigBeyondJsonAndSucceedsWithoutSavedState()
    {
        // Nothing was saved for this attachment: DEL has nothing to restore, even with keys ADD would refuse.
        PluginOutput del = await Run("DEL", Conf("""{"sysctl": {"kernel.hostname": "x"}, "mtu": -1}"""));
        del.AssertSuccess();
        Assert.That(del.Stdout, Is.Empty);
        (await Run("DEL", Conf("""{"mtu": "x"}"""))).AssertError(6, "mtu");
    }

    // ------------------------------------------------------------------ merging, as the reference

    [Test]
    public void MacPrecedenceIsConfigThenCniArgsThenRuntimeConfigThenArgsCni()
    {
        var plugin = new TuningPlugin("/nonexistent");
        string Mac(string json, string? args = null) =>
            Cni.Plugins.Common.InterfaceChecks.FormatMac(plugin.LoadConf(Request(Conf(json), args)).Mac);
        Assert.Multiple(() =>
        {
            Assert.That(Mac("""{"mac": "0a:00:00:00:00:01"}"""), Is.EqualTo("0a:00:00:00:00:01"));
            Assert.That(Mac("""{"mac": "0a:00:00:00:00:01"}""", "MAC=0a:00:00:00:00:02"), Is.EqualTo("0a:00:00:00:00:02"));
            Assert.That(Mac("""{"mac": "0a:00:00:00:00:01", "runtimeConfig": {"mac": "0a:00:00:00:00:03"}}""", "MAC=0a:00:00:00:00:02"), Is.EqualTo("0a:00:00:00:00:03"));
            Assert.That(Mac("""{"mac": "0a:00:00:00:00:01", "runtimeConfig": {"mac": "0a:00:00:00:00:03"}, "args": {"cni": {"mac": "0A-00-00-00-00-04"}}}""", "MAC=0a:00:00:00:00:02"), Is.EqualTo("0a:00:00:00:00:04"));
            Assert.That(Mac("{}"), Is.EqualTo(""));
        });
    }

    [Test]
    public void ArgsCniOverridesAndMergesSysctls()
    {
        var plugin = new TuningPlugin("/nonexistent");
        TuningSettings s = plugin.LoadConf(Request(Conf("""
            {"sysctl": {"net.core.somaxconn": "100", "net.ipv4.conf.IFNAME.arp_notify": "1"},
             "mtu": 1400, "promisc": false, "txQLen": 10, "allmulti": true,
             "args": {"cni": {"sysctl": {"net.core.somaxconn": "200", "net.ipv4.ip_forward": "1"}, "mtu": 1300, "promisc": true, "txQLen": 20, "allmulti": false}}}
            """), ifName: "net1"));
        Assert.Multiple(() =>
        {
            Assert.That(s.Sysctls, Is.EqualTo(new[]
            {
                new SysctlEntry("net.core.somaxconn", "net/core/somaxconn", "200"),
                new SysctlEntry("net.ipv4.conf.IFNAME.arp_notify", "net/ipv4/conf/net1/arp_notify", "1"),
                new SysctlEntry("net.ipv4.ip_forward", "net/ipv4/ip_forward", "1"),
            }));
            Assert.That(s.Mtu, Is.EqualTo(1300));
            Assert.That(s.Promisc, Is.True);
            Assert.That(s.TxQLen, Is.EqualTo(20));
            Assert.That(s.Allmulti, Is.False);
            Assert.That(s.DataDir, Is.EqualTo("/run/cni/tuning"));
            Assert.That(s.ChangesLink, Is.True);
        });
        TuningSettings onlySysctl = plugin.LoadConf(Request(Conf("""{"sysctl": {"net.core.somaxconn": "1"}, "dataDir": "/tmp/x"}""")));
        Assert.That(onlySysctl.ChangesLink, Is.False);
        Assert.That(onlySysctl.DataDir, Is.EqualTo("/tmp/x"));
    }

    [Test]
    public void KeysAreMatchedCaseInsensitivelyAsGoDoes()
    {
        TuningSettings s = new TuningPlugin("/nonexistent").LoadConf(Request(Conf("""{"SysCtl": {"net.core.somaxconn": "7"}, "MTU": 1280, "TXQLEN": 5}""")));
        Assert.That(s.Sysctls.Single().Value, Is.EqualTo("7"));
        Assert.That(s.Mtu, Is.EqualTo(1280));
        Assert.That(s.TxQLen, Is.EqualTo(5));
    }

    // ------------------------------------------------------------------ allowlist

    [Test]
    public async Task AllowlistRefusesKeysThatMatchNoLine()
    {
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "^net\\.core\\.\n\n  ^net\\.ipv4\\.conf\\.IFNAME\\.[a-z_]+$  \n");
            (await Run("ADD", Conf("""{"sysctl": {"net.ipv4.ip_forward": "1"}}"""), allowlist: file))
                .AssertError(7, "Sysctl net.ipv4.ip_forward is not allowed");
            (await Run("ADD", Conf("""{"sysctl": {"net.core.somaxconn": "1", "net.ipv4.conf.IFNAME.arp_notify": "1"}}"""), allowlist: file))
                .AssertError(5, "CNI_NETNS");
            // A catastrophic pattern is cut off by the timeout instead of hanging the runtime.
            File.WriteAllText(file, "^net\\.(a+)+$\n");
            (await Run("ADD", Conf("""{"sysctl": {"net.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!": "1"}}"""), allowlist: file)).AssertError(7, "took too long");
            File.WriteAllText(file, "net.core.(\n");
            (await Run("ADD", Conf("""{"sysctl": {"net.core.somaxconn": "1"}}"""), allowlist: file)).AssertError(7, "invalid regular expression");
        }
        finally
        {
            File.Delete(file);
        }
    }

    // ------------------------------------------------------------------ the saved-state file

    [Test]
    public void SavedStateIsWrittenAsGoMarshalIndentPrintsIt()
    {
        var full = new SavedLinkState { Mac = "86:0b:a1:f5:d9:ff", Promisc = false, Mtu = 1500, Allmulti = false, TxQLen = 1000 };
        Assert.That(Encoding.UTF8.GetString(full.ToJson()), Is.EqualTo(
            "{\n \"mac\": \"86:0b:a1:f5:d9:ff\",\n \"promisc\": false,\n \"mtu\": 1500,\n \"allmulti\": false,\n \"txQLen\": 1000\n}"));
        Assert.That(Encoding.UTF8.GetString(new SavedLinkState { Mtu = 9000 }.ToJson()), Is.EqualTo("{\n \"mtu\": 9000\n}"));
        Assert.That(Encoding.UTF8.GetString(new SavedLinkState { TxQLen = 0, Promisc = true }.ToJson()), Is.EqualTo("{\n \"promisc\": true,\n \"txQLen\": 0\n}"));
        Assert.That(Encoding.UTF8.GetString(new SavedLinkState().ToJson()), Is.EqualTo("{}"));
        Assert.That(SavedLinkState.FileName("abc123", "eth0"), Is.EqualTo("abc123_eth0.json"));
    }

    [Test]
    public void SavedStateReadsTheReferencePluginsFile()
    {
        // Written by /usr/lib/cni/tuning (containernetworking-plugins) for mac, promisc, mtu and allmulti.
        byte[] go = "{\n \"mac\": \"86:0b:a1:f5:d9:ff\",\n \"promisc\": false,\n \"mtu\": 1500,\n \"allmulti\": false\n}"u8.ToArray();
        SavedLinkState s = SavedLinkState.TryParse(go)!;
        Assert.Multiple(() =>
        {
            Assert.That(s.Mac, Is.EqualTo("86:0b:a1:f5:d9:ff"));
            Assert.That(s.Promisc, Is.False);
            Assert.That(s.Mtu, Is.EqualTo(1500));
            Assert.That(s.Allmulti, Is.False);
            Assert.That(s.TxQLen, Is.Null);
            Assert.That(s.ToJson(), Is.EqualTo(go), "round trip, byte for byte");
        });
        SavedLinkState upper = SavedLinkState.TryParse("""{"MTU": 1400, "TxQLen": 5, "future": [1]}"""u8)!;
        Assert.That((upper.Mtu, upper.TxQLen), Is.EqualTo((1400, (int?)5)));
        Assert.That(SavedLinkState.TryParse("{}"u8)!.ToJson(), Is.EqualTo("{}"u8.ToArray()));
        Assert.That(SavedLinkState.TryParse("not json"u8), Is.Null);
        Assert.That(SavedLinkState.TryParse("""{"mtu": "x"}"""u8), Is.Null);
    }

    [Test]
    public void ARepeatedAddKeepsTheOriginalsTheFirstOneSaved()
    {
        var first = new SavedLinkState { Mac = "0a:00:00:00:00:01", Mtu = 1500 };
        var second = new SavedLinkState { Mac = "0a:58:00:00:00:02", Mtu = 1400, TxQLen = 1000 };
        SavedLinkState merged = second.WithOriginalsFrom(first);
        Assert.That(Encoding.UTF8.GetString(merged.ToJson()), Is.EqualTo("{\n \"mac\": \"0a:00:00:00:00:01\",\n \"mtu\": 1500,\n \"txQLen\": 1000\n}"));
        Assert.That(new SavedLinkState().WithOriginalsFrom(new SavedLinkState { Promisc = false, Allmulti = true }).ToJson(),
            Is.EqualTo("{\n \"promisc\": false,\n \"allmulti\": true\n}"u8.ToArray()));
    }
}
