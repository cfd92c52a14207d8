using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.E2E.Tests;

/// <summary>
/// A node of our own for one test, nothing of it in the machine's root network namespace: a private "host"
/// namespace in which libcni (cnirun) runs, bare container namespaces (lo down, as a runtime creates them), and the
/// directories a runtime keeps (network configurations, the libcni cache, the host-local data). Disposing stops the
/// servers, deletes the namespaces (and with them every link and rule) and the directories, also when a test failed.
/// </summary>
internal sealed class CniHostWorld : IDisposable
{
    public const string CnirunHowTo = "build it with: bash ../shared/tools/cnirun/build.sh (needs apt-get install golang-go golang-github-appc-cni-dev)";

    private readonly List<string> _namespaces = [];
    private readonly List<Process> _servers = [];
    private readonly List<string> _dirs = [];

    /// <summary>The private host namespace.</summary>
    public string Host { get; }

    /// <summary>NETCONFPATH: the network configurations cnirun finds by name.</summary>
    public string ConfDir { get; }

    /// <summary>CNI_CACHE_DIR: where libcni keeps each attachment's result.</summary>
    public string CacheDir { get; }

    /// <summary>The host-local data directory the configurations name.</summary>
    public string IpamDir { get; }

    /// <summary>The document root the containers' httpd serves.</summary>
    public string WwwDir { get; }

    /// <summary>CNI_PATH for every cnirun call.</summary>
    public string CniPath { get; set; } = TestEnvironment.PluginBinDir;

    private readonly string _cnirun;

    public CniHostWorld()
    {
        TestEnvironment.RequireRoot();
        _cnirun = TestEnvironment.RequireTool("cnirun", CnirunHowTo);
        TestEnvironment.RequireTool("busybox", "apt-get install busybox-static");
        TestEnvironment.RequireTool("curl", "apt-get install curl");
        TestEnvironment.RequireTool("iptables-save", "apt-get install iptables");
        TestEnvironment.RequireTool("nft", "apt-get install nftables");
        ConfDir = NewDir("cni-e2e-conf-");
        CacheDir = NewDir("cni-e2e-cache-");
        IpamDir = NewDir("cni-e2e-ipam-");
        WwwDir = NewDir("cni-e2e-www-");
        File.WriteAllText(Path.Combine(WwwDir, "index.html"), "hello from c1\n");
        try
        {
            Host = NewNamespace("e2eh", loUp: true);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>A bare container namespace with lo down (the loopback plugin brings it up); deleted on dispose.</summary>
    public string NewContainer() => NewNamespace("e2ec", loUp: false);

    /// <summary>The path libcni is given as CNI_NETNS.</summary>
    public static string NsPath(string ns) => PluginHarness.NsPath(ns);

    /// <summary>Writes <paramref name="json"/> as NETCONFPATH/<paramref name="file"/>.</summary>
    public void WriteConf(string file, string json) => File.WriteAllText(Path.Combine(ConfDir, file), json);

    /// <summary>
    /// Runs <c>cnirun VERB NETWORK NETNS ID IFNAME</c> inside the host namespace with NETCONFPATH, CNI_PATH,
    /// CNI_CACHE_DIR and, when given, CAP_ARGS (the capability arguments a runtime passes, e.g. portMappings).
    /// </summary>
    public Shell.Result Cnirun(string verb, string network, string container, string id, string ifname, string? capArgs = null)
    {
        var env = new Dictionary<string, string> { ["NETCONFPATH"] = ConfDir, ["CNI_PATH"] = CniPath, ["CNI_CACHE_DIR"] = CacheDir };
        if (capArgs is not null) env["CAP_ARGS"] = capArgs;
        return Shell.Run("ip", ["netns", "exec", Host, _cnirun, verb, network, NsPath(container), id, ifname], allowFailure: true, env: env);
    }

    /// <summary>Like <see cref="Cnirun"/>, failing the test with both streams unless it succeeded; the result JSON.</summary>
    public JsonObject CnirunOk(string verb, string network, string container, string id, string ifname, string? capArgs = null)
    {
        Shell.Result r = Cnirun(verb, network, container, id, ifname, capArgs);
        Assert.That(r.ExitCode, Is.EqualTo(0), $"cnirun {verb} {network} {id} {ifname} (CNI_PATH={CniPath}): {r.Stderr}{r.Stdout}");
        return r.Stdout.Trim().Length == 0 ? [] : (JsonNode.Parse(r.Stdout)?.AsObject() ?? []);
    }

    /// <summary>The first address of <paramref name="family"/> ("." for IPv4, ":" for IPv6) in a result, without its prefix length.</summary>
    public static string AddressOf(JsonObject result, char family) =>
        (result["ips"]?.AsArray() ?? []).Select(ip => ip?["address"]?.GetValue<string>() ?? "").First(a => a.Contains(family, StringComparison.Ordinal)).Split('/')[0];

    /// <summary>Starts busybox httpd on port 80 (both families) in <paramref name="ns"/> and waits until it answers; stopped on dispose.</summary>
    public void StartHttpd(string ns)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "netns", "exec", ns, "busybox", "httpd", "-f", "-p", "[::]:80", "-h", WwwDir })
            psi.ArgumentList.Add(a);
        _servers.Add(Process.Start(psi)!);
        for (int i = 0; i < 50 && !Get(ns, "http://127.0.0.1:80/", 1).Contains("hello", StringComparison.Ordinal); i++)
            Thread.Sleep(100);
    }

    /// <summary>curl from namespace <paramref name="ns"/>: the body, or "" when it failed.</summary>
    public static string Get(string ns, string url, int timeoutSeconds = 3)
    {
        Shell.Result r = Shell.Try("ip", "netns", "exec", ns, "curl", "-s", "-g", "--noproxy", "*", "-m", timeoutSeconds.ToString(CultureInfo.InvariantCulture), url);
        return r.ExitCode == 0 ? r.Stdout : "";
    }

    /// <summary>Regular files under <paramref name="dir"/>, relative to it.</summary>
    public static string[] FilesUnder(string dir) =>
        Directory.Exists(dir) ? Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(dir, f)).Order(StringComparer.Ordinal).ToArray() : [];

    /// <summary>The host-local files that are no address reservation (they stay, as with the reference plugin).</summary>
    public static bool IsHostLocalBookkeeping(string relativePath)
    {
        string name = Path.GetFileName(relativePath);
        return name == "lock" || name.StartsWith("last_reserved_ip.", StringComparison.Ordinal);
    }

    private string NewNamespace(string prefix, bool loUp)
    {
        string name = TestEnvironment.UniqueName(prefix);
        Shell.Run("ip", "netns", "add", name);
        _namespaces.Add(name);
        if (loUp) Shell.Run("ip", "-n", name, "link", "set", "lo", "up");
        return name;
    }

    private string NewDir(string prefix)
    {
        string dir = Directory.CreateTempSubdirectory(prefix).FullName;
        _dirs.Add(dir);
        return dir;
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
        foreach (string dir in _dirs)
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }
}
