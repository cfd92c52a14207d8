using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Cni.Plugins.Bridge;
using Cni.Spec;
using Cni.TestSupport;

namespace Cni.Plugins.Bridge.Tests;

/// <summary>How a test drives the plugin.</summary>
public enum Mode
{
    /// <summary>In process, through CniPluginHost with an in-memory environment.</summary>
    InProcess,

    /// <summary>The published NativeAOT binary, as a runtime runs it.</summary>
    Binary,
}

/// <summary>What one plugin invocation returned.</summary>
public sealed record PluginOutput(int ExitCode, string Stdout, string Stderr)
{
    public JsonObject Json => JsonNode.Parse(Stdout)!.AsObject();

    public PluginOutput AssertSuccess()
    {
        Assert.That(ExitCode, Is.EqualTo(0), $"plugin failed: {Stdout}\n{Stderr}");
        return this;
    }
}

/// <summary>
/// One test's world: a unique bridge name, network name, IPAM data directory and the namespaces it created; disposing
/// removes all of it (namespaces, the bridge, leftover veths, masquerade rules, the data directory).
/// </summary>
public sealed class BridgeHarness : IDisposable
{
    private readonly List<string> _namespaces = [];

    public BridgeHarness(Mode mode = Mode.InProcess)
    {
        Mode = mode;
        BridgeName = TestEnvironment.UniqueName("tbr");
        Network = TestEnvironment.UniqueName("net-");
        DataDir = Directory.CreateTempSubdirectory("cni-bridge-test-").FullName;
        if (mode == Mode.Binary)
            BinaryPath = TestEnvironment.RequirePublishedPlugin("bridge");
    }

    public Mode Mode { get; }
    public string BridgeName { get; }
    public string Network { get; }
    public string DataDir { get; }
    public string? BinaryPath { get; }

    /// <summary>Our plugins first, then the Go reference ones (host-local until ours is published).</summary>
    public string CniPath { get; set; } = $"{TestEnvironment.PluginBinDir}:{TestEnvironment.ReferencePluginDir}";

    /// <summary>Creates a named namespace (with lo up) that is deleted on dispose.</summary>
    public string CreateNamespace()
    {
        string name = TestEnvironment.UniqueName("tns");
        Shell.Run("ip", "netns", "add", name);
        _namespaces.Add(name);
        Shell.Run("ip", "-n", name, "link", "set", "lo", "up");
        return name;
    }

    public static string NsPath(string ns) => "/var/run/netns/" + ns;

    /// <summary>A configuration: the bridge options merged over <c>{cniVersion, name, type, bridge}</c>, host-local on 10.x/24 by default.</summary>
    public JsonObject Config(string version, string? json = null, bool ipam = true, string subnet = "10.91.0.0/24")
    {
        var conf = new JsonObject
        {
            ["cniVersion"] = version,
            ["name"] = Network,
            ["type"] = "bridge",
            ["bridge"] = BridgeName,
        };
        if (ipam)
            conf["ipam"] = HostLocal(subnet);
        if (json is not null)
        {
            foreach ((string key, JsonNode? value) in JsonNode.Parse(json)!.AsObject())
                conf[key] = value?.DeepClone();
        }
        return conf;
    }

    public JsonObject HostLocal(params string[] subnets)
    {
        var ranges = new JsonArray();
        foreach (string s in subnets)
            ranges.Add(new JsonArray(new JsonObject { ["subnet"] = s }));
        return new JsonObject { ["type"] = "host-local", ["ranges"] = ranges, ["dataDir"] = DataDir };
    }

    public Task<PluginOutput> AddAsync(JsonObject conf, string ns, string id, string ifName = "eth0", string? args = null) =>
        RunAsync("ADD", conf, NsPath(ns), id, ifName, args);

    public Task<PluginOutput> DelAsync(JsonObject conf, string? nsPath, string id, string ifName = "eth0") =>
        RunAsync("DEL", conf, nsPath, id, ifName);

    public Task<PluginOutput> CheckAsync(JsonObject conf, JsonObject prevResult, string ns, string id, string ifName = "eth0")
    {
        var withPrev = (JsonObject)conf.DeepClone();
        withPrev["prevResult"] = prevResult.DeepClone();
        return RunAsync("CHECK", withPrev, NsPath(ns), id, ifName);
    }

