using System.Text.Json.Nodes;
using Cni.Plugins.Firewall;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Firewall.Tests;

/// <summary>Configuration, rule text and the command flow against in-memory iptables and D-Bus: no root needed.</summary>
[TestFixture]
public class FirewallUnitTests
{
    private static readonly string[] Versions = ["0.4.0", "1.0.0", "1.1.0"];

    // ------------------------------------------------------------------ configuration

    [TestCase("""{"backend": "nftables"}""", 7u, "unknown firewall backend \"nftables\" (backend)", TestName = "UnknownBackend")]
    [TestCase("""{"backend": 1}""", 6u, "backend", TestName = "BackendNotAString")]
    [TestCase("""{"ingressPolicy": "closed"}""", 7u, "unknown ingress policy: \"closed\" (ingressPolicy)", TestName = "UnknownIngressPolicy")]
    [TestCase("""{"ingressPolicy": true}""", 6u, "ingressPolicy", TestName = "IngressPolicyNotAString")]
    [TestCase("""{"iptablesAdminChainName": "-X"}""", 7u, "(iptablesAdminChainName): starts with", TestName = "AdminChainOption")]
    [TestCase("""{"iptablesAdminChainName": "MY CHAIN"}""", 7u, "(iptablesAdminChainName): contains a space", TestName = "AdminChainSpace")]
    [TestCase("""{"iptablesAdminChainName": "A23456789012345678901234567890"}""", 7u, "(iptablesAdminChainName): longer than 28", TestName = "AdminChainTooLong")]
    [TestCase("""{"iptablesAdminChainName": "DROP"}""", 7u, "(iptablesAdminChainName): is a built-in", TestName = "AdminChainBuiltin")]
    [TestCase("""{"firewalldZone": "my zone"}""", 7u, "(firewalldZone)", TestName = "ZoneWithSpace")]
    [TestCase("""{"cniVersion": "0.3.1"}""", 1u, "0.3.1", TestName = "VersionBeforeChaining")]
    public async Task BadConfigurationFailsBeforeAnyChange(string keys, uint code, string fragment)
    {
        foreach (string command in new[] { "ADD", "CHECK", "DEL" })
        {
            var ipt = new FakeIptables();
            var bus = new FakeBus { Running = false };
            JsonObject conf = FirewallRun.Conf("1.0.0", keys, FirewallRun.PrevResult("1.0.0", "cni0", "10.88.0.5/16"));
            PluginOutput output = await FirewallRun.Run(command, conf, ipt, bus);
            output.AssertError(code, fragment);
            Assert.That(ipt.Changes, Is.Empty, command);
            Assert.That(bus.Calls.Where(c => c.Member != "GetNameOwner"), Is.Empty, command);
        }
    }

    [TestCase("same-bridge")]
    [TestCase("isolated")]
    public async Task IsolationWithoutABridgeInPrevResultFailsBeforeAnyChange(string policy)
    {
        var ipt = new FakeIptables();
        var prev = FirewallRun.PrevResult("1.0.0", "cni0", "10.88.0.5/16");
        prev["interfaces"] = new JsonArray();
        prev["ips"]![0]!.AsObject().Remove("interface");
        PluginOutput output = await FirewallRun.Run("ADD", FirewallRun.Conf("1.0.0", $$"""{"backend": "iptables", "ingressPolicy": "{{policy}}"}""", prev), ipt, new FakeBus());
        output.AssertError(7, $"interface needs to be set for ingress policy \"{policy}\"");
        Assert.That(ipt.Changes, Is.Empty);

        var bad = FirewallRun.PrevResult("1.0.0", "bad/name", "10.88.0.5/16");
        (await FirewallRun.Run("ADD", FirewallRun.Conf("1.0.0", $$"""{"backend": "iptables", "ingressPolicy": "{{policy}}"}""", bad), ipt, new FakeBus()))
            .AssertError(7, "prevResult.interfaces[0].name");
        Assert.That(ipt.Changes, Is.Empty);
    }

