using System.Text.Json.Nodes;
using Cni.Spec;

namespace Cni.Runtime.Tests;

public class ChainTests : RuntimeTestBase
{
    private const string ThreePlugins = """
        {"cniVersion":"1.0.0","name":"chain","plugins":[
          {"type":"first","name":"ignored","cniVersion":"0.3.1","capabilities":{"portMappings":true,"ips":false},"runtimeConfig":{"stale":1}},
          {"type":"second","capabilities":{"mac":true}},
          {"type":"third","opt":"<&>"}]}
        """;

    [Test]
    public async Task AddRunsThePluginsInOrderWithNameVersionRuntimeConfigAndPrevResultInjected()
    {
        CniNetworkConfig network = Network(ThreePlugins);
        CniRuntimeConf rt = new()
        {
            ContainerId = "ctr1",
            NetNs = "/var/run/netns/test",
            IfName = "net1",
            Args = [new("K8S_POD_NAME", "web"), new("IgnoreUnknown", "1")],
            CapabilityArgs = JsonNode.Parse("""{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}],"ips":["10.0.0.9/24"],"bandwidth":{}}""")!.AsObject(),
        };

        CniResult result = await Runtime.AddNetworkListAsync(network, rt);

        IReadOnlyList<RecordedCall> calls = Log.Calls;
        Assert.That(calls.Select(c => (c.Plugin, c.Command)), Is.EqualTo(new[]
        {
            ("first", CniCommand.Add), ("second", CniCommand.Add), ("third", CniCommand.Add),
        }));
        Assert.That(calls.All(c => c.ContainerId == "ctr1" && c.NetNs == "/var/run/netns/test" && c.IfName == "net1"));
        Assert.That(calls[0].Args, Is.EqualTo("K8S_POD_NAME=web;IgnoreUnknown=1"));

        // The first plugin: name and version of the list, only its enabled capability, the file's runtimeConfig replaced.
        Assert.That(calls[0].Stdin, Is.EqualTo(
            """{"capabilities":{"ips":false,"portMappings":true},"cniVersion":"1.0.0","name":"chain","runtimeConfig":{"portMappings":[{"containerPort":80,"hostPort":8080,"protocol":"tcp"}]},"type":"first"}"""));
        // The second: the first's result as prevResult, no runtimeConfig (mac was not offered).
        JsonObject second = calls[1].Config;
        Assert.That(second.ContainsKey("runtimeConfig"), Is.False);
        Assert.That(second["prevResult"]!["interfaces"]!.AsArray().Select(i => (string)i!["name"]!), Is.EqualTo(new[] { "first" }));
        Assert.That((string)second["prevResult"]!["cniVersion"]!, Is.EqualTo("1.0.0"));
        // The third: the second's result; its own keys kept and escaped as Go does.
        Assert.That(calls[2].Config["prevResult"]!["interfaces"]!.AsArray().Count, Is.EqualTo(2));
        Assert.That(calls[2].Stdin, Does.Contain("\"opt\":\"\\u003c\\u0026\\u003e\""));

        Assert.That(result.Interfaces.Select(i => i.Name), Is.EqualTo(new[] { "first", "second", "third" }));
        Assert.That(result.CniVersion, Is.EqualTo("1.0.0"));
    }

    [Test]
    public async Task AddCachesTheResultAndDelRunsInReverseWithItThenRemovesIt()
    {
        CniNetworkConfig network = Network(ThreePlugins);
        await Runtime.AddNetworkListAsync(network, Attachment());
        string cacheFile = Path.Combine(Dir.Combine("cache"), "results", "chain-ctr1-eth0");
        Assert.That(File.Exists(cacheFile), Is.True);

        await Runtime.DelNetworkListAsync(network, Attachment());

        RecordedCall[] dels = Log.Calls.Where(c => c.Command == CniCommand.Del).ToArray();
        Assert.That(dels.Select(c => c.Plugin), Is.EqualTo(new[] { "third", "second", "first" }));
        foreach (RecordedCall del in dels)
        {
            Assert.That(del.Config["prevResult"]!["interfaces"]!.AsArray().Select(i => (string)i!["name"]!),
                Is.EqualTo(new[] { "first", "second", "third" }), $"prevResult of {del.Plugin}");
        }
        Assert.That(File.Exists(cacheFile), Is.False);
    }

    [Test]
    public async Task DelWithoutACachedResultRunsWithoutPrevResult()
    {
        await Runtime.DelNetworkListAsync(Network(ThreePlugins), new CniRuntimeConf { ContainerId = "gone", IfName = "eth0" });

        Assert.That(Log.Calls, Has.Count.EqualTo(3));
        Assert.That(Log.Calls.All(c => !c.Config.ContainsKey("prevResult") && c.NetNs is null));
    }

