using System.Text.Json.Nodes;
using Cni.Netlink;
using Cni.Plugins.HostDevice;
using Cni.Plugins.TestSupport;
using Cni.Spec;
using Cni.TestSupport;

namespace Cni.Plugins.HostDevice.Tests;

/// <summary>
/// Configuration handling without root: every bad value is a CNI error naming the key, raised before the plugin looks
/// at any namespace; the sysfs lookups (<c>kernelpath</c>, <c>pciBusID</c>, DPDK drivers) against a fake sysfs tree.
/// </summary>
[TestFixture]
public class HostDeviceConfigTests
{
    private static readonly string[] Versions = ["0.1.0", "0.2.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

    private static JsonObject Config(string version, string json)
    {
        var conf = new JsonObject { ["cniVersion"] = version, ["name"] = "hd", ["type"] = "host-device" };
        foreach ((string key, JsonNode? value) in JsonNode.Parse(json)!.AsObject())
            conf[key] = value?.DeepClone();
        return conf;
    }

    private static Task<PluginOutput> Run(HostDevicePlugin plugin, string command, JsonObject conf, string? netns = "/nonexistent/netns", string ifName = "eth0") =>
        PluginRunner.RunInProcessAsync(plugin, PluginRunner.Variables(command, netns, "ctr1", ifName, "/nonexistent"), conf.ToJsonString());

    [TestCase("{}", 7u, "specify either \"device\", \"hwaddr\", \"kernelpath\" or \"pciBusID\"", TestName = "NoSelector")]
    [TestCase("""{"device": ""}""", 7u, "specify either", TestName = "EmptyDevice")]
    [TestCase("""{"device": "a/b"}""", 7u, "(device)", TestName = "DeviceWithSlash")]
    [TestCase("""{"device": "waytoolongname0123"}""", 7u, "(device)", TestName = "DeviceTooLong")]
    [TestCase("""{"device": 5}""", 6u, "device", TestName = "DeviceNotAString")]
    [TestCase("""{"hwaddr": "02:00:00:00:00"}""", 7u, "(hwaddr)", TestName = "HwaddrTooShort")]
    [TestCase("""{"hwaddr": "zz:00:00:00:00:01"}""", 7u, "(hwaddr)", TestName = "HwaddrNotHex")]
    [TestCase("""{"kernelpath": "sys/devices/pci0000:00"}""", 7u, "must be absolute and begin with /sys/devices/ (kernelpath)", TestName = "KernelPathRelative")]
    [TestCase("""{"kernelpath": "/etc/passwd"}""", 7u, "(kernelpath)", TestName = "KernelPathOutsideSysDevices")]
    [TestCase("""{"kernelpath": "/sys/devices/../../etc"}""", 7u, "(kernelpath)", TestName = "KernelPathEscapes")]
    [TestCase("""{"pciBusID": "../../../etc"}""", 7u, "invalid PCI address \"../../../etc\" (pciBusID)", TestName = "PciBusIdWithSlash")]
    [TestCase("""{"pciBusID": ".."}""", 7u, "(pciBusID)", TestName = "PciBusIdDotDot")]
    [TestCase("""{"runtimeConfig": {"deviceID": "0000:00/x"}}""", 7u, "(runtimeConfig.deviceID)", TestName = "DeviceIdWithSlash")]
    [TestCase("""{"runtimeConfig": {"deviceID": 3}}""", 6u, "deviceID", TestName = "DeviceIdNotAString")]
    [TestCase("""{"runtimeConfig": []}""", 6u, "runtimeConfig", TestName = "RuntimeConfigNotAnObject")]
    [TestCase("""{"device": "eth9", "cniVersion": "0.5.0"}""", 1u, "0.5.0", TestName = "UnsupportedVersion")]
    public async Task InvalidConfigurationIsRefusedBeforeAnyNamespaceIsOpened(string json, uint code, string fragment)
    {
        foreach (string version in Versions)
        {
            JsonObject conf = Config(version, json);
            // CNI_NETNS does not exist: an error about it would mean the configuration was not validated first.
            (await Run(new HostDevicePlugin(), "ADD", conf)).AssertError(code, fragment);
            (await Run(new HostDevicePlugin(), "DEL", conf)).AssertError(code, fragment);
            if (version is not ("0.1.0" or "0.2.0" or "0.3.1") && code != 1)
                (await Run(new HostDevicePlugin(), "CHECK", conf)).AssertError(code, fragment);
        }
    }

    [Test]
    public async Task DelWithoutNetnsOrWithAGoneNamespaceIsSuccess()
    {
        JsonObject conf = Config("1.0.0", """{"device": "eth9"}""");
        (await Run(new HostDevicePlugin(), "DEL", conf, netns: null)).AssertSuccess();
        (await Run(new HostDevicePlugin(), "DEL", conf, netns: "/nonexistent/netns")).AssertSuccess();
    }

    [Test]
    public async Task AddWithAMissingNamespaceNamesCniNetns()
    {
        (await Run(new HostDevicePlugin(), "ADD", Config("1.0.0", """{"device": "eth9"}"""))).AssertError(5, "CNI_NETNS");
    }

    [Test]
    public void DeviceIdOverridesPciBusId()
    {
        HostDevicePlugin.Settings s = Load("""{"pciBusID": "0000:00:01.0", "runtimeConfig": {"deviceID": "0000:00:02.0"}}""");
        Assert.That(s.PciAddress, Is.EqualTo("0000:00:02.0"));
        Assert.That(Load("""{"pciBusID": "0000:00:01.0", "runtimeConfig": {}}""").PciAddress, Is.EqualTo("0000:00:01.0"));
        Assert.That(Load("""{"hwaddr": "02:00:00:00:00:AA"}""").HwAddr!.ToString(), Is.EqualTo("0200000000AA"));
        Assert.That(Load("""{"device": "eth1", "ipam": {"type": "host-local"}}""").UsesIpam, Is.True);
        Assert.That(Load("""{"device": "eth1"}""").UsesIpam, Is.False);
    }

    private static HostDevicePlugin.Settings Load(string json)
    {
        var request = new CniRequest
        {
            Command = CniCommand.Add,
            Config = NetConf.Parse(System.Text.Encoding.UTF8.GetBytes(Config("1.0.0", json).ToJsonString())),
            RawConfig = System.Text.Encoding.UTF8.GetBytes(Config("1.0.0", json).ToJsonString()),
            Environment = new InMemoryCniEnvironment(new Dictionary<string, string>(), ""),
        };
        return HostDevicePlugin.LoadConf(request);
    }

    // ----------------------------------------------------------------------------------------------
    // sysfs lookups against a fake tree; the link they name is lo, which every namespace has.
    // ----------------------------------------------------------------------------------------------

    private sealed class FakeSysfs : IDisposable
    {
        public string Root { get; } = Directory.CreateTempSubdirectory("cni-hd-sysfs-").FullName;

        public string Dir(string relative) => Directory.CreateDirectory(Path.Combine(Root, relative)).FullName;

        public void Driver(string pci, string driver)
        {
            string target = Dir("bus/pci/drivers/" + driver);
            File.CreateSymbolicLink(Path.Combine(Dir("bus/pci/devices/" + pci), "driver"), target);
        }

        public void Dispose() => Directory.Delete(Root, recursive: true);
    }

    private static Link Find(FakeSysfs sysfs, string json)
    {
        var plugin = new HostDevicePlugin(sysfs: sysfs.Root);
        using RtNetlink nl = RtNetlink.Open();
        return plugin.FindHostLink(nl, Load(json));
    }

    private static CniException? FindError(FakeSysfs sysfs, string json)
    {
        try
        {
            Find(sysfs, json);
            return null;
        }
        catch (CniException ex)
        {
            return ex;
        }
    }

    [Test]
    public void KernelPathTakesTheFirstEntryOfItsNetDirectoryThatIsALink()
    {
        using var sysfs = new FakeSysfs();
        string net = sysfs.Dir("devices/pci0000:00/0000:00:19.0/net");
        Directory.CreateDirectory(Path.Combine(net, "lo"));
        Directory.CreateDirectory(Path.Combine(net, "alpha-not-a-link"));
        Assert.That(Find(sysfs, """{"kernelpath": "/sys/devices/pci0000:00/0000:00:19.0"}""").Name, Is.EqualTo("lo"));
        Assert.That(FindError(sysfs, """{"kernelpath": "/sys/devices/pci0000:00/0000:00:1f.0"}""")!.Message, Does.Contain("failed to find network devices at").And.Contain("(kernelpath)"));
    }

    [Test]
    public void PciAddressTakesTheFirstNetEntryAlsoBelowVirtio()
    {
        using var sysfs = new FakeSysfs();
        Directory.CreateDirectory(Path.Combine(sysfs.Dir("bus/pci/devices/0000:00:03.0/net"), "lo"));
        Directory.CreateDirectory(Path.Combine(sysfs.Dir("bus/pci/devices/0000:00:04.0/virtio1/net"), "lo"));
        sysfs.Dir("bus/pci/devices/0000:00:05.0/net");
        Assert.That(Find(sysfs, """{"pciBusID": "0000:00:03.0"}""").Name, Is.EqualTo("lo"));
        Assert.That(Find(sysfs, """{"runtimeConfig": {"deviceID": "0000:00:04.0"}}""").Name, Is.EqualTo("lo"));
        Assert.That(FindError(sysfs, """{"pciBusID": "0000:00:05.0"}""")!.Message, Does.Contain("failed to find device name for pci address 0000:00:05.0 (pciBusID)"));
        Assert.That(FindError(sysfs, """{"runtimeConfig": {"deviceID": "0000:00:06.0"}}""")!.Message, Does.Contain("no net directory under pci device 0000:00:06.0 (runtimeConfig.deviceID)"));
    }

    [Test]
    public void DeviceAndHwaddrThatMatchNothingAreNamed()
    {
        using var sysfs = new FakeSysfs();
        Assert.That(FindError(sysfs, """{"device": "nosuchdev0"}""")!.Message, Does.Contain("no link \"nosuchdev0\" (device)"));
        Assert.That(FindError(sysfs, """{"hwaddr": "02:de:ad:be:ef:01"}""")!.Message, Does.Contain("no link with MAC 02:de:ad:be:ef:01 (hwaddr)"));
        Assert.That(Find(sysfs, """{"device": "lo"}""").Name, Is.EqualTo("lo"));
    }

    [Test]
    public void UserspaceDriversAreRecognised()
    {
        using var sysfs = new FakeSysfs();
        sysfs.Driver("0000:00:07.0", "vfio-pci");
        sysfs.Driver("0000:00:08.0", "igb_uio");
        sysfs.Driver("0000:00:09.0", "ixgbe");
        var plugin = new HostDevicePlugin(sysfs: sysfs.Root);
        Assert.That(plugin.IsUserspaceDriver("0000:00:07.0"), Is.True);
        Assert.That(plugin.IsUserspaceDriver("0000:00:08.0"), Is.True);
        Assert.That(plugin.IsUserspaceDriver("0000:00:09.0"), Is.False);
        Assert.That(() => plugin.IsUserspaceDriver("0000:00:0a.0"), Throws.TypeOf<CniException>().With.Message.Contains("0000:00:0a.0"));
    }

    [Test]
    public async Task DpdkDeviceGivesAnEmptyResultAndDelLeavesItAlone()
    {
        using var sysfs = new FakeSysfs();
        sysfs.Driver("0000:00:07.0", "vfio-pci");
        JsonObject conf = Config("1.0.0", """{"pciBusID": "0000:00:07.0"}""");
        string self = "/proc/self/ns/net";
        JsonObject result = (await Run(new HostDevicePlugin(sysfs: sysfs.Root), "ADD", conf, netns: self)).AssertSuccess().Json;
        Assert.That(result["interfaces"], Is.Null);
        Assert.That(result["ips"], Is.Null);
        (await Run(new HostDevicePlugin(sysfs: sysfs.Root), "DEL", conf, netns: self)).AssertSuccess();
        // A PCI device that is not there at all: ADD names it.
        JsonObject gone = Config("1.0.0", """{"pciBusID": "0000:00:0b.0"}""");
        (await Run(new HostDevicePlugin(sysfs: sysfs.Root), "ADD", gone, netns: self)).AssertError(999, "0000:00:0b.0");
    }
}
