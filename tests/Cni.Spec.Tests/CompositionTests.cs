using Microsoft.Extensions.DependencyInjection;

namespace Cni.Spec.Tests;

/// <summary>Plugins registered by type name and hosted in process.</summary>
public class CompositionTests
{
    [Test]
    public void Registered_plugins_resolve_by_type_name()
    {
        var services = new ServiceCollection();
        services.AddCniPlugin<RecordingPlugin>("fake");

        using ServiceProvider provider = services.BuildServiceProvider();
        ICniPluginResolver resolver = provider.GetRequiredService<ICniPluginResolver>();

        Assert.That(resolver.Types, Is.EqualTo(new[] { "fake" }));
        Assert.That(resolver.Resolve("fake"), Is.InstanceOf<RecordingPlugin>());
        Assert.That(resolver.Resolve("other"), Is.Null);
    }

    [Test]
    public async Task A_registered_plugin_runs_through_the_host_in_process()
    {
        var services = new ServiceCollection();
        services.AddCniPlugin<RecordingPlugin>("fake");
        using ServiceProvider provider = services.BuildServiceProvider();
        var env = new InMemoryCniEnvironment(HostKit.AddVariables(), HostKit.Config);

        int exit = await CniPluginHost.RunAsync(provider, "fake", env);

        Assert.That(exit, Is.EqualTo(0), env.StdoutText);
        Assert.That(CniResultSerializer.Parse(System.Text.Encoding.UTF8.GetBytes(env.StdoutText)).Ips, Has.Count.EqualTo(1));
    }

    [TestCase("../x")]
    [TestCase("a/b")]
    public void Type_names_must_be_bare(string type) =>
        Assert.Throws<ArgumentException>(() => new ServiceCollection().AddCniPlugin<RecordingPlugin>(type));
}
