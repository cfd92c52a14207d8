using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.E2E.Tests;

/// <summary>
/// The README's first command on a machine with only the .NET SDK (#14 item 1): the demo that <c>./build.sh</c> runs
/// at its end must install what it drives besides our binaries (<c>ip</c>, <c>ping</c>) instead of failing on them.
/// Run with a PATH that has neither tool and a fake <c>apt-get</c> that only records what it was asked.
/// </summary>
[TestFixture]
public class DemoScriptTests
{
    [Test]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void OnAMachineWithoutIpAndPingTheDemoInstallsThem()
    {
        TestEnvironment.RequireRoot(); // the demo refuses to start as another user
        string dir = Directory.CreateTempSubdirectory("cni-demo-test-").FullName;
        try
        {
            string bin = Path.Combine(dir, "bin");
            Directory.CreateDirectory(bin);
            // Only what the script runs before its first use of our binaries; no ip, no ping, no busybox.
            foreach (string tool in new[] { "bash", "dirname", "id" })
                File.CreateSymbolicLink(Path.Combine(bin, tool), Shell.Run("bash", "-c", $"command -v {tool}").Stdout.Trim());
            string log = Path.Combine(dir, "apt-get.log");
            TestEnvironment.WriteExecutable(Path.Combine(bin, "apt-get"), $"#!/bin/sh\necho \"$*\" >> {log}\n");

            var env = new Dictionary<string, string>
            {
                ["PATH"] = bin,
                // Stop right after the tool check: no plugins there, so nothing of the machine is touched.
                ["DEMO_CNI_PATH"] = Path.Combine(dir, "no-plugins"),
                ["CNI_TOOL"] = "/bin/false",
            };
            Shell.Result r = Shell.Run(Path.Combine(bin, "bash"), [Path.Combine(TestEnvironment.RepoRoot, "samples", "demo.sh")], allowFailure: true, env: env);

            Assert.That(File.Exists(log), Is.True, $"apt-get was never asked; stderr: {r.Stderr}");
            string[] calls = File.ReadAllLines(log);
            Assert.That(calls, Has.Some.Contains("install").And.Contains("iproute2").And.Contains("iputils-ping"));
            Assert.That(r.Stdout, Does.Contain("installing what the demo needs: iproute2 iputils-ping"));
            Assert.That(r.Stderr, Does.Contain("no-plugins/bridge is missing"), "the run went on past the tool check");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
