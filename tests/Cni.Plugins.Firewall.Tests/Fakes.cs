using System.Text.Json.Nodes;
using Cni.Plugins.Common;
using Cni.Plugins.Firewall;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Firewall.Tests;

/// <summary>
/// iptables and ip6tables as far as the plugin uses them, in memory: the filter table's chains and rules per tool, the
/// exit codes of the real tools (1: no such rule/chain, chain exists), and every command recorded as text.
/// </summary>
public sealed class FakeIptables : ICommandRunner
{
    private readonly Dictionary<string, Dictionary<string, List<string>>> _tables = new()
    {
        ["iptables"] = NewTable(),
        ["ip6tables"] = NewTable(),
    };

    private static Dictionary<string, List<string>> NewTable() => new() { ["INPUT"] = [], ["FORWARD"] = [], ["OUTPUT"] = [] };

    /// <summary>Every command run, as "tool args…".</summary>
    public List<string> Commands { get; } = [];

    /// <summary>Tools reported as not installed.</summary>
    public HashSet<string> Missing { get; } = [];

    /// <summary>A command for which this returns true fails with exit code 4.</summary>
    public Func<string, bool> FailWhen { get; set; } = _ => false;

    /// <summary>The commands that change something (-N, -I, -A, -D, -X).</summary>
    public IEnumerable<string> Changes => Commands.Where(c => c.Split(' ') is var t && t.Length > 4 && t[4] is "-N" or "-I" or "-A" or "-D" or "-X");

    public string? Find(string name) => Missing.Contains(name) ? null : "/usr/sbin/" + name;

    /// <summary>The rules of one chain ("" for none), as joined arguments.</summary>
    public IReadOnlyList<string> Rules(string tool, string chain) => _tables[tool].TryGetValue(chain, out List<string>? r) ? r : [];

    public bool HasChain(string tool, string chain) => _tables[tool].ContainsKey(chain);

    /// <summary>The whole table as <c>iptables -S</c> would print it (chain declarations, then rules).</summary>
    public string Save(string tool) =>
        string.Concat(_tables[tool].Keys.Select(c => (c is "INPUT" or "FORWARD" or "OUTPUT" ? "-P " + c + " ACCEPT" : "-N " + c) + "\n"))
        + string.Concat(_tables[tool].SelectMany(kv => kv.Value.Select(r => $"-A {kv.Key} {r}\n")));

    public Task<CommandOutput> RunAsync(string path, IEnumerable<string> arguments, string? stdin = null, CancellationToken cancellationToken = default, TimeSpan? timeout = null)
    {
        lock (_tables)
            return Run(path, arguments);
    }

    private Task<CommandOutput> Run(string path, IEnumerable<string> arguments)
    {
        string tool = Path.GetFileName(path);
        string[] a = arguments.ToArray();
        string text = tool + " " + IptablesRules.Format(a);
        Commands.Add(text);
        if (FailWhen(text))
            return Done(4, "injected failure");
        Assert.That(a[..3], Is.EqualTo(new[] { "-w", "-t", "filter" }), text);
        Dictionary<string, List<string>> t = _tables[tool];
        string op = a[3], chain = a[4];
        bool exists = t.TryGetValue(chain, out List<string>? rules);
        switch (op)
        {
            case "-S":
                return exists ? Done(0, "") : Done(1, "No chain/target/match by that name.");
            case "-N":
                if (exists)
                    return Done(1, "iptables: Chain already exists.");
                t[chain] = [];
                return Done(0, "");
            case "-C":
                return exists && rules!.Contains(Rule(a, 5)) ? Done(0, "") : Done(1, "Bad rule (does a matching rule exist in that chain?).");
            case "-I":
                if (!exists) return Done(1, "No chain/target/match by that name.");
                Assert.That(a[5], Is.EqualTo("1"));
                rules!.Insert(0, Rule(a, 6));
                return Done(0, "");
            case "-A":
                if (!exists) return Done(1, "No chain/target/match by that name.");
                rules!.Add(Rule(a, 5));
                return Done(0, "");
            case "-D":
                return exists && rules!.Remove(Rule(a, 5)) ? Done(0, "") : Done(1, "Bad rule (does a matching rule exist in that chain?).");
            default:
                Assert.Fail("unexpected command: " + text);
                return Done(2, "");
        }
    }

    private static string Rule(string[] a, int from) => IptablesRules.Format(a[from..]);

    private static Task<CommandOutput> Done(int code, string stderr) => Task.FromResult(new CommandOutput(code, "", stderr));
}

