using System.Text.Json.Nodes;
using Cni.Plugins.Bridge;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Bridge.Tests;

/// <summary>
/// One test's world: a unique bridge name, network name, IPAM data directory and the namespaces it created; disposing
/// removes all of it (namespaces, the bridge, leftover veths, masquerade rules, the data directory). The binary runs
/// directly, in the test's namespace, as a runtime runs it.
/// </summary>
public sealed class BridgeHarness : PluginHarness
{
    public BridgeHarness(Mode mode = Mode.InProcess)
        : base("bridge", () => new BridgePlugin(), mode)
    {
        BridgeName = TestEnvironment.UniqueName("tbr");
    }

    public string BridgeName { get; }

    protected override string DefaultSubnet => "10.91.0.0/24";

    /// <summary>Configurations name the bridge: <c>{cniVersion, name, type, bridge}</c>.</summary>
    protected override void AddPluginKeys(JsonObject conf) => conf["bridge"] = BridgeName;

    /// <summary>Names of the links enslaved to the bridge.</summary>
    public string[] BridgePorts() =>
        Shell.Try("ip", "-o", "link", "show", "master", BridgeName).Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(':')[1].Trim().Split('@')[0])
            .ToArray();

    public bool BridgeExists() => Shell.Try("ip", "link", "show", BridgeName).ExitCode == 0;

    /// <summary>Our network's nftables masquerade rules (by the network hash prefix in comments).</summary>
    public string[] NftMasqRules()
    {
        // Without nft the plugin masquerades with iptables, and an empty listing here would prove nothing.
        TestEnvironment.RequireTool("nft", "apt-get install nftables");
        var r = Shell.Try("nft", "list", "chain", "inet", "cni_plugins_masquerade", "masq_checks");
        string hash = Cni.Plugins.Common.NetfilterNames.NetworkHash(Network);
        return r.Stdout.Split('\n').Where(l => l.Contains(hash, StringComparison.Ordinal)).ToArray();
    }

    public string[] IptablesRules(string containerId)
    {
        string chain = Cni.Plugins.Common.NetfilterNames.ChainName(Network, containerId);
        return Shell.Try("iptables", "-w", "-t", "nat", "-S").Stdout.Split('\n').Where(l => l.Contains(chain, StringComparison.Ordinal)).ToArray();
    }

    /// <summary>The bridge, its leftover ports and this network's masquerade rules (the namespaces are gone by now).</summary>
    protected override void DisposeResources()
    {
        foreach (string port in BridgePorts())
            Shell.Try("ip", "link", "del", port);
        Shell.Try("ip", "link", "del", BridgeName);
        // The bridge's lock file (bridge ADDs take it; left in place in production, like any lock file).
        File.Delete(Path.Combine(BridgeLock.Directory, BridgeName + ".lock"));
        // This network's nftables masquerade rules: what GC does with no valid attachment left.
        if (Cni.Plugins.Common.ExternalCommand.Find("nft") is not null)
            Cni.Plugins.Common.IpMasquerade.GcAsync(Network, []).GetAwaiter().GetResult();
    }
}
