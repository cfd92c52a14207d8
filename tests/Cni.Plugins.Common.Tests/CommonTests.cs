using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Cni.Plugins.Common;
using Cni.Spec;
using Cni.TestSupport;

namespace Cni.Plugins.Common.Tests;

public class AddTransactionTests
{
    [Test]
    public async Task DisposeWithoutCommitRunsUndosInReverse()
    {
        var order = new List<string>();
        await using (var tx = new AddTransaction())
        {
            tx.OnRollback("a", () => order.Add("a"));
            tx.OnRollback("b", () => { order.Add("b"); return Task.CompletedTask; });
            tx.OnRollback("c", () => order.Add("c"));
        }
        Assert.That(order, Is.EqualTo(new[] { "c", "b", "a" }));
    }

    [Test]
    public async Task CommitKeepsEverything()
    {
        var order = new List<string>();
        await using (var tx = new AddTransaction())
        {
            tx.OnRollback("a", () => order.Add("a"));
            tx.Commit();
            Assert.That(tx.IsCommitted, Is.True);
        }
        Assert.That(order, Is.Empty);
    }

    [Test]
    public async Task AFailingUndoIsLoggedAndTheOthersStillRun()
    {
        var order = new List<string>();
        var log = new StringWriter();
        await using (var tx = new AddTransaction(log))
        {
            tx.OnRollback("first", () => order.Add("first"));
            tx.OnRollback("broken", () => throw new InvalidOperationException("boom"));
            tx.OnRollback("last", () => order.Add("last"));
        }
        Assert.That(order, Is.EqualTo(new[] { "last", "first" }));
        Assert.That(log.ToString(), Does.Contain("broken").And.Contain("boom"));
    }

    [Test]
    public async Task TheOriginalExceptionSurvivesTheRollback()
    {
        bool undone = false;
        async Task Add()
        {
            await using var tx = new AddTransaction();
            tx.OnRollback("undo", () => undone = true);
            throw new CniException(CniErrorCode.Internal, "ipam failed");
        }
        CniException? ex = Assert.ThrowsAsync<CniException>(Add);
        Assert.That(ex!.Message, Is.EqualTo("ipam failed"));
        Assert.That(undone, Is.True);
    }
}

public class NetfilterNamesTests
{
    [Test]
    public void ChainNamesMatchTheReference()
    {
        // Vectors from the reference's pkg/utils tests.
        Assert.That(NetfilterNames.ChainName("test", "1234"), Is.EqualTo("CNI-2bbe0c48b91a7d1b8a6753a8"));
        Assert.That(NetfilterNames.ChainName("testalongnamethatdoesnotmakesense", "1234"), Is.EqualTo("CNI-374f33fe84ab0ed84dcdebe3"));
        Assert.That(NetfilterNames.HashWithPrefix(28, "CNI-PREFIX-", "test1234"), Is.EqualTo("CNI-PREFIX-2bbe0c48b91a7d1b8"));
    }

    [Test]
    public void CommentsAndHashes()
    {
        Assert.That(NetfilterNames.IptablesComment("net", "abc"), Is.EqualTo("name: \"net\" id: \"abc\""));
        string comment = NetfilterNames.InstanceComment("net", "eth0", "abc");
        Assert.That(comment, Does.StartWith(NetfilterNames.InstanceHash("net", "eth0", "abc") + ", net: net, if: eth0, id: abc"));
        Assert.That(NetfilterNames.InstanceHash("net", "eth0", "abc"), Does.Match("^[0-9a-f]{16}-[0-9a-f]{16}$"));
        Assert.That(NetfilterNames.InstanceComment("n", "eth0", new string('x', 200)), Has.Length.EqualTo(128));
    }

    [TestCase("")]
    [TestCase("abc")]
    [TestCase("The quick brown fox jumps over the lazy dog, twice: The quick brown fox jumps over the lazy dog. And a bit more text to cross 128 bytes of input.")]
    public void ManagedSha512MatchesTheFramework(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        Assert.That(ManagedSha512.Hash(bytes), Is.EqualTo(SHA512.HashData(bytes)));
    }

