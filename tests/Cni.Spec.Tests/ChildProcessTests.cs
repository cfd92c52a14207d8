using System.ComponentModel;
using System.Text;

namespace Cni.Spec.Tests;

/// <summary>
/// The child-process plumbing under <see cref="PluginExecutor"/>: large concurrent output, unread stdin, environment
/// removal, death by signal, cancellation, and files that cannot be started. Every test passes NUnit's
/// <see cref="CancelAfterAttribute"/> token down, so a deadlock kills the child and fails the test instead of hanging.
/// </summary>
[NonParallelizable]
public class ChildProcessTests
{
    private const int Guard = 15_000;
    private ScriptPlugins _plugins = null!;

    [SetUp]
    public void SetUp() => _plugins = new ScriptPlugins();

    [TearDown]
    public void TearDown() => _plugins.Dispose();

    private static CancellationToken TestToken => TestContext.CurrentContext.CancellationToken;

    [Test, CancelAfter(Guard)]
    public async Task Megabyte_of_stdout_and_300_KB_of_stderr_written_at_once_arrive_whole()
    {
        // stderr is written by a background job while the foreground fills stdout: both pipes fill at the same time.
        string path = _plugins.Add("chatty", """
            yes eeeeeee | head -c 307200 >&2 &
            yes 0123456789abcde | head -c 1048576
            wait
            """);
        var stderr = new StringWriter();
        var executor = new PluginExecutor { Stderr = stderr };

        byte[] stdout = await executor.ExecAsync(path, [], ReadOnlyMemory<byte>.Empty, TestToken);

        byte[] expected = Enumerable.Repeat(Encoding.ASCII.GetBytes("0123456789abcde\n"), 65536).SelectMany(b => b).ToArray();
        Assert.That(stdout, Has.Length.EqualTo(1048576));
        Assert.That(stdout, Is.EqualTo(expected));
        string forwarded = stderr.ToString();
        Assert.That(forwarded, Has.Length.EqualTo(307200));
        Assert.That(forwarded.Replace("eeeeeee\n", ""), Is.Empty);
    }

    [Test, CancelAfter(Guard)]
    public async Task Stdin_echoed_to_stdout_and_stderr_while_it_is_still_being_written_does_not_deadlock()
    {
        // tee writes back what it reads before the parent has finished writing: a parent that wrote all of stdin
        // before reading would block on a full stdout pipe while the child blocks on a full stdin pipe.
        string path = _plugins.Add("echoes", "exec tee /dev/stderr");
        byte[] input = new byte[2 * 1024 * 1024];
        new Random(42).NextBytes(input);
        var stderr = new MemoryStream();
        await using var stderrWriter = new StreamWriter(stderr, new UTF8Encoding(false)) { AutoFlush = true };
        var executor = new PluginExecutor { Stderr = stderrWriter };

        byte[] stdout = await executor.ExecAsync(path, [], input, TestToken);

        Assert.That(stdout, Is.EqualTo(input));
        Assert.That(stderr.Length, Is.GreaterThan(0), "stderr is forwarded (as text, so random bytes are not compared)");
    }

    [Test, CancelAfter(Guard)]
    public async Task A_child_that_exits_without_reading_5_MB_of_stdin_is_reported_by_its_own_result()
    {
        string path = _plugins.Add("ignores-stdin", "printf ok; exit 0");
        byte[] input = new byte[5 * 1024 * 1024];

        byte[] stdout = await PluginExecutor.Default.ExecAsync(path, [], input, TestToken);

        Assert.That(Encoding.ASCII.GetString(stdout), Is.EqualTo("ok"));
    }

