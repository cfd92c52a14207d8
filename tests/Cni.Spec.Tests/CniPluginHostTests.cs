using System.Text.Json.Nodes;

namespace Cni.Spec.Tests;

/// <summary>The host (Go's skel) driven through a fake environment: dispatch, output, and every error path.</summary>
public class CniPluginHostTests
{
    [Test]
    public void Add_prints_the_result_in_the_configuration_version_and_exits_0()
    {
        var plugin = new RecordingPlugin();

        HostRun run = HostKit.Run(plugin, HostKit.AddVariables(), """{"cniVersion":"0.3.1","name":"testnet","type":"fake"}""");

        Assert.That(run.ExitCode, Is.EqualTo(0));
        Assert.That(run.Stdout, Is.EqualTo("""
            {
                "cniVersion": "0.3.1",
                "ips": [
                    {
                        "version": "4",
                        "address": "10.0.0.2/24",
                        "gateway": "10.0.0.1"
                    }
                ],
                "dns": {}
            }
            """.ReplaceLineEndings("\n")));
    }

    [Test]
    public void Add_hands_the_plugin_every_variable_and_the_raw_configuration()
    {
        var plugin = new RecordingPlugin();
        Dictionary<string, string> vars = HostKit.AddVariables();
        vars["CNI_ARGS"] = "IgnoreUnknown=1;K8S_POD_NAME=web";
        string config = """{"cniVersion":"1.0.0","name":"testnet","type":"fake","ipam":{"type":"host-local","subnet":"10.0.0.0/24"},"custom":{"a":1}}""";

        HostKit.Run(plugin, vars, config);

        CniRequest request = plugin.Requests.Single();
        Assert.Multiple(() =>
        {
            Assert.That(request.Command, Is.EqualTo(CniCommand.Add));
            Assert.That(request.ContainerId, Is.EqualTo("container-1"));
            Assert.That(request.NetNs, Is.EqualTo("/var/run/netns/test"));
            Assert.That(request.IfName, Is.EqualTo("eth0"));
            Assert.That(request.Path, Is.EqualTo(new[] { "/opt/cni/bin", "/usr/lib/cni" }));
            Assert.That(request.Args.Get("K8S_POD_NAME"), Is.EqualTo("web"));
            Assert.That(request.Args.IgnoreUnknown, Is.True);
            Assert.That(request.Config.Ipam!.Type, Is.EqualTo("host-local"));
            Assert.That((string?)request.Config.Ipam.ExtensionData!["subnet"], Is.EqualTo("10.0.0.0/24"));
            Assert.That(request.Config.ExtensionData!["custom"]!.ToJsonString(), Is.EqualTo("""{"a":1}"""));
            Assert.That(System.Text.Encoding.UTF8.GetString(request.RawConfig.Span), Is.EqualTo(config));
        });
    }