    [Test]
    public async Task AddAndCheckWithoutPrevResultFail()
    {
        var ipt = new FakeIptables();
        (await FirewallRun.Run("ADD", FirewallRun.Conf("1.0.0", """{"backend": "iptables"}"""), ipt, new FakeBus())).AssertError(7, "missing prevResult");
        (await FirewallRun.Run("CHECK", FirewallRun.Conf("1.0.0", """{"backend": "iptables"}"""), ipt, new FakeBus())).AssertError(7, "missing prevResult");
        Assert.That(ipt.Changes, Is.Empty);
    }

    [Test]
    public void SettingsDefaults()
    {
        FirewallSettings s = FirewallSettings.From(new FirewallConfig());
        Assert.That(s, Is.EqualTo(new FirewallSettings(FirewallBackendKind.Auto, "CNI-ADMIN", "trusted", IngressPolicy.Open)));
        s = FirewallSettings.From(new FirewallConfig { Backend = "firewalld", IngressPolicy = "open", FirewalldZone = "public", IptablesAdminChainName = "MY-ADMIN" });
        Assert.That(s, Is.EqualTo(new FirewallSettings(FirewallBackendKind.Firewalld, "MY-ADMIN", "public", IngressPolicy.Open)));
    }

    // ------------------------------------------------------------------ golden rule text

    [TestCase("open", "add-open.txt")]
    [TestCase("same-bridge", "add-same-bridge.txt")]
    [TestCase("isolated", "add-isolated.txt")]
    public async Task AddOnAnEmptyTableSendsTheGoldenCommands(string policy, string golden)
    {
        var ipt = new FakeIptables();
        JsonObject prev = FirewallRun.PrevResult("1.0.0", "cni0", "10.88.0.5/16", "fd00:88::5/64");
        (await FirewallRun.Run("ADD", FirewallRun.Conf("1.0.0", $$"""{"backend": "iptables", "ingressPolicy": "{{policy}}"}""", prev), ipt, new FakeBus())).AssertSuccess();
        Golden.AssertMatches(golden, string.Join('\n', ipt.Commands) + "\n\n# iptables -S\n" + ipt.Save("iptables") + "\n# ip6tables -S\n" + ipt.Save("ip6tables"));
    }

    [Test]
    public async Task AdminChainNameIsUsedForTheJumpAndChain()
    {
        var ipt = new FakeIptables();
        JsonObject prev = FirewallRun.PrevResult("1.0.0", "cni0", "10.88.0.5/16");
        (await FirewallRun.Run("ADD", FirewallRun.Conf("1.0.0", """{"backend": "iptables", "iptablesAdminChainName": "MY-ADMIN"}""", prev), ipt, new FakeBus())).AssertSuccess();
        Golden.AssertMatches("add-admin-chain.txt", ipt.Save("iptables"));
        Assert.That(ipt.Commands, Has.None.Contains("ip6tables"), "no IPv6 address, no ip6tables");
    }

    [Test]
    public void AddressRulesUseHostPrefixes()
    {
        Assert.That(IptablesRules.HostPrefix(System.Net.IPAddress.Parse("10.1.2.3")), Is.EqualTo("10.1.2.3/32"));
        Assert.That(IptablesRules.HostPrefix(System.Net.IPAddress.Parse("fd00::1")), Is.EqualTo("fd00::1/128"));
        Assert.That(IptablesRules.Format(IptablesRules.AddressRules(System.Net.IPAddress.Parse("10.1.2.3"))[0]),
            Is.EqualTo("-d 10.1.2.3/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"));
    }

    // ------------------------------------------------------------------ command flow (iptables)

