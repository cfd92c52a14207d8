using System.Globalization;
using System.Text.Json.Nodes;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Tuning.Tests;

/// <summary>
/// One tuning test's world: a private namespace holding an interface to tune (one end of a veth pair whose other end
/// is in there too), a private data directory for the saved state, and the namespaces; all removed on dispose.
/// </summary>
public sealed class TuningHarness : PluginHarness
{
    public static readonly string[] Versions = ["0.3.1", "0.4.0", "1.0.0", "1.1.0"];
    public static readonly string[] CheckVersions = ["0.4.0", "1.0.0", "1.1.0"];

    public TuningHarness(Mode mode = Mode.InProcess, string? allowlist = null)
        : base("tuning", () => new TuningPlugin(allowlistPath: allowlist ?? "/nonexistent/allowlist.conf"), mode)
    {
        StateDir = Path.Combine(DataDir, "tuning");
    }

    /// <summary>The tuning plugin's dataDir (below the harness's data directory, created by the plugin).</summary>
    public string StateDir { get; }

    protected override string DefaultSubnet => "10.97.0.0/24";

    /// <summary>A namespace with <paramref name="ifName"/> in it (veth, peer inside too, both up).</summary>
    public string NamespaceWithInterface(string ifName = "eth0", int mtu = 1500)
    {
        string ns = CreateNamespace();
        Shell.Run("ip", "-n", ns, "link", "add", ifName, "mtu", mtu.ToString(CultureInfo.InvariantCulture), "type", "veth", "peer", "name", TestEnvironment.UniqueName("tp"));
        Shell.Run("ip", "-n", ns, "link", "set", ifName, "up");
        return ns;
    }

    /// <summary>A tuning configuration with <c>dataDir</c> and a prevResult naming <paramref name="ifName"/> in <paramref name="ns"/>.</summary>
    public JsonObject TuningConfig(string version, string ns, string json, string ifName = "eth0", string? prevMac = "0a:00:00:00:00:01")
    {
        JsonObject conf = Config(version, json, ipam: false);
        conf["dataDir"] ??= StateDir;
        var intf = new JsonObject { ["name"] = ifName, ["sandbox"] = NsPath(ns) };
        if (prevMac is not null)
            intf["mac"] = prevMac;
        conf["prevResult"] ??= new JsonObject
        {
            ["cniVersion"] = version,
            ["interfaces"] = new JsonArray(intf),
            ["ips"] = new JsonArray(version.StartsWith("0.", StringComparison.Ordinal)
                ? new JsonObject { ["version"] = "4", ["address"] = "10.97.0.5/24", ["interface"] = 0 }
                : new JsonObject { ["address"] = "10.97.0.5/24", ["interface"] = 0 }),
        };
        return conf;
    }

    /// <summary>What <c>ip -d link show</c> says of the interface, as the properties tuning changes.</summary>
    public static LinkState Read(string ns, string ifName = "eth0")
    {
        JsonNode link = JsonNode.Parse(Shell.Run("ip", "-n", ns, "-j", "-d", "link", "show", ifName).Stdout)![0]!;
        string[] flags = link["flags"]!.AsArray().Select(f => f!.GetValue<string>()).ToArray();
        return new LinkState(
            link["address"]!.GetValue<string>(),
            link["mtu"]!.GetValue<int>(),
            link["txqlen"]?.GetValue<int>() ?? 0,
            flags.Contains("PROMISC"),
            flags.Contains("ALLMULTI"));
    }

    /// <summary>A sysctl of the namespace.</summary>
    public static string Sysctl(string ns, string path) =>
        Shell.Run("ip", "netns", "exec", ns, "cat", "/proc/sys/" + path).Stdout.TrimEnd('\n');

    public string[] StateFiles() => Directory.Exists(StateDir) ? Directory.GetFiles(StateDir).Select(Path.GetFileName).Select(n => n!).ToArray() : [];
}

/// <summary>The interface properties tuning changes.</summary>
public sealed record LinkState(string Mac, int Mtu, int TxQLen, bool Promisc, bool Allmulti);