/// <summary>A D-Bus connection that records the calls and answers as firewalld (when <see cref="Running"/>) or as a bus
/// without firewalld; <see cref="Unreachable"/> makes every call throw as a missing bus socket does.</summary>
public sealed class FakeBus : IDBusCaller
{
    public List<DBusMethodCall> Calls { get; } = [];

    public bool Running { get; set; } = true;

    public bool Unreachable { get; set; }

    /// <summary>The sources of each zone.</summary>
    public Dictionary<string, HashSet<string>> Zones { get; } = new() { ["trusted"] = [], ["public"] = [] };

    /// <summary>Replies replacing the simulated one for a member name.</summary>
    public Dictionary<string, DBusReply> Override { get; } = [];

    public int Disposed { get; private set; }

    public Task<DBusReply> CallAsync(DBusMethodCall call, CancellationToken cancellationToken)
    {
        Calls.Add(call);
        if (Unreachable)
            throw new Tmds.DBus.Protocol.DBusConnectFailedException("no such socket");
        if (Override.TryGetValue(call.Member, out DBusReply forced))
            return Task.FromResult(forced);
        if (call.Member == "GetNameOwner")
            return Task.FromResult(Running ? new DBusReply(":1.5") : DBusReply.Error("org.freedesktop.DBus.Error.NameHasNoOwner", "Could not get owner of name"));
        if (!Running)
            return Task.FromResult(DBusReply.Error("org.freedesktop.DBus.Error.ServiceUnknown", "The name is not activatable"));
        if (!Zones.TryGetValue(call.Arguments[0], out HashSet<string>? zone))
            return Task.FromResult(DBusReply.Error("org.fedoraproject.FirewallD1.Exception", "INVALID_ZONE: " + call.Arguments[0]));
        string source = call.Arguments[1];
        return call.Member switch
        {
            "addSource" => Task.FromResult(zone.Add(source) ? new DBusReply(call.Arguments[0]) : DBusReply.Error("org.fedoraproject.FirewallD1.Exception", "ZONE_ALREADY_SET: " + source)),
            "removeSource" => Task.FromResult(zone.Remove(source) ? new DBusReply(call.Arguments[0]) : DBusReply.Error("org.fedoraproject.FirewallD1.Exception", "UNKNOWN_SOURCE: " + source)),
            "querySource" => Task.FromResult(new DBusReply(zone.Contains(source))),
            _ => throw new AssertionException("unexpected call " + call),
        };
    }

    public void Dispose() => Disposed++;
}

/// <summary>Configurations and runs for the unit tests: the plugin in process with the fakes.</summary>
public static class FirewallRun
{
    public const string ContainerId = "ctr1";

    /// <summary>A previous result of a bridge plugin (bridge, host veth, container eth0) with the given addresses.</summary>
    public static JsonObject PrevResult(string version, string bridge = "cni0", params string[] addresses)
    {
        var ips = new JsonArray();
        foreach (string a in addresses)
            ips.Add(new JsonObject { ["address"] = a, ["interface"] = 2 });
        return new JsonObject
        {
            ["cniVersion"] = version,
            ["interfaces"] = new JsonArray(
                new JsonObject { ["name"] = bridge, ["mac"] = "0a:58:0a:58:00:01" },
                new JsonObject { ["name"] = "veth1234", ["mac"] = "0a:58:0a:58:00:02" },
                new JsonObject { ["name"] = "eth0", ["mac"] = "0a:58:0a:58:00:03", ["sandbox"] = "/var/run/netns/test" }),
            ["ips"] = ips,
            ["dns"] = new JsonObject(),
        };
    }

    /// <summary>A firewall configuration with <paramref name="keys"/> merged in and, unless null, a prevResult.</summary>
    public static JsonObject Conf(string version, string keys = "{}", JsonObject? prevResult = null)
    {
        var conf = new JsonObject { ["cniVersion"] = version, ["name"] = "testnet", ["type"] = "firewall" };
        foreach ((string k, JsonNode? v) in JsonNode.Parse(keys)!.AsObject())
            conf[k] = v?.DeepClone();
        if (prevResult is not null)
            conf["prevResult"] = prevResult.DeepClone();
        return conf;
    }

    public static Task<PluginOutput> Run(string command, JsonObject conf, FakeIptables ipt, FakeBus bus, string? netns = "/var/run/netns/test") =>
        PluginRunner.RunInProcessAsync(new FirewallPlugin(ipt, () => bus), PluginRunner.Variables(command, netns, ContainerId, "eth0", "/usr/lib/cni"), conf.ToJsonString());
}
