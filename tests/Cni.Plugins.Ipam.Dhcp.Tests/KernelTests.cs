using System.Text.Json.Nodes;
using Cni.Plugins.Ipam.Dhcp.Client;
using Cni.Plugins.Ipam.Dhcp.Daemon;
using Cni.Spec;
using Cni.TestSupport;

namespace Cni.Plugins.Ipam.Dhcp.Tests;

/// <summary>The plugin and our daemon (in process) against dnsmasq, in private namespaces.</summary>
[Category(Category.Kernel)]
[NonParallelizable]
public class KernelTests
{
    internal static readonly DhcpClientOptions FastClient = new() { Timeout = TimeSpan.FromSeconds(5), ResendTimeout = TimeSpan.FromSeconds(30) };

    /// <summary>Our daemon running in this process on a socket in the lab's directory.</summary>
    internal sealed class RunningDaemon : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _run;

        public RunningDaemon(DhcpLab lab, DhcpClientOptions? client = null, TimeProvider? time = null)
        {
            SocketPath = Path.Combine(lab.Dir, "dhcp.sock");
            Daemon = new DhcpDaemon(new DhcpDaemonOptions { SocketPath = SocketPath, Client = client ?? FastClient }, line => { lock (Log) Log.Add(line); }, time);
            _run = Daemon.RunAsync(_stop.Token);
            for (int i = 0; i < 100 && !File.Exists(SocketPath); i++)
                Thread.Sleep(20);
        }

        public DhcpDaemon Daemon { get; }

        public string SocketPath { get; }

