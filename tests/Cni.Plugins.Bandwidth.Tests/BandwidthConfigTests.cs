using System.Text.Json.Nodes;
using Cni.Plugins.TestSupport;
using Cni.Netlink;

namespace Cni.Plugins.Bandwidth.Tests;

/// <summary>Configuration handling and the TBF numbers, without root: invalid input fails before the plugin opens any namespace.</summary>
[TestFixture]
public class BandwidthConfigTests
{
    private const string NoSuchNs = "/var/run/netns/cni-bandwidth-test-does-not-exist";
    private const double Ticks = 15.625;

    private static Dictionary<string, string> Vars(string command) =>
        PluginRunner.Variables(command, NoSuchNs, "pod1", "eth0", "/nonexistent");

    private static JsonObject Conf(string version, string json, bool prev = true)
    {
        var conf = new JsonObject { ["cniVersion"] = version, ["name"] = "bwnet", ["type"] = "bandwidth" };
        foreach ((string key, JsonNode? value) in JsonNode.Parse(json)!.AsObject())
            conf[key] = value?.DeepClone();
        if (prev)
            conf["prevResult"] = BandwidthHarness.PrevResult(version, "pod-ns", "veth0");
        return conf;
    }

    private static Task<PluginOutput> Run(string command, JsonObject conf) =>
        PluginRunner.RunInProcessAsync(new BandwidthPlugin(ticksPerMicrosecond: Ticks), Vars(command), conf.ToJsonString());

    [TestCase("""{"ingressRate": -1, "ingressBurst": 1000}""", 7u, "ingressRate: must be a non-negative integer", TestName = "NegativeRate")]
    [TestCase("""{"ingressRate": 1000, "ingressBurst": -8}""", 7u, "ingressBurst: must be a non-negative integer", TestName = "NegativeBurst")]
    [TestCase("""{"egressRate": 1.5, "egressBurst": 1000}""", 7u, "egressRate: must be a non-negative integer", TestName = "FractionalRate")]
    [TestCase("""{"egressRate": "1000", "egressBurst": 1000}""", 7u, "egressRate: must be a non-negative integer", TestName = "RateAsString")]
    [TestCase("""{"egressRate": 18446744073709551616, "egressBurst": 1000}""", 7u, "egressRate", TestName = "RateAboveU64")]
    [TestCase("""{"ingressBurst": 1000}""", 7u, "ingressRate: if burst is set, rate must also be set", TestName = "BurstWithoutRate")]
    [TestCase("""{"ingressRate": 1000}""", 7u, "ingressBurst: if rate is set, burst must also be set", TestName = "RateWithoutBurst")]
    [TestCase("""{"egressRate": 1000, "egressBurst": 0}""", 7u, "egressBurst: if rate is set, burst must also be set", TestName = "EgressRateWithZeroBurst")]
    [TestCase("""{"egressRate": 1000, "egressBurst": 34359738360}""", 7u, "egressBurst: burst cannot be more than 4GB", TestName = "BurstOf4GB")]
    [TestCase("""{"runtimeConfig": {"bandwidth": {"ingressRate": -1, "ingressBurst": 8}}}""", 7u, "runtimeConfig.bandwidth.ingressRate", TestName = "RuntimeConfigNegativeRate")]
    [TestCase("""{"runtimeConfig": {"bandwidth": {"egressBurst": 8}}}""", 7u, "runtimeConfig.bandwidth.egressRate: if burst is set", TestName = "RuntimeConfigBurstWithoutRate")]
    [TestCase("""{"ingressRate": 8000, "ingressBurst": 800, "unshapedSubnets": ["10.0.0.0/8"], "shapedSubnets": ["10.1.0.0/16"]}""", 7u, "cannot be both specified", TestName = "BothSubnetKinds")]
    [TestCase("""{"ingressRate": 8000, "ingressBurst": 800, "unshapedSubnets": ["10.0.0.0/33"]}""", 7u, "unshapedSubnets[0]: bad subnet \"10.0.0.0/33\"", TestName = "BadSubnetPrefix")]
    [TestCase("""{"ingressRate": 8000, "ingressBurst": 800, "shapedSubnets": ["fd00::/64", "nonsense"]}""", 7u, "shapedSubnets[1]: bad subnet \"nonsense\"", TestName = "BadSubnetText")]
    [TestCase("""{"ingressRate": 8000, "ingressBurst": 800, "shapedSubnets": [1]}""", 6u, "shapedSubnets", TestName = "SubnetNotAString")]
    [TestCase("""{"ingressRate": 8000, "ingressBurst": 800}""", 7u, "must be called as chained plugin", TestName = "NoPrevResult")]
    public async Task InvalidInputFailsBeforeAnyChange(string json, uint code, string fragment)
    {
        foreach (string version in BandwidthHarness.Versions)
        {
            bool prev = !fragment.Contains("chained", StringComparison.Ordinal);
            PluginOutput add = await Run("ADD", Conf(version, json, prev));
            add.AssertError(code, fragment);
            if (prev && version is not ("0.3.1"))
                (await Run("CHECK", Conf(version, json, prev))).AssertError(code, fragment.Contains("subnet", StringComparison.OrdinalIgnoreCase) || fragment.Contains("both", StringComparison.Ordinal) ? "" : fragment);
        }
    }

