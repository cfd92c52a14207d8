using System.Text.Json.Nodes;

namespace Cni.Plugins.Ipam.Static.Tests;

/// <summary>The static plugin in process through the host: what it hands out, from where, and what it refuses.</summary>
public class StaticPluginTests
{
    private const string Full = """
        {"cniVersion":"VERSION","name":"mynet","type":"bridge",
         "ipam":{"type":"static",
           "addresses":[{"address":"10.10.0.1/24","gateway":"10.10.0.254"},{"address":"3ffe:ffff:0:01ff::1/64","gateway":"3ffe:ffff:0::1"}],
           "routes":[{"dst":"0.0.0.0/0"},{"dst":"192.168.0.0/16","gw":"10.10.5.1"},{"dst":"3ffe:ffff:0:01ff::1/64"}],
           "dns":{"nameservers":["8.8.8.8"],"domain":"example.com","search":["example.com"]}}}
        """;

    private static string Config(string version, string json = Full) => json.Replace("VERSION", version, StringComparison.Ordinal);

    [Test]
    public void Add_at_1_1_0_prints_addresses_routes_and_dns()
    {
        (int exit, string stdout, _) = StaticHost.Run(Config("1.1.0"));

        Assert.That(exit, Is.EqualTo(0), stdout);
        Assert.That(stdout, Is.EqualTo("""
            {
                "cniVersion": "1.1.0",
                "ips": [
                    {
                        "address": "10.10.0.1/24",
                        "gateway": "10.10.0.254"
                    },
                    {
                        "address": "3ffe:ffff:0:1ff::1/64",
                        "gateway": "3ffe:ffff::1"
                    }
                ],
                "routes": [
                    {
                        "dst": "0.0.0.0/0"
                    },
                    {
                        "dst": "192.168.0.0/16",
                        "gw": "10.10.5.1"
                    },
                    {
                        "dst": "3ffe:ffff:0:1ff::1/64"
                    }
                ],
                "dns": {
                    "nameservers": [
                        "8.8.8.8"
                    ],
                    "domain": "example.com",
                    "search": [
                        "example.com"
                    ]
                }
            }
            """.ReplaceLineEndings("\n")));
    }

    [TestCase("0.3.0")]
    [TestCase("0.3.1")]
    [TestCase("0.4.0")]
    public void Add_at_0_3_and_0_4_tags_addresses_with_their_version(string version)
    {
        JsonObject result = StaticHost.Json(StaticHost.Run(Config(version)).Stdout);

        Assert.That(result["cniVersion"]!.GetValue<string>(), Is.EqualTo(version));
        Assert.That(result["ips"]!.AsArray().Select(ip => ip!["version"]!.GetValue<string>()), Is.EqualTo(new[] { "4", "6" }));
    }

    [TestCase("0.1.0")]
    [TestCase("0.2.0")]
    public void Add_at_0_2_0_prints_ip4_and_ip6_with_their_routes(string version)
    {
        JsonObject result = StaticHost.Json(StaticHost.Run(Config(version)).Stdout);

        Assert.That(result["ip4"]!["ip"]!.GetValue<string>(), Is.EqualTo("10.10.0.1/24"));
        Assert.That(result["ip4"]!["routes"]!.AsArray(), Has.Count.EqualTo(2));
        Assert.That(result["ip6"]!["gateway"]!.GetValue<string>(), Is.EqualTo("3ffe:ffff::1"));
        Assert.That(result["ip6"]!["routes"]!.AsArray(), Has.Count.EqualTo(1));
    }

    [Test]
    public void Cni_args_add_addresses_and_gateway_applies_to_those_it_contains()
    {
        const string config = """{"cniVersion":"1.0.0","name":"mynet","ipam":{"type":"static","addresses":[{"address":"10.1.0.2/16"}]}}""";

        (int exit, string stdout, _) = StaticHost.Run(config, args: "IP=192.168.1.5/24, 2001:db8::9/64;GATEWAY=192.168.1.1");

        Assert.That(exit, Is.EqualTo(0), stdout);
        JsonArray ips = StaticHost.Json(stdout)["ips"]!.AsArray();
        Assert.That(ips.Select(ip => ip!["address"]!.GetValue<string>()), Is.EqualTo(new[] { "10.1.0.2/16", "192.168.1.5/24", "2001:db8::9/64" }));
        Assert.That(ips.Select(ip => (string?)ip!["gateway"]), Is.EqualTo(new[] { null, "192.168.1.1", null }));
    }