        public List<string> Log { get; } = [];

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _run;
            await Daemon.DisposeAsync();
            _stop.Dispose();
        }
    }

    internal static string Config(string socketPath, string version = "1.0.0", string extraIpam = "") =>
        "{\"cniVersion\":\"" + version + "\",\"name\":\"dhcpnet\",\"type\":\"bridge\",\"ipam\":{\"type\":\"dhcp\",\"daemonSocketPath\":\"" + socketPath + "\"" + extraIpam + "}}";

    internal static (int Exit, string Stdout, string Stderr) Run(string command, string config, string? ns, string id = "ctr1", string? args = null, string ifName = "eth0")
    {
        var vars = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = command,
            ["CNI_CONTAINERID"] = id,
            ["CNI_IFNAME"] = ifName,
            ["CNI_PATH"] = "/opt/cni/bin",
        };
        if (ns is not null)
            vars["CNI_NETNS"] = "/var/run/netns/" + ns;
        if (args is not null)
            vars["CNI_ARGS"] = args;
        var env = new InMemoryCniEnvironment(vars, config);
        int exit = CniPluginHost.RunAsync(new DhcpPlugin(), env).GetAwaiter().GetResult();
        return (exit, env.StdoutText, env.StderrText);
    }

    private static void WaitFor(Func<bool> condition, TimeSpan timeout, Func<string> message)
    {
        var until = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > until)
                Assert.Fail(message());
            Thread.Sleep(100);
        }
    }

    [Test]
    public async Task AddGetsALeaseAndDelReleasesIt()
    {
        using var lab = new DhcpLab();
        string ns = lab.AddContainer();
        await using var daemon = new RunningDaemon(lab);
        string config = Config(daemon.SocketPath);

        (int exit, string stdout, string stderr) = Run("ADD", config, ns);
        Assert.That(exit, Is.Zero, stdout + stderr + string.Join("\n", daemon.Log) + string.Join("\n", lab.Log));
        TestContext.Out.WriteLine(string.Join("\n", daemon.Log) + "\n" + string.Join("\n", lab.Log));
        JsonObject result = JsonNode.Parse(stdout)!.AsObject();
        string address = result["ips"]![0]!["address"]!.GetValue<string>();
        Assert.Multiple(() =>
        {
            Assert.That(result["cniVersion"]!.GetValue<string>(), Is.EqualTo("1.0.0"));
            Assert.That(address, Does.StartWith(lab.Subnet + ".").And.EndWith("/24"));
            Assert.That(result["ips"]![0]!["gateway"]!.GetValue<string>(), Is.EqualTo(lab.Subnet + ".1"));
            Assert.That(result["routes"]!.ToJsonString(), Is.EqualTo($$"""[{"dst":"0.0.0.0/0","gw":"{{lab.Subnet}}.1"}]"""));
        });
        string ip = address.Split('/')[0];
        string[] leases = lab.Leases();
        Assert.That(leases, Has.Some.Contains(" " + ip + " "), string.Join("\n", leases));
        // The client id is 0 then "ctr1/dhcpnet/eth0", as the reference sends it.
        string clientIdHex = "00:" + string.Join(':', "ctr1/dhcpnet/eth0"u8.ToArray().Select(b => b.ToString("x2")));
        Assert.That(leases, Has.Some.Contains(clientIdHex));

        // A second ADD returns the lease held, without a new exchange.
        (exit, stdout, _) = Run("ADD", config, ns);
        Assert.That(exit, Is.Zero);
        Assert.That(JsonNode.Parse(stdout)!["ips"]![0]!["address"]!.GetValue<string>(), Is.EqualTo(address));
        Assert.That(daemon.Daemon.LeaseCount, Is.EqualTo(1));

        // As a main plugin would: the container gets the address before DEL.
        DhcpLab.Ip(ns, $"addr add {address} dev eth0");
        (exit, _, stderr) = Run("DEL", config, ns);
        Assert.That(exit, Is.Zero, stderr);
        Assert.That(daemon.Daemon.LeaseCount, Is.Zero);
        WaitFor(() => !lab.Leases().Any(l => l.Contains(" " + ip + " ", StringComparison.Ordinal)), TimeSpan.FromSeconds(5),
            () => "dnsmasq still lists the lease: " + string.Join("\n", lab.Leases()) + "\n" + string.Join("\n", lab.Log));

        // DEL is idempotent, also without CNI_NETNS.
        Assert.That(Run("DEL", config, ns).Exit, Is.Zero);
        Assert.That(Run("DEL", config, null).Exit, Is.Zero);
    }

    [Test]
    public async Task LeaseIsRenewedWithTheServerAtT1()
    {
        using var lab = new DhcpLab();
        string ns = lab.AddContainer();
        // dnsmasq's shortest lease is 2 minutes (T1 1 minute): the daemon's clock runs 30 times faster.
        await using var daemon = new RunningDaemon(lab, time: new ScaledTimeProvider(30));
        string config = Config(daemon.SocketPath);
        (int exit, string stdout, string stderr) = Run("ADD", config, ns, id: "renew");
        Assert.That(exit, Is.Zero, stdout + stderr);
        string address = JsonNode.Parse(stdout)!["ips"]![0]!["address"]!.GetValue<string>();
        DhcpLab.Ip(ns, $"addr add {address} dev eth0");
        string ip = address.Split('/')[0];
        int Acks()
        {
            lock (lab.Log)
                return lab.Log.Count(l => l.Contains("DHCPACK(br0) " + ip + " ", StringComparison.Ordinal));
        }
        WaitFor(() => Acks() >= 3, TimeSpan.FromSeconds(15), () => "no renewals:\n" + string.Join("\n", daemon.Log) + "\n" + string.Join("\n", lab.Log));
        lock (daemon.Log)
            Assert.That(daemon.Log, Has.Some.Contains("lease renewed"));
        // Renewals went unicast from the leased address (dnsmasq names the client's ciaddr in a RENEWING request).
        Assert.That(Run("DEL", config, ns, id: "renew").Exit, Is.Zero);
    }

    [Test]
    public async Task ReleaseReachesTheServerEvenBeforeTheAddressIsSet()
    {
        using var lab = new DhcpLab();
        string ns = lab.AddContainer();
        await using var daemon = new RunningDaemon(lab);
        string config = Config(daemon.SocketPath);
        (int exit, string stdout, string stderr) = Run("ADD", config, ns, id: "early");
        Assert.That(exit, Is.Zero, stdout + stderr + string.Join("\n", daemon.Log));
        string ip = JsonNode.Parse(stdout)!["ips"]![0]!["address"]!.GetValue<string>().Split('/')[0];
        Assert.That(Run("DEL", config, ns, id: "early").Exit, Is.Zero);
        WaitFor(() => !lab.Leases().Any(l => l.Contains(" " + ip + " ", StringComparison.Ordinal)), TimeSpan.FromSeconds(5),
            () => "dnsmasq still lists the lease: " + string.Join("\n", lab.Leases()) + "\n" + string.Join("\n", daemon.Log));
    }

    [Test]
    public async Task TwoContainersGetDifferentLeasesAndCheckNamesTheHeldOne()
    {
        using var lab = new DhcpLab();
        string ns1 = lab.AddContainer();
        string ns2 = lab.AddContainer();
        await using var daemon = new RunningDaemon(lab);
        string config = Config(daemon.SocketPath, "1.1.0");
        (int exit1, string out1, string err1) = Run("ADD", config, ns1, id: "one");
        (int exit2, string out2, string err2) = Run("ADD", config, ns2, id: "two");
        Assert.That((exit1, exit2), Is.EqualTo((0, 0)), err1 + err2);
        JsonNode r1 = JsonNode.Parse(out1)!, r2 = JsonNode.Parse(out2)!;
        Assert.That(r1["ips"]![0]!["address"]!.GetValue<string>(), Is.Not.EqualTo(r2["ips"]![0]!["address"]!.GetValue<string>()));

        JsonObject withPrev = JsonNode.Parse(config)!.AsObject();
        withPrev["prevResult"] = r1.DeepClone();
        Assert.That(Run("CHECK", withPrev.ToJsonString(), ns1, id: "one").Exit, Is.Zero);
        (int exit, string stdout, _) = Run("CHECK", withPrev.ToJsonString(), ns2, id: "two");
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(stdout, Does.Contain("not in prevResult.ips"));
        Assert.That(Run("DEL", config, ns1, id: "one").Exit, Is.Zero);
        (exit, stdout, _) = Run("CHECK", withPrev.ToJsonString(), ns1, id: "one");
        Assert.That(stdout, Does.Contain("holds no lease"));
        Assert.That(Run("DEL", config, ns2, id: "two").Exit, Is.Zero);
    }

    [Test]
    public async Task GcReleasesLeasesOfAttachmentsNoLongerValid()
    {
        using var lab = new DhcpLab();
        string ns1 = lab.AddContainer();
        string ns2 = lab.AddContainer();
        await using var daemon = new RunningDaemon(lab);
        string config = Config(daemon.SocketPath, "1.1.0");
        (int exit1, string out1, _) = Run("ADD", config, ns1, id: "keep");
        (int exit2, string out2, _) = Run("ADD", config, ns2, id: "gone");
        Assert.That((exit1, exit2), Is.EqualTo((0, 0)));
        string gone = JsonNode.Parse(out2)!["ips"]![0]!["address"]!.GetValue<string>().Split('/')[0];
        JsonObject gc = JsonNode.Parse(config)!.AsObject();
        gc["cni.dev/valid-attachments"] = JsonNode.Parse("""[{"containerID":"keep","ifname":"eth0"}]""");
        (int exit, string stdout, string stderr) = Run("GC", gc.ToJsonString(), null, id: "");
        Assert.That(exit, Is.Zero, stdout + stderr);
        Assert.That(daemon.Daemon.LeaseCount, Is.EqualTo(1));
        WaitFor(() => !lab.Leases().Any(l => l.Contains(" " + gone + " ", StringComparison.Ordinal)), TimeSpan.FromSeconds(5),
            () => "GC did not release: " + string.Join("\n", lab.Leases()));
        Assert.That(Run("DEL", config, ns1, id: "keep").Exit, Is.Zero);
    }

    [Test]
    public async Task ProvidedHostNameAndRequestedOptionsReachTheServer()
    {
        using var lab = new DhcpLab();
        string ns = lab.AddContainer();
        await using var daemon = new RunningDaemon(lab);
        string config = Config(daemon.SocketPath, extraIpam: ""","provide":[{"option":"host-name","fromArg":"K8S_POD_NAME"}],"request":[{"option":"121"}]""");
        (int exit, string stdout, string stderr) = Run("ADD", config, ns, args: "IgnoreUnknown=1;K8S_POD_NAME=web-0");
        Assert.That(exit, Is.Zero, stdout + stderr);
        WaitFor(() => lab.Leases().Any(l => l.Contains(" web-0 ", StringComparison.Ordinal)), TimeSpan.FromSeconds(3),
            () => "host name not in the lease file: " + string.Join("\n", lab.Leases()));
        Assert.That(Run("DEL", config, ns).Exit, Is.Zero);
    }

    [Test]
    public async Task NoServerFailsWithTryAgainLaterAndKeepsNothing()
    {
        using var lab = new DhcpLab();
        string ns = lab.AddContainer();
        // eth0 sits on no bridge of a server: its veth peer is moved out of the bridge.
        string hostPort = DhcpLab.IpOut(lab.HostNs, "-o link show master br0").Split(':')[1].Trim().Split('@')[0];
        DhcpLab.Ip(lab.HostNs, $"link set {hostPort} nomaster");
        await using var daemon = new RunningDaemon(lab, new DhcpClientOptions { Timeout = TimeSpan.FromSeconds(1), ResendTimeout = TimeSpan.FromSeconds(4) });
        (int exit, string stdout, _) = Run("ADD", Config(daemon.SocketPath), ns);
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(JsonNode.Parse(stdout)!["code"]!.GetValue<int>(), Is.EqualTo(11));
        Assert.That(stdout, Does.Contain("no more tries"));
        Assert.That(daemon.Daemon.LeaseCount, Is.Zero);
    }

    [Test]
    public async Task MissingInterfaceFailsNamingIt()
    {
        using var lab = new DhcpLab();
        string ns = lab.AddContainer();
        await using var daemon = new RunningDaemon(lab);
        (int exit, string stdout, _) = Run("ADD", Config(daemon.SocketPath), ns, ifName: "nope0");
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(stdout, Does.Contain("nope0"));
    }
}