    [TestCase("{}", TestName = "NoKeys")]
    [TestCase("""{"ingressRate": 0, "ingressBurst": 0, "egressRate": 0, "egressBurst": 0}""", TestName = "AllZero")]
    [TestCase("""{"runtimeConfig": {"bandwidth": {}}}""", TestName = "EmptyRuntimeConfig")]
    [TestCase("""{"ingressRate": 0, "runtimeConfig": {"bandwidth": {"ingressRate": 8000, "ingressBurst": 800}}}""", TestName = "TopLevelKeyWinsOverRuntimeConfig")]
    public async Task NothingToShapePassesThePreviousResultThrough(string json)
    {
        foreach (string version in BandwidthHarness.Versions)
        {
            JsonObject conf = Conf(version, json);
            PluginOutput add = (await Run("ADD", conf)).AssertSuccess();
            JsonObject result = add.Json;
            Assert.That(result["cniVersion"]!.GetValue<string>(), Is.EqualTo(version));
            Assert.That(result["interfaces"]!.AsArray().Select(i => i!["name"]!.GetValue<string>()), Is.EqualTo(new[] { "veth0", "eth0" }), version);
        }
    }

    [Test]
    public void HtbLayoutChoosesClassesAsTheReference()
    {
        BandwidthEntry Entry(string[] unshaped, string[] shaped) => new(8000, 800, 8000, 800,
            unshaped.Select(Cni.Spec.IPPrefix.Parse).ToArray(), shaped.Select(Cni.Spec.IPPrefix.Parse).ToArray(), "");
        var none = Entry([], []);
        var unshaped = Entry(["10.0.0.0/8"], []);
        var shaped = Entry([], ["10.0.0.0/8", "fd00::/64"]);
        Assert.Multiple(() =>
        {
            Assert.That(BandwidthPlugin.UsesHtb(none), Is.False, "without subnets: TBF");
            Assert.That(BandwidthPlugin.UsesHtb(unshaped), Is.True);
            (var s1, bool x1) = HtbLayout.Filters(unshaped);
            Assert.That((s1.Count, x1, HtbLayout.DefaultClass(s1, x1)), Is.EqualTo((1, true, (ushort)48)), "unshaped: everything else shaped by default, the subnets to 1:1");
            (var s2, bool x2) = HtbLayout.Filters(shaped);
            Assert.That((s2.Count, x2, HtbLayout.DefaultClass(s2, x2)), Is.EqualTo((2, false, (ushort)1)), "shaped: unshaped by default, the subnets to 1:48");
        });
    }

    [Test]
    public void IfbNameAsTheReference()
    {
        // The Go plugin 1.1.1 named the ifb of network "mynet", container "abc" bwpe88f49d94512 (Netlink golden capture).
        Assert.That(BandwidthPlugin.IfbName("mynet", "abc"), Is.EqualTo("bwpe88f49d94512"));
        Assert.That(BandwidthPlugin.IfbName("a-much-longer-network-name", new string('f', 64)), Has.Length.EqualTo(15).And.StartWith("bwp"));
    }

    // Rates and bursts in bits as configured; expected values as the Go reference gave them to the kernel (see
    // tests/Cni.Netlink.Tests/Golden/tc/reference-bandwidth-add.strace for the first two).
    [TestCase(800_000UL, 80_000UL, 100_000UL, 12_500u, 1_562_500u)]
    [TestCase(1_600_000UL, 160_000UL, 200_000UL, 25_000u, 1_562_500u)]
    [TestCase(1_000_000UL, 12_345UL, 125_000UL, 4_668u, 192_875u)] // burst 1543 B: 12344 us, limit 3125 + 1543
    [TestCase(40_000_000_000UL, 32_000_000UL, 5_000_000_000UL, 129_000_000u, 12_500u)] // above 32 bits: 800 us
    [TestCase(7UL, 8UL, 0UL, 1u, 0u)] // a rate under one byte: Go's uint32(+Inf) is 0
    public void TbfNumbersAsTheReference(ulong rateBits, ulong burstBits, ulong rate, uint limit, uint buffer)
    {
        TbfOptions tbf = TbfMath.Tbf(rateBits, burstBits, Ticks);
        Assert.That((tbf.Rate, tbf.Limit, tbf.Buffer), Is.EqualTo((rate, limit, buffer)));
        Assert.That(tbf.Burst, Is.Null, "no TCA_TBF_BURST: the kernel would derive its own buffer from it");
        Assert.That(tbf.RateTableTicksPerMicrosecond, Is.Null, "the reference sends no rate table");
    }

    [Test]
    public void GoFloatToUInt32()
    {
        Assert.That(TbfMath.GoUInt32(double.NaN), Is.EqualTo(0u));
        Assert.That(TbfMath.GoUInt32(double.PositiveInfinity), Is.EqualTo(0u));
        Assert.That(TbfMath.GoUInt32(4294967296.0 + 5), Is.EqualTo(5u), "wraps through int64");
        Assert.That(TbfMath.GoUInt32(12.99), Is.EqualTo(12u));
    }
}