    [TestCase("DEL", CniCommand.Del, "1.0.0")]
    [TestCase("CHECK", CniCommand.Check, "0.4.0")]
    [TestCase("GC", CniCommand.Gc, "1.1.0")]
    [TestCase("STATUS", CniCommand.Status, "1.1.0")]
    public void Other_commands_dispatch_print_nothing_and_exit_0(string command, CniCommand expected, string version)
    {
        var plugin = new RecordingPlugin();

        HostRun run = HostKit.Run(plugin, HostKit.AddVariables(command), $$"""{"cniVersion":"{{version}}","name":"testnet","type":"fake"}""");

        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stdout);
        Assert.That(run.Stdout, Is.Empty);
        Assert.That(plugin.Requests.Single().Command, Is.EqualTo(expected));
    }

    [Test]
    public void Del_does_not_need_CNI_NETNS()
    {
        var plugin = new RecordingPlugin();
        Dictionary<string, string> vars = HostKit.AddVariables("DEL");
        vars.Remove("CNI_NETNS");

        HostRun run = HostKit.Run(plugin, vars);

        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stdout);
        Assert.That(plugin.Requests.Single().NetNs, Is.Null);
    }

    [TestCase("GC")]
    [TestCase("STATUS")]
    public void Gc_and_status_need_only_CNI_COMMAND_and_CNI_PATH(string command)
    {
        var plugin = new RecordingPlugin();
        var vars = new Dictionary<string, string> { ["CNI_COMMAND"] = command, ["CNI_PATH"] = "/opt/cni/bin" };

        HostRun run = HostKit.Run(plugin, vars, """{"cniVersion":"1.1.0","name":"testnet","type":"fake"}""");

        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stdout);
    }

    [Test]
    public void Version_prints_the_supported_versions_on_one_line()
    {
        var plugin = new RecordingPlugin { PluginInfo = new PluginInfo { SupportedVersions = ["0.3.1", "1.0.0"] } };

        HostRun run = HostKit.Run(plugin, new Dictionary<string, string> { ["CNI_COMMAND"] = "VERSION" }, stdin: "not read");

        Assert.That(run.ExitCode, Is.EqualTo(0));
        Assert.That(run.Stdout, Is.EqualTo("""{"cniVersion":"1.1.0","supportedVersions":["0.3.1","1.0.0"]}""" + "\n"));
    }

    [Test]
    public void No_command_prints_the_about_text_to_stderr_and_exits_0()
    {
        var plugin = new RecordingPlugin { PluginInfo = new PluginInfo { About = "CNI fake plugin v9" } };

        HostRun run = HostKit.Run(plugin, new Dictionary<string, string>());

        Assert.That(run.ExitCode, Is.EqualTo(0));
        Assert.That(run.Stdout, Is.Empty);
        Assert.That(run.Stderr, Is.EqualTo("CNI fake plugin v9\nCNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0\n"));
    }

    [Test]
    public void A_plugin_error_is_printed_as_error_json_with_its_own_code()
    {
        var plugin = new RecordingPlugin { Throw = new CniException(123, "vlan 5000 out of range (vlan)", "must be 0-4094") };

        HostRun run = HostKit.Run(plugin, HostKit.AddVariables());

        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(run.Stdout, Is.EqualTo("{\n    \"code\": 123,\n    \"msg\": \"vlan 5000 out of range (vlan)\",\n    \"details\": \"must be 0-4094\"\n}"));
    }

    [Test]
    public void Error_json_omits_empty_details()
    {
        var plugin = new RecordingPlugin { Throw = new CniException(CniErrorCode.TryAgainLater, "busy") };

        HostRun run = HostKit.Run(plugin, HostKit.AddVariables());

        Assert.That(run.Stdout, Is.EqualTo("{\n    \"code\": 11,\n    \"msg\": \"busy\"\n}"));
    }

    [Test]
    public void An_unexpected_exception_is_code_999_with_one_line_and_the_stack_only_on_stderr()
    {
        var plugin = new RecordingPlugin { Throw = new InvalidOperationException("first line\nsecond line") };

        HostRun run = HostKit.Run(plugin, HostKit.AddVariables());

        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(run.Error.Code, Is.EqualTo(999u));
        Assert.That(run.Error.Msg, Is.EqualTo("InvalidOperationException: first line second line"));
        Assert.That(run.Error.Details, Is.Null);
        Assert.That(run.Stdout, Does.Not.Contain(" at "));
        Assert.That(run.Stderr, Does.Contain("RecordingPlugin").And.Contain(" at "));
    }

    [Test]
    public void A_result_that_cannot_be_written_in_0_2_0_is_an_error_naming_the_version()
    {
        var plugin = new RecordingPlugin { OnAdd = _ => new CniResult() };

        HostRun run = HostKit.Run(plugin, HostKit.AddVariables(), """{"cniVersion":"0.2.0","name":"testnet","type":"fake"}""");

        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(run.Error.Code, Is.EqualTo(1u));
        Assert.That(run.Error.Msg, Does.Contain("0.2.0"));
    }

    [Test]
    public void Unknown_command_is_code_4_naming_it()
    {
        HostRun run = HostKit.Run(new RecordingPlugin(), HostKit.AddVariables("ATTACH"));

        Assert.That(run.Error, Is.EqualTo((4u, "unknown CNI_COMMAND: ATTACH", (string?)null)));
    }

    [Test]
    public void Missing_cniVersion_means_0_1_0()
    {
        var plugin = new RecordingPlugin();

        HostRun run = HostKit.Run(plugin, HostKit.AddVariables(), """{"name":"testnet","type":"fake"}""");

        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stdout);
        Assert.That(plugin.Requests.Single().Config.CniVersion, Is.EqualTo("0.1.0"));
        Assert.That(JsonNode.Parse(run.Stdout)!["cniVersion"]!.GetValue<string>(), Is.EqualTo("0.1.0"));
        Assert.That(JsonNode.Parse(run.Stdout)!["ip4"], Is.Not.Null);
    }

    [Test]
    public void A_plugin_declaring_fewer_versions_refuses_the_others_with_code_1_listing_its_versions()
    {
        var plugin = new RecordingPlugin { PluginInfo = new PluginInfo { SupportedVersions = ["0.4.0", "1.0.0"] } };

        HostRun run = HostKit.Run(plugin, HostKit.AddVariables(), """{"cniVersion":"0.3.1","name":"testnet","type":"fake"}""");

        Assert.That(run.Error.Code, Is.EqualTo(1u));
        Assert.That(run.Error.Msg, Does.Contain("cniVersion \"0.3.1\""));
        Assert.That(run.Error.Details, Is.EqualTo("config is \"0.3.1\", plugin supports [\"0.4.0\" \"1.0.0\"]"));
        Assert.That(plugin.Requests, Is.Empty);
    }

    [TestCase("GC", "1.0.0")]
    [TestCase("STATUS", "1.0.0")]
    [TestCase("CHECK", "0.3.0")]
    public void Commands_newer_than_the_configuration_version_are_refused_with_code_1(string command, string version)
    {
        var plugin = new RecordingPlugin();

        HostRun run = HostKit.Run(plugin, HostKit.AddVariables(command), $$"""{"cniVersion":"{{version}}","name":"testnet","type":"fake"}""");

        Assert.That(run.Error.Code, Is.EqualTo(1u));
        Assert.That(run.Error.Msg, Does.Contain($"does not allow {command}").And.Contain(version));
        Assert.That(plugin.Requests, Is.Empty);
    }

    [Test]
    public void Plugin_declared_args_keys_are_enforced_unless_IgnoreUnknown()
    {
        var plugin = new RecordingPlugin { PluginInfo = new PluginInfo { ArgsKeys = ["IP"] } };
        Dictionary<string, string> vars = HostKit.AddVariables();
        vars["CNI_ARGS"] = "IP=10.0.0.5/24;IgnoreUnknown=true;K8S_POD_NAME=x";

        HostRun run = HostKit.Run(plugin, vars);

        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stdout);
    }

    [Test]
    public void Args_are_not_checked_for_plugins_that_declare_no_keys()
    {
        var plugin = new RecordingPlugin();
        Dictionary<string, string> vars = HostKit.AddVariables();
        vars["CNI_ARGS"] = "ANYTHING=goes";

        Assert.That(HostKit.Run(plugin, vars).ExitCode, Is.EqualTo(0));
    }

    [Test]
    public void PrevResult_is_parsed_in_the_configuration_version()
    {
        var plugin = new RecordingPlugin();
        string config = """
            {"cniVersion":"0.4.0","name":"testnet","type":"fake",
             "prevResult":{"cniVersion":"0.4.0","interfaces":[{"name":"eth0"}],"ips":[{"version":"4","interface":0,"address":"10.0.0.9/24"}]}}
            """;

        HostRun run = HostKit.Run(plugin, HostKit.AddVariables("CHECK"), config);

        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stdout);
        CniResult prev = plugin.Requests.Single().Config.PrevResult!;
        Assert.That(prev.Ips.Single().Address.ToString(), Is.EqualTo("10.0.0.9/24"));
        Assert.That(prev.Ips.Single().Interface, Is.EqualTo(0));
    }

    [Test]
    public void A_cancelled_run_reports_try_again_later()
    {
        var plugin = new RecordingPlugin { Throw = new OperationCanceledException() };
        var env = new InMemoryCniEnvironment(HostKit.AddVariables(), HostKit.Config);
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        int exit = CniPluginHost.RunAsync(plugin, env, cts.Token).GetAwaiter().GetResult();

        Assert.That(exit, Is.EqualTo(1));
        Assert.That(JsonNode.Parse(env.StdoutText)!["code"]!.GetValue<uint>(), Is.EqualTo(11u));
    }
}

