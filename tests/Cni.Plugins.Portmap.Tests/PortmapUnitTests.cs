using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Cni.Netlink.Netfilter;
using Cni.Plugins.Common;
using Cni.Plugins.TestSupport;
using Cni.Spec;

namespace Cni.Plugins.Portmap.Tests;

/// <summary>Configuration, the exact iptables commands and nft scripts, and the ctnetlink bytes; no root needed.</summary>
public class PortmapUnitTests
{
    private const string Sandbox = "/var/run/netns/x";

    private static Task<PluginOutput> Run(FakeCommandRunner runner, string command, JsonObject conf, string id = "ctr1", string? netns = Sandbox) =>
        PluginRunner.RunInProcessAsync(new PortmapPlugin(runner), PluginRunner.Variables(command, netns, id, "eth0", "/nonexistent"), conf.ToJsonString());

    private static JsonObject Conf(string mappings, string? extra = null, params string[] addresses) =>
        PortmapTestData.Config("net1", mappings, extra, prev: PortmapTestData.PrevResult("1.0.0", Sandbox, addresses.Length == 0 ? ["10.0.0.2/24"] : addresses));

    private const string Http = """[{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]""";

    // ------------------------------------------------------------------ names

    [Test]
    public void ChainNamesAreTheReferenceHashes()
    {
        // sha512("net1" + "ctr1") computed independently (python hashlib), cut to 28 characters as the reference does.
        Assert.That(IptablesPortMapper.DnatChainName("net1", "ctr1"), Is.EqualTo("CNI-DN-85373d34c6846b6c53ee2"));
        Assert.That(IptablesPortMapper.OldSnatChainName("net1", "ctr1"), Is.EqualTo("CNI-SN-85373d34c6846b6c53ee2"));
        Assert.That(IptablesPortMapper.DnatChainName("podman", "4f3c2a1b"), Is.EqualTo("CNI-DN-9e4950caecb52cfe15b86"));
        Assert.That(IptablesPortMapper.MarkDef(13), Is.EqualTo("0x2000/0x2000"));
        Assert.That(IptablesPortMapper.MarkDef(0), Is.EqualTo("0x1/0x1"));
        Assert.That(IptablesPortMapper.MarkDef(31), Is.EqualTo("0x80000000/0x80000000"));
    }

    [Test]
    public void LongCommentsAreTrimmedAsTheReference()
    {
        string id = new('a', 300);
        string c = IptablesPortMapper.DnatComment("n", id);
        Assert.That(c, Has.Length.EqualTo(256));
        Assert.That(c, Does.EndWith("aaa...").And.StartWith("dnat name: \"n\" id: \"aaa"));
    }

    [Test]
    public void IptablesListingLinesSplitLikeAShell()
    {
        var parts = IptablesPortMapper.SplitRule("-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment \"dnat name: \\\"net1\\\" id: \\\"ctr1\\\"\" -m multiport --dports 8080 -j CNI-DN-85373d34c6846b6c53ee2");
        Assert.That(parts, Is.EqualTo(new[] { "-A", "CNI-HOSTPORT-DNAT", "-p", "tcp", "-m", "comment", "--comment", "dnat name: \"net1\" id: \"ctr1\"", "-m", "multiport", "--dports", "8080", "-j", "CNI-DN-85373d34c6846b6c53ee2" }));
    }

    // ------------------------------------------------------------------ configuration

    [TestCase("""[{"hostPort": 0, "containerPort": 80, "protocol": "tcp"}]""", "portMappings[0].hostPort")]
    [TestCase("""[{"hostPort": 70000, "containerPort": 80, "protocol": "tcp"}]""", "portMappings[0].hostPort")]
    [TestCase("""[{"hostPort": 80, "containerPort": 0, "protocol": "tcp"}]""", "portMappings[0].containerPort")]
    [TestCase("""[{"hostPort": 80, "containerPort": 65536, "protocol": "tcp"}]""", "portMappings[0].containerPort")]
    [TestCase("""[{"hostPort": 80, "containerPort": 80, "protocol": "tcp"}, {"hostPort": 81, "containerPort": 80, "protocol": "icmp"}]""", "portMappings[1].protocol")]
    [TestCase("""[{"hostPort": 80, "containerPort": 80}]""", "portMappings[0].protocol")]
    [TestCase("""[{"hostPort": 80, "containerPort": 80, "protocol": "tcp", "hostIP": "300.1.1.1"}]""", "portMappings[0].hostIP")]
    [TestCase("""[{"hostPort": 80, "containerPort": 80, "protocol": "tcp", "hostIP": "1.2.3"}]""", "portMappings[0].hostIP")]
    [TestCase("""[{"hostPort": 80, "containerPort": 80, "protocol": "tcp", "hostIP": "fe80::1%eth0"}]""", "portMappings[0].hostIP")]
    [TestCase("""[{"hostPort": 80, "containerPort": 80, "protocol": "tcp", "hostIP": "10.0.0.1/24"}]""", "portMappings[0].hostIP")]
    public async Task BadMappingsFailNamingTheFieldAndChangeNothing(string mappings, string field)
    {
        foreach (string command in new[] { "ADD", "CHECK", "DEL" })
        {
            var runner = new FakeCommandRunner("iptables", "ip6tables", "nft");
            PluginOutput o = await Run(runner, command, Conf(mappings));
            o.AssertError(7, field);
            Assert.That(runner.Commands, Is.Empty, command + " ran a tool before validating");
        }
    }