    [Test]
    public async Task AddCheckDelRoundTripAcrossVersions([ValueSource(nameof(Versions))] string version, [Values("open", "same-bridge", "isolated")] string policy)
    {
        var ipt = new FakeIptables();
        var bus = new FakeBus { Running = false };
        JsonObject prev = FirewallRun.PrevResult(version, "cni0", "10.88.0.5/16", "fd00:88::5/64");
        JsonObject conf = FirewallRun.Conf(version, $$"""{"ingressPolicy": "{{policy}}"}""", prev);
        PluginOutput add = (await FirewallRun.Run("ADD", conf, ipt, bus)).AssertSuccess();
        Assert.That(add.Json["cniVersion"]!.GetValue<string>(), Is.EqualTo(version));
        Assert.That(add.Json["ips"]!.AsArray(), Has.Count.EqualTo(2), "prevResult passed through");
        Assert.That(add.Json["interfaces"]![0]!["name"]!.GetValue<string>(), Is.EqualTo("cni0"));
        Assert.That(ipt.Rules("iptables", "CNI-FORWARD"), Does.Contain("-s 10.88.0.5/32 -j ACCEPT"));
        Assert.That(ipt.Rules("ip6tables", "CNI-FORWARD"), Does.Contain("-s fd00:88::5/128 -j ACCEPT"));

        (await FirewallRun.Run("CHECK", conf, ipt, bus)).AssertSuccess();
        (await FirewallRun.Run("ADD", conf, ipt, bus)).AssertSuccess();
        Assert.That(ipt.Rules("iptables", "CNI-FORWARD").Count(r => r.Contains("10.88.0.5", StringComparison.Ordinal)), Is.EqualTo(2), "a second ADD adds no duplicate");

        (await FirewallRun.Run("DEL", conf, ipt, bus, netns: null)).AssertSuccess();
        (await FirewallRun.Run("DEL", conf, ipt, bus, netns: null)).AssertSuccess();
        foreach (string tool in new[] { "iptables", "ip6tables" })
        {
            Assert.That(ipt.Rules(tool, "CNI-FORWARD").Where(r => r.Contains("88", StringComparison.Ordinal)), Is.Empty, tool);
            Assert.That(ipt.Rules(tool, "CNI-FORWARD"), Has.Count.EqualTo(1), "the admin jump stays (shared)");
        }
        Assert.That(bus.Calls.Select(c => c.Member), Is.All.EqualTo("GetNameOwner"), "firewalld not running: only asked");
    }

    [Test]
    public async Task CheckNamesWhatDrifted()
    {
        var ipt = new FakeIptables();
        var bus = new FakeBus { Running = false };
        JsonObject conf = FirewallRun.Conf("1.0.0", """{"ingressPolicy": "isolated"}""", FirewallRun.PrevResult("1.0.0", "cni0", "10.88.0.5/16"));
        (await FirewallRun.Run("ADD", conf, ipt, bus)).AssertSuccess();

        await ipt.RunAsync("/usr/sbin/iptables", ["-w", "-t", "filter", "-D", "CNI-FORWARD", "-s", "10.88.0.5/32", "-j", "ACCEPT"]);
        (await FirewallRun.Run("CHECK", conf, ipt, bus)).AssertError(999, "expected rule not found in chain CNI-FORWARD: -s 10.88.0.5/32 -j ACCEPT");
        await ipt.RunAsync("/usr/sbin/iptables", ["-w", "-t", "filter", "-A", "CNI-FORWARD", "-s", "10.88.0.5/32", "-j", "ACCEPT"]);
        (await FirewallRun.Run("CHECK", conf, ipt, bus)).AssertSuccess();

        await ipt.RunAsync("/usr/sbin/iptables", ["-w", "-t", "filter", "-D", "CNI-ISOLATION-STAGE-1", "-i", "cni0", "-o", "cni0", "-j", "DROP", "-m", "comment", "--comment", "CNI firewall plugin rules (ingressPolicy: isolated)"]);
        (await FirewallRun.Run("CHECK", conf, ipt, bus)).AssertError(999, "CNI-ISOLATION-STAGE-1: -i cni0 -o cni0 -j DROP");

        var fresh = new FakeIptables();
        (await FirewallRun.Run("CHECK", conf, fresh, bus)).AssertError(999, "chain CNI-FORWARD not found");
        Assert.That(fresh.Changes, Is.Empty, "CHECK creates nothing (the reference creates the chains)");
    }

