using System.Buffers.Binary;
using System.Diagnostics;
using Cni.TestSupport;

namespace Cni.Plugins.MultiCall.Tests;

/// <summary>How the published executable is built: what its start-up relies on.</summary>
public class ExecutableTests
{
    private const uint PtInterp = 3;

    [Test]
    public void Is_statically_linked()
    {
        // No program interpreter: the kernel starts it directly, no dynamic loader, no shared libc or libm mapped.
        byte[] elf = File.ReadAllBytes(TestEnvironment.RequirePublishedPlugin("cni-plugins"));
        Assert.That(elf[..4], Is.EqualTo(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F' }), "an ELF file");
        Assert.That(elf[4], Is.EqualTo(2), "64-bit");
        ulong phoff = BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan(0x20));
        ushort phentsize = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(0x36));
        ushort phnum = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(0x38));
        var types = new List<uint>();
        for (int i = 0; i < phnum; i++)
            types.Add(BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan((int)phoff + i * phentsize)));
        Assert.That(types, Has.Member(1u), "it has loadable segments (the headers were read right)");
        Assert.That(types, Has.No.Member(PtInterp), "no PT_INTERP: statically linked");
    }

    [Test]
    public void The_runtime_does_not_read_the_mount_table_before_main()
    {
        // The runtime's cgroup probe reads /proc/self/mountinfo (one line per mount, and every pinned network namespace
        // is one); the executable wraps fopen64 at link time to answer it "no cgroups" (native/startup-probes.c).
        string plugin = Path.Combine(Path.GetDirectoryName(TestEnvironment.RequirePublishedPlugin("cni-plugins"))!, "bridge");
        string strace = TestEnvironment.RequireTool("strace", "apt-get install strace");
        string trace = Path.GetTempFileName();
        try
        {
            var psi = new ProcessStartInfo(strace) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
            foreach (string arg in new[] { "-f", "-e", "trace=open,openat", "-o", trace, plugin })
                psi.ArgumentList.Add(arg);
            psi.Environment["CNI_COMMAND"] = "VERSION";
            using Process process = Process.Start(psi)!;
            process.StandardInput.Write("""{"cniVersion":"1.0.0"}""");
            process.StandardInput.Close();
            string stdout = process.StandardOutput.ReadToEnd();
            process.StandardError.ReadToEnd();
            process.WaitForExit();
            string opened = File.ReadAllText(trace);
            Assert.Multiple(() =>
            {
                Assert.That(process.ExitCode, Is.Zero, stdout);
                Assert.That(stdout, Does.Contain("supportedVersions"));
                Assert.That(opened, Does.Contain("/sys/devices/system/cpu"), "the trace saw the runtime's other start-up files");
                Assert.That(opened, Does.Not.Contain("/proc/self/mountinfo"));
                Assert.That(opened, Does.Not.Contain("/proc/self/cgroup"));
            });
        }
        finally
        {
            File.Delete(trace);
        }
    }
}
