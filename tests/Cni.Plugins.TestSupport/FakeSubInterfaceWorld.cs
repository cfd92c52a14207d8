using System.Text.Json.Nodes;
using Cni.Plugins.Common;
using Cni.Spec;
using Cni.TestSupport;

namespace Cni.Plugins.TestSupport;

/// <summary>
/// A sub-interface plugin against fakes, without root: a <see cref="FakeSubInterfaceKernel"/> with one container
/// namespace, and a recording IPAM plugin (<c>fake-ipam</c>) that the plugin's <see cref="IpamInvoker"/> runs
/// in-process; commands go through <see cref="CniPluginHost"/> with an in-memory environment, as a runtime's would.
/// </summary>
public sealed class FakeSubInterfaceWorld : IDisposable
{
    /// <summary>The container namespace path.</summary>
    public const string NetNs = "/run/netns/fake-pod";

    private readonly string _dir;

    /// <summary>Creates the world for CNI type <paramref name="type"/>; <paramref name="factory"/> builds the plugin with
    /// the IPAM invoker and the fake kernel.</summary>
    public FakeSubInterfaceWorld(string type, Func<IpamInvoker, ISubInterfaceKernel, ICniPlugin> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Type = type;
        _dir = Directory.CreateTempSubdirectory("cni-fake-").FullName;
        string self = Path.Combine(_dir, "self");
        File.WriteAllText(self, "");
        if (OperatingSystem.IsLinux())
            File.SetUnixFileMode(self, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.CreateSymbolicLink(Path.Combine(_dir, "fake-ipam"), self);
        var ipam = new IpamInvoker(sameExecutable: t => t == "fake-ipam" ? Ipam : null, selfPath: self);
        Container = Kernel.AddNamespace(NetNs);
        Plugin = factory(ipam, Kernel);
    }

    /// <summary>The CNI type.</summary>
    public string Type { get; }

    /// <summary>The kernel.</summary>
    public FakeSubInterfaceKernel Kernel { get; } = new();

    /// <summary>The container namespace.</summary>
    public FakeSubInterfaceKernel.FakeNamespace Container { get; }

    /// <summary>The IPAM plugin.</summary>
    public RecordingIpam Ipam { get; } = new();

    /// <summary>The plugin under test.</summary>
    public ICniPlugin Plugin { get; }

    /// <summary>A network configuration of <see cref="Type"/> with <c>fake-ipam</c>, merged with <paramref name="json"/>
    /// (a key set to null is removed).</summary>
    public JsonObject Config(string version, string json = "{}")
    {
        var conf = new JsonObject
        {
            ["cniVersion"] = version,
            ["name"] = "fakenet",
            ["type"] = Type,
            ["ipam"] = new JsonObject { ["type"] = "fake-ipam" },
        };
        foreach ((string key, JsonNode? value) in JsonNode.Parse(json)!.AsObject())
        {
            if (value is null)
                conf.Remove(key);
            else
                conf[key] = value.DeepClone();
        }
        return conf;
    }

    /// <summary>Runs <paramref name="command"/> through the plugin host.</summary>
    public async Task<PluginOutput> RunAsync(string command, JsonObject conf, string ifName = "eth0", string containerId = "ctr1",
        string? netns = NetNs, string? args = null)
    {
        ArgumentNullException.ThrowIfNull(conf);
        var variables = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = command,
            ["CNI_CONTAINERID"] = containerId,
            ["CNI_IFNAME"] = ifName,
            ["CNI_PATH"] = _dir,
        };
        if (netns is not null)
            variables["CNI_NETNS"] = netns;
        if (args is not null)
            variables["CNI_ARGS"] = args;
        var env = new InMemoryCniEnvironment(variables, conf.ToJsonString());
        int exit = await CniPluginHost.RunAsync(Plugin, env).ConfigureAwait(false);
        return new PluginOutput(exit, env.StdoutText, env.StderrText);
    }

    /// <summary>ADD, then the configuration with the result as <c>prevResult</c> for CHECK and DEL.</summary>
    public async Task<(PluginOutput Add, JsonObject WithPrev)> AddAsync(JsonObject conf, string ifName = "eth0", string containerId = "ctr1", string? args = null)
    {
        ArgumentNullException.ThrowIfNull(conf);
        PluginOutput add = await RunAsync("ADD", conf, ifName, containerId, args: args).ConfigureAwait(false);
        var withPrev = (JsonObject)conf.DeepClone();
        if (add.ExitCode == 0)
            withPrev["prevResult"] = add.Json.DeepClone();
        return (add, withPrev);
    }

    /// <summary>Removes the temporary directory.</summary>
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>An IPAM plugin that hands out 10.93.0.5/24 with a default route via 10.93.0.1, and records its commands.</summary>
    public sealed class RecordingIpam : CniPlugin
    {
        /// <summary>The commands it ran, with the container id ("ADD ctr1").</summary>
        public List<string> Commands { get; } = [];

        /// <summary>Addresses handed out and not released.</summary>
        public HashSet<string> Reserved { get; } = [];

        /// <summary>When set, ADD fails with it.</summary>
        public CniException? AddFailure { get; set; }

        /// <inheritdoc/>
        public override Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(request);
            Commands.Add("ADD " + request.ContainerId);
            if (AddFailure is { } failure)
                throw failure;
            Reserved.Add(request.ContainerId);
            return Task.FromResult(new CniResult
            {
                Ips = [new CniIPConfig { Address = IPPrefix.Parse("10.93.0.5/24"), Gateway = System.Net.IPAddress.Parse("10.93.0.1") }],
                Routes = [new CniRoute { Dst = IPPrefix.Parse("0.0.0.0/0"), Gw = System.Net.IPAddress.Parse("10.93.0.1") }],
            });
        }

        /// <inheritdoc/>
        public override Task DelAsync(CniRequest request, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(request);
            Commands.Add("DEL " + request.ContainerId);
            Reserved.Remove(request.ContainerId);
            return Task.CompletedTask;
        }

        /// <inheritdoc/>
        public override Task CheckAsync(CniRequest request, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(request);
            Commands.Add("CHECK " + request.ContainerId);
            return Task.CompletedTask;
        }
    }
}
