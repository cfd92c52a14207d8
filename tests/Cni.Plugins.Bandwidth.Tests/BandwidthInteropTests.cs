using System.Text.Json.Nodes;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Bandwidth.Tests;

/// <summary>
/// Our published bandwidth plugin chained by libcni (cnirun) after our bridge and after the reference bridge, with the
/// limits passed as the <c>bandwidth</c> capability (CAP_ARGS), compared with the reference bandwidth plugin in the same
/// chain. Everything runs inside a private namespace that plays the host.
/// </summary>
[TestFixture]
[Category(Category.Interop)]
[NonParallelizable]
public class BandwidthInteropTests
{
    private const string CnirunHowTo = "build it with: bash ../shared/tools/cnirun/build.sh";
    private const string CapArgs = """{"bandwidth": {"ingressRate": 800000, "ingressBurst": 80000, "egressRate": 1600000, "egressBurst": 160000}}""";

    private sealed class Chain : IDisposable
    {
        private readonly BandwidthHarness _h;
        private readonly string _bin, _conf, _cache;
        private readonly Dictionary<string, string> _env;

        public Chain(BandwidthHarness h, string bridgeBinary, string bandwidthBinary, string subnet)
        {
            _h = h;
            Bridge = TestEnvironment.UniqueName("bwbr");
            _bin = Directory.CreateTempSubdirectory("cni-bw-bin-").FullName;
            _conf = Directory.CreateTempSubdirectory("cni-bw-conf-").FullName;
            _cache = Directory.CreateTempSubdirectory("cni-bw-cache-").FullName;
            File.CreateSymbolicLink(Path.Combine(_bin, "bridge"), bridgeBinary);
            File.CreateSymbolicLink(Path.Combine(_bin, "bandwidth"), bandwidthBinary);
            File.CreateSymbolicLink(Path.Combine(_bin, "host-local"), TestEnvironment.RequireReferencePlugin("host-local"));
            var list = new JsonObject
            {
                ["cniVersion"] = "1.0.0",
                ["name"] = h.Network,
                ["plugins"] = new JsonArray(
                    new JsonObject { ["type"] = "bridge", ["bridge"] = Bridge, ["isGateway"] = true, ["ipam"] = h.HostLocal(subnet) },
                    new JsonObject { ["type"] = "bandwidth", ["capabilities"] = new JsonObject { ["bandwidth"] = true } }),
            };
            File.WriteAllText(Path.Combine(_conf, h.Network + ".conflist"), list.ToJsonString());
            _env = new Dictionary<string, string> { ["NETCONFPATH"] = _conf, ["CNI_PATH"] = _bin, ["CNI_CACHE_DIR"] = _cache, ["CAP_ARGS"] = CapArgs };
        }

        public string Bridge { get; }

        public Shell.Result Run(string verb, string ns, string id) =>
            Shell.Run("ip", ["netns", "exec", _h.HostNs, TestEnvironment.RequireTool("cnirun", CnirunHowTo), verb, _h.Network, BandwidthHarness.NsPath(ns), id, "eth0"], allowFailure: true, env: _env);

        /// <summary>The bridge port in the host namespace (the pod's host veth).</summary>
        public string HostVeth() =>
            Shell.Run("ip", "-n", _h.HostNs, "-o", "link", "show", "master", Bridge).Stdout
                .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(':')[1].Trim().Split('@')[0]).Single();

