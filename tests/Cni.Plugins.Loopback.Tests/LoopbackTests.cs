using System.Text.Json.Nodes;
using Cni.Plugins.Loopback;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Loopback.Tests;

/// <summary>One loopback test's namespaces; the plugin only ever touches CNI_NETNS, so the binary runs in the test's own namespace.</summary>
public sealed class LoopbackHarness(Mode mode = Mode.InProcess) : PluginHarness("loopback", () => new LoopbackPlugin(), mode)
{
    protected override string DefaultSubnet => "10.98.0.0/24";

    /// <summary>A fresh namespace whose lo is down, as a new network namespace starts.</summary>
    public string FreshNamespace()
    {
        string ns = CreateNamespace();
        Shell.Run("ip", "-n", ns, "link", "set", "lo", "down");
        return ns;
    }

    public static bool LoIsUp(string ns) => Shell.Run("ip", "-n", ns, "-o", "link", "show", "lo").Stdout.Contains("<LOOPBACK,UP", StringComparison.Ordinal);

    /// <summary>The reference plugin run directly with the same variables and stdin.</summary>
    public Task<PluginOutput> RunReferenceAsync(string command, JsonObject conf, string ns, string id = "ctr1") =>
        PluginRunner.RunProcessAsync(TestEnvironment.RequireReferencePlugin("loopback"), [], Variables(command, NsPath(ns), id, "lo"), conf.ToJsonString());
}

[TestFixture]
public class LoopbackUnitTests
{
    [Test]
    public async Task MissingNamespaceIsAnIoErrorNamingCniNetns()
    {
        var vars = PluginRunner.Variables("ADD", "/nonexistent/netns", "ctr1", "lo", "/nonexistent");
        PluginOutput add = await PluginRunner.RunInProcessAsync(new LoopbackPlugin(), vars, """{"cniVersion": "1.0.0", "name": "lo", "type": "loopback"}""");
        add.AssertError(5, "CNI_NETNS");
        vars["CNI_COMMAND"] = "CHECK";
        (await PluginRunner.RunInProcessAsync(new LoopbackPlugin(), vars, """{"cniVersion": "1.0.0", "name": "lo", "type": "loopback"}""")).AssertError(5, "CNI_NETNS");
        vars["CNI_COMMAND"] = "DEL";
        (await PluginRunner.RunInProcessAsync(new LoopbackPlugin(), vars, """{"cniVersion": "1.0.0", "name": "lo", "type": "loopback"}""")).AssertSuccess();
        vars.Remove("CNI_NETNS");
        (await PluginRunner.RunInProcessAsync(new LoopbackPlugin(), vars, """{"cniVersion": "1.0.0", "name": "lo", "type": "loopback"}""")).AssertSuccess();
    }

    [Test]
    public async Task BadPrevResultIsADecodingError()
    {
        var vars = PluginRunner.Variables("ADD", "/nonexistent/netns", "ctr1", "lo", "/nonexistent");
        PluginOutput add = await PluginRunner.RunInProcessAsync(new LoopbackPlugin(), vars, """{"cniVersion": "1.0.0", "name": "lo", "type": "loopback", "prevResult": {"ips": [{"address": "nonsense"}]}}""");
        Assert.That(add.ExitCode, Is.EqualTo(1));
        Assert.That(add.Json["msg"]!.GetValue<string>(), Does.Contain("prevResult"));
    }
}

[TestFixture]
[Category(Category.Kernel)]
[NonParallelizable]
public class LoopbackKernelTests
{
    /// <summary>The versions the installed reference (containernetworking-plugins 1.1) prints correctly.</summary>
    private static readonly string[] ReferenceVersions = ["0.3.0", "0.3.1", "0.4.0", "1.0.0"];

    private static JsonObject Conf(string version, JsonObject? prevResult = null)
    {
        var conf = new JsonObject { ["cniVersion"] = version, ["name"] = "lo-net", ["type"] = "loopback" };
        if (prevResult is not null)
            conf["prevResult"] = prevResult;
        return conf;
    }

