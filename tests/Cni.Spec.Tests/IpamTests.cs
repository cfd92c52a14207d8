using System.Text;

namespace Cni.Spec.Tests;

/// <summary>IPAM delegation: the IPAM type from CNI_PATH, same stdin and variables, only CNI_COMMAND changed.</summary>
public class IpamTests
{
    private ScriptPlugins _plugins = null!;

    [SetUp]
    public void SetUp() => _plugins = new ScriptPlugins();

    [TearDown]
    public void TearDown() => _plugins.Dispose();

    private CniRequest Request(CniCommand command, string config)
    {
        Dictionary<string, string> vars = HostKit.AddVariables(command.ToWireName());
        vars["CNI_PATH"] = "/nonexistent:" + _plugins.Dir;
        vars["CNI_ARGS"] = "IP=10.0.0.5/24";
        byte[] raw = Encoding.UTF8.GetBytes(config);
        return new CniRequest
        {
            Command = command,
            Config = NetConf.Parse(raw),
            RawConfig = raw,
            Path = vars["CNI_PATH"].Split(':'),
            Environment = new InMemoryCniEnvironment(vars, raw),
        };
    }

    [Test]
    public async Task ExecAdd_runs_the_ipam_type_with_the_same_stdin_and_variables()
    {
        string log = Path.Combine(_plugins.Dir, "log");
        _plugins.Add("fake-ipam", $$"""
            cat > {{log}}.stdin
            echo "$CNI_COMMAND|$CNI_CONTAINERID|$CNI_NETNS|$CNI_IFNAME|$CNI_ARGS" > {{log}}
            echo '{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.5/24","gateway":"10.0.0.1"}]}'
            """);
        const string config = """{"cniVersion":"1.0.0","name":"net","type":"bridge","ipam":{"type":"fake-ipam","x":1}}""";

        CniResult result = await Ipam.ExecAddAsync(Request(CniCommand.Add, config));

        Assert.That(result.Ips.Single().Gateway!.ToString(), Is.EqualTo("10.0.0.1"));
        Assert.That(File.ReadAllText(log), Is.EqualTo("ADD|container-1|/var/run/netns/test|eth0|IP=10.0.0.5/24\n"));
        Assert.That(File.ReadAllText(log + ".stdin"), Is.EqualTo(config));
    }

    [Test]
    public async Task ExecDel_changes_only_the_command()
    {
        string log = Path.Combine(_plugins.Dir, "log");
        _plugins.Add("fake-ipam", $"echo \"$CNI_COMMAND|$CNI_IFNAME\" > {log}");

        // The request came in as ADD (say, a failed ADD being rolled back): DEL is what the IPAM plugin sees.
        await Ipam.ExecDelAsync(Request(CniCommand.Add, """{"cniVersion":"1.0.0","name":"net","type":"bridge","ipam":{"type":"fake-ipam"}}"""));

        Assert.That(File.ReadAllText(log), Is.EqualTo("DEL|eth0\n"));
    }

    [Test]
    public void A_configuration_without_ipam_type_is_code_7_naming_it()
    {
        var ex = Assert.ThrowsAsync<CniException>(() => Ipam.ExecAddAsync(Request(CniCommand.Add, """{"cniVersion":"1.0.0","name":"net","type":"bridge"}""")));

        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.InvalidNetworkConfig));
        Assert.That(ex.Message, Does.Contain("ipam.type"));
    }

    [Test]
    public void An_ipam_error_reaches_the_caller_with_its_code()
    {
        _plugins.Add("fake-ipam", """echo '{"code":11,"msg":"store locked"}'; exit 1""");

        var ex = Assert.ThrowsAsync<CniException>(() => Ipam.ExecCheckAsync(Request(CniCommand.Check, """{"cniVersion":"1.0.0","name":"net","type":"bridge","ipam":{"type":"fake-ipam"}}""")));

        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.TryAgainLater));
    }

    [Test]
    public void Failures_to_start_the_ipam_plugin_come_through_the_task_so_callers_can_start_it_and_work_meanwhile()
    {
        Task missingType = Ipam.ExecDelAsync(Request(CniCommand.Del, """{"cniVersion":"1.0.0","name":"net","type":"bridge"}"""));
        Task notOnPath = Ipam.ExecCheckAsync(Request(CniCommand.Check, """{"cniVersion":"1.0.0","name":"net","type":"bridge","ipam":{"type":"no-such-ipam"}}"""));

        Assert.Multiple(() =>
        {
            Assert.That(missingType.IsFaulted, Is.True);
            Assert.That(notOnPath.IsFaulted, Is.True);
            Assert.That(notOnPath.Exception!.InnerException!.Message, Does.Contain("no-such-ipam"));
        });
    }
}