    [Test]
    public void ManagedSha512AtEveryPaddingBoundary()
    {
        for (int n = 100; n < 300; n++)
        {
            byte[] bytes = Enumerable.Range(0, n).Select(i => (byte)i).ToArray();
            Assert.That(ManagedSha512.Hash(bytes), Is.EqualTo(SHA512.HashData(bytes)), $"length {n}");
        }
    }
}

public class IpMasqueradeTests
{
    [Test]
    public void NftablesScriptHasTheReferenceLayout()
    {
        string script = IpMasquerade.NftablesSetupScript([IPPrefix.Parse("10.1.2.3/24"), IPPrefix.Parse("fd00::5/64")], "net", "eth0", "abc");
        string comment = NetfilterNames.InstanceComment("net", "eth0", "abc");
        Assert.That(script, Does.Contain("add chain inet cni_plugins_masquerade postrouting { type nat hook postrouting priority 100 ; }\n"));
        Assert.That(script, Does.Contain("flush chain inet cni_plugins_masquerade postrouting\n"));
        Assert.That(script, Does.Contain("add rule inet cni_plugins_masquerade postrouting goto masq_checks\n"));
        Assert.That(script, Does.Contain($"add rule inet cni_plugins_masquerade masq_checks ip saddr == 10.1.2.3 ip daddr != 10.1.2.0/24 masquerade comment \"{comment}\"\n"));
        Assert.That(script, Does.Contain($"add rule inet cni_plugins_masquerade masq_checks ip6 saddr == fd00::5 ip6 daddr != fd00::/64 masquerade comment \"{comment}\"\n"));
        Assert.That(script.IndexOf("goto masq_checks", StringComparison.Ordinal), Is.LessThan(script.IndexOf("ip saddr", StringComparison.Ordinal)), "the chains exist before the rules go in");
    }

    [Test]
    public void FastPathScriptHasOnlyTheAttachmentsRules()
    {
        string script = IpMasquerade.NftablesRulesScript([IPPrefix.Parse("10.1.2.3/24")], "net", "eth0", "abc");
        string comment = NetfilterNames.InstanceComment("net", "eth0", "abc");
        Assert.That(script, Is.EqualTo($"add rule inet cni_plugins_masquerade masq_checks ip saddr == 10.1.2.3 ip daddr != 10.1.2.0/24 masquerade comment \"{comment}\"\n"));
    }

    [Test]
    public void IptablesTeardownIsOneRestoreTransactionOfTheListedLines()
    {
        // The jump as `iptables -S` prints it (iptables-save syntax, the comment quoted with escaped quotes).
        const string jump = "-A POSTROUTING -s 10.1.2.3/32 -m comment --comment \"name: \\\"net\\\" id: \\\"abc\\\"\" -j CNI-0123456789abcdef01234567";
        string script = IpMasquerade.IptablesTeardownScript("CNI-0123456789abcdef01234567", [jump], chainExists: true);
        Assert.That(script, Is.EqualTo(
            "*nat\n" +
            "-D POSTROUTING -s 10.1.2.3/32 -m comment --comment \"name: \\\"net\\\" id: \\\"abc\\\"\" -j CNI-0123456789abcdef01234567\n" +
            "-F CNI-0123456789abcdef01234567\n" +
            "-X CNI-0123456789abcdef01234567\n" +
            "COMMIT\n"));
        Assert.That(IpMasquerade.IptablesTeardownScript("CNI-x", [], chainExists: true), Is.EqualTo("*nat\n-F CNI-x\n-X CNI-x\nCOMMIT\n"));
        Assert.Throws<ArgumentException>(() => IpMasquerade.IptablesTeardownScript("CNI-x", ["-N CNI-x"], chainExists: true));
    }

