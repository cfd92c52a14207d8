using System.Text.Json.Nodes;
using Cni.TestSupport;

namespace Cni.Plugins.Ipam.HostLocal.Tests;

/// <summary>
/// The plugin as a runtime drives it, across spec versions: in process through the host with a fake environment,
/// and the published NativeAOT binary (skipped until it is published).
/// </summary>
[TestFixture("in-process")]
[TestFixture("published")]
public class PluginTests(string mode)
{
    private static readonly string[] AllVersions = ["0.3.1", "0.4.0", "1.0.0", "1.1.0"];
    private static readonly string[] CheckVersions = ["0.4.0", "1.0.0", "1.1.0"];

    private Harness _plugin = null!;
    private TempDir? _dir;

    [SetUp]
    public void SetUp()
    {
        _plugin = mode == "published" ? Harness.Binary(TestEnvironment.RequirePublishedPlugin("host-local")) : Harness.InProcess;
        _dir = new TempDir();
    }

    [TearDown]
    public void TearDown() => _dir?.Dispose();

    private string NetDir => Path.Combine(_dir!.Path, "testnet");

    private string File(string name) => Path.Combine(NetDir, name);

    [TestCaseSource(nameof(AllVersions))]
    public async Task AddAllocatesOneAddressPerRangeSet(string version)
    {
        PluginRun run = await _plugin.RunAsync("ADD", Configs.Dual(_dir!.Path, version));
        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        JsonNode json = run.Json!;
        Assert.Multiple(() =>
        {
            Assert.That(json["cniVersion"]!.GetValue<string>(), Is.EqualTo(version));
            Assert.That(run.Addresses, Is.EqualTo(new[] { "10.10.0.2/29", "fd10::2/125" }));
            Assert.That(json["ips"]![0]!["gateway"]!.GetValue<string>(), Is.EqualTo("10.10.0.1"));
            Assert.That(json["ips"]![1]!["gateway"]!.GetValue<string>(), Is.EqualTo("fd10::1"));
            Assert.That(json["ips"]![0]!["version"]?.GetValue<string>(), Is.EqualTo(version is "0.3.1" or "0.4.0" ? "4" : null));
            Assert.That(json["routes"]![0]!["dst"]!.GetValue<string>(), Is.EqualTo("0.0.0.0/0"));
            Assert.That(System.IO.File.ReadAllBytes(File("10.10.0.2")), Is.EqualTo("ctr1\r\neth0"u8.ToArray()));
            Assert.That(System.IO.File.ReadAllBytes(File("fd10::2")), Is.EqualTo("ctr1\r\neth0"u8.ToArray()));
            Assert.That(System.IO.File.ReadAllText(File("last_reserved_ip.0")), Is.EqualTo("10.10.0.2"));
            Assert.That(System.IO.File.ReadAllText(File("last_reserved_ip.1")), Is.EqualTo("fd10::2"));
        });

        PluginRun second = await _plugin.RunAsync("ADD", Configs.Dual(_dir!.Path, version), containerId: "ctr2");
        Assert.That(second.Addresses, Is.EqualTo(new[] { "10.10.0.3/29", "fd10::3/125" }), second.ToString());
    }

    [TestCaseSource(nameof(AllVersions))]
    public async Task DuplicateAddFailsAndChangesNothing(string version)
    {
        Assert.That((await _plugin.RunAsync("ADD", Configs.Dual(_dir!.Path, version))).ExitCode, Is.Zero);
        var before = _dir!.Files();
        PluginRun again = await _plugin.RunAsync("ADD", Configs.Dual(_dir!.Path, version));
        Assert.Multiple(() =>
        {
            Assert.That(again.ExitCode, Is.EqualTo(1));
            Assert.That(again.ErrorCode, Is.EqualTo(102), again.ToString());
            Assert.That(again.Json!["msg"]!.GetValue<string>(), Does.Contain("duplicate allocation"));
            Assert.That(_dir!.Files(), Is.EqualTo(before));
        });
        PluginRun otherInterface = await _plugin.RunAsync("ADD", Configs.Dual(_dir!.Path, version), ifName: "net1");
        Assert.That(otherInterface.Addresses, Is.EqualTo(new[] { "10.10.0.3/29", "fd10::3/125" }), "another interface is another attachment");
    }

