using System.Text;
using Cni.Spec;
using Microsoft.Extensions.DependencyInjection;

namespace Cni.Runtime.Tests;

/// <summary>A runtime over in-process recording plugins "first", "second" and "third", with a temporary cache.</summary>
public abstract class RuntimeTestBase
{
    private protected TestDirectory Dir = null!;
    private protected CallLog Log = null!;
    private protected Dictionary<string, RecordingPlugin> Plugins = null!;
    private protected CniRuntime Runtime = null!;
    private ServiceProvider _services = null!;

    [SetUp]
    public void SetUpRuntime()
    {
        Dir = new TestDirectory();
        Log = new CallLog();
        Plugins = new Dictionary<string, RecordingPlugin>
        {
            ["first"] = new("first", Log),
            ["second"] = new("second", Log),
            ["third"] = new("third", Log),
        };
        var services = new ServiceCollection();
        foreach ((string type, RecordingPlugin plugin) in Plugins)
            services.AddKeyedSingleton<ICniPlugin>(type, plugin).AddSingleton(new CniPluginRegistration(type, typeof(RecordingPlugin)));
        services.AddSingleton<ICniPluginResolver>(sp => new Resolver(sp));
        services.AddCniRuntime(o =>
        {
            o.CacheDirectory = Dir.Combine("cache");
            o.PluginPaths = [Dir.Combine("bin")];
            o.PluginStderr = TextWriter.Null;
        });
        _services = services.BuildServiceProvider();
        Runtime = _services.GetRequiredService<CniRuntime>();
    }

    [TearDown]
    public void TearDownRuntime()
    {
        _services.Dispose();
        Dir.Dispose();
    }

    private protected static CniNetworkConfig Network(string json) => CniNetworkConfig.Parse(Encoding.UTF8.GetBytes(json));

    private protected static CniRuntimeConf Attachment(string id = "ctr1", string ifName = "eth0") =>
        new() { ContainerId = id, NetNs = "/var/run/netns/test", IfName = ifName };

    private sealed class Resolver(IServiceProvider services) : ICniPluginResolver
    {
        public IReadOnlyCollection<string> Types => ["first", "second", "third"];

        public ICniPlugin? Resolve(string type) => services.GetKeyedService<ICniPlugin>(type);
    }
}
