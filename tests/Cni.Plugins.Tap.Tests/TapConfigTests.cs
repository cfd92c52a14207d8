using System.Text.Json.Nodes;
using Cni.Netlink;
using Cni.Plugins.Tap;
using Cni.Plugins.TestSupport;

namespace Cni.Plugins.Tap.Tests;

/// <summary>Configuration handling without root: every bad value is a CNI error naming the key, raised before the
/// plugin looks at any namespace.</summary>
[TestFixture]
public class TapConfigTests
{
    private static readonly string[] Versions = ["0.1.0", "0.2.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

    internal static JsonObject Config(string version, string json)
    {
        var conf = new JsonObject { ["cniVersion"] = version, ["name"] = "tapnet", ["type"] = "tap" };
        foreach ((string key, JsonNode? value) in JsonNode.Parse(json)!.AsObject())
            conf[key] = value?.DeepClone();
        return conf;
    }

    private static Task<PluginOutput> Run(TapPlugin plugin, string command, JsonObject conf, string? args = null) =>
        PluginRunner.RunInProcessAsync(plugin, PluginRunner.Variables(command, "/nonexistent/netns", "ctr1", "tap0", "/nonexistent", args), conf.ToJsonString());

    [TestCase("""{"mtu": -1}""", null, 7u, "invalid MTU -1, must be 0 (the default) or [68, 65535] (mtu)", TestName = "MtuNegative")]
    [TestCase("""{"mtu": 67}""", null, 7u, "(mtu)", TestName = "MtuBelowMinimum")]
    [TestCase("""{"mtu": 65536}""", null, 7u, "(mtu)", TestName = "MtuAboveMaximum")]
    [TestCase("""{"mtu": "1500"}""", null, 6u, "mtu", TestName = "MtuNotANumber")]
    [TestCase("""{"mac": "02:00:00:00:00"}""", null, 7u, "(mac)", TestName = "MacTooShort")]
    [TestCase("""{"mac": "01:00:5e:00:00:01"}""", null, 7u, "multicast", TestName = "MacMulticast")]
    [TestCase("{}", "IgnoreUnknown=1;MAC=nonsense", 7u, "CNI_ARGS MAC", TestName = "CniArgsMacInvalid")]
    [TestCase("""{"runtimeConfig": {"mac": "1:2:3"}}""", null, 7u, "runtimeConfig.mac", TestName = "RuntimeConfigMacInvalid")]
    [TestCase("{}", "FOO=bar", 4u, "FOO", TestName = "UnknownCniArgsKey")]
    [TestCase("""{"owner": -1}""", null, 7u, "(owner)", TestName = "OwnerNegative")]
    [TestCase("""{"owner": 4294967296}""", null, 7u, "(owner)", TestName = "OwnerAboveU32")]
    [TestCase("""{"owner": "root"}""", null, 6u, "owner", TestName = "OwnerNotANumber")]
    [TestCase("""{"group": -5}""", null, 7u, "(group)", TestName = "GroupNegative")]
    [TestCase("""{"group": 1.5}""", null, 6u, "group", TestName = "GroupNotAnInteger")]
    [TestCase("""{"multiQueue": "yes"}""", null, 6u, "multiQueue", TestName = "MultiQueueNotABoolean")]
    [TestCase("""{"bridge": "br/0"}""", null, 7u, "invalid bridge name \"br/0\" (bridge)", TestName = "BridgeNameInvalid")]
    [TestCase("""{"bridge": "averyveryverylongbridge"}""", null, 7u, "(bridge)", TestName = "BridgeNameTooLong")]
    [TestCase("""{"cniVersion": "0.5.0"}""", null, 1u, "0.5.0", TestName = "UnsupportedVersion")]
    public async Task InvalidConfigurationIsRefusedBeforeAnyNamespaceIsOpened(string json, string? args, uint code, string fragment)
    {
        foreach (string version in Versions)
        {
            JsonObject conf = Config(version, json);
            (await Run(new TapPlugin(), "ADD", conf, args)).AssertError(code, fragment);
            (await Run(new TapPlugin(), "DEL", conf, args)).AssertError(code, fragment);
        }
    }

    [Test]
    public async Task SelinuxContextIsRefusedWhereSelinuxIsEnabled()
    {
        string fs = Directory.CreateTempSubdirectory("cni-tap-selinux-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(fs, "enforce"), "1");
            JsonObject conf = Config("1.0.0", """{"selinuxContext": "system_u:system_r:container_t:s0"}""");
            (await Run(new TapPlugin(selinuxFs: fs), "ADD", conf)).AssertError(2, "(selinuxContext)");
            Assert.That(new TapPlugin(selinuxFs: Path.Combine(fs, "absent")).SelinuxEnabled, Is.False);
        }
        finally
        {
            Directory.Delete(fs, recursive: true);
        }
    }

    [Test]
    public async Task DelWithoutNetnsOrWithAGoneNamespaceIsSuccess()
    {
        JsonObject conf = Config("1.0.0", "{}");
        (await PluginRunner.RunInProcessAsync(new TapPlugin(), PluginRunner.Variables("DEL", null, "c", "tap0", "/nonexistent"), conf.ToJsonString())).AssertSuccess();
        (await Run(new TapPlugin(), "DEL", conf)).AssertSuccess();
    }

    [Test]
    public void TunSetIffFlagsAreThoseOfIpTuntapAddModeTap()
    {
        // include/uapi/linux/if_tun.h: IFF_TAP 0x0002, IFF_NO_PI 0x1000, IFF_MULTI_QUEUE 0x0100, IFF_VNET_HDR 0x4000.
        Assert.That(TunTap.Flags(null), Is.EqualTo(0x1002));
        Assert.That(TunTap.Flags(new TapOptions { MultiQueue = true }), Is.EqualTo(0x1102));
        Assert.That(TunTap.Flags(new TapOptions { VnetHeader = true }), Is.EqualTo(0x5002));
        // _IOW('T', n, int): dir 1 << 30 | size 4 << 16 | 'T' << 8 | n.
        Assert.That(TunTap.TunSetIff, Is.EqualTo((1u << 30) | (4u << 16) | ('T' << 8) | 202u));
        Assert.That(TunTap.TunSetPersist, Is.EqualTo((1u << 30) | (4u << 16) | ('T' << 8) | 203u));
        Assert.That(TunTap.TunSetOwner, Is.EqualTo((1u << 30) | (4u << 16) | ('T' << 8) | 204u));
        Assert.That(TunTap.TunSetGroup, Is.EqualTo((1u << 30) | (4u << 16) | ('T' << 8) | 206u));
    }
}