    [TestCase("""{"markMasqBit": 32}""", "markMasqBit")]
    [TestCase("""{"markMasqBit": -1}""", "markMasqBit")]
    [TestCase("""{"markMasqBit": 13, "externalSetMarkChain": "KUBE-MARK-MASQ"}""", "externalSetMarkChain and markMasqBit")]
    [TestCase("""{"externalSetMarkChain": "-j ACCEPT"}""", "externalSetMarkChain")]
    [TestCase("""{"externalSetMarkChain": "A-CHAIN-NAME-LONGER-THAN-28-CHARS"}""", "externalSetMarkChain")]
    [TestCase("""{"backend": "pf"}""", "backend")]
    [TestCase("""{"backend": "nftables", "externalSetMarkChain": "KUBE-MARK-MASQ"}""", "externalSetMarkChain")]
    [TestCase("""{"backend": "nftables", "conditionsV4": ["-d", "1.2.3.4"]}""", "conditionsV4")]
    [TestCase("""{"backend": "iptables", "conditionsV6": ["ip6 daddr ::1"]}""", "conditionsV6")]
    [TestCase("""{"backend": "nftables", "conditionsV4": ["ip daddr 1.2.3.4 ; flush ruleset"]}""", "conditionsV4[0]")]
    [TestCase("""{"backend": "nftables", "conditionsV4": ["ip daddr 1.2.3.4\nflush ruleset"]}""", "conditionsV4[0]")]
    [TestCase("""{"backend": "nftables", "conditionsV6": ["meta mark 1 } ; table ip x {"]}""", "conditionsV6[0]")]
    public async Task BadKeysFailNamingTheKey(string extra, string fragment)
    {
        var runner = new FakeCommandRunner("iptables", "ip6tables", "nft");
        (await Run(runner, "ADD", Conf(Http, extra))).AssertError(7, fragment);
        Assert.That(runner.Commands, Is.Empty);
    }

    [Test]
    public async Task WrongJsonTypesAreDecodingErrors()
    {
        var runner = new FakeCommandRunner("iptables", "ip6tables");
        (await Run(runner, "ADD", Conf("""[{"hostPort": "80", "containerPort": 80, "protocol": "tcp"}]"""))).AssertError(6, "hostPort");
        (await Run(runner, "ADD", Conf(Http, """{"snat": "yes"}"""))).AssertError(6, "snat");
        Assert.That(runner.Commands, Is.Empty);
    }

    [Test]
    public void BackendDefaultsToIptablesUnlessOnlyNftIsInstalled()
    {
        static PortmapBackend Pick(params string[] tools)
        {
            var runner = new FakeCommandRunner(tools);
            var plugin = new PortmapPlugin(runner);
            var request = new CniRequest
            {
                Command = CniCommand.Add, ContainerId = "c", IfName = "eth0",
                Config = NetConf.Parse("""{"cniVersion":"1.0.0","name":"n","type":"portmap"}"""u8),
                RawConfig = """{"cniVersion":"1.0.0","name":"n","type":"portmap"}"""u8.ToArray(),
                Environment = new InMemoryCniEnvironment(new Dictionary<string, string>(), ""),
            };
            return plugin.LoadConf(request).Backend;
        }
        Assert.That(Pick("iptables", "nft"), Is.EqualTo(PortmapBackend.Iptables));
        Assert.That(Pick("iptables"), Is.EqualTo(PortmapBackend.Iptables));
        Assert.That(Pick("nft"), Is.EqualTo(PortmapBackend.Nftables));
        Assert.That(Pick(), Is.EqualTo(PortmapBackend.Iptables));
    }

