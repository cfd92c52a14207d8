using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cni.Plugins.Ipam.Dhcp.Daemon;
using Cni.Spec;

namespace Cni.Plugins.Ipam.Dhcp.Tests;

/// <summary>The plugin through the CNI host with a fake daemon: configuration checks, what it asks the daemon, how it
/// reports the daemon's answers.</summary>
public class PluginTests
{
    private const string Lease = """{"cniVersion":"1.1.0","ips":[{"address":"10.9.0.7/24","gateway":"10.9.0.1"}],"routes":[{"dst":"0.0.0.0/0","gw":"10.9.0.1"}]}""";

    /// <summary>Records requests; answers with <see cref="Answer"/> or throws <see cref="Failure"/>.</summary>
    private sealed class FakeDaemon : IDhcpDaemonConnection
    {
        public List<(string Socket, JsonObject Request)> Calls { get; } = [];

        public DaemonResponse Answer { get; set; } = new() { Result = Lease };

        public Exception? Failure { get; set; }

        public Task<byte[]> CallAsync(string socketPath, byte[] request, CancellationToken cancellationToken)
        {
            Calls.Add((socketPath, JsonNode.Parse(request)!.AsObject()));
            if (Failure is not null)
                throw Failure;
            return Task.FromResult(JsonSerializer.SerializeToUtf8Bytes(Answer, DaemonJsonContext.Default.DaemonResponse));
        }
    }

    private static string Conf(string ipam = """{"type":"dhcp"}""", string version = "1.0.0", string extra = "") =>
        $$"""{"cniVersion":"{{version}}","name":"net1","type":"macvlan"{{extra}},"ipam":{{ipam}}}""";