    [Test, CancelAfter(Guard)]
    public void A_child_that_reads_a_little_of_5_MB_of_stdin_and_fails_gives_its_own_error()
    {
        string path = _plugins.Add("reads-a-little", """
            head -c 10 >/dev/null
            printf '{"code": 11, "msg": "try again later"}'
            exit 1
            """);
        byte[] input = new byte[5 * 1024 * 1024];

        var ex = Assert.ThrowsAsync<CniException>(() => PluginExecutor.Default.ExecAsync(path, [], input, TestToken));

        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.TryAgainLater));
        Assert.That(ex.Message, Is.EqualTo("try again later"));
    }

    [Test, CancelAfter(Guard)]
    public void ChildProcess_run_with_unread_stdin_returns_the_exit_code()
    {
        string path = _plugins.Add("exits-3", "exit 3");

        ChildProcess.Outcome outcome = ChildProcess.Run(path, [], new byte[5 * 1024 * 1024], TestToken);

        Assert.That(outcome.ExitCode, Is.EqualTo(3));
        Assert.That(outcome.Stdout, Is.Empty);
        Assert.That(outcome.Stderr, Is.Empty);
    }

    [Test, CancelAfter(Guard)]
    public async Task A_variable_passed_as_null_is_absent_in_the_child_and_others_are_inherited_or_set()
    {
        string removed = "CNI_SPEC_TEST_REMOVED_" + Environment.ProcessId;
        string kept = "CNI_SPEC_TEST_KEPT_" + Environment.ProcessId;
        Environment.SetEnvironmentVariable(removed, "present");
        Environment.SetEnvironmentVariable(kept, "inherited");
        try
        {
            string path = _plugins.Add("env", $$"""
                printf '%s|%s|%s|%s' "${{{removed}}-UNSET}" "${{{kept}}-UNSET}" "${CNI_SPEC_TEST_ADDED-UNSET}" "$(env | grep -c '^{{removed}}=')"
                """);

            byte[] withRemoval = await PluginExecutor.Default.ExecAsync(path,
                [new(removed, null), new("CNI_SPEC_TEST_ADDED", "added")], ReadOnlyMemory<byte>.Empty, TestToken);
            byte[] withoutRemoval = await PluginExecutor.Default.ExecAsync(path, [], ReadOnlyMemory<byte>.Empty, TestToken);

            Assert.That(Encoding.UTF8.GetString(withRemoval), Is.EqualTo("UNSET|inherited|added|0"));
            Assert.That(Encoding.UTF8.GetString(withoutRemoval), Is.EqualTo("present|inherited|UNSET|1"));
        }
        finally
        {
            Environment.SetEnvironmentVariable(removed, null);
            Environment.SetEnvironmentVariable(kept, null);
        }
    }

    [Test, CancelAfter(Guard)]
    public void ChildProcess_passes_exactly_the_given_environment()
    {
        string path = _plugins.Add("env-exact", "env");

        ChildProcess.Outcome outcome = ChildProcess.Run(path, ["ONLY=this"], ReadOnlyMemory<byte>.Empty, TestToken);

        Assert.That(outcome.ExitCode, Is.Zero);
        // dash adds PWD to what it exports; everything else must be what was passed.
        string[] lines = Encoding.UTF8.GetString(outcome.Stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => !l.StartsWith("PWD=", StringComparison.Ordinal)).ToArray();
        Assert.That(lines, Is.EqualTo(new[] { "ONLY=this" }));
    }

    [Test, CancelAfter(Guard)]
    public void A_child_killed_by_a_signal_is_a_failure_that_names_the_signal()
    {
        string path = _plugins.Add("killed", "echo 'about to die' >&2; kill -9 $$; sleep 600");
        var executor = new PluginExecutor { Stderr = TextWriter.Null };

        var ex = Assert.ThrowsAsync<CniException>(() => executor.ExecAsync(path, [], ReadOnlyMemory<byte>.Empty, TestToken));

        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.Internal));
        Assert.That(ex.Message, Is.EqualTo("plugin killed failed (killed by SIGKILL (9)): about to die"));
    }

    [Test, CancelAfter(Guard)]
    public void A_child_that_exits_137_is_not_mistaken_for_one_killed_by_SIGKILL()
    {
        string path = _plugins.Add("exits-137", "echo 'bad' >&2; exit 137");
        var executor = new PluginExecutor { Stderr = TextWriter.Null };

        var ex = Assert.ThrowsAsync<CniException>(() => executor.ExecAsync(path, [], ReadOnlyMemory<byte>.Empty, TestToken));

        Assert.That(ex!.Message, Is.EqualTo("plugin exits-137 failed (exit 137): bad"));
    }

    [Test, CancelAfter(Guard)]
    public void A_child_killed_by_a_signal_without_output_says_so()
    {
        string path = _plugins.Add("killed-quietly", "kill -TERM $$; sleep 600");

        var ex = Assert.ThrowsAsync<CniException>(() => PluginExecutor.Default.ExecAsync(path, [], ReadOnlyMemory<byte>.Empty, TestToken));

        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.Internal));
        Assert.That(ex.Message, Is.EqualTo("plugin killed-quietly failed (killed by SIGTERM (15)) with no error message"));
        ChildProcess.Outcome outcome = ChildProcess.Run(path, [], ReadOnlyMemory<byte>.Empty, TestToken);
        Assert.That((outcome.ExitCode, outcome.Signal), Is.EqualTo((128 + 15, 15)));
    }

    [Test, CancelAfter(Guard)]
    public void Cancellation_kills_and_reaps_a_long_running_child()
    {
        string pidFile = Path.Combine(_plugins.Dir, "pid");
        string path = _plugins.Add("sleeps", $"echo $$ > {pidFile}.tmp; mv {pidFile}.tmp {pidFile}; exec sleep 600");
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestToken);

        Task run = PluginExecutor.Default.ExecAsync(path, [], ReadOnlyMemory<byte>.Empty, cts.Token);
        int pid = WaitForPid(pidFile, run);
        Assert.That(Directory.Exists($"/proc/{pid}"), Is.True, "the child runs before cancellation");
        cts.Cancel();

        Assert.That(async () => await run, Throws.InstanceOf<OperationCanceledException>());
        Assert.That(TestToken.IsCancellationRequested, Is.False, "the call ended by the test's cancellation, not the guard");
        Assert.That(Directory.Exists($"/proc/{pid}"), Is.False, "the child was killed and reaped");
    }

    [Test, CancelAfter(Guard)]
    public void Cancellation_while_stdin_is_still_being_written_kills_the_child()
    {
        // The child never reads: the parent is stuck with most of 5 MB unwritten when the token fires.
        string pidFile = Path.Combine(_plugins.Dir, "pid");
        string path = _plugins.Add("never-reads", $"echo $$ > {pidFile}.tmp; mv {pidFile}.tmp {pidFile}; exec sleep 600");
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestToken);

        Task run = PluginExecutor.Default.ExecAsync(path, [], new byte[5 * 1024 * 1024], cts.Token);
        int pid = WaitForPid(pidFile, run);
        cts.Cancel();

        Assert.That(async () => await run, Throws.InstanceOf<OperationCanceledException>());
        Assert.That(TestToken.IsCancellationRequested, Is.False, "the call ended by the test's cancellation, not the guard");
        Assert.That(Directory.Exists($"/proc/{pid}"), Is.False, "the child was killed and reaped");
    }

    [Test, CancelAfter(Guard)]
    public void A_token_cancelled_before_the_call_starts_nothing()
    {
        string marker = Path.Combine(_plugins.Dir, "ran");
        string path = _plugins.Add("must-not-run", $"touch {marker}");

        Assert.That(() => PluginExecutor.Default.ExecAsync(path, [], ReadOnlyMemory<byte>.Empty, new CancellationToken(canceled: true)),
            Throws.InstanceOf<OperationCanceledException>());
        Assert.That(File.Exists(marker), Is.False);
    }

    [Test, CancelAfter(Guard)]
    public void A_missing_plugin_file_is_an_internal_CniException_naming_it()
    {
        string path = Path.Combine(_plugins.Dir, "does-not-exist");

        var ex = Assert.ThrowsAsync<CniException>(() => PluginExecutor.Default.ExecAsync(path, [], ReadOnlyMemory<byte>.Empty, TestToken));

        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.Internal));
        Assert.That(ex.Message, Does.StartWith($"failed to start plugin {path}: "));
        Assert.That(ex.InnerException, Is.TypeOf<Win32Exception>().With.Property(nameof(Win32Exception.NativeErrorCode)).EqualTo(2)); // ENOENT
    }

    [Test, CancelAfter(Guard)]
    public void A_plugin_file_without_execute_permission_is_an_internal_CniException_naming_it()
    {
        // Even root gets EACCES: exec needs an execute bit in at least one class.
        string path = _plugins.Add("not-executable", "exit 0", executable: false);

        var ex = Assert.ThrowsAsync<CniException>(() => PluginExecutor.Default.ExecAsync(path, [], ReadOnlyMemory<byte>.Empty, TestToken));

        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.Internal));
        Assert.That(ex.Message, Does.StartWith($"failed to start plugin {path}: "));
        Assert.That(ex.InnerException, Is.TypeOf<Win32Exception>().With.Property(nameof(Win32Exception.NativeErrorCode)).EqualTo(13)); // EACCES
    }

    [Test, CancelAfter(Guard)]
    public void A_directory_as_plugin_path_is_an_internal_CniException()
    {
        var ex = Assert.ThrowsAsync<CniException>(() => PluginExecutor.Default.ExecAsync(_plugins.Dir, [], ReadOnlyMemory<byte>.Empty, TestToken));

        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.Internal));
        Assert.That(ex.Message, Does.StartWith($"failed to start plugin {_plugins.Dir}: "));
        Assert.That(ex.InnerException, Is.TypeOf<Win32Exception>().With.Property(nameof(Win32Exception.NativeErrorCode)).EqualTo(13)); // EACCES
    }

    /// <summary>The pid the script wrote (atomically, via rename), once it is there; fails if the run ends first.</summary>
    [Test, CancelAfter(Guard)]
    public void A_plugin_that_hangs_is_killed_after_the_executor_timeout_and_the_error_says_so()
    {
        string pidFile = Path.Combine(_plugins.Dir, "pid");
        string path = _plugins.Add("hangs", $"echo $$ > {pidFile}.tmp; mv {pidFile}.tmp {pidFile}; exec sleep 100000");
        var executor = new PluginExecutor { Timeout = TimeSpan.FromMilliseconds(200) };

        var ex = Assert.ThrowsAsync<CniException>(() => executor.ExecAsync(path, [], ReadOnlyMemory<byte>.Empty, TestToken));

        Assert.That(TestToken.IsCancellationRequested, Is.False, "the call ended by its timeout, not the test's guard");
        Assert.That(ex!.Message, Does.Contain("plugin hangs").And.Contain("timed out after 0.2s").And.Contain("killed"));
        int pid = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(Directory.Exists($"/proc/{pid}"), Is.False, "the child was killed and reaped");
    }

    [Test]
    public void The_default_executor_timeout_is_two_minutes() =>
        Assert.That(PluginExecutor.Default.Timeout, Is.EqualTo(TimeSpan.FromMinutes(2)));

    private static int WaitForPid(string pidFile, Task run)
    {
        SpinWait.SpinUntil(() => File.Exists(pidFile) || run.IsCompleted || TestToken.IsCancellationRequested);
        Assert.That(File.Exists(pidFile), Is.True, $"the child did not start (run status {run.Status})");
        return int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