    [Test]
    public void ContainerAddressesAreTheFirstOfEachFamilyOnTheSandboxInterface()
    {
        var prev = new CniResult
        {
            Interfaces = [new CniInterface { Name = "cni0" }, new CniInterface { Name = "eth0", Sandbox = Sandbox }, new CniInterface { Name = "eth1", Sandbox = Sandbox }],
            Ips =
            [
                new CniIPConfig { Address = IPPrefix.Parse("10.0.0.1/24"), Interface = 0 },
                new CniIPConfig { Address = IPPrefix.Parse("10.1.0.2/24"), Interface = 2 },
                new CniIPConfig { Address = IPPrefix.Parse("10.0.0.2/24"), Interface = 1 },
                new CniIPConfig { Address = IPPrefix.Parse("10.0.0.3/24"), Interface = 1 },
                new CniIPConfig { Address = IPPrefix.Parse("fd00::2/64") },
            ],
        };
        (IPPrefix? v4, IPPrefix? v6) = PortmapSettings.ContainerAddresses(prev, "eth0");
        Assert.That(v4?.ToString(), Is.EqualTo("10.0.0.2/24"));
        Assert.That(v6?.ToString(), Is.EqualTo("fd00::2/64"));
    }

    [Test]
    public async Task AddWithoutPrevResultFailsAndWithoutMappingsPassesPrevResultThrough()
    {
        var runner = new FakeCommandRunner("iptables", "ip6tables");
        (await Run(runner, "ADD", PortmapTestData.Config("net1", Http))).AssertError(7, "prevResult");
        JsonObject noMappings = Conf("[]");
        foreach (string version in new[] { "0.3.1", "0.4.0", "1.0.0", "1.1.0" })
        {
            JsonObject conf = PortmapTestData.Config("net1", "[]", version: version, prev: PortmapTestData.PrevResult(version, Sandbox, "10.0.0.2/24"));
            JsonObject result = (await Run(runner, "ADD", conf)).AssertSuccess().Json;
            Assert.That(result["cniVersion"]!.GetValue<string>(), Is.EqualTo(version));
            Assert.That(result["ips"]![0]!["address"]!.GetValue<string>(), Is.EqualTo("10.0.0.2/24"));
        }
        Assert.That(runner.Commands, Is.Empty);
    }

    // ------------------------------------------------------------------ iptables

    private static readonly string[] IptablesAddGolden =
    [
        "iptables --wait -t nat -N CNI-HOSTPORT-SETMARK",
        "iptables --wait -t nat -C CNI-HOSTPORT-SETMARK -m comment --comment CNI portfwd masquerade mark -j MARK --set-xmark 0x2000/0x2000",
        "iptables --wait -t nat -N CNI-HOSTPORT-MASQ",
        "iptables --wait -t nat -C CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE",
        "iptables --wait -t nat -C POSTROUTING -m comment --comment CNI portfwd requiring masquerade -j CNI-HOSTPORT-MASQ",
        "iptables --wait -t nat -N CNI-HOSTPORT-DNAT",
        "iptables --wait -t nat -C PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT",
        "iptables --wait -t nat -C OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT",
        "iptables --wait -t nat -N CNI-DN-85373d34c6846b6c53ee2",
        "iptables --wait -t nat -C CNI-DN-85373d34c6846b6c53ee2 -p tcp --dport 8080 -s 10.0.0.2/24 -j CNI-HOSTPORT-SETMARK",
        "iptables --wait -t nat -C CNI-DN-85373d34c6846b6c53ee2 -p tcp --dport 8080 -s 127.0.0.1 -j CNI-HOSTPORT-SETMARK",
        "iptables --wait -t nat -C CNI-DN-85373d34c6846b6c53ee2 -p tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80",
        "iptables --wait -t nat -C CNI-DN-85373d34c6846b6c53ee2 -p udp --dport 5353 -d 192.168.1.10 -s 10.0.0.2/24 -j CNI-HOSTPORT-SETMARK",
        "iptables --wait -t nat -C CNI-DN-85373d34c6846b6c53ee2 -p udp --dport 5353 -d 192.168.1.10 -s 127.0.0.1 -j CNI-HOSTPORT-SETMARK",
        "iptables --wait -t nat -C CNI-DN-85373d34c6846b6c53ee2 -p udp --dport 5353 -d 192.168.1.10 -j DNAT --to-destination 10.0.0.2:53",
        "iptables --wait -t nat -C CNI-HOSTPORT-DNAT -m comment --comment dnat name: \"net1\" id: \"ctr1\" -m multiport -p tcp --destination-ports 8080,8443 -j CNI-DN-85373d34c6846b6c53ee2",
        "iptables --wait -t nat -C CNI-HOSTPORT-DNAT -m comment --comment dnat name: \"net1\" id: \"ctr1\" -m multiport -p udp --destination-ports 5353 -j CNI-DN-85373d34c6846b6c53ee2",
    ];

