using System.Text.Json.Nodes;
using Cni.Netlink;
using Cni.Plugins.Bridge;
using Cni.Plugins.Common;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Bridge.Tests;

/// <summary>
/// One test's world: a private "host" namespace (where the bridge, the host ends of the veths, the forwarding sysctls
/// and the masquerade and MAC spoof check rules go), a unique bridge name, network name, IPAM data directory and the
/// container namespaces it created. In process, the plugin is given the host namespace (<see cref="HostNetwork.Of"/>);
/// the published binary runs inside it (<c>ip netns exec</c>), as a runtime running in that namespace runs it. The
/// test's own namespace (the machine's) is never changed. Disposing removes all of it.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class BridgeHarness : PluginHarness
{
    private readonly NetNs _hostHandle;

    public BridgeHarness(Mode mode = Mode.InProcess)
        : this(mode, new PluginSlot())
    {
    }

    private BridgeHarness(Mode mode, PluginSlot slot)
        : base("bridge", () => slot.Harness!.CreatePlugin(), mode)
    {
        slot.Harness = this;
        BridgeName = TestEnvironment.UniqueName("tbr");
        RootNamespaceGuard.Watch(NetfilterNames.NetworkHash(Network)); // names are watched by UniqueName; the nft comments carry this
        // Created here, not on first use: concurrent ADDs on the thread pool would otherwise all block on the one
        // creating it, and it on a pool thread (the tool's output) — 16 in-process ADDs took 15 s instead of 1 s.
        HostNs = CreateNamespace();
        try
        {
            _hostHandle = NetNs.OpenNamed(HostNs);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Lets the base's plugin factory reach the harness it is built before.</summary>
    private sealed class PluginSlot
    {
        public BridgeHarness? Harness { get; set; }
    }

    public string BridgeName { get; }

    /// <summary>The private namespace that plays the host (lo up; deleted on dispose).</summary>
    public string HostNs { get; }

    /// <summary>An open handle of <see cref="HostNs"/> (owned by the harness).</summary>
    public NetNs HostNetNs => _hostHandle;

    /// <summary>The plugin an in-process run gets: the default collaborators, on this harness's host namespace.</summary>
    private BridgePlugin CreatePlugin() => new(host: HostNetwork.Of(HostNetNs));

    protected override string DefaultSubnet => "10.91.0.0/24";

    /// <summary>Configurations name the bridge: <c>{cniVersion, name, type, bridge}</c>.</summary>
    protected override void AddPluginKeys(JsonObject conf) => conf["bridge"] = BridgeName;

    /// <summary>The published binary runs inside the host namespace; the container namespaces stay separate ones.</summary>
    protected override Task<PluginOutput> RunBinaryAsync(IDictionary<string, string> vars, string stdin) =>
        PluginRunner.RunProcessAsync("ip", ["netns", "exec", HostNs, BinaryPath!], vars, stdin);

    /// <summary>Runs <paramref name="argv"/> inside the host namespace and returns whatever happened.</summary>
    public Shell.Result InHost(params string[] argv) => Shell.Try("ip", ["netns", "exec", HostNs, .. argv]);

    /// <summary>Runs <paramref name="argv"/> inside the host namespace; throws when it fails.</summary>
    public Shell.Result InHostOrThrow(params string[] argv) => Shell.Run("ip", ["netns", "exec", HostNs, .. argv], allowFailure: false);

    /// <summary>Names of the links enslaved to the bridge.</summary>
    public string[] BridgePorts() =>
        Shell.Try("ip", "-n", HostNs, "-o", "link", "show", "master", BridgeName).Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(':')[1].Trim().Split('@')[0])
            .ToArray();

    public bool BridgeExists() => Shell.Try("ip", "-n", HostNs, "link", "show", BridgeName).ExitCode == 0;

    /// <summary>A forwarding sysctl of the host namespace (<c>net/ipv4/ip_forward</c>, ...).</summary>
    public string HostSysctl(string key) => InHostOrThrow("cat", "/proc/sys/" + key).Stdout.Trim();

    /// <summary>Our network's nftables masquerade rules (by the network hash prefix in comments).</summary>
    public string[] NftMasqRules()
    {
        // Without nft the plugin masquerades with iptables, and an empty listing here would prove nothing.
        TestEnvironment.RequireTool("nft", "apt-get install nftables");
        var r = InHost("nft", "list", "chain", "inet", IpMasquerade.TableName, IpMasquerade.ChainName);
        string hash = NetfilterNames.NetworkHash(Network);
        return r.Stdout.Split('\n').Where(l => l.Contains(hash, StringComparison.Ordinal)).ToArray();
    }

    public string[] IptablesRules(string containerId)
    {
        string chain = NetfilterNames.ChainName(Network, containerId);
        return InHost("iptables", "-w", "-t", "nat", "-S").Stdout.Split('\n').Where(l => l.Contains(chain, StringComparison.Ordinal)).ToArray();
    }

    /// <summary>Runs after the namespaces are deleted: closing the last handle of the host namespace takes the bridge,
    /// its ports, the sysctls and every rule with it. Then the bridge's lock file (bridge ADDs take it; production
    /// leaves it in place, like any lock file).</summary>
    protected override void DisposeResources()
    {
        _hostHandle?.Dispose();
        File.Delete(Path.Combine(BridgeLock.DefaultDirectory, BridgeName + ".lock"));
    }
}