/// <summary>Stdin is bounded: a configuration larger than <see cref="CniPluginHost.MaxStdinBytes"/> is refused.</summary>
public class StdinLimitTests
{
    [Test]
    public void Stdin_larger_than_16_MiB_is_refused_with_a_CNI_error_naming_it()
    {
        var plugin = new RecordingPlugin();
        string config = """{"cniVersion":"1.0.0","name":"testnet","type":"fake","pad":""" + "\"" + new string('x', 16 * 1024 * 1024) + "\"}";

        HostRun run = HostKit.Run(plugin, HostKit.AddVariables(), config);

        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(plugin.Requests, Is.Empty);
        Assert.That(run.Error.Code, Is.EqualTo((uint)CniErrorCode.InvalidNetworkConfig));
        Assert.That(run.Error.Msg, Does.Contain("stdin").And.Contain("too large").And.Contain("16777216"));
    }

    [Test]
    public void Stdin_of_exactly_16_MiB_is_read()
    {
        var plugin = new RecordingPlugin();
        string head = "{\"cniVersion\":\"1.0.0\",\"name\":\"testnet\",\"type\":\"fake\",\"pad\":\"";
        string config = head + new string('x', 16 * 1024 * 1024 - head.Length - 2) + "\"}";

        HostRun run = HostKit.Run(plugin, HostKit.AddVariables(), config);

        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stdout);
    }
}