    [SetUp]
    public void RequireRoot() => TestEnvironment.RequireRoot();

    [Test]
    public async Task AddPrintsLoExactlyAsTheReference([ValueSource(nameof(ReferenceVersions))] string version)
    {
        using var h = new LoopbackHarness();
        string ns = h.FreshNamespace();
        PluginOutput ours = (await h.AddAsync(Conf(version), ns, "ctr1", "eth0")).AssertSuccess();
        Assert.That(LoopbackHarness.LoIsUp(ns), Is.True);
        JsonObject r = ours.Json;
        Assert.Multiple(() =>
        {
            Assert.That(r["interfaces"]!.ToJsonString(), Is.EqualTo($$"""[{"name":"lo","mac":"00:00:00:00:00:00","sandbox":"{{PluginHarness.NsPath(ns)}}"}]"""));
            Assert.That(r["ips"]!.AsArray().Select(i => i!["address"]!.GetValue<string>()), Is.EqualTo(new[] { "127.0.0.1/8", "::1/128" }));
        });

        Shell.Run("ip", "-n", ns, "link", "set", "lo", "down");
        PluginOutput reference = (await h.RunReferenceAsync("ADD", Conf(version), ns)).AssertSuccess();
        if (version == "1.0.0")
        {
            Assert.That(ours.Stdout, Is.EqualTo(reference.Stdout), "byte for byte the reference's output");
        }
        else
        {
            // The reference prints its 1.0.0 layout under the 0.x label; the only difference is the ips[].version
            // that the 0.3.x/0.4.0 layout requires and ours prints.
            Assert.That(r["ips"]!.AsArray().Select(i => i!["version"]!.GetValue<string>()), Is.EqualTo(new[] { "4", "6" }));
            Assert.That(WithoutIpVersions(ours.Stdout), Is.EqualTo(reference.Stdout));
        }
    }

    private static string WithoutIpVersions(string json) =>
        System.Text.RegularExpressions.Regex.Replace(json, "\n *\"version\": \"[46]\",", "");

    [Test]
    public async Task AddPassesPrevResultThroughAsTheReference([ValueSource(nameof(ReferenceVersions))] string version)
    {
        using var h = new LoopbackHarness();
        string ns = h.FreshNamespace();
        bool old = version.StartsWith("0.", StringComparison.Ordinal);
        string ipVersion = old ? "\"version\": \"4\", " : "";
        var prev = JsonNode.Parse($$$"""
            {"cniVersion": "{{{version}}}",
             "interfaces": [{"name": "eth0", "mac": "0a:58:0a:01:02:03", "sandbox": "{{{PluginHarness.NsPath(ns)}}}"}],
             "ips": [{{{{ipVersion}}}"address": "10.1.2.3/24", "gateway": "10.1.2.1", "interface": 0}],
             "routes": [{"dst": "0.0.0.0/0"}],
             "dns": {"nameservers": ["10.1.2.1"]}}
            """)!.AsObject();
        PluginOutput ours = (await h.AddAsync(Conf(version, (JsonObject)prev.DeepClone()), ns, "ctr1", "eth0")).AssertSuccess();
        Assert.That(LoopbackHarness.LoIsUp(ns), Is.True, "lo is set up also when chained");
        Shell.Run("ip", "-n", ns, "link", "set", "lo", "down");
        PluginOutput reference = (await h.RunReferenceAsync("ADD", Conf(version, prev), ns)).AssertSuccess();
        Assert.That(ours.Stdout, Is.EqualTo(reference.Stdout));
        Assert.That(ours.Json["interfaces"]![0]!["name"]!.GetValue<string>(), Is.EqualTo("eth0"));
    }

