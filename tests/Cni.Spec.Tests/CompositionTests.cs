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

    [Test]
    public async Task The_invoker_runs_registered_types_in_process_and_reports_their_errors()
    {
        var services = new ServiceCollection();
        services.AddCniPlugin<RecordingPlugin>("fake");
        using ServiceProvider provider = services.BuildServiceProvider();
        ICniPluginInvoker invoker = provider.GetRequiredService<ICniPluginInvoker>();
        KeyValuePair<string, string?>[] env = [.. HostKit.AddVariables().Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))];

        byte[] stdout = await invoker.InvokeAsync("fake", ["/opt/cni/bin"], env, System.Text.Encoding.UTF8.GetBytes(HostKit.Config));
        var ex = Assert.ThrowsAsync<CniException>(() => invoker.InvokeAsync("fake", [], env, System.Text.Encoding.UTF8.GetBytes("{}")));

        Assert.That(CniResultSerializer.Parse(stdout).Ips, Has.Count.EqualTo(1));
        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.InvalidNetworkConfig));
        Assert.That(ex.Message, Does.Contain("network name"));
    }

    [Test]
    public void The_invoker_runs_other_types_from_CNI_PATH()
    {
        using var scripts = new ScriptPlugins();
        scripts.Add("external", """echo '{"code":42,"msg":"from the executable"}'; exit 1""");
        var services = new ServiceCollection();
        services.AddCniPlugin<RecordingPlugin>("fake");
        using ServiceProvider provider = services.BuildServiceProvider();

        var ex = Assert.ThrowsAsync<CniException>(() =>
            provider.GetRequiredService<ICniPluginInvoker>().InvokeAsync("external", [scripts.Dir], [], ReadOnlyMemory<byte>.Empty));

        Assert.That(ex!.NumericCode, Is.EqualTo(42u));
    }

    [TestCase("../x")]
    [TestCase("a/b")]
    public void Type_names_must_be_bare(string type) =>
        Assert.Throws<ArgumentException>(() => new ServiceCollection().AddCniPlugin<RecordingPlugin>(type));
}