    [Test]
    public async Task CheckAcceptsTheIsolationRulesOfAPre17Reference()
    {
        var ipt = new FakeIptables();
        var bus = new FakeBus { Running = false };
        JsonObject conf = FirewallRun.Conf("1.0.0", """{"ingressPolicy": "same-bridge"}""", FirewallRun.PrevResult("1.0.0", "cni0", "10.88.0.5/16"));
        (await FirewallRun.Run("ADD", conf, ipt, bus)).AssertSuccess();
        // Rewrite every isolation rule as the reference wrote it before v1.7 (one comment for all).
        foreach (IptablesRules.IsolationRule r in IptablesRules.IsolationRules("cni0", IngressPolicy.SameBridge))
        {
            await ipt.RunAsync("/usr/sbin/iptables", ["-w", "-t", "filter", "-D", r.Chain, .. r.Rule]);
            await ipt.RunAsync("/usr/sbin/iptables", ["-w", "-t", "filter", "-A", r.Chain, .. r.Legacy!]);
        }
        Assert.That(ipt.Save("iptables"), Does.Not.Contain("same-bridge|isolated"));
        (await FirewallRun.Run("CHECK", conf, ipt, bus)).AssertSuccess();
        await ipt.RunAsync("/usr/sbin/iptables", ["-w", "-t", "filter", "-D", "CNI-ISOLATION-STAGE-2", "-o", "cni0", "-j", "DROP", "-m", "comment", "--comment", IptablesRules.LegacyIsolationComment]);
        (await FirewallRun.Run("CHECK", conf, ipt, bus)).AssertError(999, "CNI-ISOLATION-STAGE-2: -o cni0 -j DROP");
    }

    [Test]
    public async Task FailedAddRemovesTheRulesItAdded()
    {
        var ipt = new FakeIptables { FailWhen = c => c.StartsWith("ip6tables", StringComparison.Ordinal) && c.Contains("-A CNI-FORWARD -s", StringComparison.Ordinal) };
        JsonObject conf = FirewallRun.Conf("1.0.0", """{"backend": "iptables"}""", FirewallRun.PrevResult("1.0.0", "cni0", "10.88.0.5/16", "fd00:88::5/64"));
        PluginOutput output = await FirewallRun.Run("ADD", conf, ipt, new FakeBus());
        output.AssertError(999, "ip6tables -t filter -A CNI-FORWARD -s fd00:88::5/128 -j ACCEPT failed");
        Assert.That(ipt.Rules("iptables", "CNI-FORWARD").Where(r => r.Contains("10.88.0.5", StringComparison.Ordinal)), Is.Empty, "IPv4 rules rolled back");
        Assert.That(ipt.Rules("ip6tables", "CNI-FORWARD").Where(r => r.Contains("fd00", StringComparison.Ordinal)), Is.Empty, "IPv6 rule rolled back");
        Assert.That(output.Stdout, Does.Not.Contain("   at "));
    }

    [Test]
    public async Task FailedIsolationRollsBackTheContainerRules()
    {
        var ipt = new FakeIptables { FailWhen = c => c.Contains("-N CNI-ISOLATION-STAGE-2", StringComparison.Ordinal) };
        JsonObject conf = FirewallRun.Conf("1.0.0", """{"backend": "iptables", "ingressPolicy": "same-bridge"}""", FirewallRun.PrevResult("1.0.0", "cni0", "10.88.0.5/16"));
        (await FirewallRun.Run("ADD", conf, ipt, new FakeBus())).AssertError(999, "-N CNI-ISOLATION-STAGE-2");
        Assert.That(ipt.Rules("iptables", "CNI-FORWARD").Where(r => r.Contains("10.88.0.5", StringComparison.Ordinal)), Is.Empty);
    }

    [Test]
    public async Task DelWithoutPrevResultOrNetnsOrToolsSucceedsAndTouchesNothing()
    {
        var ipt = new FakeIptables();
        (await FirewallRun.Run("DEL", FirewallRun.Conf("1.0.0", """{"backend": "iptables"}"""), ipt, new FakeBus(), netns: null)).AssertSuccess();
        Assert.That(ipt.Commands, Is.Empty);
        var none = new FakeIptables();
        none.Missing.Add("iptables");
        none.Missing.Add("ip6tables");
        (await FirewallRun.Run("DEL", FirewallRun.Conf("1.0.0", """{"backend": "iptables"}""", FirewallRun.PrevResult("1.0.0", "cni0", "10.88.0.5/16")), none, new FakeBus(), netns: null)).AssertSuccess();
    }