    [Test]
    public async Task OldVersionsGetTheirOwnLayout()
    {
        // The reference labels a 1.0.0-shaped result "0.1.0"/"0.2.0", which a 0.2.0 runtime reads as no address at all;
        // ours prints the 0.2.0 layout (ip4/ip6).
        foreach (string version in new[] { "0.1.0", "0.2.0" })
        {
            using var h = new LoopbackHarness();
            string ns = h.FreshNamespace();
            JsonObject r = (await h.AddAsync(Conf(version), ns, "ctr1", "lo")).AssertSuccess().Json;
            Assert.That(r["cniVersion"]!.GetValue<string>(), Is.EqualTo(version));
            Assert.That(r["ip4"]!["ip"]!.GetValue<string>(), Is.EqualTo("127.0.0.1/8"));
            Assert.That(r["ip6"]!["ip"]!.GetValue<string>(), Is.EqualTo("::1/128"));
            Assert.That(LoopbackHarness.LoIsUp(ns), Is.True);
        }
    }

    [Test]
    public async Task Version110IsTheReferences100ResultRelabelled()
    {
        using var h = new LoopbackHarness();
        string ns = h.FreshNamespace();
        PluginOutput ours = (await h.AddAsync(Conf("1.1.0"), ns, "ctr1", "lo")).AssertSuccess();
        Shell.Run("ip", "-n", ns, "link", "set", "lo", "down");
        PluginOutput reference = (await h.RunReferenceAsync("ADD", Conf("1.0.0"), ns)).AssertSuccess();
        Assert.That(ours.Stdout, Is.EqualTo(reference.Stdout.Replace("\"1.0.0\"", "\"1.1.0\"", StringComparison.Ordinal)));
    }

    [Test]
    public async Task WithoutIpv6OnlyTheIpv4AddressIsReported()
    {
        using var h = new LoopbackHarness();
        string ns = h.FreshNamespace();
        Shell.Run("ip", "netns", "exec", ns, "sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/lo/disable_ipv6");
        PluginOutput ours = (await h.AddAsync(Conf("1.0.0"), ns, "ctr1", "lo")).AssertSuccess();
        Assert.That(ours.Json["ips"]!.AsArray().Select(i => i!["address"]!.GetValue<string>()), Is.EqualTo(new[] { "127.0.0.1/8" }));
        Shell.Run("ip", "-n", ns, "link", "set", "lo", "down");
        Assert.That(ours.Stdout, Is.EqualTo((await h.RunReferenceAsync("ADD", Conf("1.0.0"), ns)).AssertSuccess().Stdout));
    }

    [Test]
    public async Task NonLoopbackAddressOnLoFailsAndLeavesLoDown()
    {
        using var h = new LoopbackHarness();
        string ns = h.FreshNamespace();
        Shell.Run("ip", "-n", ns, "addr", "add", "10.9.9.9/32", "dev", "lo");
        (await h.AddAsync(Conf("1.0.0"), ns, "ctr1", "lo")).AssertError(999, "loopback interface found with non-loopback address \"10.9.9.9\"");
        Assert.That(LoopbackHarness.LoIsUp(ns), Is.False, "the failed ADD set lo down again");
    }

    [Test]
    public async Task CheckVerifiesLoIsUp()
    {
        using var h = new LoopbackHarness();
        string ns = h.FreshNamespace();
        JsonObject r = (await h.AddAsync(Conf("1.0.0"), ns, "ctr1", "lo")).AssertSuccess().Json;
        (await h.CheckAsync(Conf("1.0.0"), r, ns, "ctr1", "lo")).AssertSuccess();
        Shell.Run("ip", "-n", ns, "link", "set", "lo", "down");
        (await h.CheckAsync(Conf("1.0.0"), r, ns, "ctr1", "lo")).AssertError(999, "loopback interface is down");
    }

