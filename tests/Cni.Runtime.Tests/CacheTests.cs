using System.Text;
using System.Text.Json.Nodes;
using Cni.Spec;

namespace Cni.Runtime.Tests;

public class CacheTests
{
    private TestDirectory _dir = null!;
    private CniResultCache _cache = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TestDirectory();
        _cache = new CniResultCache(_dir.Path);
    }

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private static CniResult SampleResult() => new()
    {
        CniVersion = "1.0.0",
        Interfaces = [new CniInterface { Name = "cni0", Mac = "aa:bb:cc:dd:ee:ff" }, new CniInterface { Name = "eth0", Sandbox = "/var/run/netns/x" }],
        Ips = [new CniIPConfig { Address = IPPrefix.Parse("10.22.0.5/16"), Gateway = System.Net.IPAddress.Parse("10.22.0.1"), Interface = 1 }],
        Routes = [new CniRoute { Dst = IPPrefix.Parse("0.0.0.0/0") }],
    };

    [Test]
    public void AnEntryIsWrittenWithLibcnisByteLayout()
    {
        byte[] config = Encoding.UTF8.GetBytes("{\"name\":\"n\"}\n");
        var rt = new CniRuntimeConf
        {
            ContainerId = "c1",
            NetNs = "/var/run/netns/x",
            IfName = "eth0",
            Args = [new("K", "V"), new("IgnoreUnknown", "1")],
            CapabilityArgs = JsonNode.Parse("""{"portMappings":[{"hostPort":80}],"bandwidth":{"ingressRate":1000000}}""")!.AsObject(),
        };

        string json = Encoding.UTF8.GetString(CniResultCache.Serialize("n", rt, config, SampleResult()));

        // Field order of libcni's cachedInfo struct; maps (capabilityArgs, result) with sorted keys, as Go marshals them.
        Assert.That(json, Is.EqualTo(
            "{\"kind\":\"cniCacheV1\",\"containerId\":\"c1\",\"config\":\"eyJuYW1lIjoibiJ9Cg==\",\"ifName\":\"eth0\",\"networkName\":\"n\"," +
            "\"netns\":\"/var/run/netns/x\",\"cniArgs\":[[\"K\",\"V\"],[\"IgnoreUnknown\",\"1\"]]," +
            "\"capabilityArgs\":{\"bandwidth\":{\"ingressRate\":1000000},\"portMappings\":[{\"hostPort\":80}]}," +
            "\"result\":{\"cniVersion\":\"1.0.0\",\"dns\":{},\"interfaces\":[{\"mac\":\"aa:bb:cc:dd:ee:ff\",\"name\":\"cni0\"},{\"name\":\"eth0\",\"sandbox\":\"/var/run/netns/x\"}]," +
            "\"ips\":[{\"address\":\"10.22.0.5/16\",\"gateway\":\"10.22.0.1\",\"interface\":1}],\"routes\":[{\"dst\":\"0.0.0.0/0\"}]}}"));
    }

    [Test]
    public void OptionalFieldsAreOmittedWhenEmpty()
    {
        string json = Encoding.UTF8.GetString(CniResultCache.Serialize("n", new CniRuntimeConf { ContainerId = "c", IfName = "eth0" }, [], null));
        Assert.That(json, Is.EqualTo("{\"kind\":\"cniCacheV1\",\"containerId\":\"c\",\"config\":\"\",\"ifName\":\"eth0\",\"networkName\":\"n\"}"));
    }

    [Test]
    public void WriteReadAndListRoundTrip()
    {
        var rt = new CniRuntimeConf { ContainerId = "c1", NetNs = "/ns", IfName = "eth0", Args = [new("A", "b")], CapabilityArgs = new JsonObject { ["mac"] = "02:00:00:00:00:09" } };
        _cache.Write("net", rt, Encoding.UTF8.GetBytes("CONF"), SampleResult());
        _cache.Write("net", new CniRuntimeConf { ContainerId = "c2", NetNs = "/ns2", IfName = "eth1" }, Encoding.UTF8.GetBytes("CONF"), SampleResult());

        string path = Path.Combine(_dir.Path, "results", "net-c1-eth0");
        Assert.That(File.Exists(path));
        Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));

        CniResult? read = _cache.ReadResult("net", "c1", "eth0");
        Assert.That(read, Is.Not.Null);
        Assert.That(CniResultSerializer.Serialize(read!, "1.0.0"), Is.EqualTo(CniResultSerializer.Serialize(SampleResult(), "1.0.0")));

        CniCachedAttachment entry = _cache.Read("net", "c1", "eth0")!;
        Assert.That((entry.ContainerId, entry.Network, entry.IfName, entry.NetNs), Is.EqualTo(("c1", "net", "eth0", "/ns")));
        Assert.That(Encoding.UTF8.GetString(entry.Config), Is.EqualTo("CONF"));
        Assert.That(entry.Args.Single(), Is.EqualTo(new KeyValuePair<string, string>("A", "b")));
        Assert.That((string)entry.CapabilityArgs!["mac"]!, Is.EqualTo("02:00:00:00:00:09"));

        Assert.That(_cache.ListAttachments().Select(a => a.ContainerId), Is.EqualTo(new[] { "c1", "c2" }));
        Assert.That(_cache.ListAttachments("c2").Single().IfName, Is.EqualTo("eth1"));

        Assert.That(_cache.Delete("net", "c1", "eth0"), Is.True);
        Assert.That(_cache.Delete("net", "c1", "eth0"), Is.False);
        Assert.That(_cache.ReadResult("net", "c1", "eth0"), Is.Null);
    }

    [Test]
    public void TheCachedResultIsConvertedToTheRequestedVersion()
    {
        _cache.Write("net", new CniRuntimeConf { ContainerId = "c1", IfName = "eth0" }, [], SampleResult());
        CniResult? old = _cache.ReadResult("net", "c1", "eth0", "0.2.0");
        Assert.That(old!.CniVersion, Is.EqualTo("0.2.0"));
        Assert.That(old.Interfaces, Is.Empty, "0.2.0 results have no interfaces");
        Assert.That(old.Ips.Single().Address.ToString(), Is.EqualTo("10.22.0.5/16"));
    }

    [Test]
    public void ALegacyFileHoldingTheBareResultIsRead()
    {
        _dir.Write("results/net-c1-eth0", """{"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.0.0.2/24"}],"dns":{}}""");
        CniResult? result = _cache.ReadResult("net", "c1", "eth0");
        Assert.That(result!.Ips.Single().Address.ToString(), Is.EqualTo("10.0.0.2/24"));
        Assert.That(_cache.ListAttachments(), Is.Empty, "legacy files are not attachments");
    }

    [Test]
    public void ForeignAndBrokenFilesAreSkippedWhenListing()
    {
        _dir.Write("results/junk", "not json");
        _dir.Write("results/other", """{"kind":"somethingElse"}""");
        _dir.Write("results/noif", """{"kind":"cniCacheV1","containerId":"c","networkName":"n","ifName":""}""");
        Assert.That(_cache.ListAttachments(), Is.Empty);
    }

    [Test]
    public void ContainerFilterMatchesTheFileNameLikeLibcni()
    {
        _cache.Write("net", new CniRuntimeConf { ContainerId = "abc", IfName = "eth0" }, [], SampleResult());
        _cache.Write("net", new CniRuntimeConf { ContainerId = "abcd", IfName = "eth0" }, [], SampleResult());
        Assert.That(_cache.ListAttachments("abc").Select(a => a.ContainerId), Is.EqualTo(new[] { "abc" }));
    }

    [TestCase("../x", "c", "eth0")]
    [TestCase("n", "../../etc", "eth0")]
    [TestCase("n", "c", "a/b")]
    [TestCase("n", "", "eth0")]
    public void NamesThatCouldLeaveTheCacheAreRefused(string network, string id, string ifName)
    {
        Assert.Throws<CniException>(() => _cache.GetPath(network, id, ifName));
    }

    [Test]
    public void Old_temporary_files_of_crashed_writers_are_swept_and_nothing_else()
    {
        _cache.Write("net", new CniRuntimeConf { ContainerId = "c1", NetNs = "/var/run/netns/x", IfName = "eth0" }, "{}"u8, SampleResult());
        string results = _cache.ResultsDirectory;
        string Make(string name, TimeSpan age)
        {
            string path = Path.Combine(results, name);
            File.WriteAllText(path, "partial");
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow - age);
            return path;
        }
        string oldTemp = Make(".net-c2-eth0.4242.0123456789abcdef0123456789abcdef.tmp", TimeSpan.FromHours(1));
        string freshTemp = Make(".net-c3-eth0.4242.fedcba9876543210fedcba9876543210.tmp", TimeSpan.Zero);
        string foreign = Make(".someone-elses.tmp", TimeSpan.FromHours(1));
        string oldEntry = Path.Combine(results, "net-c1-eth0");
        File.SetLastWriteTimeUtc(oldEntry, DateTime.UtcNow - TimeSpan.FromHours(1));

        int swept = _cache.SweepTemporaryFiles(TimeSpan.FromMinutes(10));

        Assert.That(swept, Is.EqualTo(1));
        Assert.That(File.Exists(oldTemp), Is.False, "an old temporary file of ours is removed");
        Assert.That(File.Exists(freshTemp), Is.True, "a write in progress is left alone");
        Assert.That(File.Exists(foreign), Is.True, "a file not named as ours is left alone");
        Assert.That(File.Exists(oldEntry), Is.True, "entries are never swept");
    }
}