    [Test]
    public async Task IptablesAddRunsTheReferenceRulesInOrder()
    {
        // Every chain is there already and every -C answers "missing", so every rule is then added: the golden list
        // shows the checks, and each check is followed by the matching -A (chain rules) or -I 1 (entry rules of
        // CNI-HOSTPORT-DNAT and POSTROUTING).
        var runner = new FakeCommandRunner("iptables", "ip6tables") { Respond = l => l.Contains(" -C ") ? new CommandOutput(1, "", "iptables: Bad rule (does a matching rule exist in that chain?).") : l.Contains(" -N ") ? new CommandOutput(1, "", "iptables: Chain already exists.") : null };
        string mappings = """
            [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"},
             {"hostPort": 8443, "containerPort": 443, "protocol": "TCP", "hostIP": "fd00::1"},
             {"hostPort": 5353, "containerPort": 53, "protocol": "udp", "hostIP": "192.168.1.10"}]
            """;
        (await Run(runner, "ADD", Conf(mappings))).AssertSuccess();
        string[] checks = runner.Commands.Where(c => c.Contains(" -C ") || c.Contains(" -N ")).ToArray();
        Assert.That(checks, Is.EqualTo(IptablesAddGolden));
        string[] adds = runner.Commands.Where(c => c.Contains(" -A ") || c.Contains(" -I ")).ToArray();
        Assert.That(adds, Has.Length.EqualTo(IptablesAddGolden.Count(c => c.Contains(" -C "))));
        Assert.That(adds, Does.Contain("iptables --wait -t nat -I POSTROUTING 1 -m comment --comment CNI portfwd requiring masquerade -j CNI-HOSTPORT-MASQ"));
        Assert.That(adds, Does.Contain("iptables --wait -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT"));
        Assert.That(adds, Does.Contain("iptables --wait -t nat -A CNI-DN-85373d34c6846b6c53ee2 -p tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80"));
        Assert.That(adds.Last(), Is.EqualTo("iptables --wait -t nat -I CNI-HOSTPORT-DNAT 1 -m comment --comment dnat name: \"net1\" id: \"ctr1\" -m multiport -p udp --destination-ports 5353 -j CNI-DN-85373d34c6846b6c53ee2"));
        Assert.That(runner.Commands, Has.None.StartWith("ip6tables"), "IPv4-only container");
    }

    [Test]
    public async Task IptablesRulesOfAChainThisAddCreatedAreAppendedWithoutALook()
    {
        // -N succeeds: the chain is new and empty, so its own rules need no -C (one iptables process each); rules in
        // chains that were there (PREROUTING, OUTPUT, POSTROUTING) are still looked for first.
        var runner = new FakeCommandRunner("iptables", "ip6tables") { Respond = l => l.Contains(" -C ") ? new CommandOutput(1, "", "iptables: Bad rule (does a matching rule exist in that chain?).") : null };
        (await Run(runner, "ADD", Conf("""[{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]"""))).AssertSuccess();
        // (CNI-HOSTPORT-DNAT gets its rules later, as the entry of each container's chain: those are looked for.)
        string[] newChains = ["CNI-HOSTPORT-SETMARK", "CNI-HOSTPORT-MASQ", "CNI-DN-85373d34c6846b6c53ee2"];
        Assert.That(runner.Commands.Where(c => c.Contains(" -N ")).Select(c => c.Split(" -N ")[1]), Is.SupersetOf(newChains));
        foreach (string chain in newChains)
        {
            Assert.That(runner.Commands, Has.None.Contains($" -C {chain} "), chain);
            Assert.That(runner.Commands, Has.Some.Contains($" -A {chain} "), chain);
        }
        Assert.That(runner.Commands, Has.Some.Contains(" -C PREROUTING "));
        Assert.That(runner.Commands, Has.Some.Contains(" -A PREROUTING "));
    }

    [Test]
    public async Task IptablesChainsThisAddCreatedAreFilledInOneRestoreTransaction()
    {
        // -N succeeds: the chain is new, nothing can jump to it yet, so its rules and the jumps into it go in as one
        // iptables-restore --noflush (one process instead of one per rule), in the order the rule-by-rule path uses.
        var runner = new FakeCommandRunner("iptables", "ip6tables", "iptables-restore") { Respond = l => l.Contains(" -C ") ? new CommandOutput(1, "", "") : null };
        (await Run(runner, "ADD", Conf("""[{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]"""))).AssertSuccess();
        Assert.That(runner.Commands.Where(c => c.StartsWith("iptables-restore", StringComparison.Ordinal)).ToArray(), Has.Length.EqualTo(4).And.All.EqualTo("iptables-restore -w --noflush"));
        Assert.That(runner.Commands, Has.None.Contains(" -A ").And.None.Contains(" -I ").And.None.Contains(" -C "));
        string dnat = runner.Stdins[runner.Commands.LastIndexOf("iptables-restore -w --noflush")]!;
        Assert.That(dnat, Is.EqualTo(
            "*nat\n" +
            "-A CNI-DN-85373d34c6846b6c53ee2 -p tcp --dport 8080 -s 10.0.0.2/24 -j CNI-HOSTPORT-SETMARK\n" +
            "-A CNI-DN-85373d34c6846b6c53ee2 -p tcp --dport 8080 -s 127.0.0.1 -j CNI-HOSTPORT-SETMARK\n" +
            "-A CNI-DN-85373d34c6846b6c53ee2 -p tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80\n" +
            "-I CNI-HOSTPORT-DNAT 1 -m comment --comment \"dnat name: \\\"net1\\\" id: \\\"ctr1\\\"\" -m multiport -p tcp --destination-ports 8080 -j CNI-DN-85373d34c6846b6c53ee2\n" +
            "COMMIT\n"));
    }

