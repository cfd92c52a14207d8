using System.Text;
using Cni.Spec;

namespace Cni.Runtime.Tests;

public class ExecPluginTests
{
    private TestDirectory _dir = null!;
    private string _bin = null!;
    private CniRuntime _runtime = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TestDirectory();
        _bin = _dir.Combine("bin");
        ShellPlugin.Create(_bin, "alpha");
        ShellPlugin.Create(_bin, "beta");
        File.WriteAllText(Path.Combine(_bin, "alpha.result"), """{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/ns"}],"ips":[{"address":"10.5.0.2/24","interface":0}],"dns":{}}""");
        File.WriteAllText(Path.Combine(_bin, "beta.result"), """{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/ns"}],"ips":[{"address":"10.5.0.2/24","interface":0}],"dns":{"nameservers":["10.5.0.1"]}}""");
        _runtime = new CniRuntime(new CniRuntimeOptions { PluginPaths = [_dir.Combine("empty"), _bin], CacheDirectory = _dir.Combine("cache"), PluginStderr = TextWriter.Null });
    }

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private static CniNetworkConfig Net() => CniNetworkConfig.Parse(Encoding.UTF8.GetBytes(
        """{"cniVersion":"1.0.0","name":"execnet","plugins":[{"type":"alpha"},{"type":"beta"}]}"""));

    [Test]
    public async Task PluginsRunAsProcessesWithTheCniEnvironmentAndStdin()
    {
        var rt = new CniRuntimeConf { ContainerId = "ctr", NetNs = "/ns", IfName = "eth0", Args = [new("X", "1")] };

        CniResult result = await _runtime.AddNetworkListAsync(Net(), rt);
        await _runtime.CheckNetworkListAsync(Net(), rt);
        await _runtime.DelNetworkListAsync(Net(), rt);

        Assert.That(ShellPlugin.Calls(_bin), Is.EqualTo(new[]
        {
            "alpha ADD ctr /ns eth0 X=1", "beta ADD ctr /ns eth0 X=1",
            "alpha CHECK ctr /ns eth0 X=1", "beta CHECK ctr /ns eth0 X=1",
            "beta DEL ctr /ns eth0 X=1", "alpha DEL ctr /ns eth0 X=1",
        }));
        Assert.That(ShellPlugin.Stdin(_bin, 0), Is.EqualTo("""{"cniVersion":"1.0.0","name":"execnet","type":"alpha"}"""));
        Assert.That(ShellPlugin.Stdin(_bin, 1), Is.EqualTo(
            """{"cniVersion":"1.0.0","name":"execnet","prevResult":{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/ns"}],"ips":[{"interface":0,"address":"10.5.0.2/24"}],"dns":{}},"type":"beta"}"""));
        Assert.That(ShellPlugin.Stdin(_bin, 4), Does.Contain("\"nameservers\":[\"10.5.0.1\"]"), "DEL gets the cached (last) result");
        Assert.That(result.Dns.Nameservers, Is.EqualTo(new[] { "10.5.0.1" }));
    }

    [Test]
    public void APluginErrorKeepsItsCodeAndIsNamed()
    {
        File.WriteAllText(Path.Combine(_bin, "beta.fail"), """{"code":11,"msg":"busy","details":"try later"}""");

        var ex = Assert.ThrowsAsync<CniRuntimeException>(() => _runtime.AddNetworkListAsync(Net(), new CniRuntimeConf { ContainerId = "c", NetNs = "/ns" }))!;

        Assert.That(ex.Code, Is.EqualTo(CniErrorCode.TryAgainLater));
        Assert.That(ex.Message, Is.EqualTo("network \"execnet\": plugin type=\"beta\" (2 of 2) failed (ADD): busy"));
        Assert.That(ex.Details, Is.EqualTo("try later"));
    }

    [Test]
    public void AMissingPluginIsNamed()
    {
        CniNetworkConfig net = CniNetworkConfig.Parse(Encoding.UTF8.GetBytes("""{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"missing"}]}"""));
        var ex = Assert.ThrowsAsync<CniRuntimeException>(() => _runtime.AddNetworkListAsync(net, new CniRuntimeConf { ContainerId = "c", NetNs = "/ns" }))!;
        Assert.That(ex.Message, Does.Contain("type=\"missing\"").And.Contain("failed to find plugin \"missing\""));
    }

    [Test]
    public void GarbageOnStdoutIsADecodingError()
    {
        File.WriteAllText(Path.Combine(_bin, "alpha.result"), "hello");
        var ex = Assert.ThrowsAsync<CniRuntimeException>(() => _runtime.AddNetworkListAsync(Net(), new CniRuntimeConf { ContainerId = "c", NetNs = "/ns" }))!;
        Assert.That(ex.Code, Is.EqualTo(CniErrorCode.DecodingFailure));
        Assert.That(ex.Message, Does.Contain("type=\"alpha\""));
    }

    [Test]
    public async Task VersionAndValidateAskThePlugins()
    {
        PluginVersionInfo info = await _runtime.GetVersionInfoAsync("alpha");
        Assert.That(info.SupportedVersions, Does.Contain("1.1.0"));
        Assert.That(await _runtime.ValidateNetworkListAsync(Net()), Is.Empty);

        CniNetworkConfig old = CniNetworkConfig.Parse(Encoding.UTF8.GetBytes("""{"cniVersion":"0.2.0","name":"n","plugins":[{"type":"alpha"}]}"""));
        var ex = Assert.ThrowsAsync<CniRuntimeException>(() => _runtime.ValidateNetworkListAsync(old))!;
        Assert.That(ex.Message, Does.Contain("does not support config version \"0.2.0\""));
    }
}