    [TestCaseSource(nameof(AllVersions))]
    public async Task DelReleasesAndIsIdempotent(string version)
    {
        string config = Configs.Dual(_dir!.Path, version);
        await _plugin.RunAsync("ADD", config);
        await _plugin.RunAsync("ADD", config, containerId: "ctr2");
        PluginRun del = await _plugin.RunAsync("DEL", config);
        Assert.Multiple(() =>
        {
            Assert.That(del.ExitCode, Is.Zero, del.ToString());
            Assert.That(del.Stdout, Is.Empty);
            Assert.That(System.IO.File.Exists(File("10.10.0.2")), Is.False);
            Assert.That(System.IO.File.Exists(File("fd10::2")), Is.False);
            Assert.That(System.IO.File.Exists(File("10.10.0.3")), Is.True, "another container's reservation stays");
        });
        Assert.That((await _plugin.RunAsync("DEL", config)).ExitCode, Is.Zero, "DEL of nothing succeeds");
        Assert.That((await _plugin.RunAsync("DEL", Configs.Dual(_dir!.Path, version, name: "never"))).ExitCode, Is.Zero);
        Assert.That(Directory.Exists(Path.Combine(_dir!.Path, "never")), Is.False, "DEL creates nothing");
    }

    [Test]
    public async Task DelReleasesLegacyIdOnlyReservations()
    {
        Directory.CreateDirectory(NetDir);
        System.IO.File.WriteAllText(File("10.10.0.4"), "oldctr\n");
        PluginRun del = await _plugin.RunAsync("DEL", Configs.Dual(_dir!.Path), containerId: "oldctr");
        Assert.That(del.ExitCode, Is.Zero, del.ToString());
        Assert.That(System.IO.File.Exists(File("10.10.0.4")), Is.False);
    }

    [TestCaseSource(nameof(CheckVersions))]
    public async Task CheckConfirmsTheReservation(string version)
    {
        PluginRun add = await _plugin.RunAsync("ADD", Configs.Dual(_dir!.Path, version));
        string withPrev = Configs.Dual(_dir!.Path, version, extra: $",\"prevResult\":{add.Stdout}");
        Assert.That((await _plugin.RunAsync("CHECK", withPrev)).ExitCode, Is.Zero);

        PluginRun stranger = await _plugin.RunAsync("CHECK", withPrev, containerId: "stranger");
        Assert.That(stranger.Json!["msg"]!.GetValue<string>(), Does.Contain("Failed to find address added by container stranger"), stranger.ToString());

        string wrongPrev = withPrev.Replace("10.10.0.2/29", "10.10.0.5/29");
        PluginRun drifted = await _plugin.RunAsync("CHECK", wrongPrev);
        Assert.That(drifted.Json!["msg"]!.GetValue<string>(), Does.Contain("10.10.0.5"), drifted.ToString());
    }

    [Test]
    public async Task ASmallNetworkIsServedWithoutAnIndex()
    {
        string config = Configs.Single(_dir!.Path);
        Assert.That((await _plugin.RunAsync("ADD", config, "a")).Addresses, Is.EqualTo(new[] { "10.20.0.2/24" }));
        Assert.That((await _plugin.RunAsync("ADD", config, "b")).Addresses, Is.EqualTo(new[] { "10.20.0.3/24" }));
        PluginRun again = await _plugin.RunAsync("ADD", config, "a");
        Assert.That(again.ErrorCode, Is.EqualTo(102u), again.ToString()); // answered from the files alone
        Assert.That((await _plugin.RunAsync("DEL", config, "a")).ExitCode, Is.Zero);
        Assert.That((await _plugin.RunAsync("ADD", config, "c")).Addresses, Is.EqualTo(new[] { "10.20.0.4/24" }));
        Assert.Multiple(() =>
        {
            Assert.That(Directory.Exists(Path.Combine(_dir.Path, ".host-local-cache")), Is.False);
            Assert.That(_dir.Files().Keys, Is.EquivalentTo(new[] { "testnet/10.20.0.3", "testnet/10.20.0.4", "testnet/last_reserved_ip.0", "testnet/lock" }));
            Assert.That(System.IO.File.ReadAllText(File("10.20.0.3")), Is.EqualTo("b\r\neth0"));
            Assert.That(System.IO.File.ReadAllText(File("last_reserved_ip.0")), Is.EqualTo("10.20.0.4"));
        });
    }