    [Test]
    public void Args_cni_ips_replace_the_configured_addresses()
    {
        const string config = """
            {"cniVersion":"1.0.0","name":"mynet","args":{"cni":{"ips":["10.2.0.7/24"]}},
             "ipam":{"type":"static","addresses":[{"address":"10.1.0.2/16","gateway":"10.1.0.1"}]}}
            """;

        JsonArray ips = StaticHost.Json(StaticHost.Run(config).Stdout)["ips"]!.AsArray();

        Assert.That(ips.ToJsonString(), Is.EqualTo("""[{"address":"10.2.0.7/24"}]"""));
    }

    [Test]
    public void Runtime_config_ips_win_over_everything()
    {
        const string config = """
            {"cniVersion":"1.0.0","name":"mynet","args":{"cni":{"ips":["10.2.0.7/24"]}},"runtimeConfig":{"ips":["10.3.0.8/24","fd00::8/64"]},
             "ipam":{"type":"static","addresses":[{"address":"10.1.0.2/16"}]}}
            """;

        JsonArray ips = StaticHost.Json(StaticHost.Run(config, args: "IP=10.4.0.1/24").Stdout)["ips"]!.AsArray();

        Assert.That(ips.Select(ip => ip!["address"]!.GetValue<string>()), Is.EqualTo(new[] { "10.3.0.8/24", "fd00::8/64" }));
    }

    public static IEnumerable<TestCaseData> BadConfigs()
    {
        yield return Bad("no ipam", """{"cniVersion":"1.0.0","name":"n"}""", null, 7, "'ipam'");
        yield return Bad("invalid address", """{"cniVersion":"1.0.0","name":"n","ipam":{"type":"static","addresses":[{"address":"10.1.0.2"}]}}""", null, 7, "ipam.addresses[0].address");
        yield return Bad("invalid gateway", """{"cniVersion":"1.0.0","name":"n","ipam":{"type":"static","addresses":[{"address":"10.1.0.2/24","gateway":"x"}]}}""", null, 7, "$.ipam.addresses[0].gateway");
        yield return Bad("invalid route", """{"cniVersion":"1.0.0","name":"n","ipam":{"type":"static","routes":[{"dst":"default"}]}}""", null, 7, "$.ipam.routes[0].dst");
        yield return Bad("route without dst", """{"cniVersion":"1.0.0","name":"n","ipam":{"type":"static","routes":[{"gw":"10.0.0.1"}]}}""", null, 7, "ipam.routes[0].dst");
        yield return Bad("addresses not a list", """{"cniVersion":"1.0.0","name":"n","ipam":{"type":"static","addresses":"10.0.0.1/24"}}""", null, 6, "$.ipam.addresses");
        yield return Bad("two v4 at 0.2.0", """{"cniVersion":"0.2.0","name":"n","ipam":{"type":"static","addresses":[{"address":"10.0.0.1/24"},{"address":"10.0.1.1/24"}]}}""", null, 7, "more than 1 address per family");
        yield return Bad("invalid runtimeConfig ip", """{"cniVersion":"1.0.0","name":"n","runtimeConfig":{"ips":["nope"]},"ipam":{"type":"static"}}""", null, 7, "runtimeConfig.ips[0]");
        yield return Bad("invalid CNI_ARGS IP", """{"cniVersion":"1.0.0","name":"n","ipam":{"type":"static"}}""", "IP=10.0.0.1", 4, "CNI_ARGS IP");
        yield return Bad("invalid CNI_ARGS GATEWAY", """{"cniVersion":"1.0.0","name":"n","ipam":{"type":"static"}}""", "IP=10.0.0.1/24;GATEWAY=10.0.0", 4, "CNI_ARGS GATEWAY");
        yield return Bad("unknown CNI_ARGS key", """{"cniVersion":"1.0.0","name":"n","ipam":{"type":"static"}}""", "IP=10.0.0.1/24;K8S_POD_NAME=web", 4, "\"K8S_POD_NAME\"");
    }

    private static TestCaseData Bad(string name, string config, string? args, int code, string named) =>
        new TestCaseData(config, args, (uint)code, named).SetName($"Refuses {name} -> {code}");