    [Test]
    public async Task MissingIp6tablesFailsAnIpv6AddCleanly()
    {
        var ipt = new FakeIptables();
        ipt.Missing.Add("ip6tables");
        JsonObject conf = FirewallRun.Conf("1.0.0", """{"backend": "iptables"}""", FirewallRun.PrevResult("1.0.0", "cni0", "10.88.0.5/16", "fd00:88::5/64"));
        (await FirewallRun.Run("ADD", conf, ipt, new FakeBus())).AssertError(999, "ip6tables not found");
        Assert.That(ipt.Rules("iptables", "CNI-FORWARD").Where(r => r.Contains("10.88.0.5", StringComparison.Ordinal)), Is.Empty, "rolled back");
    }

    // ------------------------------------------------------------------ firewalld

    [Test]
    public async Task FirewalldIsChosenWhenRunningAndSendsTheReferenceCalls([ValueSource(nameof(Versions))] string version)
    {
        var ipt = new FakeIptables();
        var bus = new FakeBus();
        JsonObject conf = FirewallRun.Conf(version, "{}", FirewallRun.PrevResult(version, "cni0", "10.88.0.5/16", "fd00:88::5/64"));
        (await FirewallRun.Run("ADD", conf, ipt, bus)).AssertSuccess();
        Assert.That(ipt.Commands, Is.Empty, "no iptables with firewalld and the open policy");
        Assert.That(bus.Calls.Select(c => c.ToString()), Is.EqualTo(new[]
        {
            "org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.GetNameOwner(\"org.fedoraproject.FirewallD1\")",
            "org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1 org.fedoraproject.FirewallD1.zone.addSource(\"trusted\", \"10.88.0.5/32\")",
            "org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1 org.fedoraproject.FirewallD1.zone.addSource(\"trusted\", \"fd00:88::5/128\")",
        }));
        Assert.That(bus.Calls[1].Signature, Is.EqualTo("ss"));
        Assert.That(bus.Zones["trusted"], Is.EquivalentTo(new[] { "10.88.0.5/32", "fd00:88::5/128" }));

        bus.Calls.Clear();
        (await FirewallRun.Run("CHECK", conf, ipt, bus)).AssertSuccess();
        Assert.That(bus.Calls.Select(c => c.Member), Is.EqualTo(new[] { "GetNameOwner", "querySource", "querySource" }));

        bus.Zones["trusted"].Remove("fd00:88::5/128");
        (await FirewallRun.Run("CHECK", conf, ipt, bus)).AssertError(999, "failed to find the address fd00:88::5/128 in trusted zone");

        (await FirewallRun.Run("ADD", conf, ipt, bus)).AssertSuccess();
        (await FirewallRun.Run("ADD", conf, ipt, bus)).AssertSuccess(); // ZONE_ALREADY_SET is fine
        (await FirewallRun.Run("DEL", conf, ipt, bus, netns: null)).AssertSuccess();
        (await FirewallRun.Run("DEL", conf, ipt, bus, netns: null)).AssertSuccess(); // UNKNOWN_SOURCE ignored
        Assert.That(bus.Zones["trusted"], Is.Empty);
        Assert.That(bus.Disposed, Is.GreaterThan(0), "the connection is closed after each run");
    }

    [Test]
    public async Task FirewalldZoneAndIsolationStillUseIptables()
    {
        var ipt = new FakeIptables();
        var bus = new FakeBus();
        JsonObject conf = FirewallRun.Conf("1.0.0", """{"backend": "firewalld", "firewalldZone": "public", "ingressPolicy": "same-bridge"}""", FirewallRun.PrevResult("1.0.0", "cni0", "10.88.0.5/16"));
        (await FirewallRun.Run("ADD", conf, ipt, bus)).AssertSuccess();
        Assert.That(bus.Calls.Select(c => c.Member), Is.EqualTo(new[] { "addSource" }), "configured backend: no probe");
        Assert.That(bus.Zones["public"], Is.EquivalentTo(new[] { "10.88.0.5/32" }));
        Assert.That(ipt.Rules("iptables", "CNI-ISOLATION-STAGE-2"), Has.Count.EqualTo(2));
        Assert.That(ipt.HasChain("iptables", "CNI-FORWARD"), Is.False);
        (await FirewallRun.Run("CHECK", conf, ipt, bus)).AssertSuccess();
    }

