using System.Globalization;
using System.Text.Json.Nodes;
using Cni.Spec;
using Cni.TestSupport;

namespace Cni.Plugins.TestSupport;

/// <summary>
/// One test's world for a sub-interface plugin (macvlan, vlan, ipvlan): on top of <see cref="PluginHarness"/>, a
/// throwaway "host" namespace in which the published binary runs, so the test's own namespace is never changed.
/// </summary>
public sealed class SubInterfaceHarness : PluginHarness
{
    /// <summary>The CNI versions every test runs against.</summary>
    public static readonly string[] Versions = ["0.3.1", "0.4.0", "1.0.0", "1.1.0"];

    /// <summary>The versions that have CHECK.</summary>
    public static readonly string[] CheckVersions = ["0.4.0", "1.0.0", "1.1.0"];

    private string? _hostNs;

    /// <summary>A harness for the plugin of CNI <paramref name="type"/>, by default as the published binary.</summary>
    public SubInterfaceHarness(string type, Func<ICniPlugin> factory, Mode mode = Mode.Binary)
        : base(type, factory, mode)
    {
    }

    /// <inheritdoc />
    protected override string DefaultSubnet => "10.93.0.0/24";

    /// <summary>The throwaway namespace that plays the host for the binary (created on first use, lo up).</summary>
    public string HostNs => _hostNs ??= CreateNamespace();

    /// <summary>A veth pair in the host namespace, both ends up; returns the end to use as master.</summary>
    public string HostVethMaster(int mtu = 1500)
    {
        string a = TestEnvironment.UniqueName("hv"), b = TestEnvironment.UniqueName("hp");
        Shell.Run("ip", "-n", HostNs, "link", "add", a, "mtu", mtu.ToString(CultureInfo.InvariantCulture), "type", "veth", "peer", "name", b);
        Shell.Run("ip", "-n", HostNs, "link", "set", a, "up");
        Shell.Run("ip", "-n", HostNs, "link", "set", b, "up");
        return a;
    }

    /// <summary>A link (up) to use as a master in <paramref name="ns"/>: one end of a veth pair whose other end is there
    /// too (this kernel has no dummy module).</summary>
    public static string Dummy(string ns, string? name = null, int mtu = 1500)
    {
        name ??= TestEnvironment.UniqueName("dm");
        string peer = TestEnvironment.UniqueName("dp");
        Shell.Run("ip", "-n", ns, "link", "add", name, "mtu", mtu.ToString(CultureInfo.InvariantCulture), "type", "veth", "peer", "name", peer);
        Shell.Run("ip", "-n", ns, "link", "set", name, "up");
        Shell.Run("ip", "-n", ns, "link", "set", peer, "up");
        return name;
    }

    /// <summary>The binary runs inside the "host" namespace.</summary>
    protected override Task<PluginOutput> RunBinaryAsync(IDictionary<string, string> vars, string stdin) =>
        RunInHostNsAsync([BinaryPath!], vars, stdin);

    /// <summary>Runs <paramref name="argv"/> inside the "host" namespace with exactly the CNI variables given.</summary>
    public Task<PluginOutput> RunInHostNsAsync(IEnumerable<string> argv, IDictionary<string, string> vars, string stdin) =>
        PluginRunner.RunProcessAsync("ip", new[] { "netns", "exec", HostNs }.Concat(argv), vars, stdin);

    /// <summary>
    /// The published binary run for ADD in the "host" namespace under strace, its netlink sends captured into
    /// <paramref name="output"/> (read them with <see cref="StraceNetlink"/>).
    /// </summary>
    public Task<PluginOutput> AddUnderStraceAsync(string output, JsonObject conf, string ns, string id, string ifName = "eth0", string? args = null) =>
        RunInHostNsAsync([.. StraceNetlink.Prefix(output), BinaryPath!], Variables("ADD", NsPath(ns), id, ifName, args), conf.ToJsonString());

    /// <summary>Names of the links in <paramref name="ns"/>.</summary>
    public static string[] Links(string ns) =>
        Shell.Run("ip", "-n", ns, "-o", "link", "show").Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(':')[1].Trim().Split('@')[0])
            .ToArray();

    /// <summary><c>ip -d link show</c> of one link, one line.</summary>
    public static string LinkDetails(string ns, string name) => Shell.Run("ip", "-n", ns, "-o", "-d", "link", "show", name).Stdout;
}
