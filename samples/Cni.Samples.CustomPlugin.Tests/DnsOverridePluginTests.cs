using System.Text;
using System.Text.Json.Nodes;
using Cni.Runtime;
using Cni.Samples.CustomPlugin;
using Cni.Spec;
using Microsoft.Extensions.DependencyInjection;

namespace Cni.Samples.CustomPlugin.Tests;

public class DnsOverridePluginTests
{
    private const string PrevResult = """{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24"}],"dns":{"nameservers":["8.8.8.8"]}}""";

    private static async Task<(int Code, JsonObject Output)> RunAsync(string command, string config)
    {
        var env = new InMemoryCniEnvironment(new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = command, ["CNI_CONTAINERID"] = "c1", ["CNI_NETNS"] = "/var/run/netns/x", ["CNI_IFNAME"] = "eth0", ["CNI_PATH"] = "/opt/cni/bin",
        }, config);
        int code = await CniPluginHost.RunAsync(new DnsOverridePlugin(), env);
        return (code, env.StdoutText.Length == 0 ? new JsonObject() : JsonNode.Parse(env.StdoutText)!.AsObject());
    }

    [Test]
    public async Task AddReplacesTheDnsOfThePreviousResult()
    {
        (int code, JsonObject result) = await RunAsync("ADD",
            $$"""{"cniVersion":"1.0.0","name":"n","type":"dns-override","nameservers":["10.0.0.53"],"search":["svc.local"],"prevResult":{{PrevResult}}}""");

        Assert.That(code, Is.EqualTo(0));
        Assert.That(result["dns"]!.ToJsonString(), Is.EqualTo("""{"nameservers":["10.0.0.53"],"search":["svc.local"]}"""));
        Assert.That((string)result["ips"]![0]!["address"]!, Is.EqualTo("10.0.0.2/24"), "the rest of prevResult is passed on");
    }

    [Test]
    public async Task AddWithoutPrevResultOrNameserversFailsNamingTheProblem()
    {
        (int code, JsonObject error) = await RunAsync("ADD", """{"cniVersion":"1.0.0","name":"n","type":"dns-override","nameservers":["1.1.1.1"]}""");
        Assert.That(code, Is.EqualTo(1));
        Assert.That((string)error["msg"]!, Does.Contain("prevResult"));

        (code, error) = await RunAsync("ADD", $$"""{"cniVersion":"1.0.0","name":"n","type":"dns-override","prevResult":{{PrevResult}}}""");
        Assert.That((uint)error["code"]!, Is.EqualTo(7));
        Assert.That((string)error["msg"]!, Does.StartWith("nameservers"));
    }

    [Test]
    public async Task CheckReportsDrift()
    {
        (int code, JsonObject error) = await RunAsync("CHECK",
            $$"""{"cniVersion":"1.0.0","name":"n","type":"dns-override","nameservers":["10.0.0.53"],"prevResult":{{PrevResult}}}""");
        Assert.That(code, Is.EqualTo(1));
        Assert.That((string)error["msg"]!, Does.Contain("drifted"));
    }

    [Test]
    public async Task ItChainsInProcessThroughCniRuntime()
    {
        using TempDir dir = new();
        var services = new ServiceCollection()
            .AddCniPlugin<StaticResultPlugin>("first")
            .AddCniPlugin<DnsOverridePlugin>("dns-override")
            .AddCniRuntime(o => o.CacheDirectory = dir.Path);
        using ServiceProvider provider = services.BuildServiceProvider();
        CniRuntime runtime = provider.GetRequiredService<CniRuntime>();
        CniNetworkConfig network = CniNetworkConfig.Parse(Encoding.UTF8.GetBytes(
            """{"cniVersion":"1.1.0","name":"chained","plugins":[{"type":"first"},{"type":"dns-override","nameservers":["10.9.9.9"]}]}"""));
        var attachment = new CniRuntimeConf { ContainerId = "c1", NetNs = "/var/run/netns/x", IfName = "eth0" };

        CniResult result = await runtime.AddNetworkListAsync(network, attachment);
        await runtime.CheckNetworkListAsync(network, attachment);
        await runtime.DelNetworkListAsync(network, attachment);

        Assert.That(result.Dns.Nameservers, Is.EqualTo(new[] { "10.9.9.9" }));
        Assert.That(result.Ips.Single().Address.ToString(), Is.EqualTo("10.0.0.2/24"));
    }

    private sealed class StaticResultPlugin : CniPlugin
    {
        public override Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken) =>
            Task.FromResult(CniResultSerializer.Parse(Encoding.UTF8.GetBytes(PrevResult)));

        public override Task DelAsync(CniRequest request, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("dns-override-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