    [Test]
    public async Task IptablesGoesRuleByRuleWhenTheRestoreTransactionFails()
    {
        var runner = new FakeCommandRunner("iptables", "ip6tables", "iptables-restore")
        {
            Respond = l => l.Contains(" -C ") ? new CommandOutput(1, "", "") : l.StartsWith("iptables-restore", StringComparison.Ordinal) ? new CommandOutput(1, "", "iptables-restore: line 2 failed") : null,
        };
        (await Run(runner, "ADD", Conf("""[{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]"""))).AssertSuccess();
        Assert.That(runner.Commands, Has.Some.EqualTo("iptables --wait -t nat -A CNI-DN-85373d34c6846b6c53ee2 -p tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80"));
        Assert.That(runner.Commands, Has.Some.StartWith("iptables --wait -t nat -I CNI-HOSTPORT-DNAT 1 "));
    }

    [Test]
    public void IptablesIpv6RulesBracketTheAddressAndSkipLocalhost()
    {
        PortmapSettings s = Settings("""[{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}, {"hostPort": 9090, "containerPort": 90, "protocol": "tcp", "hostIP": "10.1.1.1"}]""",
            """{"conditionsV6": ["!", "-s", "fd00::9"]}""", "fd00::2/64");
        IptablesChain chain = IptablesPortMapper.DnatChain(s, s.ContainerV6!.Value);
        Assert.That(chain.Rules.Select(r => string.Join(' ', r)), Is.EqualTo(new[]
        {
            "-p tcp --dport 8080 -s fd00::2/64 -j CNI-HOSTPORT-SETMARK",
            "-p tcp --dport 8080 -j DNAT --to-destination [fd00::2]:80",
        }));
        Assert.That(chain.EntryRules.Select(r => string.Join(' ', r)), Is.EqualTo(new[]
        {
            "-m comment --comment dnat name: \"net1\" id: \"ctr1\" -m multiport -p tcp --destination-ports 8080,9090 ! -s fd00::9",
        }));
    }

    [Test]
    public void IptablesSplitsMultiportEvery15PortsAndHonoursMasqAllAndExternalMarkChain()
    {
        string mappings = "[" + string.Join(",", Enumerable.Range(1, 16).Select(i => $$"""{"hostPort": {{1000 + i}}, "containerPort": 80, "protocol": "tcp"}""")) + "]";
        PortmapSettings s = Settings(mappings, """{"masqAll": true, "externalSetMarkChain": "KUBE-MARK-MASQ"}""", "10.0.0.2/24");
        IptablesChain chain = IptablesPortMapper.DnatChain(s, s.ContainerV4!.Value);
        Assert.That(chain.EntryRules, Has.Count.EqualTo(2));
        Assert.That(chain.EntryRules[1], Does.Contain("1016"));
        Assert.That(string.Join(' ', chain.Rules[0]), Is.EqualTo("-p tcp --dport 1001 -s 0.0.0.0/0 -j KUBE-MARK-MASQ"));
        Assert.That(chain.Rules, Has.Count.EqualTo(32), "no localhost rule with masqAll");
    }

    [Test]
    public async Task IptablesDelRemovesTheJumpsReadBackFromTheListingThenTheChain()
    {
        const string listing = """
            -N CNI-HOSTPORT-DNAT
            -A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \"net1\" id: \"other\"" -m multiport --dports 9090 -j CNI-DN-aaaaaaaaaaaaaaaaaaaaa
            -A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \"net1\" id: \"ctr1\"" -m multiport --dports 8080 -j CNI-DN-85373d34c6846b6c53ee2
            """;
        var runner = new FakeCommandRunner("iptables", "ip6tables")
        {
            Respond = l => l switch
            {
                "iptables --wait -t nat -S CNI-HOSTPORT-DNAT" => new CommandOutput(0, listing, ""),
                _ when l.StartsWith("ip6tables", StringComparison.Ordinal) && l.EndsWith("-S OUTPUT", StringComparison.Ordinal) => new CommandOutput(3, "", "ip6tables v1.8.9 (nf_tables): can't initialize table 'nat'"),
                _ when l.Contains("CNI-SN-") || l.Contains("CNI-HOSTPORT-SNAT") => new CommandOutput(1, "", "iptables: No chain/target/match by that name."),
                _ => null,
            },
        };
        (await Run(runner, "DEL", PortmapTestData.Config("net1", Http), netns: null)).AssertSuccess();
        Assert.That(runner.Commands.Take(5), Is.EqualTo(new[]
        {
            "iptables --wait -t nat -S OUTPUT",
            "iptables --wait -t nat -S CNI-HOSTPORT-DNAT",
            "iptables --wait -t nat -D CNI-HOSTPORT-DNAT -p tcp -m comment --comment dnat name: \"net1\" id: \"ctr1\" -m multiport --dports 8080 -j CNI-DN-85373d34c6846b6c53ee2",
            "iptables --wait -t nat -F CNI-DN-85373d34c6846b6c53ee2",
            "iptables --wait -t nat -X CNI-DN-85373d34c6846b6c53ee2",
        }));
        Assert.That(runner.Commands, Has.None.Contains("id: \"other\""));
        Assert.That(runner.Commands.Last(), Is.EqualTo("ip6tables --wait -t nat -S OUTPUT"), "an unusable ip6tables is skipped");
    }

