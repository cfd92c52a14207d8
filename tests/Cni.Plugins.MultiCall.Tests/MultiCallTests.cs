using System.Text;
using Cni.Spec;
using Cni.TestSupport;

namespace Cni.Plugins.MultiCall.Tests;

/// <summary>The one executable: the name it is started under picks the plugin.</summary>
public class MultiCallHostTests
{
    private static (int Exit, string Stdout, string Stderr) Run(string argv0, string[] args, Dictionary<string, string> variables, string stdin = "")
    {
        var env = new InMemoryCniEnvironment(variables, stdin);
        int exit = MultiCallHost.RunAsync(argv0, args, env).GetAwaiter().GetResult();
        return (exit, env.StdoutText, env.StderrText);
    }

    [TestCase("/opt/cni/bin/static")]
    [TestCase("host-local")]
    [TestCase("./bridge")]
    public void A_link_named_after_a_type_runs_that_plugin(string argv0)
    {
        var (exit, stdout, _) = Run(argv0, [], new() { ["CNI_COMMAND"] = "VERSION" });
        Assert.That(exit, Is.Zero);
        Assert.That(stdout, Does.StartWith("""{"cniVersion":"1.1.0","supportedVersions":["""));
    }

    [Test]
    public void Each_type_is_its_own_plugin()
    {
        // Without CNI_COMMAND a plugin prints its own "about" line: each type must print a different one, naming it.
        var abouts = new HashSet<string>();
        foreach (string type in PluginTable.Types)
        {
            string about = Run("/opt/cni/bin/" + type, [], []).Stderr.Split('\n')[0];
            Assert.That(about, Does.Contain(type), type);
            Assert.That(abouts.Add(about), Is.True, $"{type} prints another type's line: {about}");
        }
    }

    [Test]
    public void The_executable_itself_takes_the_type_as_first_argument_and_lists_its_types()
    {
        Assert.That(Run("/usr/lib/cni/cni-plugins", ["static"], new() { ["CNI_COMMAND"] = "VERSION" }).Exit, Is.Zero);
        var (exit, stdout, _) = Run("cni-plugins", ["--list"], []);
        Assert.That(exit, Is.Zero);
        Assert.That(stdout, Is.EqualTo("bandwidth\nbridge\ndhcp\ndummy\nfirewall\nhost-device\nhost-local\nipvlan\nloopback\nmacvlan\nportmap\nptp\nsbr\nstatic\ntap\ntuning\nvlan\nvrf\n"));
    }

    [TestCase("/opt/cni/bin/dhcp", new[] { "daemon", "-nosuch" })]
    [TestCase("cni-plugins", new[] { "dhcp", "daemon", "-nosuch" })]
    public void Dhcp_daemon_is_started_by_its_argument(string argv0, string[] args)
    {
        var (exit, stdout, stderr) = Run(argv0, args, []);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stdout, Is.Empty);
        Assert.That(stderr, Does.Contain("flag provided but not defined: -nosuch").And.Contain("usage: dhcp daemon"));
    }

    [Test]
    public void An_unknown_name_under_a_runtime_is_a_cni_error_on_stdout()
    {
        var (exit, stdout, _) = Run("/opt/cni/bin/portmapx", [], new() { ["CNI_COMMAND"] = "ADD" }, "{}");
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(stdout, Does.Contain("\"code\": 999").And.Contain("holds no plugin named \\\"portmapx\\\""));
    }

    [Test]
    public void An_unknown_name_by_hand_prints_usage_on_stderr()
    {
        var (exit, stdout, stderr) = Run("/tmp/whatever", [], []);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stdout, Is.Empty);
        Assert.That(stderr, Does.Contain("usage:").And.Contain("bandwidth bridge dhcp dummy firewall host-device host-local ipvlan loopback macvlan portmap ptp sbr static tap tuning vlan vrf"));
    }
}