    [Test]
    public async Task CheckNeedsVersion040()
    {
        PluginRun run = await _plugin.RunAsync("CHECK", Configs.Dual(_dir!.Path, "0.3.1"));
        Assert.That(run.ErrorCode, Is.EqualTo(1), run.ToString());
    }

    [Test]
    public async Task GcReleasesEveryAttachmentTheRuntimeNoLongerLists()
    {
        string config = Configs.Dual(_dir!.Path, "1.1.0");
        await _plugin.RunAsync("ADD", config, containerId: "keep");
        await _plugin.RunAsync("ADD", config, containerId: "gone");
        await _plugin.RunAsync("ADD", config, containerId: "keep", ifName: "net1");
        Directory.CreateDirectory(NetDir);
        System.IO.File.WriteAllText(File("10.10.0.6"), "legacy-keep");
        string gc = Configs.Dual(_dir!.Path, "1.1.0",
            extra: ""","cni.dev/valid-attachments":[{"containerID":"keep","ifname":"eth0"},{"containerID":"legacy-keep","ifname":"eth0"}]""");
        PluginRun run = await _plugin.RunAsync("GC", gc);
        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.That(Directory.GetFiles(NetDir).Select(Path.GetFileName).Order(StringComparer.Ordinal),
            Is.EqualTo(new[] { "10.10.0.2", "10.10.0.6", "fd10::2", "last_reserved_ip.0", "last_reserved_ip.1", "lock" }));
    }

    [Test]
    public async Task GcWithoutTheAttachmentListReleasesNothing()
    {
        string config = Configs.Dual(_dir!.Path, "1.1.0");
        await _plugin.RunAsync("ADD", config);
        var before = _dir.Files();
        PluginRun run = await _plugin.RunAsync("GC", config);
        Assert.Multiple(() =>
        {
            Assert.That(run.ErrorCode, Is.EqualTo(7), run.ToString());
            Assert.That(_dir.Files(), Is.EqualTo(before));
        });
        PluginRun empty = await _plugin.RunAsync("GC", Configs.Dual(_dir.Path, "1.1.0", extra: ""","cni.dev/valid-attachments":[]"""));
        Assert.That(empty.ExitCode, Is.Zero, empty.ToString());
        Assert.That(Directory.GetFiles(NetDir).Select(Path.GetFileName).Order(StringComparer.Ordinal),
            Is.EqualTo(new[] { "last_reserved_ip.0", "last_reserved_ip.1", "lock" }), "an empty list releases everything");
    }

    [Test]
    public async Task GcNeedsVersion110()
    {
        PluginRun run = await _plugin.RunAsync("GC", Configs.Dual(_dir!.Path, "1.0.0"));
        Assert.That(run.ErrorCode, Is.EqualTo(1), run.ToString());
    }

    [Test]
    public async Task StatusReportsWhetherTheDataDirectoryIsUsable()
    {
        Assert.That((await _plugin.RunAsync("STATUS", Configs.Dual(_dir!.Path, "1.1.0"))).ExitCode, Is.Zero);
        string blocker = Path.Combine(_dir!.Path, "not-a-dir");
        System.IO.File.WriteAllText(blocker, "");
        PluginRun bad = await _plugin.RunAsync("STATUS", Configs.Dual(blocker, "1.1.0"));
        Assert.That(bad.ErrorCode, Is.EqualTo(50), bad.ToString());
        Assert.That(Directory.Exists(NetDir), Is.False, "STATUS writes nothing");
    }

    [Test]
    public async Task RequestedAddressesAreHonouredPerSet()
    {
        PluginRun run = await _plugin.RunAsync("ADD", Configs.Dual(_dir!.Path), args: "IgnoreUnknown=1;K8S_POD_NAME=x;IP=10.10.0.5");
        Assert.That(run.Addresses, Is.EqualTo(new[] { "10.10.0.5/29", "fd10::2/125" }), run.ToString());
        string viaArgs = Configs.Dual(_dir!.Path, extra: ""","args":{"cni":{"ips":["fd10::6"]}},"runtimeConfig":{"ips":["10.10.0.6/29"]}""");
        PluginRun second = await _plugin.RunAsync("ADD", viaArgs, containerId: "ctr2");
        Assert.That(second.Addresses, Is.EqualTo(new[] { "10.10.0.6/29", "fd10::6/125" }), second.ToString());
    }