    [TestCaseSource(nameof(BadConfigs))]
    public void Bad_configuration_is_an_error_naming_the_field(string config, string? args, uint code, string named)
    {
        (int exit, string stdout, _) = StaticHost.Run(config, args: args);

        Assert.That(exit, Is.EqualTo(1));
        JsonObject error = StaticHost.Json(stdout);
        Assert.That(error["code"]!.GetValue<uint>(), Is.EqualTo(code), stdout);
        Assert.That(error["msg"]!.GetValue<string>(), Does.Contain(named), stdout);
    }

    [Test]
    public void Unknown_args_pass_with_IgnoreUnknown()
    {
        (int exit, string stdout, _) = StaticHost.Run("""{"cniVersion":"1.0.0","name":"n","ipam":{"type":"static"}}""", args: "IgnoreUnknown=1;K8S_POD_NAME=web;IP=10.0.0.1/24");

        Assert.That(exit, Is.EqualTo(0), stdout);
        Assert.That(StaticHost.Json(stdout)["ips"]![0]!["address"]!.GetValue<string>(), Is.EqualTo("10.0.0.1/24"));
    }

    [TestCase("DEL", "1.0.0")]
    [TestCase("GC", "1.1.0")]
    [TestCase("STATUS", "1.1.0")]
    public void Del_gc_and_status_succeed_silently(string command, string version)
    {
        (int exit, string stdout, _) = StaticHost.Run(Config(version), command);

        Assert.That(exit, Is.EqualTo(0), stdout);
        Assert.That(stdout, Is.Empty);
    }

    private const string CheckConfig = """
        {"cniVersion":"1.0.0","name":"mynet",
         "ipam":{"type":"static","addresses":[{"address":"10.10.0.1/24","gateway":"10.10.0.254"}]},
         "prevResult":{"cniVersion":"1.0.0","interfaces":[{"name":"eth0"}],"ips":[{"interface":0,"address":"10.10.0.1/24","gateway":"GW"}]}}
        """;

    [Test]
    public void Check_succeeds_when_prevResult_holds_the_address_and_gateway()
    {
        (int exit, string stdout, _) = StaticHost.Run(CheckConfig.Replace("GW", "10.10.0.254", StringComparison.Ordinal), "CHECK");

        Assert.That(exit, Is.EqualTo(0), stdout);
    }

    [Test]
    public void Check_names_a_drifted_gateway()
    {
        (int exit, string stdout, _) = StaticHost.Run(CheckConfig.Replace("GW", "10.10.0.253", StringComparison.Ordinal), "CHECK");

        Assert.That(exit, Is.EqualTo(1));
        Assert.That(StaticHost.Json(stdout)["msg"]!.GetValue<string>(), Does.Contain("10.10.0.1").And.Contain("10.10.0.253").And.Contain("eth0"));
    }

    [Test]
    public void Check_names_a_missing_address()
    {
        const string config = """
            {"cniVersion":"1.0.0","name":"mynet",
             "ipam":{"type":"static","addresses":[{"address":"10.10.0.1/24"},{"address":"10.10.0.9/24"}]},
             "prevResult":{"cniVersion":"1.0.0","ips":[{"address":"10.10.0.1/24"}]}}
            """;

        (int exit, string stdout, _) = StaticHost.Run(config, "CHECK");

        Assert.That(exit, Is.EqualTo(1));
        Assert.That(StaticHost.Json(stdout)["msg"]!.GetValue<string>(), Does.Contain("10.10.0.9/24").And.Contain("ipam.addresses[1].address"));
    }

    [Test]
    public void Check_requires_prevResult()
    {
        (int exit, string stdout, _) = StaticHost.Run(Config("1.0.0"), "CHECK");

        Assert.That(exit, Is.EqualTo(1));
        Assert.That(StaticHost.Json(stdout)["msg"]!.GetValue<string>(), Does.Contain("prevResult"));
    }

    [Test]
    public void Version_lists_0_1_0_to_1_1_0()
    {
        (int exit, string stdout, _) = StaticHost.Run("", "VERSION");

        Assert.That(exit, Is.EqualTo(0));
        Assert.That(stdout, Is.EqualTo("""{"cniVersion":"1.1.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}""" + "\n"));
    }
}
