using System.Text;

namespace Cni.Spec.Tests;

/// <summary>Running plugin executables: lookup on CNI_PATH, environment and stdin, results, errors, cancellation.</summary>
public class PluginExecutorTests
{
    private ScriptPlugins _plugins = null!;

    [SetUp]
    public void SetUp() => _plugins = new ScriptPlugins();

    [TearDown]
    public void TearDown() => _plugins.Dispose();

    [Test]
    public void FindInPath_takes_the_first_regular_executable()
    {
        _plugins.Add("demo", "exit 0", executable: false, subdir: "a");
        Directory.CreateDirectory(Path.Combine(_plugins.Dir, "b", "demo"));
        string winner = _plugins.Add("demo", "exit 0", subdir: "c");
        _plugins.Add("demo", "exit 0", subdir: "d");
        string[] path = ["", Path.Combine(_plugins.Dir, "missing"), .. new[] { "a", "b", "c", "d" }.Select(d => Path.Combine(_plugins.Dir, d))];

        Assert.That(PluginExecutor.FindInPath("demo", path), Is.EqualTo(winner));
    }

    [TestCase("../demo")]
    [TestCase("a/demo")]
    [TestCase("..")]
    [TestCase("")]
    public void FindInPath_refuses_anything_but_a_bare_name(string type)
    {
        var ex = Assert.Throws<CniException>(() => PluginExecutor.FindInPath(type, [_plugins.Dir]));

        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.InvalidNetworkConfig));
        Assert.That(ex.Message, Does.Contain("bare"));
    }

    [Test]
    public void FindInPath_names_the_type_and_path_when_missing()
    {
        var ex = Assert.Throws<CniException>(() => PluginExecutor.FindInPath("nothere", [_plugins.Dir]));

        Assert.That(ex!.Message, Does.Contain("\"nothere\"").And.Contain(_plugins.Dir));
    }

    [Test]
    public async Task Exec_passes_environment_and_stdin_and_parses_the_result_in_its_own_version()
    {
        string path = _plugins.Add("echo-env", """
            input=$(cat)
            echo "cmd=$CNI_COMMAND ifname=$CNI_IFNAME stdin=$input" >&2
            printf '{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.9.0.2/24"}],"dns":{"domain":"%s"}}' "$CNI_IFNAME"
            """);
        var stderr = new StringWriter();
        var executor = new PluginExecutor { Stderr = stderr };

        CniResult result = await executor.ExecWithResultAsync(path,
            [new("CNI_COMMAND", "ADD"), new("CNI_IFNAME", "eth7")], Encoding.UTF8.GetBytes("{\"name\":\"n\"}"));

        Assert.That(result.CniVersion, Is.EqualTo("0.4.0"));
        Assert.That(result.Ips.Single().Address.ToString(), Is.EqualTo("10.9.0.2/24"));
        Assert.That(result.Dns.Domain, Is.EqualTo("eth7"));
        Assert.That(stderr.ToString(), Is.EqualTo("cmd=ADD ifname=eth7 stdin={\"name\":\"n\"}\n"));
    }

    [Test]
    public void A_plugin_error_becomes_a_CniException_with_its_code()
    {
        string path = _plugins.Add("fails", """
            printf '{"code": 105, "msg": "no more addresses", "details": "range 10.0.0.0/30 is full"}'
            exit 1
            """);

        var ex = Assert.ThrowsAsync<CniException>(() => PluginExecutor.Default.ExecAsync(path, [], ReadOnlyMemory<byte>.Empty));

        Assert.That(ex!.NumericCode, Is.EqualTo(105u));
        Assert.That(ex.Message, Is.EqualTo("no more addresses"));
        Assert.That(ex.Details, Is.EqualTo("range 10.0.0.0/30 is full"));
    }

    [Test]
    public void A_failure_without_error_json_is_internal_with_the_output()
    {
        string path = _plugins.Add("crashes", "echo 'segfault at 0' >&2; exit 139");
        var executor = new PluginExecutor { Stderr = TextWriter.Null };

        var ex = Assert.ThrowsAsync<CniException>(() => executor.ExecAsync(path, [], ReadOnlyMemory<byte>.Empty));

        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.Internal));
        Assert.That(ex.Message, Does.Contain("crashes").And.Contain("exit 139").And.Contain("segfault at 0"));
    }

    [Test]
    public void Cancellation_kills_the_plugin()
    {
        string marker = Path.Combine(_plugins.Dir, "started");
        string path = _plugins.Add("hangs", $"touch {marker}; exec sleep 600");
        using var cts = new CancellationTokenSource();

        Task run = PluginExecutor.Default.ExecAsync(path, [], ReadOnlyMemory<byte>.Empty, cts.Token);
        SpinWait.SpinUntil(() => File.Exists(marker) || run.IsCompleted);
        cts.Cancel();

        Assert.That(async () => await run, Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public void A_binary_still_open_for_writing_is_text_file_busy_until_retries_run_out()
    {
        string path = _plugins.Add("being-written", "exit 0");
        using FileStream writer = new(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        var executor = new PluginExecutor { TextFileBusyRetries = 1 };

        var ex = Assert.ThrowsAsync<CniException>(() => executor.ExecAsync(path, [], ReadOnlyMemory<byte>.Empty));

        Assert.That(ex!.Message, Does.Contain("being-written"));
        Assert.That(ex.InnerException, Is.TypeOf<System.ComponentModel.Win32Exception>().With.Property("NativeErrorCode").EqualTo(26));
    }

    [Test]
    public async Task Version_info_is_parsed()
    {
        string path = _plugins.Add("versioned", """echo '{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0"]}'""");

        PluginVersionInfo info = await PluginExecutor.Default.GetVersionInfoAsync(path);

        Assert.That(info.SupportedVersions, Is.EqualTo(new[] { "0.4.0", "1.0.0" }));
    }
}
