using System.Text;
using System.Text.Json.Nodes;

namespace Cni.Spec.Tests;

public class NetConfTests
{
    [Test]
    public void Unknown_keys_survive_a_round_trip_untouched()
    {
        const string json = """
            {"cniVersion":"1.0.0","name":"net","type":"bridge","bridge":"cni0","isGateway":true,
             "ipam":{"type":"host-local","ranges":[[{"subnet":"10.1.0.0/16"}]],"dataDir":"/tmp/x"},
             "runtimeConfig":{"portMappings":[{"hostPort":80}]},"args":{"cni":{"ips":["10.1.0.5"]}},
             "capabilities":{"ips":true},"ipMasq":true,"dns":{"nameservers":["1.1.1.1"]},"x-vendor":{"deep":[1,2,{"k":null}]}}
            """;

        NetConf conf = NetConf.Parse(Encoding.UTF8.GetBytes(json));
        byte[] written = conf.ToJsonBytes();

        Assert.That(JsonNode.DeepEquals(JsonNode.Parse(written), JsonNode.Parse(json)), Is.True, Encoding.UTF8.GetString(written));
        Assert.Multiple(() =>
        {
            Assert.That(conf.Ipam!.Type, Is.EqualTo("host-local"));
            Assert.That(conf.IpMasq, Is.True);
            Assert.That(conf.Dns!.Nameservers, Is.EqualTo(new[] { "1.1.1.1" }));
            Assert.That(conf.ExtensionData!.ContainsKey("bridge"), Is.True);
            Assert.That(conf.ExtensionData.ContainsKey("x-vendor"), Is.True);
        });
    }

    [Test]
    public void Missing_cniVersion_is_0_1_0()
    {
        NetConf conf = NetConf.Parse("""{"name":"net","type":"bridge"}"""u8);

        Assert.That(conf.CniVersion, Is.EqualTo("0.1.0"));
    }

    [TestCase("0.2.0", """{"cniVersion":"0.2.0","ip4":{"ip":"10.0.0.5/24","gateway":"10.0.0.1"},"dns":{}}""")]
    [TestCase("0.4.0", """{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.0.0.5/24","gateway":"10.0.0.1"}],"dns":{}}""")]
    [TestCase("1.1.0", """{"cniVersion":"1.1.0","ips":[{"address":"10.0.0.5/24","gateway":"10.0.0.1"}],"dns":{}}""")]
    public void PrevResult_is_read_in_the_configuration_version(string version, string prevResult)
    {
        string json = $$"""{"cniVersion":"{{version}}","name":"net","type":"bridge","prevResult":{{prevResult}}}""";

        NetConf conf = NetConf.Parse(Encoding.UTF8.GetBytes(json));

        Assert.That(conf.PrevResult!.Ips.Single().Address.ToString(), Is.EqualTo("10.0.0.5/24"));
        Assert.That(conf.PrevResult.Ips.Single().Gateway!.ToString(), Is.EqualTo("10.0.0.1"));
    }

    [Test]
    public void A_prevResult_set_in_the_model_is_written_in_the_configuration_version()
    {
        NetConf conf = NetConf.Parse("""{"cniVersion":"0.3.1","name":"net","type":"bridge"}"""u8);
        conf.PrevResult = new CniResult { Ips = [new CniIPConfig { Address = IPPrefix.Parse("10.0.0.5/24") }] };

        JsonNode written = JsonNode.Parse(conf.ToJsonBytes())!;

        Assert.That(written["prevResult"]!["cniVersion"]!.GetValue<string>(), Is.EqualTo("0.3.1"));
        Assert.That(written["prevResult"]!["ips"]![0]!["version"]!.GetValue<string>(), Is.EqualTo("4"));
    }

    [Test]
    public void Config_lists_keep_every_plugin_whole()
    {
        const string json = """
            {"cniVersion":"1.1.0","cniVersions":["1.0.0","1.1.0"],"name":"net","disableCheck":true,"disableGC":false,
             "loadOnlyInlinedPlugins":true,"plugins":[{"type":"bridge","bridge":"cni0"},{"type":"portmap","capabilities":{"portMappings":true}}]}
            """;

        NetworkConfigList list = NetworkConfigList.Parse(Encoding.UTF8.GetBytes(json));

        Assert.Multiple(() =>
        {
            Assert.That(list.CniVersions, Is.EqualTo(new[] { "1.0.0", "1.1.0" }));
            Assert.That(list.DisableCheck, Is.True);
            Assert.That(list.DisableGC, Is.False);
            Assert.That(list.LoadOnlyInlinedPlugins, Is.True);
            Assert.That(list.Plugins, Has.Count.EqualTo(2));
            Assert.That((string?)list.Plugins[0]["bridge"], Is.EqualTo("cni0"));
        });
    }

    [Test]
    public void A_bad_value_names_its_json_path()
    {
        var ex = Assert.Throws<CniException>(() => NetConf.Parse("""{"name":"net","ipMasq":"yes"}"""u8));

        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.DecodingFailure));
        Assert.That(ex.Message, Does.Contain("$.ipMasq"));
    }
}

/// <summary>Top-level keys are decoded as Go's encoding/json decodes them, by the host and by <see cref="NetConf.Parse"/> alike.</summary>
public class GoJsonKeyTests
{
    [TestCaseSource(typeof(Cni.TestSupport.GoJsonKeyCases), nameof(Cni.TestSupport.GoJsonKeyCases.NameAndVersion))]
    public void The_host_reads_name_and_version_as_Go_does(string config, string name, string version)
    {
        var plugin = new RecordingPlugin();

        HostRun run = HostKit.Run(plugin, HostKit.AddVariables(), config);

        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stdout);
        Assert.That((plugin.Requests.Single().Config.Name, plugin.Requests.Single().Config.CniVersion), Is.EqualTo((name, version)));
    }

    [TestCaseSource(typeof(Cni.TestSupport.GoJsonKeyCases), nameof(Cni.TestSupport.GoJsonKeyCases.NameAndVersion))]
    public void NetConf_Parse_reads_name_and_version_as_Go_does(string config, string name, string version)
    {
        NetConf conf = NetConf.Parse(System.Text.Encoding.UTF8.GetBytes(config));

        Assert.That((conf.Name, conf.CniVersion, conf.Type, conf.Ipam?.Type), Is.EqualTo((name, version, "fake", "host-local")));
        Assert.That(conf.ExtensionData?.Select(p => p.Key), Is.Null.Or.Empty, "no case variant of a known key is left as an unknown key");
    }

    [TestCase("cniVersion", "cniVersion", true)]
    [TestCase("CNIVERSION", "cniVersion", true)]
    [TestCase("cniVerſion", "cniVersion", true)]
    [TestCase("name", "nam", false)]
    [TestCase("naMe", "name", true)]
    [TestCase("\u212Aey", "key", true)]
    [TestCase("kéy", "KÉY", true)]
    [TestCase("nam\u0130", "nami", false)]
    public void Key_matching_is_Go_folding(string key, string field, bool matches) =>
        Assert.That(GoJsonKeys.Matches(key, field), Is.EqualTo(matches));
}