    [Test]
    public async Task DelOfAPre040NetworkIgnoresTheCache()
    {
        CniNetworkConfig network = Network("""{"cniVersion":"0.3.1","name":"old","plugins":[{"type":"first"}]}""");
        await Runtime.AddNetworkListAsync(network, Attachment());
        await Runtime.DelNetworkListAsync(network, Attachment());

        RecordedCall del = Log.Calls.Single(c => c.Command == CniCommand.Del);
        Assert.That(del.Config.ContainsKey("prevResult"), Is.False);
    }

    [Test]
    public async Task CheckRunsInOrderWithTheCachedResultConvertedToTheListsVersion()
    {
        CniNetworkConfig network = Network("""{"cniVersion":"0.4.0","name":"conv","plugins":[{"type":"first"},{"type":"second"}]}""");
        await Runtime.AddNetworkListAsync(network, Attachment());

        await Runtime.CheckNetworkListAsync(network, Attachment());

        RecordedCall[] checks = Log.Calls.Where(c => c.Command == CniCommand.Check).ToArray();
        Assert.That(checks.Select(c => c.Plugin), Is.EqualTo(new[] { "first", "second" }));
        JsonObject prev = checks[0].Config["prevResult"]!.AsObject();
        Assert.That((string)prev["cniVersion"]!, Is.EqualTo("0.4.0"));
        Assert.That((string)prev["ips"]![0]!["version"]!, Is.EqualTo("4"), "0.4.0 results carry ips[].version");
    }

    [Test]
    public async Task DisableCheckSkipsCheckAndOldVersionsCannotBeChecked()
    {
        await Runtime.CheckNetworkListAsync(Network("""{"cniVersion":"1.0.0","name":"n","disableCheck":true,"plugins":[{"type":"first"}]}"""), Attachment());
        Assert.That(Log.Calls, Is.Empty);

        var ex = Assert.ThrowsAsync<CniRuntimeException>(() =>
            Runtime.CheckNetworkListAsync(Network("""{"cniVersion":"0.3.1","name":"n","plugins":[{"type":"first"}]}"""), Attachment()))!;
        Assert.That(ex.Message, Does.Contain("does not support the CHECK command"));
        Assert.That(ex.Code, Is.EqualTo(CniErrorCode.IncompatibleCniVersion));
    }

    [Test]
    public void AFailingPluginStopsTheChainAndTheErrorNamesNetworkPluginAndStep()
    {
        Plugins["second"].Fail = new CniException(CniErrorCode.InvalidNetworkConfig, "bridge name too long", "max 15");
        CniNetworkConfig network = Network(ThreePlugins);

        var ex = Assert.ThrowsAsync<CniRuntimeException>(() => Runtime.AddNetworkListAsync(network, Attachment()))!;

        Assert.That(ex.Code, Is.EqualTo(CniErrorCode.InvalidNetworkConfig));
        Assert.That(ex.Message, Is.EqualTo("network \"chain\": plugin type=\"second\" (2 of 3) failed (ADD): bridge name too long"));
        Assert.That(ex.Details, Is.EqualTo("max 15"));
        Assert.That((ex.Network, ex.PluginType, ex.PluginIndex, ex.Command), Is.EqualTo(("chain", "second", 1, CniCommand.Add)));
        Assert.That(Log.Calls.Select(c => c.Plugin), Is.EqualTo(new[] { "first", "second" }));
        Assert.That(Runtime.GetCachedAttachments(), Is.Empty);
    }

    [Test]
    public void DeleteOnAddFailureUndoesThePluginsThatRan()
    {
        Runtime.Options.DeleteOnAddFailure = true;
        Plugins["second"].Fail = new CniException(CniErrorCode.Internal, "boom");
        Plugins["second"].FailOn = CniCommand.Add;

        Assert.ThrowsAsync<CniRuntimeException>(() => Runtime.AddNetworkListAsync(Network(ThreePlugins), Attachment()));

        Assert.That(Log.Calls.Where(c => c.Command == CniCommand.Del).Select(c => c.Plugin), Is.EqualTo(new[] { "third", "second", "first" }));
    }

    [Test]
    public void DeleteOnAddFailureAlsoUndoesTheChainWhenTheCacheCannotBeWritten()
    {
        // Every plugin succeeded, then the result could not be cached: without a DEL the attachment is set up but unknown
        // to the runtime (no cache entry for a later DEL or GC to find).
        Runtime.Options.DeleteOnAddFailure = true;
        File.WriteAllText(Dir.Combine("cache"), "a file where the cache directory should be");

        var ex = Assert.ThrowsAsync<CniRuntimeException>(() => Runtime.AddNetworkListAsync(Network(ThreePlugins), Attachment()))!;

        Assert.That(ex.Message, Does.Contain("cached result"));
        Assert.That(Log.Calls.Where(c => c.Command == CniCommand.Add).Select(c => c.Plugin), Is.EqualTo(new[] { "first", "second", "third" }));
        Assert.That(Log.Calls.Where(c => c.Command == CniCommand.Del).Select(c => c.Plugin), Is.EqualTo(new[] { "third", "second", "first" }));
    }