    [Test]
    public async Task ATakenRequestedAddressFailsAndNothingStaysReserved()
    {
        await _plugin.RunAsync("ADD", Configs.Dual(_dir!.Path), args: "IP=fd10::4");
        var before = _dir.Files();
        PluginRun run = await _plugin.RunAsync("ADD", Configs.Dual(_dir.Path), containerId: "ctr2", args: "IP=fd10::4");
        var after = _dir.Files();
        Assert.Multiple(() =>
        {
            Assert.That(run.ErrorCode, Is.EqualTo(101), run.ToString());
            Assert.That(after.Keys, Is.EqualTo(before.Keys), "the IPv4 address of range set 0 was not kept");
            Assert.That(after.Where(f => !f.Key.Contains("last_reserved_ip.0")), Is.EqualTo(before.Where(f => !f.Key.Contains("last_reserved_ip.0"))));
            // As in the reference, range set 0 had picked 10.10.0.3 before set 1 failed: its round-robin moved on.
            Assert.That(System.IO.File.ReadAllText(File("last_reserved_ip.0")), Is.EqualTo("10.10.0.3"));
        });
    }

    [Test]
    public async Task AFullRangeFailsWithoutReservingAnything()
    {
        string config = Configs.Single(_dir!.Path, "10.30.0.0/29");
        for (int i = 0; i < 5; i++)
            Assert.That((await _plugin.RunAsync("ADD", config, containerId: $"c{i}")).ExitCode, Is.Zero);
        var before = _dir!.Files();
        PluginRun full = await _plugin.RunAsync("ADD", config, containerId: "c5");
        Assert.Multiple(() =>
        {
            Assert.That(full.ErrorCode, Is.EqualTo(100), full.ToString());
            Assert.That(full.Json!["msg"]!.GetValue<string>(), Does.Contain("no IP addresses available in range set: 10.30.0.1-10.30.0.6"));
            Assert.That(_dir!.Files(), Is.EqualTo(before));
        });
        await _plugin.RunAsync("DEL", config, containerId: "c2");
        PluginRun again = await _plugin.RunAsync("ADD", config, containerId: "c5");
        Assert.That(again.Addresses, Is.EqualTo(new[] { "10.30.0.4/29" }));
    }

    [Test]
    public async Task ResolvConfBecomesDnsAndIpRangesArePrepended()
    {
        string resolv = Path.Combine(_dir!.Path, "resolv.conf");
        System.IO.File.WriteAllText(resolv, "# comment\nnameserver 10.0.0.53\nnameserver fd00::53\ndomain example.org\nsearch a.example b.example\noptions ndots:2 rotate\n");
        string config = $$$"""
            {"cniVersion":"1.0.0","name":"testnet","type":"bridge","runtimeConfig":{"ipRanges":[[{"subnet":"10.40.0.0/24","rangeStart":"10.40.0.100"}]]},
             "ipam":{"type":"host-local","dataDir":"{{{_dir!.Path}}}","resolvConf":"{{{resolv}}}","ranges":[[{"subnet":"fd40::/64"}]]}}
            """;
        PluginRun run = await _plugin.RunAsync("ADD", config);
        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        JsonNode dns = run.Json!["dns"]!;
        Assert.Multiple(() =>
        {
            Assert.That(run.Addresses, Is.EqualTo(new[] { "10.40.0.100/24", "fd40::2/64" }));
            Assert.That(dns["nameservers"]!.AsArray().Select(n => n!.GetValue<string>()), Is.EqualTo(new[] { "10.0.0.53", "fd00::53" }));
            Assert.That(dns["domain"]!.GetValue<string>(), Is.EqualTo("example.org"));
            Assert.That(dns["search"]!.AsArray().Select(n => n!.GetValue<string>()), Is.EqualTo(new[] { "a.example", "b.example" }));
            Assert.That(dns["options"]!.AsArray().Select(n => n!.GetValue<string>()), Is.EqualTo(new[] { "ndots:2", "rotate" }));
            Assert.That(System.IO.File.Exists(File("last_reserved_ip.0")), Is.True);
            Assert.That(System.IO.File.ReadAllText(File("last_reserved_ip.1")), Is.EqualTo("fd40::2"));
        });
    }

