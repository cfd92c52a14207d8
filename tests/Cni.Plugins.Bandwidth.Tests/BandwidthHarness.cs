using System.Text.Json.Nodes;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Bandwidth.Tests;

/// <summary>
/// One test's world for the bandwidth plugin: a private namespace that plays the host (the plugin, in process or as the
/// published binary, works there), and pods: a container namespace whose eth0 is a veth to the host namespace, as an
/// interface plugin leaves it. Disposing deletes the namespaces and with them every link, ifb and qdisc.
/// </summary>
public sealed class BandwidthHarness : PluginHarness
{
    public static readonly string[] Versions = ["0.3.1", "0.4.0", "1.0.0", "1.1.0"];
    public static readonly string[] CheckVersions = ["0.4.0", "1.0.0", "1.1.0"];

    private sealed class Box
    {
        public string? HostNsPath;
    }

    public BandwidthHarness(Mode mode = Mode.InProcess) : this(mode, new Box())
    {
    }

    private BandwidthHarness(Mode mode, Box box) : base("bandwidth", () => new BandwidthPlugin(box.HostNsPath), mode)
    {
        HostNs = CreateNamespace();
        box.HostNsPath = NsPath(HostNs);
    }

    /// <summary>The namespace that plays the host.</summary>
    public string HostNs { get; }

    protected override string DefaultSubnet => "10.97.0.0/24";

    /// <summary>A pod: a new container namespace with <paramref name="ifName"/>, a veth whose other end (returned) is up in the host namespace.</summary>
    public (string Ns, string HostVeth) Pod(string ifName = "eth0", int mtu = 1500)
    {
        string ns = CreateNamespace();
        string veth = TestEnvironment.UniqueName("bwv");
        Shell.Run("ip", "-n", HostNs, "link", "add", veth, "mtu", mtu.ToString(System.Globalization.CultureInfo.InvariantCulture), "type", "veth", "peer", "name", ifName, "netns", ns);
        Shell.Run("ip", "-n", HostNs, "link", "set", veth, "up");
        Shell.Run("ip", "-n", ns, "link", "set", ifName, "up");
        return (ns, veth);
    }

    /// <summary>The result an interface plugin would have returned for the pod.</summary>
    public static JsonObject PrevResult(string version, string ns, string hostVeth, string ifName = "eth0") => new()
    {
        ["cniVersion"] = version,
        ["interfaces"] = new JsonArray(
            new JsonObject { ["name"] = hostVeth },
            new JsonObject { ["name"] = ifName, ["sandbox"] = NsPath(ns) }),
        ["ips"] = new JsonArray(),
        ["dns"] = new JsonObject(),
    };

    /// <summary>A chained configuration: <paramref name="bandwidth"/> keys merged in, prevResult of the pod.</summary>
    public JsonObject Chained(string version, string bandwidth, string ns, string hostVeth)
    {
        JsonObject conf = Config(version, bandwidth, ipam: false);
        conf["prevResult"] = PrevResult(version, ns, hostVeth);
        return conf;
    }

    /// <summary>Binaries run inside the host namespace.</summary>
    protected override Task<PluginOutput> RunBinaryAsync(IDictionary<string, string> vars, string stdin) =>
        PluginRunner.RunProcessAsync("ip", ["netns", "exec", HostNs, BinaryPath!], vars, stdin);

    /// <summary>Runs the Go reference plugin in the host namespace.</summary>
    public Task<PluginOutput> RunReferenceAsync(string command, JsonObject conf, string ns, string id, string ifName = "eth0") =>
        PluginRunner.RunProcessAsync("ip", ["netns", "exec", HostNs, TestEnvironment.RequireReferencePlugin("bandwidth")],
            Variables(command, NsPath(ns), id, ifName), conf.ToJsonString());

    /// <summary><c>tc qdisc show dev DEV</c> in the host namespace, one qdisc a line.</summary>
    public string Qdiscs(string dev) => Shell.Run("ip", "netns", "exec", HostNs, "tc", "qdisc", "show", "dev", dev).Stdout;

    /// <summary><c>tc filter show dev DEV ingress</c> in the host namespace.</summary>
    public string IngressFilters(string dev) => Shell.Run("ip", "netns", "exec", HostNs, "tc", "filter", "show", "dev", dev, "ingress").Stdout;

    public bool HostLinkExists(string name) => Shell.Try("ip", "-n", HostNs, "link", "show", name).ExitCode == 0;

    public string HostLinkDetails(string name) => Shell.Run("ip", "-n", HostNs, "-o", "-d", "link", "show", name).Stdout;

    /// <summary>The names of the links in the host namespace.</summary>
    public string[] HostLinks() => SubInterfaceHarness.Links(HostNs);

    /// <summary>The ifb the plugin makes for <paramref name="id"/> on this harness's network.</summary>
    public string Ifb(string id) => BandwidthPlugin.IfbName(Network, id);
}