    [Test]
    public async Task FailedIptablesAddRollsBackTheAttachmentChain()
    {
        var runner = new FakeCommandRunner("iptables", "ip6tables")
        {
            Respond = l => l.Contains(" -C ") ? new CommandOutput(1, "", "")
                : l.Contains(" -I CNI-HOSTPORT-DNAT ") ? new CommandOutput(4, "", "iptables: Resource temporarily unavailable.") : null,
        };
        PluginOutput o = await Run(runner, "ADD", Conf(Http));
        o.AssertError(999, "Resource temporarily unavailable");
        int failed = runner.Commands.FindIndex(c => c.Contains(" -I CNI-HOSTPORT-DNAT "));
        Assert.That(runner.Commands.Skip(failed + 1), Is.EqualTo(new[]
        {
            "iptables --wait -t nat -S CNI-HOSTPORT-DNAT",
            "iptables --wait -t nat -F CNI-DN-85373d34c6846b6c53ee2",
            "iptables --wait -t nat -X CNI-DN-85373d34c6846b6c53ee2",
        }));
    }

    [Test]
    public async Task IptablesCheckOnAnIpv4OnlyNetworkNeverAsksIp6tables()
    {
        var runner = new FakeCommandRunner("iptables", "ip6tables");
        (await Run(runner, "CHECK", Conf(Http))).AssertSuccess();
        Assert.That(runner.Commands, Has.All.StartWith("iptables "));
        var missing = new FakeCommandRunner("iptables", "ip6tables") { Respond = l => l.Contains("DNAT --to-destination") ? new CommandOutput(1, "", "") : null };
        (await Run(missing, "CHECK", Conf(Http))).AssertError(999, "-j DNAT --to-destination 10.0.0.2:80");
    }

    // ------------------------------------------------------------------ nftables

    private const string NftV4Golden = """
        add table ip cni_hostport { comment "CNI portmap plugin" ; }
        add chain ip cni_hostport hostports
        add chain ip cni_hostport hostip_hostports
        add chain ip cni_hostport prerouting { type nat hook prerouting priority -100 ; }
        flush chain ip cni_hostport prerouting
        add rule ip cni_hostport prerouting ip saddr != 10.9.0.0/16 jump hostip_hostports
        add rule ip cni_hostport prerouting ip saddr != 10.9.0.0/16 jump hostports
        add chain ip cni_hostport output { type nat hook output priority -100 ; }
        flush chain ip cni_hostport output
        add rule ip cni_hostport output ip saddr != 10.9.0.0/16 jump hostip_hostports
        add rule ip cni_hostport output ip saddr != 10.9.0.0/16 fib daddr type local jump hostports
        add chain ip cni_hostport masquerading { type nat hook postrouting priority 100 ; }
        add rule ip cni_hostport hostports tcp dport 8080 dnat to 10.0.0.2:80 comment "ctr1"
        add rule ip cni_hostport hostip_hostports ip daddr 192.168.1.10 udp dport 5353 dnat to 10.0.0.2:53 comment "ctr1"
        add rule ip cni_hostport masquerading ip saddr 10.0.0.2 ip daddr 10.0.0.2 masquerade comment "ctr1"
        add rule ip cni_hostport masquerading ip saddr 127.0.0.1 ip daddr 10.0.0.2 masquerade comment "ctr1"

        """;

    private const string NftV6Golden = """
        add table ip6 cni_hostport { comment "CNI portmap plugin" ; }
        add chain ip6 cni_hostport hostports
        add chain ip6 cni_hostport hostip_hostports
        add chain ip6 cni_hostport prerouting { type nat hook prerouting priority -100 ; }
        flush chain ip6 cni_hostport prerouting
        add rule ip6 cni_hostport prerouting jump hostip_hostports
        add rule ip6 cni_hostport prerouting jump hostports
        add chain ip6 cni_hostport output { type nat hook output priority -100 ; }
        flush chain ip6 cni_hostport output
        add rule ip6 cni_hostport output jump hostip_hostports
        add rule ip6 cni_hostport output fib daddr type local jump hostports
        add chain ip6 cni_hostport masquerading { type nat hook postrouting priority 100 ; }
        add rule ip6 cni_hostport hostports tcp dport 8080 dnat to [fd00::2]:80 comment "ctr1"
        add rule ip6 cni_hostport masquerading ip6 saddr fd00::2 ip6 daddr fd00::2 masquerade comment "ctr1"

        """;