    private static IEnumerable<TestCaseData> BadInputs()
    {
        const string Ok = "\"ranges\":[[{\"subnet\":\"10.50.0.0/24\"}]]";
        yield return new TestCaseData("{not json", "ctr1", "eth0", null).SetName("{m}(garbage)");
        yield return new TestCaseData("""{"cniVersion":"1.0.0","name":"testnet","type":"x"}""", "ctr1", "eth0", null).SetName("{m}(no ipam)");
        foreach ((string label, string ranges) in new[]
        {
            ("/31", "\"ranges\":[[{\"subnet\":\"10.50.0.0/31\"}]]"),
            ("/32", "\"ranges\":[[{\"subnet\":\"10.50.0.0/32\"}]]"),
            ("/127", "\"ranges\":[[{\"subnet\":\"fd50::/127\"}]]"),
            ("/128", "\"ranges\":[[{\"subnet\":\"fd50::/128\"}]]"),
            ("host bits", "\"ranges\":[[{\"subnet\":\"10.50.0.9/24\"}]]"),
            ("start outside", "\"ranges\":[[{\"subnet\":\"10.50.0.0/24\",\"rangeStart\":\"10.51.0.1\"}]]"),
            ("end outside", "\"ranges\":[[{\"subnet\":\"10.50.0.0/24\",\"rangeEnd\":\"10.51.0.1\"}]]"),
            ("overlap in set", "\"ranges\":[[{\"subnet\":\"10.50.0.0/24\"},{\"subnet\":\"10.50.0.0/26\"}]]"),
            ("overlap across sets", "\"ranges\":[[{\"subnet\":\"10.50.0.0/24\"}],[{\"subnet\":\"10.50.0.0/26\"}]]"),
            ("mixed families", "\"ranges\":[[{\"subnet\":\"10.50.0.0/24\"},{\"subnet\":\"fd50::/64\"}]]"),
            ("empty set", "\"ranges\":[[]]"),
        })
        {
            yield return new TestCaseData("{\"cniVersion\":\"1.0.0\",\"name\":\"testnet\",\"type\":\"x\",\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"DATADIR\"," + ranges + "}}", "ctr1", "eth0", null)
                .SetName($"{{m}}({label})");
        }
        string good = "{\"cniVersion\":\"1.0.0\",\"name\":\"testnet\",\"type\":\"x\",\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"DATADIR\"," + Ok + "}}";
        yield return new TestCaseData(good.Replace("\"testnet\"", "\"../evil\""), "ctr1", "eth0", null).SetName("{m}(network name with ..)");
        yield return new TestCaseData(good.Replace("\"testnet\"", "\"a/b\""), "ctr1", "eth0", null).SetName("{m}(network name with /)");
        yield return new TestCaseData(good, "../../etc/x", "eth0", null).SetName("{m}(container id with ..)");
        yield return new TestCaseData(good, "ctr1", "../x", null).SetName("{m}(ifname with /)");
        yield return new TestCaseData(good, "ctr1", "eth0", "IP=10.99.0.1").SetName("{m}(requested outside)");
        yield return new TestCaseData(good, "ctr1", "eth0", "IP=10.50.0.1").SetName("{m}(requested gateway)");
        yield return new TestCaseData(good, "ctr1", "eth0", "IP=bogus").SetName("{m}(requested garbage)");
        yield return new TestCaseData(good, "ctr1", "eth0", "IP=10.50.0.9;FOO=1").SetName("{m}(unknown CNI_ARGS)");
    }

    [TestCaseSource(nameof(BadInputs))]
    public async Task BadInputIsACniErrorAndWritesNothing(string config, string containerId, string ifName, string? args)
    {
        PluginRun run = await _plugin.RunAsync("ADD", config.Replace("DATADIR", _dir!.Path), containerId, ifName, args);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.ErrorCode, Is.Not.Null.And.Not.EqualTo(999), run.ToString());
            Assert.That(run.Json!["msg"]!.GetValue<string>(), Is.Not.Empty);
            Assert.That(run.Stdout, Does.Not.Contain("   at "), "no stack trace");
            Assert.That(Directory.GetFileSystemEntries(_dir!.Path), Is.Empty, "nothing was written");
        });
    }
}