    [TestCase(true, TestName = "IptablesTeardownUsesRestoreWhenItSucceeds")]
    [TestCase(false, TestName = "IptablesTeardownGoesStepByStepWhenTheTransactionFails")]
    public async Task IptablesTeardownFallsBackStepByStep(bool restoreSucceeds)
    {
        string chain = NetfilterNames.ChainName("net", "abc");
        var runner = new ScriptedRunner(restoreSucceeds,
            $"-P POSTROUTING ACCEPT\n-N {chain}\n-A POSTROUTING -s 10.1.2.3/32 -m comment --comment \"x\" -j {chain}\n-A {chain} -d 10.1.2.0/24 -j ACCEPT\n");
        await IpMasquerade.TeardownAsync("net", "eth0", "abc", [System.Net.Sockets.AddressFamily.InterNetwork], runner: runner);
        string[] expected = restoreSucceeds
            ? ["iptables -w -t nat -S", "iptables-restore -w --noflush"]
            : ["iptables -w -t nat -S", "iptables-restore -w --noflush", $"iptables -w -t nat -D POSTROUTING -s 10.1.2.3/32 -j {chain} -m comment --comment {NetfilterNames.IptablesComment("net", "abc")}",
               $"iptables -w -t nat -F {chain}", $"iptables -w -t nat -X {chain}"];
        Assert.That(runner.Commands, Is.EqualTo(expected));
        Assert.That(runner.Stdin[1], Does.StartWith($"*nat\n-D POSTROUTING -s 10.1.2.3/32 -m comment --comment \"x\" -j {chain}\n-F {chain}\n-X {chain}\n"));
    }

    [Test]
    public void IptablesSetupOfANewChainIsOneRestoreTransaction()
    {
        string chain = NetfilterNames.ChainName("net", "abc");
        string comment = NetfilterNames.IptablesComment("net", "abc");
        string quoted = "\"" + comment.Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
        Assert.That(IpMasquerade.IptablesSetupScript(chain, comment, IPPrefix.Parse("10.1.2.3/24"), "224.0.0.0/4"), Is.EqualTo(
            "*nat\n" +
            $"-A {chain} -d 10.1.2.3/24 -j ACCEPT -m comment --comment {quoted}\n" +
            $"-A {chain} ! -d 224.0.0.0/4 -j MASQUERADE -m comment --comment {quoted}\n" +
            $"-A POSTROUTING -s 10.1.2.3 -j {chain} -m comment --comment {quoted}\n" +
            "COMMIT\n"));
        Assert.That(quoted, Does.Contain("\\\"net\\\""), "the quotes inside the comment are escaped as iptables-save writes them");
    }

    [TestCase(true, TestName = "IptablesSetupUsesRestoreForANewChain")]
    [TestCase(false, TestName = "IptablesSetupGoesStepByStepWhenTheTransactionFails")]
    public async Task IptablesSetupFallsBackStepByStep(bool restoreSucceeds)
    {
        string chain = NetfilterNames.ChainName("net", "abc");
        var runner = new ScriptedRunner(restoreSucceeds, "");
        await IpMasquerade.SetupAsync(MasqueradeBackend.Iptables, [IPPrefix.Parse("10.1.2.3/24")], "net", "eth0", "abc", runner: runner);
        Assert.That(runner.Commands.Take(2), Is.EqualTo(new[] { $"iptables -w -t nat -N {chain}", "iptables-restore -w --noflush" }));
        Assert.That(runner.Commands.Count(c => c.Contains(" -A ", StringComparison.Ordinal)), Is.EqualTo(restoreSucceeds ? 0 : 3), string.Join("\n", runner.Commands));
    }

    /// <summary>Only iptables (legacy flavour: no nft) and iptables-restore exist; -S prints <paramref name="listing"/>.</summary>
    private sealed class ScriptedRunner(bool restoreSucceeds, string listing) : ICommandRunner
    {
        public List<string> Commands { get; } = [];
        public List<string?> Stdin { get; } = [];

        public string? Find(string name) => name is "iptables" or "iptables-restore" ? name : null;

        public Task<CommandOutput> RunAsync(string path, IEnumerable<string> arguments, string? stdin = null, CancellationToken cancellationToken = default, TimeSpan? timeout = null)
        {
            string[] args = arguments.ToArray();
            Commands.Add(path + " " + string.Join(' ', args));
            Stdin.Add(stdin);
            bool ok = path == "iptables-restore" ? restoreSucceeds : !args.Contains("-C"); // no rule exists yet
            return Task.FromResult(new CommandOutput(ok ? 0 : 1, args.Contains("-S") ? listing : "", ok ? "" : "iptables-restore: line 2 failed"));
        }
    }

