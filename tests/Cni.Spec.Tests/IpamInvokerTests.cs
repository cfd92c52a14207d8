using System.Text;

namespace Cni.Spec.Tests;

/// <summary>
/// <see cref="IpamInvoker"/>: an IPAM type that CNI_PATH resolves to this very executable runs in-process, seeing what
/// a child would see; any other file is executed.
/// </summary>
public class IpamInvokerTests
{
    private ScriptPlugins _plugins = null!;
    private string _self = null!;

    [SetUp]
    public void SetUp()
    {
        _plugins = new ScriptPlugins();
        // Stands for /proc/self/exe: were it executed, the IPAM call would fail with this message.
        _self = _plugins.Add("self", """echo '{"code":999,"msg":"executed instead of run in-process"}'; exit 1""", subdir: "real");
    }

    [TearDown]
    public void TearDown() => _plugins.Dispose();

    private CniRequest Request(string config, string ipamDir)
    {
        Dictionary<string, string> vars = HostKit.AddVariables("ADD");
        vars["CNI_PATH"] = "/nonexistent:" + ipamDir;
        vars["CNI_ARGS"] = "IgnoreUnknown=1;K=V";
        byte[] raw = Encoding.UTF8.GetBytes(config);
        return new CniRequest
        {
            Command = CniCommand.Add,
            Config = NetConf.Parse(raw),
            RawConfig = raw,
            Path = vars["CNI_PATH"].Split(':'),
            Environment = new InMemoryCniEnvironment(vars, raw),
        };
    }

    /// <summary>A directory holding <c>fake-ipam</c> as a symbolic link to <paramref name="target"/>.</summary>
    private string LinkDir(string name, string target)
    {
        string dir = Directory.CreateDirectory(Path.Combine(_plugins.Dir, name)).FullName;
        File.CreateSymbolicLink(Path.Combine(dir, "fake-ipam"), target);
        return dir;
    }

    private const string Config = """{"cniVersion":"1.0.0","name":"net","type":"bridge","ipam":{"type":"fake-ipam","x":1}}""";

    [Test]
    public async Task Same_executable_runs_in_process_with_the_variables_and_stdin_a_child_gets()
    {
        var plugin = new RecordingPlugin();
        var invoker = new IpamInvoker(sameExecutable: type => type == "fake-ipam" ? plugin : null, selfPath: _self);
        CniRequest request = Request(Config, LinkDir("linked", _self));

        CniResult result = await invoker.AddAsync(request);
        await invoker.DelAsync(request);

        Assert.That(result.Ips.Single().Address.ToString(), Is.EqualTo("10.1.2.3/24"));
        Assert.That(plugin.Seen, Is.EqualTo(new[]
        {
            $"ADD|container-1|/var/run/netns/test|eth0|IgnoreUnknown=1;K=V|/nonexistent:{Path.Combine(_plugins.Dir, "linked")}|{Config}",
            $"DEL|container-1|/var/run/netns/test|eth0|IgnoreUnknown=1;K=V|/nonexistent:{Path.Combine(_plugins.Dir, "linked")}|{Config}",
        }));
    }

    [Test]
    public async Task Another_file_of_that_name_is_executed()
    {
        var plugin = new RecordingPlugin();
        string other = _plugins.Add("other", """cat >/dev/null; echo '{"cniVersion":"1.0.0","ips":[{"address":"10.9.9.9/24"}]}'""", subdir: "elsewhere");
        var invoker = new IpamInvoker(sameExecutable: _ => plugin, selfPath: _self);

        CniResult result = await invoker.AddAsync(Request(Config, LinkDir("other-link", other)));

        Assert.That(result.Ips.Single().Address.ToString(), Is.EqualTo("10.9.9.9/24"));
        Assert.That(plugin.Seen, Is.Empty);
    }

    [Test]
    public void A_type_this_executable_does_not_hold_is_executed()
    {
        var invoker = new IpamInvoker(sameExecutable: _ => null, selfPath: _self);

        var ex = Assert.ThrowsAsync<CniException>(() => invoker.AddAsync(Request(Config, LinkDir("linked", _self))));

        Assert.That(ex!.Message, Is.EqualTo("executed instead of run in-process"));
    }

    [Test]
    public void An_in_process_error_is_reported_as_the_executed_plugin_reports_it()
    {
        var plugin = new RecordingPlugin { Fail = new CniException(CniErrorCode.InvalidNetworkConfig, "bad range", "ipam.ranges[0]") };
        var invoker = new IpamInvoker(sameExecutable: _ => plugin, selfPath: _self);
        string script = _plugins.Add("failing", """
            cat >/dev/null
            printf '{\n    "code": 7,\n    "msg": "bad range",\n    "details": "ipam.ranges[0]"\n}'
            exit 1
            """, subdir: "script");

        var inProcess = Assert.ThrowsAsync<CniException>(() => invoker.RunAsync(Request(Config, LinkDir("linked", _self)), CniCommand.Add, default));
        var executed = Assert.ThrowsAsync<CniException>(() => invoker.RunAsync(Request(Config, LinkDir("script-link", script)), CniCommand.Add, default));

        Assert.That((inProcess!.NumericCode, inProcess.Message, inProcess.Details), Is.EqualTo((executed!.NumericCode, executed.Message, executed.Details)));
        Assert.That(inProcess.NumericCode, Is.EqualTo(7u));
    }

    [Test]
    public void Default_never_runs_in_process()
    {
        // No lookup: even a file that is this very process's executable is started as a process.
        string dir = Directory.CreateDirectory(Path.Combine(_plugins.Dir, "proc")).FullName;
        File.CreateSymbolicLink(Path.Combine(dir, "fake-ipam"), _self);
        var ex = Assert.ThrowsAsync<CniException>(() => IpamInvoker.Default.AddAsync(Request(Config, dir)));
        Assert.That(ex!.Message, Is.EqualTo("executed instead of run in-process"));
    }

    /// <summary>Records what it saw as a line "COMMAND|CONTAINERID|NETNS|IFNAME|ARGS|PATH|stdin".</summary>
    private sealed class RecordingPlugin : CniPlugin
    {
        public List<string> Seen { get; } = [];

        public CniException? Fail { get; init; }

        private void Record(CniRequest request)
        {
            ICniEnvironment env = request.Environment;
            Seen.Add(string.Join('|', env.GetVariable("CNI_COMMAND"), env.GetVariable("CNI_CONTAINERID"), env.GetVariable("CNI_NETNS"),
                env.GetVariable("CNI_IFNAME"), env.GetVariable("CNI_ARGS"), env.GetVariable("CNI_PATH"), Encoding.UTF8.GetString(request.RawConfig.Span)));
            if (Fail is not null)
                throw Fail;
        }

        public override Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
        {
            Record(request);
            return Task.FromResult(new CniResult { Ips = [new CniIPConfig { Address = IPPrefix.Parse("10.1.2.3/24") }] });
        }

        public override Task DelAsync(CniRequest request, CancellationToken cancellationToken)
        {
            Record(request);
            return Task.CompletedTask;
        }
    }
}
