namespace Cni.Spec.Tests;

/// <summary>
/// The bad-input table: each case is a CNI error JSON on stdout, exit 1, with the expected code and a message
/// that names the field or variable at fault. The plugin is never called.
/// </summary>
public class BadInputTableTests
{
    private const string Good = """{"cniVersion":"1.0.0","name":"testnet","type":"fake"}""";

    public static IEnumerable<TestCaseData> Cases()
    {
        yield return Case("garbage stdin", "ADD", null, "this is not json", 6, "network configuration: not valid JSON (line 1");
        yield return Case("stdin not an object", "ADD", null, "[1,2]", 6, "network configuration");
        yield return Case("empty stdin", "ADD", null, "", 6, "network configuration");
        yield return Case("name is a number", "ADD", null, """{"cniVersion":"1.0.0","name":5}""", 6, "at $.name: unexpected JSON value");
        yield return Case("no name", "ADD", null, """{"cniVersion":"1.0.0","type":"fake"}""", 7, "network name (name)");
        yield return Case("bad network name", "ADD", null, """{"cniVersion":"1.0.0","name":"../etc","type":"fake"}""", 7, "network name (name)");
        yield return Case("missing variables", "ADD", v => { v.Remove("CNI_NETNS"); v.Remove("CNI_IFNAME"); }, Good, 4, "[CNI_NETNS,CNI_IFNAME]");
        yield return Case("missing container id on DEL", "DEL", v => v.Remove("CNI_CONTAINERID"), Good, 4, "CNI_CONTAINERID");
        yield return Case("missing path", "CHECK", v => v.Remove("CNI_PATH"), Good, 4, "CNI_PATH");
        yield return Case("unsupported version", "ADD", null, """{"cniVersion":"2.0.0","name":"testnet","type":"fake"}""", 1, "cniVersion \"2.0.0\"");
        yield return Case("CHECK on 0.3.1", "CHECK", null, """{"cniVersion":"0.3.1","name":"testnet","type":"fake"}""", 1, "CHECK");
        yield return Case("bad container id", "ADD", v => v["CNI_CONTAINERID"] = "-bad/id", Good, 4, "CNI_CONTAINERID");
        yield return Case("container id with dotdot path", "DEL", v => v["CNI_CONTAINERID"] = "../../x", Good, 4, "CNI_CONTAINERID");
        yield return Case("interface name too long", "ADD", v => v["CNI_IFNAME"] = "abcdefghijklmnop", Good, 4, "CNI_IFNAME");
        yield return Case("interface name with slash", "ADD", v => v["CNI_IFNAME"] = "eth/0", Good, 4, "CNI_IFNAME");
        yield return Case("interface name dotdot", "DEL", v => v["CNI_IFNAME"] = "..", Good, 4, "CNI_IFNAME");
        yield return Case("interface name with space", "CHECK", v => v["CNI_IFNAME"] = "eth 0", Good, 4, "CNI_IFNAME");
        yield return Case("unknown CNI_ARGS key", "ADD", v => v["CNI_ARGS"] = "IP=10.0.0.1/24;FOO=bar", Good, 4, "CNI_ARGS: unknown key \"FOO\"");
        yield return Case("CNI_ARGS pair without =", "ADD", v => v["CNI_ARGS"] = "IP", Good, 4, "CNI_ARGS");
        yield return Case("CNI_ARGS bad IgnoreUnknown", "ADD", v => v["CNI_ARGS"] = "IgnoreUnknown=yes", Good, 4, "IgnoreUnknown");
        yield return Case("malformed cniVersion on CHECK", "CHECK", null, """{"cniVersion":"x.y","name":"testnet","type":"fake"}""", 6, "cniVersion");
        yield return Case("ipam not an object", "ADD", null, """{"cniVersion":"1.0.0","name":"testnet","type":"fake","ipam":"static"}""", 6, "$.ipam");
    }

    private static TestCaseData Case(string name, string command, Action<Dictionary<string, string>>? change, string stdin, int code, string named) =>
        new TestCaseData(command, change, stdin, (uint)code, named).SetName($"Bad input: {name} -> {code}");

    [TestCaseSource(nameof(Cases))]
    public void Bad_input_is_an_error_json_naming_the_field(string command, Action<Dictionary<string, string>>? change, string stdin, uint code, string named)
    {
        var plugin = new RecordingPlugin { PluginInfo = new PluginInfo { ArgsKeys = ["IP", "GATEWAY"] } };
        Dictionary<string, string> vars = HostKit.AddVariables(command);
        change?.Invoke(vars);

        HostRun run = HostKit.Run(plugin, vars, stdin);

        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(run.Error.Code, Is.EqualTo(code), run.Stdout);
        Assert.That(run.Error.Msg, Does.Contain(named), run.Stdout);
        Assert.That(plugin.Requests, Is.Empty);
        Assert.That(run.Stdout, Does.Not.Contain(" at Cni."));
    }

    private const string BadPrevResult =
        """{"cniVersion":"1.0.0","name":"testnet","type":"fake","prevResult":{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.300/24"}]}}""";

    [Test]
    public void A_bad_prevResult_is_an_error_naming_it_for_a_plugin_that_reads_it()
    {
        var plugin = new RecordingPlugin { OnAdd = request => request.Config.PrevResult! };

        HostRun run = HostKit.Run(plugin, HostKit.AddVariables("ADD"), BadPrevResult);

        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(run.Error.Code, Is.EqualTo(7u), run.Stdout);
        Assert.That(run.Error.Msg, Does.Contain("prevResult"), run.Stdout);
        Assert.That(run.Stdout, Does.Not.Contain(" at Cni."));
    }

    [Test]
    public void A_bad_prevResult_does_not_stop_a_plugin_that_never_reads_it()
    {
        // As with Go's skel: the previous result is the plugin's to parse (an IPAM plugin's DEL ignores it).
        var plugin = new RecordingPlugin();

        HostRun run = HostKit.Run(plugin, HostKit.AddVariables("DEL"), BadPrevResult);

        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stdout);
        Assert.That(plugin.Requests, Has.Count.EqualTo(1));
    }
}
