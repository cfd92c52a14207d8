using System.Text.Json.Nodes;
using Cni.Spec;
using Cni.TestSupport;

namespace Cni.Plugins.TestSupport;

/// <summary>
/// One test's world for an interface plugin: a unique network name, a host-local data directory and the namespaces
/// the test created; it runs the plugin in process or as the published binary (<see cref="Mode"/>). Disposing removes
/// the namespaces, whatever <see cref="DisposeResources"/> adds, then the data directory, also when the test failed.
/// </summary>
public abstract class PluginHarness : IDisposable
{
    private readonly List<string> _namespaces = [];
    private readonly Func<ICniPlugin> _factory;

    /// <summary>
    /// A harness for the plugin of CNI <paramref name="type"/>; <paramref name="factory"/> makes a fresh instance for
    /// each in-process run. In <see cref="Mode.Binary"/> the test is skipped when the plugin has not been published.
    /// </summary>
    protected PluginHarness(string type, Func<ICniPlugin> factory, Mode mode)
    {
        Type = type;
        _factory = factory;
        Mode = mode;
        Network = TestEnvironment.UniqueName("net-");
        DataDir = Directory.CreateTempSubdirectory($"cni-{type}-test-").FullName;
        if (mode == Mode.Binary)
            BinaryPath = TestEnvironment.RequirePublishedPlugin(type);
    }

    /// <summary>Our plugins first (host-local, static), then the Go reference ones.</summary>
    public static string DefaultCniPath => $"{TestEnvironment.PluginBinDir}:{TestEnvironment.ReferencePluginDir}";

    /// <summary>The plugin's CNI type (also the name of its published binary).</summary>
    public string Type { get; }

    /// <summary>How this harness runs the plugin.</summary>
    public Mode Mode { get; }

    /// <summary>The network name, unique to this test.</summary>
    public string Network { get; }

    /// <summary>The host-local data directory, deleted on dispose.</summary>
    public string DataDir { get; }

    /// <summary>The published binary (in <see cref="Mode.Binary"/> only).</summary>
    public string? BinaryPath { get; }

    /// <summary>CNI_PATH for every invocation; <see cref="DefaultCniPath"/> unless a test changes it.</summary>
    public string CniPath { get; set; } = DefaultCniPath;

    /// <summary>The path of a named namespace.</summary>
    public static string NsPath(string ns) => "/var/run/netns/" + ns;

    /// <summary>Creates a named namespace (with lo up) that is deleted on dispose.</summary>
    public string CreateNamespace()
    {
        string name = TestEnvironment.UniqueName("tns");
        Shell.Run("ip", "netns", "add", name);
        _namespaces.Add(name);
        Shell.Run("ip", "-n", name, "link", "set", "lo", "up");
        return name;
    }

    /// <summary>Deletes a namespace early (a pod that went away before DEL).</summary>
    public void DeleteNamespace(string name)
    {
        Shell.Run("ip", "netns", "del", name);
        _namespaces.Remove(name);
    }

    /// <summary>The default subnet of <see cref="Config"/>'s host-local range.</summary>
    protected abstract string DefaultSubnet { get; }

    /// <summary>Adds the plugin's own keys to a new configuration, after <c>{cniVersion, name, type}</c> and before <c>ipam</c>.</summary>
    protected virtual void AddPluginKeys(JsonObject conf)
    {
    }

    /// <summary>
    /// A configuration: <c>{cniVersion, name, type}</c> and the plugin's keys, host-local on <paramref name="subnet"/>
    /// (<see cref="DefaultSubnet"/> when null) unless <paramref name="ipam"/> is false, then the keys of
    /// <paramref name="json"/> merged over it.
    /// </summary>
    public JsonObject Config(string version, string? json = null, bool ipam = true, string? subnet = null)
    {
        var conf = new JsonObject { ["cniVersion"] = version, ["name"] = Network, ["type"] = Type };
        AddPluginKeys(conf);
        if (ipam)
            conf["ipam"] = HostLocal(subnet ?? DefaultSubnet);
        if (json is not null)
        {
            foreach ((string key, JsonNode? value) in JsonNode.Parse(json)!.AsObject())
                conf[key] = value?.DeepClone();
        }
        return conf;
    }