    [Test]
    public async Task NftablesAddFeedsOneScriptPerFamily()
    {
        var runner = new FakeCommandRunner("nft");
        string mappings = """[{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}, {"hostPort": 5353, "containerPort": 53, "protocol": "udp", "hostIP": "192.168.1.10"}]""";
        (await Run(runner, "ADD", Conf(mappings, """{"conditionsV4": ["ip saddr != 10.9.0.0/16"]}""", "10.0.0.2/24", "fd00::2/64"))).AssertSuccess();
        Assert.That(runner.Commands, Is.EqualTo(new[] { "nft -f -", "nft -f -" }));
        Assert.That(runner.Stdins[0], Is.EqualTo(NftV4Golden.ReplaceLineEndings("\n")));
        Assert.That(runner.Stdins[1], Is.EqualTo(NftV6Golden.ReplaceLineEndings("\n")));
    }

    [Test]
    public async Task NftablesScriptNeverCarriesNetworkOrInterfaceNamesAndRefusesHostileIds()
    {
        var runner = new FakeCommandRunner("nft");
        JsonObject conf = PortmapTestData.Config("evil-net.name", Http, """{"backend": "nftables"}""", prev: PortmapTestData.PrevResult("1.0.0", Sandbox, "10.0.0.2/24"));
        (await Run(runner, "ADD", conf)).AssertSuccess();
        Assert.That(runner.Stdins[0], Does.Not.Contain("evil").And.Not.Contain("eth0"), "the host refuses hostile network names; ours are not even in the script");

        // The host refuses such ids already; the plugin refuses them too when called directly.
        var plugin = new PortmapPlugin(new FakeCommandRunner("nft"));
        byte[] raw = System.Text.Encoding.UTF8.GetBytes(conf.ToJsonString());
        var request = new CniRequest
        {
            Command = CniCommand.Add, ContainerId = "x\" ; flush ruleset ; #", IfName = "eth0", NetNs = Sandbox,
            Config = NetConf.Parse(raw), RawConfig = raw,
            Environment = new InMemoryCniEnvironment(new Dictionary<string, string>(), ""),
        };
        CniException e = Assert.ThrowsAsync<CniException>(() => plugin.AddAsync(request, CancellationToken.None))!;
        Assert.That(e.Message, Does.Contain("CNI_CONTAINERID"));
    }

    private const string NftListing = """
        {"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
         {"table": {"family": "ip", "name": "cni_hostport", "handle": 3, "comment": "CNI portmap plugin"}},
         {"chain": {"family": "ip", "table": "cni_hostport", "name": "hostports", "handle": 1}},
         {"rule": {"family": "ip", "table": "cni_hostport", "chain": "prerouting", "handle": 7, "expr": []}},
         {"rule": {"family": "ip", "table": "cni_hostport", "chain": "hostports", "handle": 9, "comment": "ctr1", "expr": []}},
         {"rule": {"family": "ip", "table": "cni_hostport", "chain": "hostports", "handle": 10, "comment": "ctr2", "expr": []}},
         {"rule": {"family": "ip", "table": "cni_hostport", "chain": "masquerading", "handle": 11, "comment": "ctr1", "expr": []}},
         {"rule": {"family": "ip", "table": "cni_hostport", "chain": "masquerading", "handle": 12, "comment": "ctr1", "expr": []}}]}
        """;

    [Test]
    public async Task NftablesDelDeletesOnlyThisContainersRulesByHandle()
    {
        var runner = new FakeCommandRunner("nft")
        {
            Respond = l => l switch
            {
                "nft -j list table ip cni_hostport" => new CommandOutput(0, NftListing, ""),
                "nft -j list table ip6 cni_hostport" => new CommandOutput(1, "", "Error: No such file or directory; did you mean table 'cni_hostport' in family ip?"),
                _ => null,
            },
        };
        (await Run(runner, "DEL", PortmapTestData.Config("net1", Http, """{"backend": "nftables"}"""), netns: null)).AssertSuccess();
        Assert.That(runner.Commands, Is.EqualTo(new[] { "nft -j list table ip cni_hostport", "nft -f -", "nft -j list table ip6 cni_hostport" }));
        Assert.That(runner.Stdins[1], Is.EqualTo("delete rule ip cni_hostport hostports handle 9\ndelete rule ip cni_hostport masquerading handle 11\ndelete rule ip cni_hostport masquerading handle 12\n"));
    }

