using System.Text.Json;
using System.Text.Json.Nodes;
using Cni.TestSupport;

namespace Cni.Plugins.Ipam.Static.Tests;

/// <summary>
/// Our published <c>static</c> against the Go reference <c>static</c> on the same inputs, for every spec version
/// the reference supports: the same JSON (parsed, not compared as text) or both failing.
/// </summary>
[Category(Category.Interop)]
public class InteropTests
{
    private static readonly string[] AllVersions = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

    /// <summary>Inputs both plugins accept at every version (at most one address per family).</summary>
    private static readonly (string Name, string Config, string? Args)[] AnyVersion =
    [
        ("full", """
            {"cniVersion":"V","name":"mynet","type":"bridge","ipam":{"type":"static",
             "addresses":[{"address":"10.10.0.1/24","gateway":"10.10.0.254"},{"address":"3ffe:ffff:0:01ff::1/64","gateway":"3ffe:ffff:0::1"}],
             "routes":[{"dst":"0.0.0.0/0"},{"dst":"192.168.0.0/16","gw":"10.10.5.1"},{"dst":"3ffe:ffff:0:01ff::1/64"}],
             "dns":{"nameservers":["8.8.8.8","2001:4860:4860::8888"],"domain":"example.com","search":["example.com","svc"],"options":["ndots:2"]}}}
            """, null),
        ("minimal", """{"cniVersion":"V","name":"mynet","ipam":{"type":"static","addresses":[{"address":"192.168.77.9/32"}]}}""", null),
        ("v6 only, v4 route dropped in 0.2.0", """
            {"cniVersion":"V","name":"mynet","ipam":{"type":"static","addresses":[{"address":"fd00:1::5/64","gateway":"fd00:1::1"}],
             "routes":[{"dst":"::/0"},{"dst":"10.0.0.0/8","gw":"10.0.0.1"}]}}
            """, null),
        ("CNI_ARGS IP and GATEWAY", """{"cniVersion":"V","name":"mynet","ipam":{"type":"static"}}""", "IP=10.20.0.5/16;GATEWAY=10.20.0.1"),
        ("CNI_ARGS with IgnoreUnknown", """{"cniVersion":"V","name":"mynet","ipam":{"type":"static"}}""", "IgnoreUnknown=1;K8S_POD_NAME=web;IP=10.20.0.5/16"),
        ("args.cni.ips", """{"cniVersion":"V","name":"mynet","args":{"cni":{"ips":["10.30.0.3/24"]}},"ipam":{"type":"static","addresses":[{"address":"10.1.0.2/16"}]}}""", null),
        ("runtimeConfig.ips", """{"cniVersion":"V","name":"mynet","runtimeConfig":{"ips":["10.40.0.4/24"]},"ipam":{"type":"static","addresses":[{"address":"10.1.0.2/16"}]}}""", null),
    ];

    /// <summary>Inputs valid from 0.3.0 on (several addresses per family), refused by both before.</summary>
    private static readonly (string Name, string Config, string? Args)[] From030 =
    [
        ("several addresses per family", """
            {"cniVersion":"V","name":"mynet","ipam":{"type":"static","addresses":[{"address":"10.10.0.1/24","gateway":"10.10.0.254"},{"address":"10.11.0.1/24"},{"address":"fd00::1/64"},{"address":"fd00::2/64"}]}}
            """, null),
        ("CNI_ARGS several IPs", """{"cniVersion":"V","name":"mynet","ipam":{"type":"static","addresses":[{"address":"10.1.0.2/16"}]}}""", "IP=10.20.0.5/16,10.21.0.5/16,fd00::5/64;GATEWAY=10.21.0.1,fd00::1"),
    ];

    /// <summary>Inputs both must refuse (the codes differ: Go reports its plugin errors as 999).</summary>
    private static readonly (string Name, string Config, string? Args)[] Refused =
    [
        ("no ipam", """{"cniVersion":"V","name":"mynet"}""", null),
        ("address without prefix", """{"cniVersion":"V","name":"mynet","ipam":{"type":"static","addresses":[{"address":"10.1.0.2"}]}}""", null),
        ("bad gateway", """{"cniVersion":"V","name":"mynet","ipam":{"type":"static","addresses":[{"address":"10.1.0.2/24","gateway":"10.1.0"}]}}""", null),
        ("unknown CNI_ARGS key", """{"cniVersion":"V","name":"mynet","ipam":{"type":"static"}}""", "FOO=bar"),
        ("bad CNI_ARGS IP", """{"cniVersion":"V","name":"mynet","ipam":{"type":"static"}}""", "IP=10.1.0.300/24"),
        ("no name", """{"cniVersion":"V","ipam":{"type":"static"}}""", null),
    ];

    private string _ours = null!;
    private string _reference = null!;

    [OneTimeSetUp]
    public void FindBinaries()
    {
        _ours = TestEnvironment.RequirePublishedPlugin("static");
        _reference = TestEnvironment.RequireReferencePlugin("static");
    }

    private string[] ReferenceVersions()
    {
        (int exit, string stdout) = PluginProcess.Run(_reference, new Dictionary<string, string> { ["CNI_COMMAND"] = "VERSION" }, "");
        Assert.That(exit, Is.EqualTo(0));
        return JsonNode.Parse(stdout)!["supportedVersions"]!.AsArray().Select(v => v!.GetValue<string>()).ToArray();
    }

