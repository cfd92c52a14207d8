using Cni.Plugins.Common;
using Cni.Spec;
using Cni.TestSupport;

namespace Cni.Plugins.Common.Tests;

/// <summary>The nftables masquerade rules against the kernel: a network of its own per test, in a private "host"
/// namespace (nft runs inside it through <see cref="HostNetwork.Of"/>) that is deleted afterwards with its rules.</summary>
[Category(Category.Kernel)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class IpMasqueradeKernelTests
{
    private static string[] OurRules(ICommandRunner nft, string network)
    {
        string hash = NetfilterNames.NetworkHash(network);
        return IpMasquerade.ListNftablesRulesAsync(nft, CancellationToken.None).GetAwaiter().GetResult()
            .Where(r => r.Comment.StartsWith(hash, StringComparison.Ordinal)).Select(r => r.Comment).ToArray();
    }

    [Test]
    public async Task Concurrent_DELs_and_GC_removing_the_same_rules_all_succeed()
    {
        // A DEL retried by the runtime while the first is still running, and a GC at the same moment, delete the same
        // nft handles: the loser's transaction fails as a whole and must retry with the rules still there.
        TestEnvironment.RequireRoot();
        TestEnvironment.RequireTool("nft", "apt-get install nftables");
        string network = TestEnvironment.UniqueName("masq-");
        string hostNs = TestEnvironment.UniqueName("masqns-");
        Assert.That((await ExternalCommand.RunAsync("ip", ["netns", "add", hostNs])).Succeeded, "netns add");
        using Cni.Netlink.NetNs host = Cni.Netlink.NetNs.OpenNamed(hostNs);
        ICommandRunner nft = HostNetwork.Of(host).Commands;
        try
        {
            for (int round = 0; round < 8; round++)
            {
                var attachments = Enumerable.Range(0, 4).Select(i => new Attachment($"c{round}-{i}", "eth0")).ToArray();
                foreach ((Attachment a, int i) in attachments.Select((a, i) => (a, i)))
                {
                    await IpMasquerade.SetupAsync(MasqueradeBackend.Nftables, [IPPrefix.Parse($"10.251.{round}.{i + 2}/24")], network, a.IfName, a.ContainerId, runner: nft);
                }
                Assert.That(OurRules(nft, network), Has.Length.EqualTo(4));

                var work = new List<Task>();
                foreach (Attachment a in attachments)
                {
                    work.Add(IpMasquerade.TeardownAsync(network, a.IfName, a.ContainerId, runner: nft));
                    work.Add(IpMasquerade.TeardownAsync(network, a.IfName, a.ContainerId, runner: nft));
                }
                work.Add(IpMasquerade.GcAsync(network, [], runner: nft));
                await Task.WhenAll(work);

                Assert.That(OurRules(nft, network), Is.Empty, $"round {round}");
            }
        }
        finally
        {
            await ExternalCommand.RunAsync("ip", ["netns", "delete", hostNs]); // takes the table and its rules with it
        }
    }
}