    [Test]
    public void ParsesRuleHandlesFromNftListing()
    {
        const string listing = """
            table inet cni_plugins_masquerade {
            	chain masq_checks { # handle 2
            		comment "x"
            		ip saddr 10.1.2.3 ip daddr != 10.1.2.0/24 masquerade comment "aaaa-bbbb, net: n, if: eth0, id: c1" # handle 9
            		ip saddr 10.1.2.4 ip daddr != 10.1.2.0/24 masquerade comment "aaaa-cccc, net: n, if: eth0, id: c2" # handle 12
            	}
            }
            """;
        List<(string Comment, long Handle)> rules = IpMasquerade.ParseNftRules(listing);
        Assert.That(rules, Has.Count.EqualTo(2));
        Assert.That(rules[0], Is.EqualTo(("aaaa-bbbb, net: n, if: eth0, id: c1", 9L)));
        Assert.That(rules[1].Handle, Is.EqualTo(12));
    }

    [Test]
    public void ChainListingTellsWhichTableDeclaresAChain()
    {
        const string listing = """
            table ip nat { # handle 1
            	chain POSTROUTING { # handle 1
            		type nat hook postrouting priority srcnat; policy accept;
            		ip saddr 10.1.2.3 counter packets 0 bytes 0 jump CNI-2bbe0c48b91a7d1b8a6753a8 # handle 5
            	}
            	chain CNI-2bbe0c48b91a7d1b8a6753a8 { # handle 4
            		ip daddr 10.1.2.0/24 counter accept comment "other" # handle 6
            	}
            }
            table inet cni_plugins_masquerade { # handle 9
            	chain masq_checks { # handle 1
            		ip saddr 10.1.2.3 ip daddr != 10.1.2.0/24 masquerade comment "aaaa-bbbb, net: n" # handle 3
            	}
            	chain postrouting { # handle 2
            		goto masq_checks comment "not ours" # handle 4
            	}
            }
            """;
        NftRuleset r = NftRuleset.Parse(listing);
        Assert.That(r.Mentions("ip nat", "CNI-2bbe0c48b91a7d1b8a6753a8"), Is.True);
        Assert.That(r.Mentions("ip6 nat", "CNI-2bbe0c48b91a7d1b8a6753a8"), Is.False);
        Assert.That(r.Mentions("ip nat", "CNI-000000000000000000000000"), Is.False);
    }

    [Test]
    public void BackendNames()
    {
        Assert.That(IpMasquerade.ParseBackend("iptables"), Is.EqualTo(MasqueradeBackend.Iptables));
        Assert.That(IpMasquerade.ParseBackend("nftables"), Is.EqualTo(MasqueradeBackend.Nftables));
        CniException? ex = Assert.Throws<CniException>(() => IpMasquerade.ParseBackend("pf"));
        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.InvalidNetworkConfig));
        Assert.That(ex.Message, Does.Contain("ipMasqBackend"));
    }

    [TestCase(true, true, MasqueradeBackend.Iptables, TestName = "Default backend: iptables when both tools are there, as the reference")]
    [TestCase(true, false, MasqueradeBackend.Iptables, TestName = "Default backend: iptables when only iptables is there")]
    [TestCase(false, true, MasqueradeBackend.Nftables, TestName = "Default backend: nftables only when iptables is missing")]
    [TestCase(false, false, MasqueradeBackend.Iptables, TestName = "Default backend: iptables (and its error) when neither is there")]
    public void DefaultBackendIsTheReferences(bool iptables, bool nft, MasqueradeBackend expected)
    {
        string? Find(string tool) => tool switch
        {
            "iptables" when iptables => "/usr/sbin/iptables",
            "nft" when nft => "/usr/sbin/nft",
            _ => null,
        };
        Assert.That(IpMasquerade.DefaultBackend(Find), Is.EqualTo(expected));
    }
}

public class MacAddressArgsTests
{
    private static CniRequest Request(string config, string? cniArgs)
    {
        byte[] raw = Encoding.UTF8.GetBytes(config);
        return new CniRequest
        {
            Command = CniCommand.Add,
            Config = NetConf.Parse(raw),
            RawConfig = raw,
            Args = CniArgs.Parse(cniArgs),
            Environment = new InMemoryCniEnvironment([]),
        };
    }

