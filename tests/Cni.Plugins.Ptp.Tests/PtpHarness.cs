using System.Text.Json.Nodes;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Ptp.Tests;

/// <summary>
/// One test's world for ptp: a throwaway "host" namespace in which the published binary (and cnirun) runs, so the
/// test's own namespace is never changed; container namespaces; a unique network and data directory. Disposing
/// removes all of it (the host namespace takes its veths, forwarding settings and masquerade rules with it).
/// </summary>
public sealed class PtpHarness : PluginHarness
{
    private string? _hostNs;

    /// <summary>The CNI versions every test runs against.</summary>
    public static readonly string[] Versions = ["0.3.1", "0.4.0", "1.0.0", "1.1.0"];

    /// <summary>A harness, by default for the published binary.</summary>
    public PtpHarness(Mode mode = Mode.Binary)
        : base("ptp", () => new PtpPlugin(), mode)
    {
    }

    /// <inheritdoc />
    protected override string DefaultSubnet => "10.95.0.0/24";

    /// <summary>The throwaway namespace that plays the host (created on first use, lo up).</summary>
    public string HostNs => _hostNs ??= CreateNamespace();

    /// <summary>The binary runs inside the "host" namespace.</summary>
    protected override Task<PluginOutput> RunBinaryAsync(IDictionary<string, string> vars, string stdin) =>
        RunInHostNsAsync([BinaryPath!], vars, stdin);

    /// <summary>Runs <paramref name="argv"/> inside the "host" namespace with exactly the variables given.</summary>
    public Task<PluginOutput> RunInHostNsAsync(IEnumerable<string> argv, IDictionary<string, string> vars, string stdin) =>
        PluginRunner.RunProcessAsync("ip", new[] { "netns", "exec", HostNs }.Concat(argv), vars, stdin);

    /// <summary>Names of the links in <paramref name="ns"/>.</summary>
    public static string[] Links(string ns) =>
        Shell.Run("ip", "-n", ns, "-o", "link", "show").Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(':')[1].Trim().Split('@')[0])
            .ToArray();

    /// <summary><c>ip [-6] route</c> in <paramref name="ns"/>, lines sorted, the interface names replaced by <c>IF</c>
    /// (<paramref name="names"/>), for comparing two layouts.</summary>
    public static string[] Routes(string ns, bool v6, params string[] names)
    {
        string text = Shell.Run("ip", "-n", ns, v6 ? "-6" : "-4", "route", "show").Stdout;
        foreach (string n in names)
            text = text.Replace(" dev " + n + " ", " dev IF ", StringComparison.Ordinal);
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim()).Where(l => !l.StartsWith("fe80::", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>The global addresses (<c>ADDR/LEN</c>) on <paramref name="link"/> in <paramref name="ns"/>, sorted.</summary>
    public static string[] Addresses(string ns, string link) =>
        Shell.Run("ip", "-n", ns, "-o", "addr", "show", "dev", link, "scope", "global").Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3])
            .Order(StringComparer.Ordinal).ToArray();

    /// <summary>The masquerade rules in the host namespace (nft ruleset, iptables included when it is the nft flavour).</summary>
    public string NftRuleset() => Shell.Try("ip", "netns", "exec", HostNs, "nft", "list", "ruleset").Stdout;

    /// <summary>A conflist of <paramref name="plugins"/> written for cnirun, and the environment cnirun needs.</summary>
    public Dictionary<string, string> WriteConfList(string version, params JsonObject[] plugins)
    {
        var list = new JsonObject { ["cniVersion"] = version, ["name"] = Network, ["plugins"] = new JsonArray(plugins.Select(p => (JsonNode)p.DeepClone()).ToArray()) };
        string confDir = Directory.CreateDirectory(Path.Combine(DataDir, "net.d")).FullName;
        string cacheDir = Directory.CreateDirectory(Path.Combine(DataDir, "cache")).FullName;
        File.WriteAllText(Path.Combine(confDir, "10-test.conflist"), list.ToJsonString());
        return new Dictionary<string, string> { ["NETCONFPATH"] = confDir, ["CNI_CACHE_DIR"] = cacheDir, ["CNI_PATH"] = CniPath };
    }

    /// <summary>Runs <c>cnirun VERB NETWORK NETNS ID eth0</c> in the host namespace.</summary>
    public Task<PluginOutput> CniRunAsync(string cnirun, Dictionary<string, string> env, string verb, string ns, string id) =>
        RunInHostNsAsync(["env", .. env.Select(kv => $"{kv.Key}={kv.Value}"), cnirun, verb, Network, NsPath(ns), id, "eth0"], new Dictionary<string, string>(), "");
}