    private static Dictionary<string, string> Env(string command, string? args)
    {
        var env = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = command,
            ["CNI_CONTAINERID"] = "interop-1",
            ["CNI_NETNS"] = "/var/run/netns/interop-1",
            ["CNI_IFNAME"] = "eth0",
            ["CNI_PATH"] = TestEnvironment.ReferencePluginDir,
        };
        if (args is not null)
            env["CNI_ARGS"] = args;
        return env;
    }

    [Test]
    public void Our_version_list_covers_the_reference_and_adds_1_1_0()
    {
        (int exit, string stdout) = PluginProcess.Run(_ours, new Dictionary<string, string> { ["CNI_COMMAND"] = "VERSION" }, "");

        Assert.That(exit, Is.EqualTo(0));
        string[] ours = JsonNode.Parse(stdout)!["supportedVersions"]!.AsArray().Select(v => v!.GetValue<string>()).ToArray();
        Assert.That(ours, Is.EqualTo(AllVersions));
        Assert.That(ours, Is.SupersetOf(ReferenceVersions()));
    }

    [Test]
    public void Add_gives_the_same_json_as_the_reference_for_every_version_it_supports()
    {
        string[] versions = ReferenceVersions();
        int compared = 0;
        Assert.Multiple(() =>
        {
            foreach (string version in versions)
            {
                bool multi = CompareVersion(version, "0.3.0");
                foreach ((string name, string config, string? args) in AnyVersion.Concat(multi ? From030 : []))
                {
                    string stdin = config.Replace("\"V\"", $"\"{version}\"", StringComparison.Ordinal);
                    (int refExit, string refOut) = PluginProcess.Run(_reference, Env("ADD", args), stdin);
                    (int ourExit, string ourOut) = PluginProcess.Run(_ours, Env("ADD", args), stdin);

                    Assert.That(refExit, Is.EqualTo(0), $"{name} @ {version}: the reference failed: {refOut}");
                    Assert.That(ourExit, Is.EqualTo(0), $"{name} @ {version}: ours failed: {ourOut}");
                    Assert.That(JsonNode.DeepEquals(JsonNode.Parse(ourOut), JsonNode.Parse(refOut)), Is.True,
                        $"{name} @ {version}:\nours: {ourOut}\nreference: {refOut}");
                    compared++;
                }
            }
        });
        TestContext.Out.WriteLine($"compared {compared} ADD outputs across {string.Join(", ", versions)}");
        Assert.That(versions, Is.Not.Empty, "the reference plugin reported no version to compare in");
    }

    [Test]
    public void Both_refuse_several_addresses_per_family_before_0_3_0()
    {
        foreach (string version in ReferenceVersions().Where(v => !CompareVersion(v, "0.3.0")))
        {
            string stdin = From030[0].Config.Replace("\"V\"", $"\"{version}\"", StringComparison.Ordinal);
            Assert.That(PluginProcess.Run(_reference, Env("ADD", null), stdin).Exit, Is.Not.EqualTo(0), version);
            AssertError(PluginProcess.Run(_ours, Env("ADD", null), stdin), version);
        }
    }

    [Test]
    public void Both_refuse_bad_input()
    {
        foreach ((string name, string config, string? args) in Refused)
        {
            string stdin = config.Replace("\"V\"", "\"1.0.0\"", StringComparison.Ordinal);
            (int refExit, string refOut) = PluginProcess.Run(_reference, Env("ADD", args), stdin);
            Assert.That(refExit, Is.Not.EqualTo(0), $"{name}: the reference accepted it: {refOut}");
            AssertError(PluginProcess.Run(_ours, Env("ADD", args), stdin), name);
        }
    }

    [Test]
    public void Del_succeeds_silently_in_both_for_every_version()
    {
        foreach (string version in ReferenceVersions())
        {
            string stdin = AnyVersion[0].Config.Replace("\"V\"", $"\"{version}\"", StringComparison.Ordinal);
            Assert.That(PluginProcess.Run(_reference, Env("DEL", null), stdin), Is.EqualTo((0, "")), version);
            Assert.That(PluginProcess.Run(_ours, Env("DEL", null), stdin), Is.EqualTo((0, "")), version);
        }
    }

    [Test]
    public void Check_accepts_the_result_of_add_in_both()
    {
        foreach (string version in ReferenceVersions().Where(v => CompareVersion(v, "0.4.0")))
        {
            string conf = AnyVersion[0].Config.Replace("\"V\"", $"\"{version}\"", StringComparison.Ordinal);
            (_, string added) = PluginProcess.Run(_reference, Env("ADD", null), conf);
            JsonObject withPrev = JsonNode.Parse(conf)!.AsObject();
            withPrev["prevResult"] = JsonNode.Parse(added);
            string stdin = withPrev.ToJsonString();

            Assert.That(PluginProcess.Run(_reference, Env("CHECK", null), stdin), Is.EqualTo((0, "")), version);
            Assert.That(PluginProcess.Run(_ours, Env("CHECK", null), stdin), Is.EqualTo((0, "")), version);
        }
    }

    private static void AssertError((int Exit, string Stdout) run, string what)
    {
        Assert.That(run.Exit, Is.EqualTo(1), what);
        using JsonDocument error = JsonDocument.Parse(run.Stdout);
        Assert.That(error.RootElement.GetProperty("code").GetUInt32(), Is.GreaterThan(0u), what);
        Assert.That(error.RootElement.GetProperty("msg").GetString(), Is.Not.Empty, what);
    }

    private static bool CompareVersion(string version, string minimum) => Version.Parse(version) >= Version.Parse(minimum);
}
