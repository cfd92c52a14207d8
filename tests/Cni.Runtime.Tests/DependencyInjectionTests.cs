using System.Text;
using Cni.Spec;
using Microsoft.Extensions.DependencyInjection;

namespace Cni.Runtime.Tests;

public class DependencyInjectionTests
{
    private sealed class EchoPlugin : CniPlugin
    {
        public override Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken) => Task.FromResult(new CniResult
        {
            Interfaces = [new CniInterface { Name = request.IfName, Sandbox = request.NetNs }],
            Ips = [new CniIPConfig { Address = IPPrefix.Parse("192.0.2.7/24"), Interface = 0 }],
        });

        public override Task DelAsync(CniRequest request, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    [Test]
    public async Task PluginsRegisteredWithAddCniPluginRunInProcessAndOthersOnThePath()
    {
        using var dir = new TestDirectory();
        string bin = dir.Combine("bin");
        ShellPlugin.Create(bin, "outside");
        File.WriteAllText(Path.Combine(bin, "outside.result"), """{"cniVersion":"1.1.0","ips":[{"address":"192.0.2.7/24"}],"dns":{"domain":"example"}}""");
        using ServiceProvider services = new ServiceCollection()
            .AddCniPlugin<EchoPlugin>("echo")
            .AddCniRuntime(o =>
            {
                o.CacheDirectory = dir.Combine("cache");
                o.PluginPaths = [bin];
            })
            .BuildServiceProvider();
        CniRuntime runtime = services.GetRequiredService<CniRuntime>();
        CniNetworkConfig network = CniNetworkConfig.Parse(Encoding.UTF8.GetBytes(
            """{"cniVersion":"1.1.0","name":"di","plugins":[{"type":"echo"},{"type":"outside"}]}"""));

        CniResult result = await runtime.AddNetworkListAsync(network, new CniRuntimeConf { ContainerId = "c", NetNs = "/var/run/netns/di", IfName = "eth3" });

        Assert.That(ShellPlugin.Calls(bin), Is.EqualTo(new[] { "outside ADD c /var/run/netns/di eth3 -" }), "only the unregistered type was executed");
        Assert.That(ShellPlugin.Stdin(bin, 0), Does.Contain("\"prevResult\":{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"eth3\",\"sandbox\":\"/var/run/netns/di\"}]"));
        Assert.That(result.Dns.Domain, Is.EqualTo("example"));
        Assert.That((await runtime.GetVersionInfoAsync("echo")).SupportedVersions, Is.EqualTo(CniVersions.All));
    }
}