    [Test]
    public async Task NftablesCheckCountsThisContainersRulesPerChain()
    {
        var runner = new FakeCommandRunner("nft") { Respond = l => l == "nft -j list table ip cni_hostport" ? new CommandOutput(0, NftListing, "") : null };
        (await Run(runner, "CHECK", Conf(Http, """{"backend": "nftables"}"""))).AssertSuccess();
        (await Run(runner, "CHECK", Conf("""[{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}, {"hostPort": 8081, "containerPort": 81, "protocol": "tcp"}]""", """{"backend": "nftables"}""")))
            .AssertError(999, "hostports");
    }

    // ------------------------------------------------------------------ STATUS

    [Test]
    public async Task StatusReportsAMissingBackendTool()
    {
        (await Run(new FakeCommandRunner("iptables"), "STATUS", PortmapTestData.Config("net1", "[]", version: "1.1.0"), netns: null)).AssertSuccess();
        (await Run(new FakeCommandRunner(), "STATUS", PortmapTestData.Config("net1", "[]", version: "1.1.0"), netns: null)).AssertError(50, "iptables");
    }

    // ------------------------------------------------------------------ ctnetlink

    [Test]
    public void ConntrackDumpRequestBytes()
    {
        byte[] dump = ConntrackMessages.Dump(AddressFamily.InterNetwork);
        Assert.That(Convert.ToHexString(dump), Is.EqualTo(
            "14000000" +     // nlmsg_len 20
            "0101" +         // NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_GET
            "0103" +         // NLM_F_REQUEST | NLM_F_DUMP
            "00000000" + "00000000" + // seq, pid (stamped by the socket)
            "02" + "00" + "0000"));   // nfgenmsg: AF_INET, NFNETLINK_V0, res_id
        Assert.That(ConntrackMessages.Dump(AddressFamily.InterNetworkV6)[16], Is.EqualTo(10));
    }

    [Test]
    public void ConntrackDeleteRequestBytes()
    {
        var tuple = new ConntrackTuple(IPAddress.Parse("192.168.1.5"), IPAddress.Parse("10.0.0.1"), 17, 40000, 5353);
        byte[] del = ConntrackMessages.Delete(tuple, zone: 0);
        Assert.That(Convert.ToHexString(del), Is.EqualTo(
            "48000000" + "0201" + "0500" + "00000000" + "00000000" + // len 72, IPCTNL_MSG_CT_DELETE, REQUEST|ACK
            "02000000" +                                             // nfgenmsg AF_INET
            "34000180" +                                             // CTA_TUPLE_ORIG | NLA_F_NESTED, 52 bytes
            "14000180" +                                             //   CTA_TUPLE_IP | NESTED, 20 bytes
            "08000100" + "C0A80105" +                                //     CTA_IP_V4_SRC 192.168.1.5
            "08000200" + "0A000001" +                                //     CTA_IP_V4_DST 10.0.0.1
            "1C000280" +                                             //   CTA_TUPLE_PROTO | NESTED, 28 bytes
            "05000100" + "11000000" +                                //     CTA_PROTO_NUM 17 (+3 pad)
            "06000200" + "9C400000" +                                //     CTA_PROTO_SRC_PORT 40000 big endian (+2 pad)
            "06000300" + "14E90000"));                               //     CTA_PROTO_DST_PORT 5353 big endian
        byte[] zoned = ConntrackMessages.Delete(tuple, zone: 7);
        Assert.That(Convert.ToHexString(zoned[^8..]), Is.EqualTo("06001200" + "00070000"), "CTA_ZONE 7, big endian");
    }

    [Test]
    public void ConntrackFlowParsesWhatTheDeleteEncodes()
    {
        var tuple = new ConntrackTuple(IPAddress.Parse("fd00::5"), IPAddress.Parse("fd00::1"), 17, 1234, 53);
        byte[] msg = ConntrackMessages.Delete(tuple, zone: 3);
        ConntrackFlow? flow = ConntrackMessages.ParseFlow(msg);
        Assert.That(flow, Is.EqualTo(new ConntrackFlow(tuple, 3)));
    }

    private static PortmapSettings Settings(string mappings, string? extra, params string[] addresses)
    {
        JsonObject conf = PortmapTestData.Config("net1", mappings, extra, prev: PortmapTestData.PrevResult("1.0.0", Sandbox, addresses));
        byte[] raw = System.Text.Encoding.UTF8.GetBytes(conf.ToJsonString());
        var request = new CniRequest
        {
            Command = CniCommand.Add, ContainerId = "ctr1", IfName = "eth0", NetNs = Sandbox,
            Config = NetConf.Parse(raw), RawConfig = raw,
            Environment = new InMemoryCniEnvironment(new Dictionary<string, string>(), ""),
        };
        return PortmapSettings.Load(request, iptablesInstalled: true, nftInstalled: true);
    }
}