    [Test]
    public void InvalidAttachmentsAreRefusedBeforeAnyPluginRuns()
    {
        CniNetworkConfig network = Network(ThreePlugins);
        var badIf = Assert.ThrowsAsync<CniRuntimeException>(() => Runtime.AddNetworkListAsync(network, Attachment(ifName: "../../etc")))!;
        Assert.That(badIf.Code, Is.EqualTo(CniErrorCode.InvalidEnvironmentVariables));
        var badId = Assert.ThrowsAsync<CniRuntimeException>(() => Runtime.DelNetworkListAsync(network, Attachment(id: "a/b")))!;
        Assert.That(badId.Message, Does.Contain("container ID"));
        var noNs = Assert.ThrowsAsync<CniRuntimeException>(() => Runtime.AddNetworkListAsync(network, new CniRuntimeConf { ContainerId = "c", IfName = "eth0" }))!;
        Assert.That(noNs.Message, Does.Contain("CNI_NETNS"));
        Assert.That(Log.Calls, Is.Empty);
    }

    [Test]
    public void APluginThatHangsTimesOut()
    {
        Runtime.Options.PluginTimeout = TimeSpan.FromMilliseconds(50);
        Plugins["first"].Hang = Timeout.InfiniteTimeSpan;

        var ex = Assert.ThrowsAsync<CniRuntimeException>(() => Runtime.AddNetworkListAsync(Network(ThreePlugins), Attachment()))!;

        Assert.That(ex.TimedOut, Is.True);
        Assert.That(ex.Message, Does.Contain("type=\"first\"").And.Contain("timed out (ADD)"));
    }

    [Test]
    public void CancellationStopsTheChain()
    {
        Plugins["first"].Hang = Timeout.InfiniteTimeSpan;
        using var cts = new CancellationTokenSource();
        Task add = Runtime.AddNetworkListAsync(Network(ThreePlugins), Attachment(), cts.Token);
        cts.Cancel();
        Assert.That(async () => await add, Throws.InstanceOf<OperationCanceledException>());
        Assert.That(Log.Calls.Select(c => c.Plugin), Is.EqualTo(new[] { "first" }));
    }

    [Test]
    public async Task StatusAsksEveryPluginAndReportsNotReady()
    {
        CniNetworkConfig network = Network("""{"cniVersion":"1.1.0","name":"st","plugins":[{"type":"first"},{"type":"second"}]}""");
        await Runtime.GetStatusNetworkListAsync(network);
        Assert.That(Log.Calls.Select(c => (c.Plugin, c.Command, c.ContainerId, c.IfName)),
            Is.EqualTo(new[] { ("first", CniCommand.Status, "", ""), ("second", CniCommand.Status, "", "") }));
        Assert.That(Log.Calls[0].Stdin, Is.EqualTo("""{"cniVersion":"1.1.0","name":"st","type":"first"}"""));

        Plugins["second"].Fail = new CniException(CniErrorCode.PluginNotAvailable, "no leases");
        var ex = Assert.ThrowsAsync<CniRuntimeException>(() => Runtime.GetStatusNetworkListAsync(network))!;
        Assert.That(ex.Code, Is.EqualTo(CniErrorCode.PluginNotAvailable));
        Assert.That(ex.Message, Does.Contain("type=\"second\"").And.Contain("(STATUS)"));
    }

    [Test]
    public async Task StatusOfAPre110NetworkIsReadyWithoutCallingPlugins()
    {
        await Runtime.GetStatusNetworkListAsync(Network("""{"cniVersion":"1.0.0","name":"st","plugins":[{"type":"first"}]}"""));
        Assert.That(Log.Calls, Is.Empty);
    }

    [Test]
    public async Task ValidateReportsCapabilitiesAndUnsupportedVersions()
    {
        IReadOnlyList<string> caps = await Runtime.ValidateNetworkListAsync(Network(ThreePlugins));
        Assert.That(caps, Is.EqualTo(new[] { "mac", "portMappings" }));

        var ex = Assert.ThrowsAsync<CniRuntimeException>(() =>
            Runtime.ValidateNetworkListAsync(Network("""{"cniVersion":"1.0.0","name":"v","plugins":[{"type":"first"},{"type":"nowhere"}]}""")))!;
        Assert.That(ex.Message, Does.Contain("nowhere").And.Contain("failed to find plugin"));
    }
}
