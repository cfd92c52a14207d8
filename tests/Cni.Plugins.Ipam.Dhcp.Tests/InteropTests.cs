using System.Diagnostics;
using System.Text.Json.Nodes;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Ipam.Dhcp.Tests;

/// <summary>
/// The published <c>dhcp</c> (plugin and <c>dhcp daemon</c>) through libcni (cnirun), chained after our bridge and
/// after the reference bridge, against dnsmasq; and the reference dhcp plugin with its daemon in the same setup, for
/// comparison. cnirun runs inside the lab's "host" namespace, so the bridge plugin changes only that namespace.
/// </summary>
[Category(Category.Interop)]
[NonParallelizable]
public class InteropTests
{
    private const string CnirunHowTo = "build it with: bash ../shared/tools/cnirun/build.sh";

    /// <summary>A daemon process (ours or the reference's) on a socket in the lab's directory.</summary>
    private sealed class DaemonProcess : IDisposable
    {
        private readonly Process _process;
        private readonly List<string> _log = [];

        public DaemonProcess(string binary, string socketPath, params string[] extra)
        {
            var start = new ProcessStartInfo(binary) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (string arg in (string[])["daemon", "-socketpath", socketPath, "-timeout", "5s", .. extra])
                start.ArgumentList.Add(arg);
            _process = Process.Start(start)!;
            _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.Add(e.Data); };
            _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.Add("stdout: " + e.Data); };
            _process.BeginErrorReadLine();
            _process.BeginOutputReadLine();
            for (int i = 0; i < 200 && !File.Exists(socketPath) && !_process.HasExited; i++)
                Thread.Sleep(25);
            Assert.That(File.Exists(socketPath), Is.True, "daemon did not listen: " + Log);
        }

        public string Log
        {
            get
            {
                lock (_log)
                    return string.Join("\n", _log);
            }
        }

        public int Stop()
        {
            if (!_process.HasExited)
            {
                // SIGTERM, as systemd stops it.
                Shell.Try("kill", "-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                if (!_process.WaitForExit(5000))
                    _process.Kill();
            }
            _process.WaitForExit();
            return _process.ExitCode;
        }

        public void Dispose()
        {
            Stop();
            _process.Dispose();
        }
    }

    private static string OurBridge() => TestEnvironment.RequirePublishedPlugin("bridge");

    private static string ReferenceBridge() => TestEnvironment.RequireReferencePlugin("bridge");

    private static string OurDhcp() => TestEnvironment.RequirePublishedPlugin("dhcp");

    private static string ReferenceDhcp() => TestEnvironment.RequireReferencePlugin("dhcp");

    [TestCase("ours", "ours")]
    [TestCase("reference", "ours")]
    [TestCase("reference", "reference")]
    public void LibcniChainAfterBridge(string bridgeSide, string dhcpSide)
    {
        TestEnvironment.RequireRoot();
        string cnirun = TestEnvironment.RequireTool("cnirun", CnirunHowTo);
        string bridge = bridgeSide == "ours" ? OurBridge() : ReferenceBridge();
        string dhcp = dhcpSide == "ours" ? OurDhcp() : ReferenceDhcp();
        using var lab = new DhcpLab();
        string bin = Path.Combine(lab.Dir, "bin"), confDir = Path.Combine(lab.Dir, "conf"), cache = Path.Combine(lab.Dir, "cache");
        Directory.CreateDirectory(bin);
        Directory.CreateDirectory(confDir);
        File.CreateSymbolicLink(Path.Combine(bin, "bridge"), bridge);
        File.CreateSymbolicLink(Path.Combine(bin, "dhcp"), dhcp);
        string socket = Path.Combine(lab.Dir, "dhcp.sock");
        // The reference (1.0.0 at most) and ours read the same configuration.
        File.WriteAllText(Path.Combine(confDir, "dhcpnet.conflist"), $$$"""
            {"cniVersion":"1.0.0","name":"dhcpnet","plugins":[
              {"type":"bridge","bridge":"br0","ipam":{"type":"dhcp","daemonSocketPath":"{{{socket}}}"}}]}
            """);
        var env = new Dictionary<string, string> { ["NETCONFPATH"] = confDir, ["CNI_PATH"] = bin, ["CNI_CACHE_DIR"] = cache };
        using var daemon = new DaemonProcess(dhcp, socket);
        string container = lab.AddContainer("unused0");
        Shell.Result Cnirun(string verb) =>
            Shell.Run("ip", ["netns", "exec", lab.HostNs, cnirun, verb, "dhcpnet", "/var/run/netns/" + container, "ctr-" + dhcpSide, "eth0"], allowFailure: true, env: env);

        Shell.Result add = Cnirun("add");
        Assert.That(add.ExitCode, Is.Zero, add.Stderr + add.Stdout + "\ndaemon:\n" + daemon.Log + "\ndnsmasq:\n" + string.Join("\n", lab.Log));
        JsonObject result = JsonNode.Parse(add.Stdout)!.AsObject();
        TestContext.Out.WriteLine($"{bridgeSide} bridge + {dhcpSide} dhcp: {result.ToJsonString()}");
        JsonNode ip = result["ips"]![0]!;
        string address = ip["address"]!.GetValue<string>();
        Assert.That(address, Does.StartWith(lab.Subnet + ".").And.EndWith("/24"));
        Assert.That(ip["gateway"]!.GetValue<string>(), Is.EqualTo(lab.Subnet + ".1"));
        Assert.That(result["routes"]!.ToJsonString(), Is.EqualTo($$"""[{"dst":"0.0.0.0/0","gw":"{{lab.Subnet}}.1"}]"""));
        Assert.That(DhcpLab.IpOut(container, "-4 -o addr show eth0"), Does.Contain(address));
        Assert.That(Shell.Ping(container, lab.Subnet + ".1"), Is.True, "container -> dnsmasq's bridge address");
        Assert.That(lab.Leases(), Has.Some.Contains(" " + address.Split('/')[0] + " "));

        Shell.Result check = Cnirun("check");
        Assert.That(check.ExitCode, Is.Zero, check.Stderr + check.Stdout);

        Shell.Result del = Cnirun("del");
        Assert.That(del.ExitCode, Is.Zero, del.Stderr + del.Stdout);
        if (bridgeSide == "ours")
        {
            // Our bridge has IPAM release before it deletes the container's interface, so the DHCPRELEASE can leave
            // through it. The reference bridge deletes the interface first: no daemon (ours or the reference's) can
            // send a release then, and the server keeps the lease until it expires.
            var until = DateTime.UtcNow.AddSeconds(5);
            while (lab.Leases().Any(l => l.Contains(" " + address.Split('/')[0] + " ", StringComparison.Ordinal)) && DateTime.UtcNow < until)
                Thread.Sleep(100);
            Assert.That(lab.Leases(), Has.None.Contains(" " + address.Split('/')[0] + " "), "released on DEL\n" + daemon.Log);
        }
        else
        {
            Assert.That(DhcpLab.IpOut(container, "link"), Does.Not.Contain("eth0"), "the reference bridge removed eth0");
        }
        Assert.That(Cnirun("del").ExitCode, Is.Zero, "DEL twice");
        if (dhcpSide == "ours")
        {
            Assert.That(daemon.Stop(), Is.Zero, "SIGTERM ends the daemon cleanly");
            Assert.That(File.Exists(socket), Is.False, "socket removed on SIGTERM");
        }
    }

    [Test]
    public void SystemdSocketActivationHandsOverTheSocket()
    {
        string activate = TestEnvironment.RequireTool("systemd-socket-activate", "apt-get install systemd");
        string dhcp = OurDhcp();
        string dir = Directory.CreateTempSubdirectory("cni-dhcp-sa-").FullName;
        try
        {
            string socket = Path.Combine(dir, "dhcp.sock");
            var start = new ProcessStartInfo(activate) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (string arg in (string[])["-l", socket, dhcp, "daemon", "-socketpath", Path.Combine(dir, "unused.sock")])
                start.ArgumentList.Add(arg);
            using Process process = Process.Start(start)!;
            try
            {
                for (int i = 0; i < 200 && !File.Exists(socket); i++)
                    Thread.Sleep(25);
                string conf = $$$"""{"cniVersion":"1.1.0","name":"n","type":"dhcp","ipam":{"type":"dhcp","daemonSocketPath":"{{{socket}}}"}}""";
                Shell.Result status = Shell.Run(dhcp, [], allowFailure: true, stdin: conf, env: new Dictionary<string, string> { ["CNI_COMMAND"] = "STATUS", ["CNI_PATH"] = "/x" });
                Assert.That(status.ExitCode, Is.Zero, status.Stdout + status.Stderr);
                Assert.That(File.Exists(Path.Combine(dir, "unused.sock")), Is.False, "the passed socket is used, not -socketpath");
            }
            finally
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