    [Test]
    public void LaterSourcesWin()
    {
        const string both = """{"cniVersion":"1.0.0","name":"n","type":"bridge","args":{"cni":{"mac":"0a:00:00:00:00:02"}},"runtimeConfig":{"mac":"0a:00:00:00:00:03"}}""";
        const string argsOnly = """{"cniVersion":"1.0.0","name":"n","type":"bridge","args":{"cni":{"mac":"0a:00:00:00:00:02"}}}""";
        const string none = """{"cniVersion":"1.0.0","name":"n","type":"bridge"}""";
        Assert.That(MacAddressArgs.Resolve(Request(both, "MAC=0a:00:00:00:00:01"))!.ToString(), Is.EqualTo("0A0000000003"));
        Assert.That(MacAddressArgs.Resolve(Request(argsOnly, "MAC=0a:00:00:00:00:01"))!.ToString(), Is.EqualTo("0A0000000002"));
        Assert.That(MacAddressArgs.Resolve(Request(none, "MAC=0a:00:00:00:00:01"))!.ToString(), Is.EqualTo("0A0000000001"));
        Assert.That(MacAddressArgs.Resolve(Request(none, null)), Is.Null);
    }

    [Test]
    public void BadMacNamesItsSource()
    {
        const string conf = """{"cniVersion":"1.0.0","name":"n","type":"bridge","runtimeConfig":{"mac":"zz:00"}}""";
        CniException? ex = Assert.Throws<CniException>(() => MacAddressArgs.Resolve(Request(conf, null)));
        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.InvalidNetworkConfig));
        Assert.That(ex.Message, Does.Contain("runtimeConfig.mac").And.Contain("zz:00"));
    }

    [TestCase("CNI_ARGS MAC")]
    [TestCase("args.cni.mac")]
    [TestCase("runtimeConfig.mac")]
    public void MulticastMacIsRejectedNamingItsSource(string source)
    {
        const string multicast = "01:00:5e:00:00:01";
        string conf = source switch
        {
            "args.cni.mac" => """{"cniVersion":"1.0.0","name":"n","type":"bridge","args":{"cni":{"mac":"01:00:5e:00:00:01"}}}""",
            "runtimeConfig.mac" => """{"cniVersion":"1.0.0","name":"n","type":"bridge","runtimeConfig":{"mac":"01:00:5e:00:00:01"}}""",
            _ => """{"cniVersion":"1.0.0","name":"n","type":"bridge"}""",
        };
        string? cniArgs = source == "CNI_ARGS MAC" ? "MAC=" + multicast : null;
        CniException? ex = Assert.Throws<CniException>(() => MacAddressArgs.Resolve(Request(conf, cniArgs)));
        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.InvalidNetworkConfig));
        Assert.That(ex.Message, Does.Contain($"({source})").And.Contain(multicast).And.Contain("multicast"));
    }

    [Test]
    public void ParseAcceptsUnicastAndRejectsMulticastAndZero()
    {
        Assert.That(MacAddressArgs.Parse("0a:58:0a:01:02:03", "mac").ToString(), Is.EqualTo("0A580A010203"));
        Assert.That(MacAddressArgs.Parse("02-00-00-00-00-01", "mac").ToString(), Is.EqualTo("020000000001"));
        foreach (string bad in new[] { "ff:ff:ff:ff:ff:ff", "33:33:00:00:00:01", "00:00:00:00:00:00", "0a:58" })
        {
            CniException? ex = Assert.Throws<CniException>(() => MacAddressArgs.Parse(bad, "mac"), bad);
            Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.InvalidNetworkConfig), bad);
            Assert.That(ex.Message, Does.Contain("(mac)").And.Contain(bad), bad);
        }
    }

    [TestCase("0a:58:0a:01:02:03", true)]
    [TestCase("0A-58-0A-01-02-03", true)]
    [TestCase("0a:58:0a:01:02", false)]
    [TestCase("0a:58:0a:01:02:0g", false)]
    [TestCase("0a58.0a01.0203", false)]
    public void ParsesEthernetMacs(string text, bool valid) =>
        Assert.That(MacAddressArgs.TryParse(text, out _), Is.EqualTo(valid));
}