    /// <summary>A host-local IPAM configuration on this harness's data directory, one range set per subnet.</summary>
    public JsonObject HostLocal(params string[] subnets)
    {
        var ranges = new JsonArray();
        foreach (string s in subnets)
            ranges.Add(new JsonArray(new JsonObject { ["subnet"] = s }));
        return new JsonObject { ["type"] = "host-local", ["ranges"] = ranges, ["dataDir"] = DataDir };
    }

    /// <summary>ADD into the named namespace <paramref name="ns"/>.</summary>
    public Task<PluginOutput> AddAsync(JsonObject conf, string ns, string id, string ifName = "eth0", string? args = null) =>
        RunAsync("ADD", conf, NsPath(ns), id, ifName, args);

    /// <summary>DEL; <paramref name="nsPath"/> null leaves CNI_NETNS unset.</summary>
    public Task<PluginOutput> DelAsync(JsonObject conf, string? nsPath, string id, string ifName = "eth0") =>
        RunAsync("DEL", conf, nsPath, id, ifName);

    /// <summary>CHECK with <paramref name="prevResult"/> added to (a copy of) <paramref name="conf"/>.</summary>
    public Task<PluginOutput> CheckAsync(JsonObject conf, JsonObject prevResult, string ns, string id, string ifName = "eth0")
    {
        var withPrev = (JsonObject)conf.DeepClone();
        withPrev["prevResult"] = prevResult.DeepClone();
        return RunAsync("CHECK", withPrev, NsPath(ns), id, ifName);
    }

    /// <summary>The CNI variables of one invocation with this harness's <see cref="CniPath"/>.</summary>
    public Dictionary<string, string> Variables(string command, string? nsPath, string id, string ifName, string? args = null) =>
        PluginRunner.Variables(command, nsPath, id, ifName, CniPath, args);

    /// <summary>Runs one CNI command with <paramref name="conf"/> on stdin, in process or as the binary (<see cref="Mode"/>).</summary>
    public async Task<PluginOutput> RunAsync(string command, JsonObject conf, string? nsPath, string id, string ifName, string? args = null)
    {
        Dictionary<string, string> vars = Variables(command, nsPath, id, ifName, args);
        string stdin = conf.ToJsonString();
        if (Mode == Mode.InProcess)
            return await PluginRunner.RunInProcessAsync(_factory(), vars, stdin);
        return await RunBinaryAsync(vars, stdin);
    }

    /// <summary>Runs the published binary with exactly the CNI variables given; by default directly, in the test's namespace.</summary>
    protected virtual Task<PluginOutput> RunBinaryAsync(IDictionary<string, string> vars, string stdin) =>
        PluginRunner.RunProcessAsync(BinaryPath!, [], vars, stdin);

    /// <summary>The addresses host-local holds for this network (one file per address).</summary>
    public string[] Reservations()
    {
        string dir = Path.Combine(DataDir, Network);
        return Directory.Exists(dir)
            ? Directory.GetFiles(dir).Select(Path.GetFileName).Where(n => n is not null && !n.StartsWith("last_reserved_ip", StringComparison.Ordinal) && n != "lock").Select(n => n!).ToArray()
            : [];
    }

    /// <summary>Removes what the plugin left outside the test's namespaces; runs after the namespaces are deleted, before the data directory.</summary>
    protected virtual void DisposeResources()
    {
    }

    /// <summary>Deletes the namespaces, then <see cref="DisposeResources"/>, then the data directory; never throws for what is already gone.</summary>
    public void Dispose()
    {
        foreach (string ns in _namespaces)
            Shell.Try("ip", "netns", "del", ns);
        DisposeResources();
        try { Directory.Delete(DataDir, recursive: true); } catch (IOException) { }
        GC.SuppressFinalize(this);
    }
}
