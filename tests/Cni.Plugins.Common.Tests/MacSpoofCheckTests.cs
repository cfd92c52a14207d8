using System.Text.Json;
using Cni.Plugins.Common;
using Cni.Spec;
using Cni.TestSupport;

namespace Cni.Plugins.Common.Tests;

/// <summary>The MAC spoof check's nft scripts carry interface names (which may hold '#', ';', '"', '{'...) as data, never
/// as script text that a name can break.</summary>
public class MacSpoofCheckTests
{
    /// <summary>Every character <see cref="CniValidation.ValidateInterfaceName"/> accepts inside a name (all of the BMP
    /// but surrogates, '/', ':' and whitespace), plus one astral character.</summary>
    internal static IEnumerable<string> AcceptedInterfaceNames()
    {
        for (int c = 1; c <= 0xFFFF; c++)
        {
            if (c is >= 0xD800 and <= 0xDFFF)
                continue;
            string name = "a" + (char)c + "b";
            if (Accepted(name))
                yield return name;
        }
        yield return "a\U0001F600b";
    }

    internal static bool Accepted(string name)
    {
        try
        {
            CniValidation.ValidateInterfaceName(name);
            return true;
        }
        catch (CniException)
        {
            return false;
        }
    }

    /// <summary>The chain names a script refers to (chain declarations, rule chains, jump targets) and the strings its
    /// matches compare with.</summary>
    private static (HashSet<string> Chains, HashSet<string> Compared, HashSet<string> Comments) Names(string script)
    {
        var chains = new HashSet<string>(StringComparer.Ordinal);
        var compared = new HashSet<string>(StringComparer.Ordinal);
        var comments = new HashSet<string>(StringComparer.Ordinal);
        using JsonDocument doc = JsonDocument.Parse(script);
        foreach (JsonElement command in doc.RootElement.GetProperty("nftables").EnumerateArray())
        {
            foreach (JsonProperty verb in command.EnumerateObject())
            {
                foreach (JsonProperty kind in verb.Value.EnumerateObject())
                {
                    JsonElement o = kind.Value;
                    if (kind.Name == "chain")
                        chains.Add(o.GetProperty("name").GetString()!);
                    if (kind.Name != "rule")
                        continue;
                    chains.Add(o.GetProperty("chain").GetString()!);
                    if (o.TryGetProperty("comment", out JsonElement comment))
                        comments.Add(comment.GetString()!);
                    if (!o.TryGetProperty("expr", out JsonElement expr))
                        continue;
                    foreach (JsonElement e in expr.EnumerateArray())
                    {
                        if (e.TryGetProperty("jump", out JsonElement jump))
                            chains.Add(jump.GetProperty("target").GetString()!);
                        if (e.TryGetProperty("match", out JsonElement match))
                            compared.Add(match.GetProperty("right").GetString()!);
                    }
                }
            }
        }
        return (chains, compared, comments);
    }

    [Test]
    public void Every_accepted_interface_name_stays_one_name_in_the_setup_script()
    {
        int checkedNames = 0;
        foreach (string ifName in AcceptedInterfaceNames())
        {
            string refId = "c1-" + ifName;
            string script = MacSpoofCheck.SetupScript(ifName, "0A:58:0A:00:00:02", refId);
            (HashSet<string> chains, HashSet<string> compared, HashSet<string> comments) = Names(script);
            Assert.That(chains, Is.EquivalentTo(new[] { "PREROUTING", "cni-br-iface-" + refId, "cni-br-iface-" + refId + "-mac" }), ifName);
            Assert.That(compared, Is.EquivalentTo(new[] { ifName, "0a:58:0a:00:00:02" }), ifName);
            Assert.That(comments, Is.EquivalentTo(new[] { "macspoofchk-" + refId }), ifName);
            checkedNames++;
        }
        Assert.That(checkedNames, Is.GreaterThan(60000), "the BMP less '/', ':', whitespace and surrogates");
    }

    [Test]
    public void Setup_script_has_the_reference_layout()
    {
        string script = MacSpoofCheck.SetupScript("veth1234", "0A:58:0A:00:00:02", "c1-eth0");
        Assert.That(script, Does.Contain("""{"add":{"chain":{"family":"bridge","table":"nat","name":"PREROUTING","type":"filter","hook":"prerouting","prio":-300,"policy":"accept"}}}"""));
        Assert.That(script, Does.Contain("""{"add":{"rule":{"family":"bridge","table":"nat","chain":"PREROUTING","expr":[{"match":{"op":"==","left":{"meta":{"key":"iifname"}},"right":"veth1234"}},{"jump":{"target":"cni-br-iface-c1-eth0"}}],"comment":"macspoofchk-c1-eth0"}}}"""));
        Assert.That(script, Does.Contain("""{"match":{"op":"==","left":{"payload":{"protocol":"ether","field":"saddr"}},"right":"0a:58:0a:00:00:02"}},{"return":null}"""));
        Assert.That(script, Does.Contain("""{"add":{"rule":{"family":"bridge","table":"nat","chain":"cni-br-iface-c1-eth0-mac","expr":[{"drop":null}],"comment":"macspoofchk-c1-eth0"}}}"""));
    }