    private static (int Exit, JsonObject? Out, string Stderr) Run(FakeDaemon daemon, string config, string command = "ADD", string? args = null, string? netns = "/var/run/netns/c1")
    {
        var vars = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = command,
            ["CNI_CONTAINERID"] = "c1",
            ["CNI_IFNAME"] = "eth1",
            ["CNI_PATH"] = "/opt/cni/bin",
        };
        if (netns is not null)
            vars["CNI_NETNS"] = netns;
        if (args is not null)
            vars["CNI_ARGS"] = args;
        var env = new InMemoryCniEnvironment(vars, config);
        int exit = CniPluginHost.RunAsync(new DhcpPlugin(daemon), env).GetAwaiter().GetResult();
        return (exit, env.StdoutText.Length == 0 ? null : JsonNode.Parse(env.StdoutText)!.AsObject(), env.StderrText);
    }

    [Test]
    public void AddAsksTheDaemonAndPrintsTheLeaseInTheConfigVersion()
    {
        var daemon = new FakeDaemon();
        (int exit, JsonObject? output, _) = Run(daemon, Conf());
        Assert.That(exit, Is.Zero);
        Assert.That(output!.ToJsonString(), Is.EqualTo("""{"cniVersion":"1.0.0","ips":[{"address":"10.9.0.7/24","gateway":"10.9.0.1"}],"routes":[{"dst":"0.0.0.0/0","gw":"10.9.0.1"}],"dns":{}}"""));
        (string socket, JsonObject request) = daemon.Calls.Single();
        Assert.That(socket, Is.EqualTo("/run/cni/dhcp.sock"));
        // Options: parameter request list 3 (router), 1 (mask); bytes are base64 in the daemon protocol.
        Assert.That(request.ToJsonString(), Is.EqualTo("""{"method":"Allocate","containerId":"c1","netns":"/var/run/netns/c1","ifName":"eth1","clientId":"c1/net1/eth1","network":"net1","options":[{"code":55,"value":"AwE="}]}"""));
    }

    [TestCase("0.1.0")]
    [TestCase("0.2.0")]
    [TestCase("0.3.1")]
    [TestCase("0.4.0")]
    [TestCase("1.1.0")]
    public void EverySpecVersionGetsItsResultShape(string version)
    {
        (int exit, JsonObject? output, _) = Run(new FakeDaemon(), Conf(version: version));
        Assert.That(exit, Is.Zero);
        Assert.That(output!["cniVersion"]!.GetValue<string>(), Is.EqualTo(version));
        if (version is "0.1.0" or "0.2.0")
            Assert.That(output["ip4"]!["ip"]!.GetValue<string>(), Is.EqualTo("10.9.0.7/24"));
        else
            Assert.That(output["ips"]![0]!["address"]!.GetValue<string>(), Is.EqualTo("10.9.0.7/24"));
    }

    [Test]
    public void ProvideAndRequestOptionsGoToTheDaemonInOrder()
    {
        var daemon = new FakeDaemon();
        string ipam = """{"type":"dhcp","daemonSocketPath":"/tmp/d.sock","provide":[{"option":"host-name","value":"fixed"},{"option":"host-name","fromArg":"K8S_POD_NAME"},{"option":"60","value":"v"}],"request":[{"option":"121"},{"option":"routers"},{"skipDefault":false,"option":"subnet-mask"}]}""";
        (int exit, _, _) = Run(daemon, Conf(ipam), args: "IgnoreUnknown=1;K8S_POD_NAME=pod-a");
        Assert.That(exit, Is.Zero);
        (string socket, JsonObject request) = daemon.Calls.Single();
        Assert.That(socket, Is.EqualTo("/tmp/d.sock"));
        var options = request["options"]!.AsArray().Select(o =>
        {
            int code = o!["code"]!.GetValue<int>();
            byte[] value = Convert.FromBase64String(o["value"]!.GetValue<string>());
            return $"{code}=" + (code == 55 ? string.Join(",", value) : Encoding.UTF8.GetString(value));
        });
        Assert.That(options, Is.EqualTo(new[] { "12=pod-a", "60=v", "55=121,3,1" }));
    }

    [Test]
    public void SkipDefaultLeavesOnlyTheRequestedOptions()
    {
        var daemon = new FakeDaemon();
        Run(daemon, Conf("""{"type":"dhcp","request":[{"skipDefault":true}]}"""));
        Assert.That(daemon.Calls.Single().Request["options"]!.AsArray(), Is.Empty);
        daemon.Calls.Clear();
        Run(daemon, Conf("""{"type":"dhcp","request":[{"skipDefault":true,"option":"6"}]}"""));
        Assert.That(daemon.Calls.Single().Request["options"]!.ToJsonString(), Is.EqualTo("""[{"code":55,"value":"Bg=="}]"""));
    }

    [TestCase("""{"type":"dhcp","provide":[{"option":"no-such-option","value":"x"}]}""", "ipam.provide[0].option")]
    [TestCase("""{"type":"dhcp","provide":[{"option":"256","value":"x"}]}""", "ipam.provide[0].option")]
    [TestCase("""{"type":"dhcp","provide":[{"option":"0","value":"x"}]}""", "pad")]
    [TestCase("""{"type":"dhcp","provide":[{"value":"x"}]}""", "ipam.provide[0].option")]
    [TestCase("""{"type":"dhcp","request":[{"option":"-1"}]}""", "ipam.request[0].option")]
    [TestCase("""{"type":"dhcp","request":[{"option":"bogus"}]}""", "ipam.request[0].option")]
    [TestCase("""{"type":"dhcp","daemonSocketPath":"relative.sock"}""", "ipam.daemonSocketPath")]
    [TestCase("""{"type":"dhcp","daemonSocketPath":"/a/very/long/path/that/is/far/too/long/for/a/unix/socket/address/because/those/hold/one/hundred/and/eight/bytes.sock"}""", "ipam.daemonSocketPath")]
    public void BadConfigurationFailsBeforeTheDaemonIsAsked(string ipam, string field)
    {
        var daemon = new FakeDaemon();
        (int exit, JsonObject? output, _) = Run(daemon, Conf(ipam));
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(output!["code"]!.GetValue<int>(), Is.EqualTo(7));
        Assert.That(output["msg"]!.GetValue<string>(), Does.Contain(field));
        Assert.That(daemon.Calls, Is.Empty);
    }

    [Test]
    public void ValuesLongerThan255BytesAreRefused()
    {
        string longValue = new('v', 256);
        var daemon = new FakeDaemon();
        (int exit, JsonObject? output, _) = Run(daemon, Conf($$"""{"type":"dhcp","provide":[{"option":"host-name","value":"{{longValue}}"}]}"""));
        Assert.That((exit, output!["code"]!.GetValue<int>()), Is.EqualTo((1, 7)));
        Assert.That(output["msg"]!.GetValue<string>(), Does.Contain("ipam.provide[0].value"));
        (exit, output, _) = Run(daemon, Conf("""{"type":"dhcp","provide":[{"option":"host-name","fromArg":"N"}]}"""), args: "IgnoreUnknown=1;N=" + longValue);
        Assert.That(output!["msg"]!.GetValue<string>(), Does.Contain("ipam.provide[0].fromArg"));
        Assert.That(daemon.Calls, Is.Empty);
    }

    [TestCase("""{"type":"dhcp","provide":"x"}""")]
    [TestCase("""{"type":"dhcp","request":[{"skipDefault":"yes"}]}""")]
    [TestCase("""{"type":"dhcp","daemonSocketPath":5}""")]
    public void WrongJsonTypesAreDecodingErrors(string ipam)
    {
        (int exit, JsonObject? output, _) = Run(new FakeDaemon(), Conf(ipam));
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(output!["code"]!.GetValue<int>(), Is.AnyOf(6, 7));
        Assert.That(output["msg"]!.GetValue<string>(), Does.Contain("ipam"));
    }

    [Test]
    public void AddWithoutDaemonIsTryAgainLaterNamingTheSocket()
    {
        var daemon = new FakeDaemon { Failure = new SocketException((int)SocketError.ConnectionRefused) };
        (int exit, JsonObject? output, _) = Run(daemon, Conf());
        Assert.That((exit, output!["code"]!.GetValue<int>()), Is.EqualTo((1, 11)));
        Assert.That(output["msg"]!.GetValue<string>(), Does.Contain("/run/cni/dhcp.sock"));
        Assert.That(output["details"]!.GetValue<string>(), Does.Contain("dhcp daemon"));
    }

    [Test]
    public void DaemonErrorsKeepTheirCode()
    {
        var daemon = new FakeDaemon { Answer = new DaemonResponse { Error = "dhcp: DHCP acquire gave up", Code = 11 } };
        (int exit, JsonObject? output, _) = Run(daemon, Conf());
        Assert.That((exit, output!["code"]!.GetValue<int>(), output["msg"]!.GetValue<string>()), Is.EqualTo((1, 11, "dhcp: DHCP acquire gave up")));
    }

    [Test]
    public void DelReleasesAndSucceedsWithoutADaemon()
    {
        var daemon = new FakeDaemon { Answer = new DaemonResponse() };
        Assert.That(Run(daemon, Conf(), "DEL", netns: null).Exit, Is.Zero);
        Assert.That(daemon.Calls.Single().Request["method"]!.GetValue<string>(), Is.EqualTo("Release"));
        Assert.That(daemon.Calls.Single().Request.ContainsKey("netns"), Is.False);
        daemon.Failure = new SocketException((int)SocketError.AddressNotAvailable);
        (int exit, JsonObject? output, string stderr) = Run(daemon, Conf(), "DEL");
        Assert.That((exit, output), Is.EqualTo((0, (JsonObject?)null)));
        Assert.That(stderr, Does.Contain("nothing to release"));
    }

    [Test]
    public void CheckComparesTheHeldLeaseWithPrevResult()
    {
        var daemon = new FakeDaemon();
        string prev = ""","prevResult":{"cniVersion":"1.0.0","ips":[{"address":"10.9.0.7/24"}]}""";
        Assert.That(Run(daemon, Conf(extra: prev), "CHECK").Exit, Is.Zero);
        Assert.That(daemon.Calls.Single().Request["method"]!.GetValue<string>(), Is.EqualTo("Check"));
        string other = ""","prevResult":{"cniVersion":"1.0.0","ips":[{"address":"10.9.0.8/24"}]}""";
        (int exit, JsonObject? output, _) = Run(daemon, Conf(extra: other), "CHECK");
        Assert.That((exit, output!["code"]!.GetValue<int>()), Is.EqualTo((1, 7)));
        Assert.That(output["msg"]!.GetValue<string>(), Does.Contain("10.9.0.7/24").And.Contain("eth1"));
        (exit, output, _) = Run(daemon, Conf(), "CHECK");
        Assert.That(output!["msg"]!.GetValue<string>(), Does.Contain("prevResult"));
    }

    [Test]
    public void GcSendsTheValidClientIdsOfTheNetwork()
    {
        var daemon = new FakeDaemon { Answer = new DaemonResponse() };
        string valid = ""","cni.dev/valid-attachments":[{"containerID":"a","ifname":"eth0"},{"containerID":"b","ifname":"net1"}]""";
        Assert.That(Run(daemon, Conf(version: "1.1.0", extra: valid), "GC", netns: null).Exit, Is.Zero);
        JsonObject request = daemon.Calls.Single().Request;
        Assert.That((request["method"]!.GetValue<string>(), request["network"]!.GetValue<string>(), request["valid"]!.ToJsonString()),
            Is.EqualTo(("Gc", "net1", """["a/net1/eth0","b/net1/net1"]""")));
        (int exit, JsonObject? output, _) = Run(daemon, Conf(version: "1.1.0", extra: ""","cni.dev/valid-attachments":[{"containerID":"a"}]"""), "GC", netns: null);
        Assert.That((exit, output!["code"]!.GetValue<int>()), Is.EqualTo((1, 7)));
        Assert.That(output["msg"]!.GetValue<string>(), Does.Contain("cni.dev/valid-attachments[0]"));
        daemon.Failure = new SocketException((int)SocketError.ConnectionRefused);
        Assert.That(Run(daemon, Conf(version: "1.1.0", extra: valid), "GC", netns: null).Exit, Is.Zero, "no daemon holds nothing");
    }

    [Test]
    public void KeysAreCaseInsensitiveAsGoDecodesThem()
    {
        var daemon = new FakeDaemon();
        Assert.That(Run(daemon, Conf("""{"type":"dhcp","DaemonSocketPath":"/tmp/other.sock"}""")).Exit, Is.Zero);
        Assert.That(daemon.Calls.Single().Socket, Is.EqualTo("/tmp/other.sock"));
    }

    [Test]
    public void StatusIsNotAvailableWithoutADaemon()
    {
        var daemon = new FakeDaemon { Failure = new SocketException((int)SocketError.ConnectionRefused) };
        (int exit, JsonObject? output, _) = Run(daemon, Conf(version: "1.1.0"), "STATUS", netns: null);
        Assert.That((exit, output!["code"]!.GetValue<int>()), Is.EqualTo((1, 50)));
        daemon.Failure = null;
        daemon.Answer = new DaemonResponse();
        Assert.That(Run(daemon, Conf(version: "1.1.0"), "STATUS", netns: null).Exit, Is.Zero);
    }
}
