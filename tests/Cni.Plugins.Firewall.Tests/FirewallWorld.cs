using System.Text.Json.Nodes;
using Cni.Plugins.Common;
using Cni.Plugins.Firewall;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Firewall.Tests;

/// <summary>Runs the host tools inside one named namespace (<c>ip netns exec</c>), so that an in-process plugin changes
/// that namespace's firewall and never the machine's.</summary>
public sealed class NamespacedRunner(string ns) : ICommandRunner
{
    public string? Find(string name) => ExternalCommand.Find(name);

    public Task<CommandOutput> RunAsync(string path, IEnumerable<string> arguments, string? stdin = null, CancellationToken cancellationToken = default, TimeSpan? timeout = null) =>
        ExternalCommand.RunAsync("ip", ["netns", "exec", ns, path, .. arguments], stdin, cancellationToken, timeout);
}

/// <summary>
/// One kernel test's world: a private "host" namespace (where every firewall rule goes) and container namespaces,
/// all deleted on dispose, also when the test failed. The plugin runs in process (its tools inside the host namespace)
/// or as a binary started inside the host namespace.
/// </summary>
public sealed class FirewallWorld : IDisposable
{
    private readonly List<string> _namespaces = [];
    private readonly List<string> _dirs = [];

    public FirewallWorld()
    {
        TestEnvironment.RequireRoot();
        TestEnvironment.RequireTool("iptables", "apt-get install iptables");
        HostNs = CreateNamespace();
    }

    public string HostNs { get; }

    public string CreateNamespace()
    {
        string name = TestEnvironment.UniqueName("fwns");
        Shell.Run("ip", "netns", "add", name);
        _namespaces.Add(name);
        Shell.Run("ip", "-n", name, "link", "set", "lo", "up");
        return name;
    }

    public string TempDir(string prefix)
    {
        string dir = Directory.CreateTempSubdirectory(prefix).FullName;
        _dirs.Add(dir);
        return dir;
    }

    /// <summary>Runs a command inside the host namespace.</summary>
    public Shell.Result InHost(params string[] argv) => Shell.Run("ip", ["netns", "exec", HostNs, .. argv], allowFailure: false);

    /// <summary><c>iptables -S</c> (or ip6tables) of the host namespace's filter table.</summary>
    public string Save(string tool = "iptables") => InHost(tool, "-w", "-t", "filter", "-S").Stdout;

    /// <summary>Our plugin in process, its tools run in the host namespace, no D-Bus (so iptables when not configured).</summary>
    public Task<PluginOutput> RunOurs(string command, JsonObject conf, string? netns, string id = "ctr1") =>
        PluginRunner.RunInProcessAsync(new FirewallPlugin(new NamespacedRunner(HostNs), () => new SystemBusCaller("unix:path=/nonexistent/cni-test-bus")),
            PluginRunner.Variables(command, netns, id, "eth0", TestEnvironment.ReferencePluginDir), conf.ToJsonString());

    /// <summary>A plugin binary (ours published, or the reference) started inside the host namespace.</summary>
    public Task<PluginOutput> RunBinary(string binary, string command, JsonObject conf, string? netns, string id = "ctr1") =>
        PluginRunner.RunProcessAsync("ip", ["netns", "exec", HostNs, binary], PluginRunner.Variables(command, netns, id, "eth0", TestEnvironment.ReferencePluginDir), conf.ToJsonString());

    /// <summary>A bridge in the host namespace with <paramref name="gateway"/> (e.g. 10.97.1.1/24), up.</summary>
    public string Bridge(string gateway)
    {
        string br = TestEnvironment.UniqueName("fwbr");
        Shell.Run("ip", "-n", HostNs, "link", "add", br, "type", "bridge");
        Shell.Run("ip", "-n", HostNs, "addr", "add", gateway, "dev", br);
        Shell.Run("ip", "-n", HostNs, "link", "set", br, "up");
        return br;
    }

    /// <summary>A container namespace attached to <paramref name="bridge"/> with <paramref name="address"/> on eth0 and a
    /// default route via <paramref name="gateway"/>.</summary>
    public string Container(string bridge, string address, string gateway)
    {
        string ns = CreateNamespace();
        string host = TestEnvironment.UniqueName("fwvh");
        Shell.Run("ip", "-n", HostNs, "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", ns);
        Shell.Run("ip", "-n", HostNs, "link", "set", host, "master", bridge, "up");
        Shell.Run("ip", "-n", ns, "addr", "add", address, "dev", "eth0");
        Shell.Run("ip", "-n", ns, "link", "set", "eth0", "up");
        Shell.Run("ip", "-n", ns, "route", "add", "default", "via", gateway);
        return ns;
    }

    public void Dispose()
    {
        foreach (string ns in _namespaces)
            Shell.Try("ip", "netns", "del", ns);
        foreach (string dir in _dirs)
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }
}