    [Test]
    public async Task DelSetsLoDownAndToleratesGoneOrEmptyNamespaces()
    {
        using var h = new LoopbackHarness();
        string ns = h.FreshNamespace();
        (await h.AddAsync(Conf("1.0.0"), ns, "ctr1", "lo")).AssertSuccess();
        PluginOutput del = (await h.DelAsync(Conf("1.0.0"), PluginHarness.NsPath(ns), "ctr1", "lo")).AssertSuccess();
        Assert.That(del.Stdout, Is.Empty);
        Assert.That(LoopbackHarness.LoIsUp(ns), Is.False);
        (await h.DelAsync(Conf("1.0.0"), PluginHarness.NsPath(ns), "ctr1", "lo")).AssertSuccess();
        (await h.DelAsync(Conf("1.0.0"), null, "ctr1", "lo")).AssertSuccess();
        h.DeleteNamespace(ns);
        (await h.DelAsync(Conf("1.0.0"), PluginHarness.NsPath(ns), "ctr1", "lo")).AssertSuccess();
        // A leftover file that is no namespace any more (the container died, the bind mount went).
        string stale = Path.Combine(h.DataDir, "stale-netns");
        File.WriteAllText(stale, "");
        (await h.DelAsync(Conf("1.0.0"), stale, "ctr1", "lo")).AssertSuccess();
    }
}

/// <summary>The published loopback run by libcni (cnirun), against the reference run the same way.</summary>
[TestFixture]
[Category(Category.Interop)]
[Category(Category.Kernel)]
[NonParallelizable]
public class LoopbackInteropTests
{
    [Test]
    public void LibcniGetsTheReferencesResult([Values("0.3.1", "0.4.0", "1.0.0")] string version)
    {
        TestEnvironment.RequireRoot();
        string cnirun = TestEnvironment.RequireTool("cnirun", "build it with: bash ../shared/tools/cnirun/build.sh");
        using var h = new LoopbackHarness(Mode.Binary);
        TestEnvironment.RequireReferencePlugin("loopback");
        string ns = h.FreshNamespace();
        string confDir = Directory.CreateDirectory(Path.Combine(h.DataDir, "net.d")).FullName;
        File.WriteAllText(Path.Combine(confDir, "99-loopback.conf"), $$"""{"cniVersion": "{{version}}", "name": "{{h.Network}}", "type": "loopback"}""");
        Shell.Result Cnirun(string bin, string verb) => Shell.Run(cnirun, [verb, h.Network, PluginHarness.NsPath(ns), "pod1", "lo"], allowFailure: true,
            env: new Dictionary<string, string> { ["NETCONFPATH"] = confDir, ["CNI_PATH"] = bin, ["CNI_CACHE_DIR"] = Path.Combine(h.DataDir, "cache-" + Path.GetFileName(bin)) });

        Shell.Result ours = Cnirun(TestEnvironment.PluginBinDir, "add");
        Assert.That(ours.ExitCode, Is.EqualTo(0), ours.Stderr + ours.Stdout);
        Assert.That(LoopbackHarness.LoIsUp(ns), Is.True);
        if (version != "0.3.1")
            Assert.That(Cnirun(TestEnvironment.PluginBinDir, "check").ExitCode, Is.EqualTo(0));
        Assert.That(Cnirun(TestEnvironment.PluginBinDir, "del").ExitCode, Is.EqualTo(0));
        Assert.That(LoopbackHarness.LoIsUp(ns), Is.False);
        Assert.That(Cnirun(TestEnvironment.PluginBinDir, "del").ExitCode, Is.EqualTo(0), "DEL twice");

        Shell.Result theirs = Cnirun(TestEnvironment.ReferencePluginDir, "add");
        Assert.That(theirs.ExitCode, Is.EqualTo(0), theirs.Stderr);
        if (version == "1.0.0")
        {
            Assert.That(ours.Stdout, Is.EqualTo(theirs.Stdout), "libcni hands the runtime the same result");
        }
        else
        {
            // Through the reference, libcni hands a 0.3.x/0.4.0 runtime ips[].version "" (see OldVersionsGetTheirOwnLayout);
            // through ours "4" and "6", and nothing else differs.
            Assert.That(ours.Stdout, Does.Contain("\"version\": \"4\"").And.Contain("\"version\": \"6\""));
            Assert.That(System.Text.RegularExpressions.Regex.Replace(ours.Stdout, "\"version\": \"[46]\"", "\"version\": \"\""), Is.EqualTo(theirs.Stdout));
        }
    }
}