    [Test]
    public void Every_accepted_interface_name_stays_one_name_in_the_teardown_script()
    {
        foreach (string ifName in AcceptedInterfaceNames())
        {
            string chain = MacSpoofCheck.InterfaceChain("c1-" + ifName);
            (HashSet<string> chains, _, _) = Names(MacSpoofCheck.TeardownScript([7], [chain, chain + "-mac"]));
            Assert.That(chains, Is.EquivalentTo(new[] { "PREROUTING", chain, chain + "-mac" }), ifName);
        }
    }
}

/// <summary>The MAC spoof check against the kernel, with interface names holding every printable ASCII character an
/// interface name may have: nft runs in a network namespace of this test's own (through an <c>nft</c> wrapper first on
/// PATH), removed afterwards.</summary>
[Category(Category.Kernel)]
[NonParallelizable]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class MacSpoofCheckKernelTests
{
    private static async Task<string[]> BridgeChainsAsync(string nft)
    {
        CommandOutput o = await ExternalCommand.RunAsync(nft, ["-j", "list", "chains", "bridge"]);
        return o.Succeeded ? Listed(o.Stdout, "chain").Select(c => c.GetProperty("name").GetString()!).ToArray() : [];
    }

    private static List<JsonElement> Listed(string listing, string kind)
    {
        using JsonDocument doc = JsonDocument.Parse(listing);
        return doc.RootElement.GetProperty("nftables").EnumerateArray()
            .Where(i => i.TryGetProperty(kind, out _)).Select(i => i.GetProperty(kind).Clone()).ToList();
    }

    [Test]
    public async Task Setup_and_teardown_work_for_names_with_every_printable_character()
    {
        TestEnvironment.RequireRoot();
        string realNft = TestEnvironment.RequireTool("nft", "apt-get install nftables");
        string ns = TestEnvironment.UniqueName("spoofns-");
        string dir = Directory.CreateTempSubdirectory("cni-spoof-").FullName;
        string? oldPath = Environment.GetEnvironmentVariable("PATH");
        string printable = new(Enumerable.Range(0x21, 0x5E).Select(c => (char)c).Where(c => !char.IsAsciiLetterOrDigit(c) && c is not ('/' or ':')).ToArray());
        var names = printable.Chunk(13).Select(chunk => "a" + new string(chunk) + "b").Append("a\u00e9\u0001b").ToArray();
        Assert.That(names.All(MacSpoofCheckTests.Accepted), "the names are legal interface names");
        string ip = TestEnvironment.RequireTool("ip", "apt-get install iproute2");
        Assert.That((await ExternalCommand.RunAsync(ip, ["netns", "add", ns])).Succeeded, "netns add");
        try
        {
            string wrapper = Path.Combine(dir, "nft");
            TestEnvironment.WriteExecutable(wrapper, $"#!/bin/sh\nexec {ip} netns exec {ns} {realNft} \"$@\"\n");
            Environment.SetEnvironmentVariable("PATH", dir + ":" + oldPath);
            Assert.That(ExternalCommand.Find("nft"), Is.EqualTo(wrapper));
            foreach (string ifName in names)
            {
                string refId = "c1-" + ifName;
                await MacSpoofCheck.SetupAsync(ifName, "0a:58:0a:00:00:02", refId);
                Assert.That(await BridgeChainsAsync(wrapper), Is.SupersetOf(new[] { MacSpoofCheck.InterfaceChain(refId), MacSpoofCheck.MacChain(refId) }), ifName);
                await MacSpoofCheck.TeardownAsync(refId);
                Assert.That(await BridgeChainsAsync(wrapper), Is.EquivalentTo(new[] { "PREROUTING" }), ifName);
                CommandOutput prerouting = await ExternalCommand.RunAsync(wrapper, ["-j", "list", "chain", "bridge", "nat", "PREROUTING"]);
                Assert.That(Listed(prerouting.Stdout, "rule"), Is.Empty, ifName);
            }
        }
        finally
        {
            Environment.SetEnvironmentVariable("PATH", oldPath);
            await ExternalCommand.RunAsync(ip, ["netns", "delete", ns]);
            Directory.Delete(dir, recursive: true);
        }
    }
}