    public async Task<PluginOutput> RunAsync(string command, JsonObject conf, string? nsPath, string id, string ifName, string? args = null)
    {
        var vars = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = command,
            ["CNI_CONTAINERID"] = id,
            ["CNI_IFNAME"] = ifName,
            ["CNI_PATH"] = CniPath,
        };
        if (nsPath is not null) vars["CNI_NETNS"] = nsPath;
        if (args is not null) vars["CNI_ARGS"] = args;
        string stdin = conf.ToJsonString();
        if (Mode == Mode.InProcess)
        {
            var env = new InMemoryCniEnvironment(vars, stdin);
            int code = await CniPluginHost.RunAsync(new BridgePlugin(), env);
            return new PluginOutput(code, env.StdoutText, env.StderrText);
        }
        var psi = new ProcessStartInfo(BinaryPath!) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string v in new[] { "CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH" })
            psi.Environment.Remove(v);
        foreach ((string k, string v) in vars) psi.Environment[k] = v;
        using Process p = Process.Start(psi)!;
        Task<string> o = p.StandardOutput.ReadToEndAsync(), e = p.StandardError.ReadToEndAsync();
        await p.StandardInput.WriteAsync(stdin);
        p.StandardInput.Close();
        await p.WaitForExitAsync();
        return new PluginOutput(p.ExitCode, await o, await e);
    }

    /// <summary>The addresses host-local holds for this network (one file per address).</summary>
    public string[] Reservations()
    {
        string dir = Path.Combine(DataDir, Network);
        return Directory.Exists(dir)
            ? Directory.GetFiles(dir).Select(Path.GetFileName).Where(n => n is not null && !n.StartsWith("last_reserved_ip", StringComparison.Ordinal) && n != "lock").Select(n => n!).ToArray()
            : [];
    }

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
        var r = Shell.Try("nft", "list", "chain", "inet", "cni_plugins_masquerade", "masq_checks");
        string hash = Cni.Plugins.Common.NetfilterNames.NetworkHash(Network);
        return r.Stdout.Split('\n').Where(l => l.Contains(hash, StringComparison.Ordinal)).ToArray();
    }

    public string[] IptablesRules(string containerId)
    {
        string chain = Cni.Plugins.Common.NetfilterNames.ChainName(Network, containerId);
        return Shell.Try("iptables", "-w", "-t", "nat", "-S").Stdout.Split('\n').Where(l => l.Contains(chain, StringComparison.Ordinal)).ToArray();
    }

    public void Dispose()
    {
        foreach (string ns in _namespaces)
            Shell.Try("ip", "netns", "del", ns);
        foreach (string port in BridgePorts())
            Shell.Try("ip", "link", "del", port);
        Shell.Try("ip", "link", "del", BridgeName);
        // Masquerade rules of this network, in both layouts.
        string hash = Cni.Plugins.Common.NetfilterNames.NetworkHash(Network);
        var listing = Shell.Try("nft", "-a", "list", "chain", "inet", "cni_plugins_masquerade", "masq_checks");
        foreach (string line in listing.Stdout.Split('\n').Where(l => l.Contains(hash, StringComparison.Ordinal)))
        {
            string handle = line[(line.LastIndexOf("# handle ", StringComparison.Ordinal) + 9)..].Trim();
            Shell.Try("nft", "delete", "rule", "inet", "cni_plugins_masquerade", "masq_checks", "handle", handle);
        }
        try { Directory.Delete(DataDir, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Runs a host tool (ip, nft, iptables, busybox) for test setup and assertions.</summary>
public static class Shell
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Run(string file, params string[] args) => Run(file, args, allowFailure: false);

    /// <summary>Runs and returns whatever happened (no exception on failure).</summary>
    public static Result Try(string file, params string[] args) => Run(file, args, allowFailure: true);


    public static Result Run(string file, string[] args, bool allowFailure, string? stdin = null, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null };
        foreach (string a in args) psi.ArgumentList.Add(a);
        if (env is not null) foreach ((string k, string v) in env) psi.Environment[k] = v;
        using Process p = Process.Start(psi)!;
        if (stdin is not null) { p.StandardInput.Write(stdin); p.StandardInput.Close(); }
        Task<string> o = p.StandardOutput.ReadToEndAsync(), e = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        var r = new Result(p.ExitCode, o.Result, e.Result);
        if (!allowFailure && r.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({r.ExitCode}): {r.Stderr}{r.Stdout}");
        return r;
    }

    /// <summary>busybox ping from inside a namespace; true when a reply came back.</summary>
    public static bool Ping(string ns, string address) =>
        Try("ip", "netns", "exec", ns, "busybox", "ping", "-c1", "-W2", address).ExitCode == 0;
}
