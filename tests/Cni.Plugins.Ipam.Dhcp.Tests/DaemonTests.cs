using System.Net.Sockets;
using Cni.Plugins.Ipam.Dhcp.Daemon;
using Cni.Spec;

namespace Cni.Plugins.Ipam.Dhcp.Tests;

/// <summary>The daemon's command line and its socket, without network namespaces.</summary>
public class DaemonTests
{
    [Test]
    public void FlagsParseAsGoFlags()
    {
        DhcpDaemonOptions options = DhcpDaemonCommand.Parse(["-socketpath", "/tmp/x.sock", "--pidfile=/run/d.pid", "-hostprefix", "/host", "-broadcast", "-timeout", "2s", "-resendmax=1m30s", "-resendtimeout", "500ms"]);
        Assert.Multiple(() =>
        {
            Assert.That(options.SocketPath, Is.EqualTo("/tmp/x.sock"));
            Assert.That(options.PidFile, Is.EqualTo("/run/d.pid"));
            Assert.That(options.HostPrefix, Is.EqualTo("/host"));
            Assert.That(options.Client.Broadcast, Is.True);
            Assert.That(options.Client.Timeout, Is.EqualTo(TimeSpan.FromSeconds(2)));
            Assert.That(options.Client.ResendMax, Is.EqualTo(TimeSpan.FromSeconds(90)));
            Assert.That(options.Client.ResendTimeout, Is.EqualTo(TimeSpan.FromMilliseconds(500)));
        });
        DhcpDaemonOptions defaults = DhcpDaemonCommand.Parse([]);
        Assert.That((defaults.SocketPath, defaults.PidFile, defaults.Client.Timeout, defaults.Client.ResendMax, defaults.Client.ResendTimeout, defaults.Client.Broadcast),
            Is.EqualTo(("/run/cni/dhcp.sock", (string?)null, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(62), TimeSpan.FromSeconds(208), false)));
        Assert.That(DhcpDaemonCommand.Parse(["-broadcast=false"]).Client.Broadcast, Is.False);
        Assert.That(DhcpDaemonCommand.Parse(["-socketpath", ""]).SocketPath, Is.EqualTo("/run/cni/dhcp.sock"));
    }

    [TestCase("1h2m3.5s", 3723.5)]
    [TestCase("250ms", 0.25)]
    [TestCase("1.5m", 90)]
    [TestCase("0", 0)]
    [TestCase("1500us", 0.0015)]
    public void GoDurations(string text, double seconds) =>
        Assert.That(DhcpDaemonCommand.ParseDuration(text).TotalSeconds, Is.EqualTo(seconds).Within(1e-9));

    [TestCase(new[] { "-nosuch" }, "flag provided but not defined: -nosuch")]
    [TestCase(new[] { "-timeout" }, "flag needs an argument: -timeout")]
    [TestCase(new[] { "-timeout", "10" }, "invalid duration")]
    [TestCase(new[] { "-timeout", "0s" }, "-timeout")]
    [TestCase(new[] { "-pidfile", "rel.pid" }, "path not absolute")]
    [TestCase(new[] { "-broadcast=maybe" }, "invalid boolean")]
    [TestCase(new[] { "stray" }, "unexpected argument")]
    public void BadFlagsNameTheFlag(string[] args, string message) =>
        Assert.That(() => DhcpDaemonCommand.Parse(args), Throws.ArgumentException.With.Message.Contains(message));

    [Test]
    public async Task BadFlagsExitWithUsage()
    {
        var stderr = new StringWriter();
        Assert.That(await DhcpDaemonCommand.RunAsync(["-bogus"], stderr), Is.EqualTo(2));
        Assert.That(stderr.ToString(), Does.Contain("usage: dhcp daemon"));
    }

    [Test]
    public async Task ServesStatusOnItsSocketAndCleansUp()
    {
        string dir = Directory.CreateTempSubdirectory("cni-dhcpd-").FullName;
        try
        {
            string socket = Path.Combine(dir, "sub", "dhcp.sock");
            string pid = Path.Combine(dir, "dhcp.pid");
            // A socket file left behind by a daemon that died is taken over.
            Directory.CreateDirectory(Path.GetDirectoryName(socket)!);
            using (var stale = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
                stale.Bind(new UnixDomainSocketEndPoint(socket));
            using var stop = new CancellationTokenSource();
            var daemon = new DhcpDaemon(new DhcpDaemonOptions { SocketPath = socket, PidFile = pid }, _ => { });
            Task run = daemon.RunAsync(stop.Token);
            for (int i = 0; i < 100 && !(File.Exists(pid) && new FileInfo(pid).Length > 0); i++)
                await Task.Delay(20);
            Assert.That(File.ReadAllText(pid), Is.EqualTo(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)));

            var env = new InMemoryCniEnvironment(new Dictionary<string, string> { ["CNI_COMMAND"] = "STATUS", ["CNI_PATH"] = "/x" },
                $$$"""{"cniVersion":"1.1.0","name":"n","type":"dhcp","ipam":{"type":"dhcp","daemonSocketPath":"{{{socket}}}"}}""");
            Assert.That(await CniPluginHost.RunAsync(new DhcpPlugin(), env), Is.Zero, env.StdoutText);

            // Unknown methods and requests without a client id are errors, not crashes.
            DaemonResponse unknown = DaemonCodec.Decode(await new UnixDaemonConnection().CallAsync(socket, """{"method":"Nope","clientId":"x"}"""u8.ToArray(), CancellationToken.None));
            Assert.That((unknown.Code, unknown.Error), Is.EqualTo((6u, "unknown method \"Nope\"")));
            DaemonResponse garbage = DaemonCodec.Decode(await new UnixDaemonConnection().CallAsync(socket, "{not json"u8.ToArray(), CancellationToken.None));
            Assert.That(garbage.Code, Is.EqualTo(6u));
            DaemonResponse release = DaemonCodec.Decode(await new UnixDaemonConnection().CallAsync(socket, """{"method":"Release","clientId":"none"}"""u8.ToArray(), CancellationToken.None));
            Assert.That(release.Error, Is.Null);

            await stop.CancelAsync();
            await run;
            Assert.That(File.Exists(socket), Is.False);
            Assert.That(File.Exists(pid), Is.False);

            // With the daemon gone: STATUS says not available, DEL succeeds.
            env = new InMemoryCniEnvironment(new Dictionary<string, string> { ["CNI_COMMAND"] = "STATUS", ["CNI_PATH"] = "/x" },
                $$$"""{"cniVersion":"1.1.0","name":"n","type":"dhcp","ipam":{"type":"dhcp","daemonSocketPath":"{{{socket}}}"}}""");
            Assert.That(await CniPluginHost.RunAsync(new DhcpPlugin(), env), Is.EqualTo(1));
            Assert.That(env.StdoutText, Does.Contain("\"code\": 50").Or.Contain("\"code\":50"));
            env = new InMemoryCniEnvironment(new Dictionary<string, string> { ["CNI_COMMAND"] = "DEL", ["CNI_PATH"] = "/x", ["CNI_CONTAINERID"] = "c", ["CNI_IFNAME"] = "eth0" },
                $$$"""{"cniVersion":"1.1.0","name":"n","type":"dhcp","ipam":{"type":"dhcp","daemonSocketPath":"{{{socket}}}"}}""");
            Assert.That(await CniPluginHost.RunAsync(new DhcpPlugin(), env), Is.Zero, env.StdoutText);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