    [Test]
    public async Task FirewalldErrorRollsBackTheSourcesAdded()
    {
        var bus = new FakeBus();
        bus.Zones["trusted"].Add("other/32");
        JsonObject conf = FirewallRun.Conf("1.0.0", """{"backend": "firewalld"}""", FirewallRun.PrevResult("1.0.0", "cni0", "10.88.0.5/16", "fd00:88::5/64"));
        int calls = 0;
        var failing = new FailingSecondAdd(bus, () => ++calls);
        PluginOutput output = await PluginRunner.RunInProcessAsync(new FirewallPlugin(new FakeIptables(), () => failing),
            PluginRunner.Variables("ADD", "/var/run/netns/x", "c1", "eth0", "/usr/lib/cni"), conf.ToJsonString());
        output.AssertError(999, "failed to add the address fd00:88::5/128 to trusted zone");
        Assert.That(bus.Zones["trusted"], Is.EquivalentTo(new[] { "other/32" }), "the first source was removed again");
    }

    private sealed class FailingSecondAdd(FakeBus inner, Func<int> count) : IDBusCaller
    {
        public Task<DBusReply> CallAsync(DBusMethodCall call, CancellationToken cancellationToken) =>
            call.Member == "addSource" && count() == 2
                ? Task.FromResult(DBusReply.Error("org.fedoraproject.FirewallD1.Exception", "INVALID_ADDR"))
                : inner.CallAsync(call, cancellationToken);

        public void Dispose() => inner.Dispose();
    }

    [Test]
    public async Task NoBusMeansIptables()
    {
        var ipt = new FakeIptables();
        var bus = new FakeBus { Unreachable = true };
        JsonObject conf = FirewallRun.Conf("1.0.0", "{}", FirewallRun.PrevResult("1.0.0", "cni0", "10.88.0.5/16"));
        (await FirewallRun.Run("ADD", conf, ipt, bus)).AssertSuccess();
        Assert.That(ipt.Rules("iptables", "CNI-FORWARD"), Does.Contain("-s 10.88.0.5/32 -j ACCEPT"));
        // Explicit firewalld without a bus is an error, and nothing is left behind.
        (await FirewallRun.Run("ADD", FirewallRun.Conf("1.0.0", """{"backend": "firewalld"}""", FirewallRun.PrevResult("1.0.0", "cni0", "10.88.0.6/16")), ipt, bus))
            .AssertError(999, "firewalld: addSource failed");
    }

    [Test]
    public async Task TheRealSystemBusCallerTreatsAMissingSocketAsFirewalldNotRunning()
    {
        string socket = Path.Combine(Path.GetTempPath(), TestEnvironment.UniqueName("nobus-"));
        using var caller = new SystemBusCaller("unix:path=" + socket);
        Assert.That(await FirewalldBackend.IsRunningAsync(caller, CancellationToken.None), Is.False);
        Assert.That(await FirewallPlugin.ResolveBackendAsync(FirewallBackendKind.Auto, caller, CancellationToken.None), Is.EqualTo(FirewallBackendKind.Iptables));
    }
}

/// <summary>Golden files under Golden/: compared exactly; <c>UPDATE_GOLDEN=1</c> rewrites them in the source tree.</summary>
public static class Golden
{
    public static void AssertMatches(string name, string actual)
    {
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(Path.Combine(TestEnvironment.RepoRoot, "tests", "Cni.Plugins.Firewall.Tests", "Golden", name), actual);
            return;
        }
        string expected = File.ReadAllText(Path.Combine(TestContext.CurrentContext.TestDirectory, "Golden", name));
        Assert.That(actual, Is.EqualTo(expected), "golden " + name);
    }
}