public class InterfaceHelpersTests
{
    [TestCase("10.1.2.3/24", "10.1.2.255")]
    [TestCase("10.1.2.3/16", "10.1.255.255")]
    [TestCase("192.168.7.9/30", "192.168.7.11")]
    public void Broadcast(string prefix, string expected) =>
        Assert.That(InterfaceConfigurator.Broadcast(IPPrefix.Parse(prefix)).ToString(), Is.EqualTo(expected));

    [Test]
    public void NdiscNotifyIsAnOption()
    {
        static string[] Keys(InterfaceConfigOptions o) => InterfaceConfigurator.Sysctls("eth0", false, o).Select(s => $"{s.Key}={s.Value}").ToArray();
        Assert.That(Keys(new InterfaceConfigOptions()), Does.Contain("net/ipv4/conf/eth0/arp_notify=1").And.No.Contain("net/ipv6/conf/eth0/ndisc_notify=1"));
        Assert.That(Keys(new InterfaceConfigOptions { NdiscNotify = true }), Does.Contain("net/ipv6/conf/eth0/ndisc_notify=1"));
        Assert.That(Keys(new InterfaceConfigOptions { ArpNotify = false }), Does.Not.Contain("net/ipv4/conf/eth0/arp_notify=1"));
    }

    [Test]
    public void FindsInterfacesBySandbox()
    {
        var result = new CniResult
        {
            Interfaces = [new() { Name = "cni0" }, new() { Name = "eth0", Sandbox = "/run/netns/a" }, new() { Name = "eth0", Sandbox = "/run/netns/b" }],
        };
        Assert.That(InterfaceChecks.FindInterface(result, "eth0", "/run/netns/b"), Is.EqualTo(2));
        Assert.That(InterfaceChecks.FindInterface(result, "cni0", null), Is.EqualTo(0));
        Assert.That(InterfaceChecks.FindInterface(result, "eth1", null), Is.EqualTo(-1));
    }

    [Test]
    public void GlobalUnicast()
    {
        Assert.That(InterfaceChecks.IsGlobalUnicast(IPAddress.Parse("10.1.2.3")), Is.True);
        Assert.That(InterfaceChecks.IsGlobalUnicast(IPAddress.Parse("fd00::1")), Is.True);
        Assert.That(InterfaceChecks.IsGlobalUnicast(IPAddress.Parse("fe80::1")), Is.False);
        Assert.That(InterfaceChecks.IsGlobalUnicast(IPAddress.Parse("127.0.0.1")), Is.False);
        Assert.That(InterfaceChecks.IsGlobalUnicast(IPAddress.Parse("169.254.1.1")), Is.False);
        Assert.That(InterfaceChecks.IsGlobalUnicast(IPAddress.Parse("224.0.0.1")), Is.False);
    }

    [Test]
    public void NoPrevResultIsAConfigurationError()
    {
        byte[] raw = Encoding.UTF8.GetBytes("""{"cniVersion":"1.0.0","name":"n","type":"bridge"}""");
        var request = new CniRequest { Command = CniCommand.Check, Config = NetConf.Parse(raw), RawConfig = raw, Environment = new InMemoryCniEnvironment([]) };
        CniException? ex = Assert.Throws<CniException>(() => InterfaceChecks.RequirePrevResult(request));
        Assert.That(ex!.Message, Does.Contain("prevResult"));
    }
}

[Category(Category.Kernel)]
public class SubInterfaceDeleteTests
{
    [Test]
    public async Task DelToleratesAPathThatIsNoNamespaceAnyMore()
    {
        // What a runtime leaves when the container died but the bind-mount target stayed: an ordinary file.
        TestEnvironment.RequireRoot();
        string path = Path.Combine(Path.GetTempPath(), TestEnvironment.UniqueName("notns"));
        File.WriteAllText(path, "");
        try
        {
            byte[] raw = Encoding.UTF8.GetBytes("""{"cniVersion":"1.0.0","name":"n","type":"macvlan"}""");
            var request = new CniRequest
            {
                Command = CniCommand.Del, Config = NetConf.Parse(raw), RawConfig = raw, NetNs = path, IfName = "eth0", ContainerId = "c1",
                Environment = new InMemoryCniEnvironment([]),
            };
            await SubInterfaces.DeleteAsync(IpamInvoker.Default, request, CancellationToken.None);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