/// <summary>
/// IPAM in-process against IPAM executed: the same plugin (ours, host-local or static), the same stdin and variables;
/// the output bytes and errors must be identical. The executed side is the published cni-plugins.
/// </summary>
[NonParallelizable]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class InProcessIpamTests
{
    private string _dir = null!;
    private string _self = null!;
    private string _dataDir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("cni-multicall-").FullName;
        _dataDir = Path.Combine(_dir, "data");
        // Stands for /proc/self/exe; were it executed, the in-process side would fail with this message.
        _self = Path.Combine(_dir, "self");
        TestEnvironment.WriteExecutable(_self, "#!/bin/sh\necho '{\"code\":999,\"msg\":\"executed instead of run in-process\"}'; exit 1\n");
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string LinkDir(string name, string target, string type)
    {
        string dir = Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;
        File.CreateSymbolicLink(Path.Combine(dir, type), target);
        return dir;
    }

    private static CniRequest Request(string config, string cniPath, CniCommand command)
    {
        var vars = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = command.ToWireName(), ["CNI_CONTAINERID"] = "multicall-1", ["CNI_NETNS"] = "/var/run/netns/none",
            ["CNI_IFNAME"] = "eth0", ["CNI_PATH"] = cniPath, ["CNI_ARGS"] = "IgnoreUnknown=1",
        };
        byte[] raw = Encoding.UTF8.GetBytes(config);
        return new CniRequest
        {
            Command = command, ContainerId = "multicall-1", IfName = "eth0", Config = NetConf.Parse(raw), RawConfig = raw,
            Path = cniPath.Split(':'), Environment = new InMemoryCniEnvironment(vars, raw),
        };
    }

    /// <summary>ADD, CHECK, GC, STATUS and DEL through <paramref name="cniPath"/>; each step's stdout or error, one line each.</summary>
    private async Task<List<string>> Sequence(IpamInvoker invoker, string config, string cniPath)
    {
        if (Directory.Exists(_dataDir))
            Directory.Delete(_dataDir, recursive: true);
        var steps = new List<string>();
        foreach (CniCommand command in new[] { CniCommand.Add, CniCommand.Check, CniCommand.Gc, CniCommand.Status, CniCommand.Del })
        {
            try
            {
                (byte[] stdout, _) = await invoker.RunAsync(Request(config, cniPath, command), command, default);
                steps.Add($"{command}: {Encoding.UTF8.GetString(stdout)}");
            }
            catch (CniException ex)
            {
                steps.Add($"{command}: error {ex.NumericCode} {ex.Message} | {ex.Details}");
            }
        }
        return steps;
    }

    private static IEnumerable<TestCaseData> Configs()
    {
        foreach (string version in new[] { "0.2.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0" })
        {
            yield return new TestCaseData("host-local", version,
                """ipam":{"type":"host-local","dataDir":"DATA","ranges":[[{"subnet":"10.77.0.0/24","gateway":"10.77.0.1"}],[{"subnet":"fd77::/64"}]],"routes":[{"dst":"0.0.0.0/0"}]}""")
                .SetName($"host-local {version}");
            yield return new TestCaseData("static", version,
                """ipam":{"type":"static","addresses":[{"address":"10.78.0.5/24","gateway":"10.78.0.1"}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{"nameservers":["10.78.0.53"]}}""")
                .SetName($"static {version}");
        }
        yield return new TestCaseData("host-local", "1.0.0", """ipam":{"type":"host-local","dataDir":"DATA","ranges":[[{"subnet":"10.77.0.0/33"}]]}""")
            .SetName("host-local bad subnet");
        yield return new TestCaseData("host-local", "1.0.0", """ipam":{"type":"host-local","dataDir":"DATA","ranges":[[{"subnet":"10.77.0.0/31"}]]}""")
            .SetName("host-local range too small");
        yield return new TestCaseData("static", "1.0.0", """ipam":{"type":"static","addresses":[{"address":"nonsense"}]}""")
            .SetName("static bad address");
    }

    [TestCaseSource(nameof(Configs))]
    public async Task Same_bytes_and_errors_in_process_as_executed(string type, string version, string ipam)
    {
        string published = TestEnvironment.RequirePublishedPlugin("cni-plugins");
        string config = $$"""{"cniVersion":"{{version}}","name":"multicall-net","type":"bridge","{{ipam.Replace("DATA", _dataDir, StringComparison.Ordinal)}}}""";
        IpamInvoker invoker = PluginTable.CreateIpamInvoker(selfPath: _self);

        List<string> inProcess = await Sequence(invoker, config, LinkDir("same", _self, type));
        List<string> executed = await Sequence(invoker, config, LinkDir("exec", published, type));

        Assert.That(inProcess, Is.EqualTo(executed));
        Assert.That(string.Join("\n", inProcess), Does.Not.Contain("executed instead of run in-process"));
    }
}
