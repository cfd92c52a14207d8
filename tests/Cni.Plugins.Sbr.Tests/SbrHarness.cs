using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Cni.Plugins.TestSupport;
using Cni.Spec;
using Cni.TestSupport;

namespace Cni.Plugins.Sbr.Tests;

/// <summary>
/// One test's world for sbr: a throwaway "host" namespace (where the published binary and cnirun run, so the test's
/// own namespace is never changed), container namespaces wired to a host namespace by a veth pair with addresses and
/// default routes, the way ptp leaves them, and the <c>prevResult</c> that describes them. Disposing removes all of it.
/// </summary>
public sealed class SbrHarness : PluginHarness
{
    private string? _hostNs;

    /// <summary>Every spec version (0.1.0 and 0.2.0 results have no interfaces: every address is the interface's).</summary>
    public static readonly string[] Versions = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

    /// <summary>A harness, by default in process.</summary>
    public SbrHarness(Mode mode = Mode.InProcess)
        : base("sbr", () => new SbrPlugin(), mode)
    {
    }

    /// <inheritdoc />
    protected override string DefaultSubnet => "10.93.0.0/24";

    /// <summary>The throwaway namespace that plays the host (created on first use, lo up).</summary>
    public string HostNs => _hostNs ??= CreateNamespace();

    /// <summary>The binary runs inside the "host" namespace.</summary>
    protected override Task<PluginOutput> RunBinaryAsync(IDictionary<string, string> vars, string stdin) =>
        RunInHostNsAsync([BinaryPath!], vars, stdin);

    /// <summary>Runs <paramref name="argv"/> inside the "host" namespace with exactly the variables given.</summary>
    public Task<PluginOutput> RunInHostNsAsync(IEnumerable<string> argv, IDictionary<string, string> vars, string stdin) =>
        PluginRunner.RunProcessAsync("ip", new[] { "netns", "exec", HostNs }.Concat(argv), vars, stdin);

    /// <summary>The sbr configuration (no IPAM) with <paramref name="json"/>'s keys merged in.</summary>
    public JsonObject SbrConf(string version, string? json = null) => Config(version, json, ipam: false);

    /// <summary>
    /// A container namespace whose <c>eth0</c> is one end of a veth pair with the other end in <paramref name="hostNs"/>
    /// (<see cref="HostNs"/> when null): 10.N.0.2/24 and fd00:N::2/64 in the container, .1 and ::1 on the host side,
    /// default routes through those in the container. Returns the namespace and the result ptp would have printed.
    /// </summary>
    public (string Ns, CniResult Result) Container(int n = 93, string? hostNs = null)
    {
        hostNs ??= HostNs;
        string ns = CreateNamespace();
        string hostIf = TestEnvironment.UniqueName("vh");
        Shell.Run("ip", "-n", hostNs, "link", "add", hostIf, "type", "veth", "peer", "name", "eth0", "netns", ns);
        Shell.Run("ip", "-n", hostNs, "addr", "add", $"10.{n}.0.1/24", "dev", hostIf);
        Shell.Run("ip", "-n", hostNs, "-6", "addr", "add", $"fd00:{n}::1/64", "dev", hostIf, "nodad");
        Shell.Run("ip", "-n", hostNs, "link", "set", hostIf, "up");
        Shell.Run("ip", "-n", ns, "addr", "add", $"10.{n}.0.2/24", "dev", "eth0");
        Shell.Run("ip", "-n", ns, "-6", "addr", "add", $"fd00:{n}::2/64", "dev", "eth0", "nodad");
        Shell.Run("ip", "-n", ns, "link", "set", "eth0", "up");
        Shell.Run("ip", "-n", ns, "route", "add", "default", "via", $"10.{n}.0.1", "dev", "eth0");
        Shell.Run("ip", "-n", ns, "-6", "route", "add", "default", "via", $"fd00:{n}::1", "dev", "eth0");
        return (ns, Result(n, hostIf, NsPath(ns)));
    }

    /// <summary>The result that describes <see cref="Container"/>'s layout.</summary>
    public static CniResult Result(int n, string hostIf, string nsPath) => new()
    {
        Interfaces = [new CniInterface { Name = hostIf }, new CniInterface { Name = "eth0", Sandbox = nsPath }],
        Ips =
        [
            new CniIPConfig { Interface = 1, Address = IPPrefix.Parse($"10.{n}.0.2/24"), Gateway = IPAddress.Parse($"10.{n}.0.1") },
            new CniIPConfig { Interface = 1, Address = IPPrefix.Parse($"fd00:{n}::2/64"), Gateway = IPAddress.Parse($"fd00:{n}::1") },
        ],
        Routes = [new CniRoute { Dst = IPPrefix.Parse("0.0.0.0/0") }, new CniRoute { Dst = IPPrefix.Parse("::/0") }],
    };

    /// <summary><paramref name="result"/> in <paramref name="version"/>'s format, as a runtime passes it.</summary>
    public static JsonObject InVersion(CniResult result, string version) =>
        JsonNode.Parse(Encoding.UTF8.GetString(CniResultSerializer.SerializeToUtf8Bytes(result, version)))!.AsObject();

    /// <summary><paramref name="conf"/> with <c>prevResult</c>.</summary>
    public static JsonObject WithPrev(JsonObject conf, CniResult prev)
    {
        var copy = (JsonObject)conf.DeepClone();
        copy["prevResult"] = InVersion(prev, conf["cniVersion"]!.GetValue<string>());
        return copy;
    }

    /// <summary><c>ip rule show</c> (both families) in <paramref name="ns"/>, one rule per line.</summary>
    public static string[] Rules(string ns) =>
        Lines(Shell.Run("ip", "-n", ns, "-4", "rule", "show").Stdout + Shell.Run("ip", "-n", ns, "-6", "rule", "show").Stdout);

    /// <summary>The rules that are not the kernel's three defaults.</summary>
    public static string[] ExtraRules(string ns) =>
        Rules(ns).Where(r => !r.EndsWith("lookup local", StringComparison.Ordinal) && !r.EndsWith("lookup main", StringComparison.Ordinal)
            && !r.EndsWith("lookup default", StringComparison.Ordinal)).ToArray();

    /// <summary><c>ip [-6] route show table T</c> in <paramref name="ns"/>, one route per line.</summary>
    public static string[] Table(string ns, string table, bool v6 = false) =>
        Lines(Shell.Try("ip", "-n", ns, v6 ? "-6" : "-4", "route", "show", "table", table).Stdout); // a table never used does not exist

    /// <summary>Both families of <c>ip route show table all</c> in <paramref name="ns"/>, sorted.</summary>
    public static string[] AllRoutes(string ns) =>
        Lines(Shell.Run("ip", "-n", ns, "-4", "route", "show", "table", "all").Stdout + Shell.Run("ip", "-n", ns, "-6", "route", "show", "table", "all").Stdout)
            .Order(StringComparer.Ordinal).ToArray();

    private static string[] Lines(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => string.Join(' ', l.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))).ToArray();

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