        public void Dispose()
        {
            Directory.Delete(_bin, recursive: true);
            Directory.Delete(_conf, recursive: true);
            Directory.Delete(_cache, recursive: true);
        }
    }

    private static string OurBridge()
    {
        return TestEnvironment.RequirePublishedPlugin("bridge");
    }

    [TestCase("ours", TestName = "LibcniChainAfterOurBridge")]
    [TestCase("reference", TestName = "LibcniChainAfterReferenceBridge")]
    public void LibcniChain(string bridgeKind)
    {
        TestEnvironment.RequireRoot();
        TestEnvironment.RequireTool("cnirun", CnirunHowTo);
        string ours = TestEnvironment.RequirePublishedPlugin("bandwidth");
        string bridge = bridgeKind == "ours" ? OurBridge() : TestEnvironment.RequireReferencePlugin("bridge");
        using var h = new BandwidthHarness();
        using var chain = new Chain(h, bridge, ours, "10.98.0.0/24");
        string ns = h.CreateNamespace();

        Shell.Result add = chain.Run("add", ns, "bwpod1");
        Assert.That(add.ExitCode, Is.EqualTo(0), add.Stderr + add.Stdout);
        string veth = chain.HostVeth();
        string ifb = h.Ifb("bwpod1");
        Assert.Multiple(() =>
        {
            Assert.That(h.Qdiscs(veth), Does.Contain("rate 800Kbit burst 10000b lat 25ms").And.Contain("qdisc ingress ffff:"));
            Assert.That(h.Qdiscs(ifb), Does.Contain("rate 1600Kbit burst 20000b lat 25ms"));
            Assert.That(add.Stdout, Does.Contain(ifb), "the result lists the ifb");
        });
        Shell.Result check = chain.Run("check", ns, "bwpod1");
        Assert.That(check.ExitCode, Is.EqualTo(0), check.Stderr + check.Stdout);

        Assert.That(chain.Run("del", ns, "bwpod1").ExitCode, Is.EqualTo(0));
        Assert.That(h.HostLinkExists(ifb), Is.False, "DEL removed the ifb");
        Assert.That(h.HostLinkExists(veth), Is.False, "the bridge removed the veth, and its qdiscs with it");
        Shell.Result again = chain.Run("del", ns, "bwpod1");
        Assert.That(again.ExitCode, Is.EqualTo(0), "DEL twice through libcni: " + again.Stderr);
    }

    [Test]
    public void SameQdiscsAsTheReferenceInTheSameChain()
    {
        TestEnvironment.RequireRoot();
        TestEnvironment.RequireTool("cnirun", CnirunHowTo);
        string ours = TestEnvironment.RequirePublishedPlugin("bandwidth");
        string refBridge = TestEnvironment.RequireReferencePlugin("bridge");
        string refBandwidth = TestEnvironment.RequireReferencePlugin("bandwidth");
        using var h1 = new BandwidthHarness();
        using var h2 = new BandwidthHarness();
        using var withOurs = new Chain(h1, refBridge, ours, "10.98.1.0/24");
        using var withTheirs = new Chain(h2, refBridge, refBandwidth, "10.98.2.0/24");
        string ns1 = h1.CreateNamespace(), ns2 = h2.CreateNamespace();
        Assert.That(withOurs.Run("add", ns1, "bwpod").ExitCode, Is.EqualTo(0));
        Assert.That(withTheirs.Run("add", ns2, "bwpod").ExitCode, Is.EqualTo(0));
        string v1 = withOurs.HostVeth(), v2 = withTheirs.HostVeth();
        Assert.That(Normalise(h1.Qdiscs(v1), v1), Is.EqualTo(Normalise(h2.Qdiscs(v2), v2)));
        string i1 = h1.Ifb("bwpod"), i2 = h2.Ifb("bwpod");
        Assert.That(Normalise(h1.Qdiscs(i1), i1), Is.EqualTo(Normalise(h2.Qdiscs(i2), i2)));
        Assert.That(withOurs.Run("del", ns1, "bwpod").ExitCode, Is.EqualTo(0));
        Assert.That(withTheirs.Run("del", ns2, "bwpod").ExitCode, Is.EqualTo(0));
    }

    private static string Normalise(string tcOutput, string dev) =>
        tcOutput.Replace(dev, "DEV", StringComparison.Ordinal).Replace(" refcnt 2", "").Replace(" refcnt 3", "");
}
