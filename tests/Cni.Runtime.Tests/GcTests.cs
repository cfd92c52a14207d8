using Cni.Spec;

namespace Cni.Runtime.Tests;

public class GcTests : RuntimeTestBase
{
    private const string Net110 = """{"cniVersion":"1.1.0","name":"gcnet","plugins":[{"type":"first"},{"type":"second"}]}""";

    [Test]
    public async Task GcDeletesStaleAttachmentsThenSendsGcWithTheValidOnes()
    {
        CniNetworkConfig network = Network(Net110);
        CniNetworkConfig other = Network("""{"cniVersion":"1.1.0","name":"othernet","plugins":[{"type":"third"}]}""");
        await Runtime.AddNetworkListAsync(network, Attachment("keep", "eth0"));
        await Runtime.AddNetworkListAsync(network, new CniRuntimeConf
        {
            ContainerId = "stale", NetNs = "/var/run/netns/stale", IfName = "eth1", Args = [new("A", "1")],
        });
        await Runtime.AddNetworkListAsync(other, Attachment("stale", "eth0"));
        int before = Log.Calls.Count;

        await Runtime.GcNetworkListAsync(network, [new CniGcAttachment("keep", "eth0")]);

        RecordedCall[] calls = Log.Calls.Skip(before).ToArray();
        Assert.That(calls.Select(c => (c.Plugin, c.Command, c.ContainerId)), Is.EqualTo(new[]
        {
            ("second", CniCommand.Del, "stale"), ("first", CniCommand.Del, "stale"),
            ("first", CniCommand.Gc, ""), ("second", CniCommand.Gc, ""),
        }));
        // The stale DEL repeats the ADD's arguments from the cache.
        Assert.That((calls[0].NetNs, calls[0].IfName, calls[0].Args), Is.EqualTo(("/var/run/netns/stale", "eth1", "A=1")));
        Assert.That(calls[2].Stdin, Is.EqualTo(
            """{"cni.dev/attachments":[{"containerID":"keep","ifname":"eth0"}],"cni.dev/valid-attachments":[{"containerID":"keep","ifname":"eth0"}],"cniVersion":"1.1.0","name":"gcnet","type":"first"}"""),
            "both keys, as libcni sends them: plugins written to the 1.1.0 spec text read cni.dev/attachments");

        Assert.That(Runtime.GetCachedAttachments().Select(a => (a.Network, a.ContainerId)),
            Is.EquivalentTo(new[] { ("gcnet", "keep"), ("othernet", "stale") }));
    }

    [Test]
    public async Task GcSweepsOldTemporaryFilesOfTheCache()
    {
        CniNetworkConfig network = Network(Net110);
        await Runtime.AddNetworkListAsync(network, Attachment("keep", "eth0"));
        string leftover = Path.Combine(Runtime.Cache.ResultsDirectory, ".gcnet-gone-eth0.4242.0123456789abcdef0123456789abcdef.tmp");
        File.WriteAllText(leftover, "partial");
        File.SetLastWriteTimeUtc(leftover, DateTime.UtcNow - CniResultCache.TemporaryFileMaxAge - TimeSpan.FromMinutes(1));

        await Runtime.GcNetworkListAsync(network, [new CniGcAttachment("keep", "eth0")]);

        Assert.That(File.Exists(leftover), Is.False);
    }

    [Test]
    public async Task GcWithNothingValidDeletesEveryAttachmentOfTheNetwork()
    {
        CniNetworkConfig network = Network(Net110);
        await Runtime.AddNetworkListAsync(network, Attachment("a"));
        await Runtime.AddNetworkListAsync(network, Attachment("b"));

        await Runtime.GcNetworkListAsync(network, null);

        Assert.That(Runtime.GetCachedAttachments(), Is.Empty);
        Assert.That(Log.Calls.Last().Stdin, Does.Contain("\"cni.dev/valid-attachments\":[]"));
    }

    [Test]
    public async Task DisableGcDoesNothing()
    {
        CniNetworkConfig network = Network("""{"cniVersion":"1.1.0","name":"gcnet","disableGC":true,"plugins":[{"type":"first"}]}""");
        await Runtime.AddNetworkListAsync(network, Attachment("a"));
        int before = Log.Calls.Count;

        await Runtime.GcNetworkListAsync(network, []);

        Assert.That(Log.Calls.Count, Is.EqualTo(before));
        Assert.That(Runtime.GetCachedAttachments(), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task APre110NetworkGetsStaleDeletesButNoGcCommand()
    {
        CniNetworkConfig network = Network("""{"cniVersion":"1.0.0","name":"gcnet","plugins":[{"type":"first"}]}""");
        await Runtime.AddNetworkListAsync(network, Attachment("a"));

        await Runtime.GcNetworkListAsync(network, []);

        Assert.That(Log.Calls.Select(c => c.Command), Is.EqualTo(new[] { CniCommand.Add, CniCommand.Del }));
    }

    [Test]
    public async Task GcGoesOnAfterFailuresAndReportsThemAll()
    {
        CniNetworkConfig network = Network(Net110);
        await Runtime.AddNetworkListAsync(network, Attachment("a"));
        Plugins["first"].Fail = new CniException(CniErrorCode.IoFailure, "disk full");

        var ex = Assert.ThrowsAsync<CniRuntimeException>(() => Runtime.GcNetworkListAsync(network, []))!;

        Assert.That(ex.Errors, Has.Count.EqualTo(2));
        Assert.That(ex.Errors[0].Message, Does.Contain("stale attachment a eth0"));
        Assert.That(ex.Errors[1].Message, Does.Contain("(GC)"));
        Assert.That(Log.Calls.Count(c => c.Command == CniCommand.Gc), Is.EqualTo(2), "the second plugin still got GC");
        Assert.That(Runtime.GetCachedAttachments(), Has.Count.EqualTo(1), "a failed DEL keeps the entry");
    }
}

public class CacheEdgeTests : RuntimeTestBase
{
    [Test]
    public async Task DelGoesOnWithoutPrevResultWhenTheCachedResultCannotBeRead()
    {
        CniNetworkConfig network = Network("""{"cniVersion":"1.0.0","name":"edge","plugins":[{"type":"first"}]}""");
        Dir.Write("cache/results/edge-ctr1-eth0", """{"kind":"cniCacheV1","containerId":"ctr1","config":"","ifName":"eth0","networkName":"edge","result":{"cniVersion":"1.0.0","ips":[{"address":"not-an-ip"}]}}""");

        await Runtime.DelNetworkListAsync(network, Attachment());

        Assert.That(Log.Calls.Single().Config.ContainsKey("prevResult"), Is.False);
        Assert.That(File.Exists(Dir.Combine("cache", "results", "edge-ctr1-eth0")), Is.False);
    }

    [Test]
    public void CheckReportsAnUnreadableCachedResult()
    {
        CniNetworkConfig network = Network("""{"cniVersion":"1.0.0","name":"edge","plugins":[{"type":"first"}]}""");
        Dir.Write("cache/results/edge-ctr1-eth0", """{"kind":"cniCacheV1","containerId":"ctr1","config":"","ifName":"eth0","networkName":"edge","result":{"cniVersion":"1.0.0","ips":[{"address":"not-an-ip"}]}}""");

        var ex = Assert.ThrowsAsync<CniRuntimeException>(() => Runtime.CheckNetworkListAsync(network, Attachment()))!;

        Assert.That(ex.Message, Does.Contain("failed to get cached result").And.Contain("not-an-ip"));
        Assert.That(Log.Calls, Is.Empty);
    }
}
