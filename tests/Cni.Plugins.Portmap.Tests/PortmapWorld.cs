using System.Diagnostics;
using System.Text.Json.Nodes;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Portmap.Tests;

/// <summary>
/// A private world for one test, nothing of it in the machine's root namespace: a "host" namespace with a bridge
/// br0 (10.77.0.1/24, fd77::1/64) and ip_forward; container C1 on the bridge (10.77.0.2, fd77::2) running busybox
/// httpd on port 80; container C2 on a routed link of its own (10.78.0.2 via 10.78.0.1), to reach published ports
/// "from another container". Disposing stops the server and deletes the namespaces (and with them every rule).
/// </summary>
internal sealed class PortmapWorld : IDisposable
{
    private readonly List<string> _namespaces = [];
    private readonly List<Process> _servers = [];
    private readonly string _www;

    public string Host { get; }
    public string C1 { get; }
    public string C2 { get; }
    public string Network { get; } = TestEnvironment.UniqueName("pmnet-");
    public const string C1V4 = "10.77.0.2", C1V6 = "fd77::2", HostV4 = "10.77.0.1", HostV6 = "fd77::1", HostOnC2Link = "10.78.0.1";

    public PortmapWorld()
    {
        TestEnvironment.RequireRoot();
        TestEnvironment.RequireTool("busybox", "apt-get install busybox-static");
        TestEnvironment.RequireTool("curl", "apt-get install curl");
        _www = Directory.CreateTempSubdirectory("cni-pm-www-").FullName;
        File.WriteAllText(Path.Combine(_www, "index.html"), "hello from c1\n");
        try
        {
            Host = NewNs("pmh");
            C1 = NewNs("pmc1");
            C2 = NewNs("pmc2");
            Ip("-n", Host, "link", "add", "br0", "type", "bridge");
            Ip("-n", Host, "addr", "add", HostV4 + "/24", "dev", "br0");
            Ip("-n", Host, "addr", "add", HostV6 + "/64", "dev", "br0", "nodad");
            Ip("-n", Host, "link", "set", "br0", "up");
            Ip("-n", Host, "link", "add", "h1", "type", "veth", "peer", "name", "eth0", "netns", C1);
            Ip("-n", Host, "link", "set", "h1", "master", "br0", "up");
            // As the bridge plugin's hairpinMode: a container reaching its own published port goes out the port it came in.
            Ip("-n", Host, "link", "set", "h1", "type", "bridge_slave", "hairpin", "on");
            Ip("-n", C1, "addr", "add", C1V4 + "/24", "dev", "eth0");
            Ip("-n", C1, "addr", "add", C1V6 + "/64", "dev", "eth0", "nodad");
            Ip("-n", C1, "link", "set", "eth0", "up");
            Ip("-n", C1, "route", "add", "default", "via", HostV4);
            Ip("-n", C1, "-6", "route", "add", "default", "via", HostV6);
            Ip("-n", Host, "link", "add", "h2", "type", "veth", "peer", "name", "eth0", "netns", C2);
            Ip("-n", Host, "addr", "add", HostOnC2Link + "/24", "dev", "h2");
            Ip("-n", Host, "link", "set", "h2", "up");
            Ip("-n", C2, "addr", "add", "10.78.0.2/24", "dev", "eth0");
            Ip("-n", C2, "link", "set", "eth0", "up");
            Ip("-n", C2, "route", "add", "default", "via", HostOnC2Link);
            Shell.Run("ip", "netns", "exec", Host, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1");
            StartServer(C1);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>A bare container namespace (lo up) for a runtime to attach; deleted on dispose.</summary>
    public string NewContainer() => NewNs("pmc");

    /// <summary>Starts busybox httpd on port 80 (both families) in <paramref name="ns"/>; stopped on dispose.</summary>
    public void StartServer(string ns)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "netns", "exec", ns, "busybox", "httpd", "-f", "-p", "[::]:80", "-h", _www })
            psi.ArgumentList.Add(a);
        _servers.Add(Process.Start(psi)!);
        for (int i = 0; i < 50 && !Get(ns, "http://127.0.0.1:80/", 1).Contains("hello", StringComparison.Ordinal); i++)
            Thread.Sleep(100);
    }

    public string HostNsPath => PluginHarness.NsPath(Host);
    public string C1NsPath => PluginHarness.NsPath(C1);

    private string NewNs(string prefix)
    {
        string name = TestEnvironment.UniqueName(prefix);
        Shell.Run("ip", "netns", "add", name);
        _namespaces.Add(name);
        Shell.Run("ip", "-n", name, "link", "set", "lo", "up");
        return name;
    }

    private static void Ip(params string[] args) => Shell.Run("ip", args);

    /// <summary>curl from namespace <paramref name="ns"/> (busybox wget crashes on this machine); the body, or "" when it failed.</summary>
    public static string Get(string ns, string url, int timeoutSeconds = 3)
    {
        Shell.Result r = Shell.Try("ip", "netns", "exec", ns, "curl", "-s", "-g", "--noproxy", "*", "-m", timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), url);
        return r.ExitCode == 0 ? r.Stdout : "";
    }

    /// <summary>The prevResult a bridge would have given C1 (IPv4, and IPv6 when asked).</summary>
    public JsonObject PrevResult(string version = "1.0.0", bool ipv6 = false) =>
        ipv6 ? PortmapTestData.PrevResult(version, C1NsPath, C1V4 + "/24", C1V6 + "/64") : PortmapTestData.PrevResult(version, C1NsPath, C1V4 + "/24");

    /// <summary>The nat table of the host namespace: iptables-save for both families plus the nft ruleset.</summary>
    public string Rules()
    {
        string v4 = Shell.Try("ip", "netns", "exec", Host, "iptables-save", "-t", "nat").Stdout;
        string v6 = Shell.Try("ip", "netns", "exec", Host, "ip6tables-save", "-t", "nat").Stdout;
        string nft = Shell.Try("ip", "netns", "exec", Host, "nft", "list", "ruleset").Stdout;
        return v4 + "\n" + v6 + "\n" + nft;
    }

    public void Dispose()
    {
        foreach (Process p in _servers)
        {
            try { p.Kill(entireProcessTree: true); p.WaitForExit(2000); } catch (InvalidOperationException) { }
            p.Dispose();
        }
        foreach (string ns in _namespaces)
            Shell.Try("ip", "netns", "del", ns);
        try { Directory.Delete(_www, recursive: true); } catch (IOException) { }
    }
}
