using Cni.Plugins.Common;
using Cni.TestSupport;

namespace Cni.Plugins.Common.Tests;

/// <summary>Host tools are looked up as Go's exec.LookPath does: only absolute PATH entries, only executable regular files.</summary>
[NonParallelizable]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class ExternalCommandTests
{
    private string _dir = "", _oldCwd = "";
    private string? _oldPath;

    [SetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("cni-lookpath-").FullName;
        _oldPath = Environment.GetEnvironmentVariable("PATH");
        _oldCwd = Environment.CurrentDirectory;
        Environment.CurrentDirectory = _dir;
    }

    [TearDown]
    public void TearDown()
    {
        Environment.CurrentDirectory = _oldCwd;
        Environment.SetEnvironmentVariable("PATH", _oldPath);
        Directory.Delete(_dir, recursive: true);
    }

    private string Dir(string name) => Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;

    [Test]
    public void Relative_and_empty_PATH_entries_and_non_executables_are_skipped()
    {
        string tool = TestEnvironment.UniqueName("cnitool");
        TestEnvironment.WriteExecutable(Path.Combine(Dir("rel"), tool), "#!/bin/sh\n");  // found through "rel" and "./rel"
        TestEnvironment.WriteExecutable(Path.Combine(_dir, tool), "#!/bin/sh\n");        // found through "" and "."
        string plain = Dir("plain");
        File.WriteAllText(Path.Combine(plain, tool), "not executable");
        Directory.CreateDirectory(Path.Combine(Dir("withdir"), tool));
        string good = Path.Combine(Dir("good"), tool);
        TestEnvironment.WriteExecutable(good, "#!/bin/sh\n");

        Environment.SetEnvironmentVariable("PATH", $"rel:./rel::.:{plain}:{_dir}/withdir:{_dir}/good");
        Assert.That(ExternalCommand.Find(tool), Is.EqualTo(good));

        Environment.SetEnvironmentVariable("PATH", $"rel:./rel::.:{plain}:{_dir}/withdir");
        Assert.That(ExternalCommand.Find(tool), Is.Null);
    }
}

/// <summary>A host tool that never ends is killed after the timeout of <see cref="ExternalCommand.RunAsync"/>, and the error says so.</summary>
[NonParallelizable]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class ExternalCommandTimeoutTests
{
    [Test, CancelAfter(15_000)]
    public void A_tool_that_hangs_is_killed_after_the_timeout()
    {
        CancellationToken guard = TestContext.CurrentContext.CancellationToken;
        string dir = Directory.CreateTempSubdirectory("cni-hang-").FullName;
        try
        {
            string pidFile = Path.Combine(dir, "pid");
            string tool = Path.Combine(dir, "hangs");
            TestEnvironment.WriteExecutable(tool, $"#!/bin/sh\necho $$ > {pidFile}.tmp; mv {pidFile}.tmp {pidFile}; exec sleep 100000\n");
            var ex = Assert.ThrowsAsync<Cni.Spec.CniException>(() => ExternalCommand.RunAsync(tool, [], null, guard, TimeSpan.FromMilliseconds(200)));

            Assert.That(guard.IsCancellationRequested, Is.False, "the call ended by its timeout, not the test's guard");
            Assert.That(ex!.Message, Does.Contain("hangs").And.Contain("timed out after 0.2s").And.Contain("killed"));
            int pid = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.That(Directory.Exists($"/proc/{pid}"), Is.False, "the tool was killed and reaped");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

/// <summary>A child gets stdin, stdout and stderr only: a descriptor the runtime handed the plugin without close-on-exec
/// (ours all have it) never reaches an nft, an IPAM plugin or a deletion helper that may outlive us.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class ChildDescriptorTests
{
    [Test]
    public async Task An_inherited_descriptor_without_close_on_exec_does_not_reach_the_child()
    {
        using Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle("/dev/null");
        int fd = (int)handle.DangerousGetHandle();
        Assert.That(Tmds.Linux.LibC.fcntl(fd, Tmds.Linux.LibC.F_SETFD, 0), Is.EqualTo(0), "clear close-on-exec");
        // The shell lists its own descriptors (without starting anything that would open more).
        CommandOutput listing = await ExternalCommand.RunAsync("/bin/sh", ["-c", "cd /proc/self/fd && echo *"]);
        Assert.That(listing.Succeeded, listing.Stderr);
        string[] fds = listing.Stdout.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.That(fds, Does.Not.Contain(fd.ToString(System.Globalization.CultureInfo.InvariantCulture)), $"child saw descriptors {listing.Stdout.Trim()}");
    }
}
