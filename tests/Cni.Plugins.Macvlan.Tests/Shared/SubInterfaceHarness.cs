using System.Buffers.Binary;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Cni.Spec;
using Cni.TestSupport;

// Shared by the macvlan, vlan and ipvlan test projects (linked into the other two).
namespace Cni.Plugins.SubInterface.Tests;

/// <summary>How a test drives the plugin.</summary>
public enum Mode
{
    /// <summary>In process, through CniPluginHost with an in-memory environment (the "host" is the test's own namespace:
    /// use it only for tests that do not change the host, e.g. linkInContainer or configuration errors).</summary>
    InProcess,

    /// <summary>The published NativeAOT binary, run inside the harness's throwaway "host" namespace.</summary>
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

    /// <summary>Asserts a CNI error with <paramref name="code"/> whose message contains <paramref name="fragment"/>; returns the message.</summary>
    public string AssertError(uint code, string fragment)
    {
        Assert.That(ExitCode, Is.EqualTo(1), $"expected failure, got: {Stdout}\n{Stderr}");
        JsonObject error = Json;
        string msg = error["msg"]!.GetValue<string>();
        Assert.Multiple(() =>
        {
            Assert.That(error["code"]!.GetValue<uint>(), Is.EqualTo(code), msg);
            Assert.That(msg, Does.Contain(fragment));
            Assert.That(Stdout, Does.Not.Contain("   at "), "no stack trace on stdout");
        });
        return msg;
    }
}

/// <summary>
/// One test's world: a throwaway "host" namespace (for the binary), pod namespaces, a unique network name and a
/// host-local data directory; disposing removes all of it, also when the test failed.
/// </summary>
public sealed class SubInterfaceHarness : IDisposable
{
    public static readonly string[] Versions = ["0.3.1", "0.4.0", "1.0.0", "1.1.0"];

    /// <summary>The versions that have CHECK.</summary>
    public static readonly string[] CheckVersions = ["0.4.0", "1.0.0", "1.1.0"];

    private readonly List<string> _namespaces = [];
    private readonly Func<ICniPlugin> _factory;
    private string? _hostNs;

    public SubInterfaceHarness(string type, Func<ICniPlugin> factory, Mode mode = Mode.Binary)
    {
        Type = type;
        _factory = factory;
        Mode = mode;
        Network = TestEnvironment.UniqueName("net-");
        DataDir = Directory.CreateTempSubdirectory($"cni-{type}-test-").FullName;
        if (mode == Mode.Binary)
            BinaryPath = TestEnvironment.RequirePublishedPlugin(type);
    }

    public string Type { get; }
    public Mode Mode { get; }
    public string Network { get; }
    public string DataDir { get; }
    public string? BinaryPath { get; }

    /// <summary>Our plugins first (host-local, static), then the Go reference ones.</summary>
    public static string CniPath => $"{TestEnvironment.PluginBinDir}:{TestEnvironment.ReferencePluginDir}";

    /// <summary>The throwaway namespace that plays the host for the binary (created on first use, lo up).</summary>
    public string HostNs => _hostNs ??= CreateNamespace();

    /// <summary>Creates a named namespace (lo up) that is deleted on dispose.</summary>
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

    public static string NsPath(string ns) => "/var/run/netns/" + ns;

    /// <summary>A veth pair in the host namespace, both ends up; returns the end to use as master.</summary>
    public string HostVethMaster(int mtu = 1500)
    {
        string a = TestEnvironment.UniqueName("hv"), b = TestEnvironment.UniqueName("hp");
        Shell.Run("ip", "-n", HostNs, "link", "add", a, "mtu", mtu.ToString(System.Globalization.CultureInfo.InvariantCulture), "type", "veth", "peer", "name", b);
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
        Shell.Run("ip", "-n", ns, "link", "add", name, "mtu", mtu.ToString(System.Globalization.CultureInfo.InvariantCulture), "type", "veth", "peer", "name", peer);
        Shell.Run("ip", "-n", ns, "link", "set", name, "up");
        Shell.Run("ip", "-n", ns, "link", "set", peer, "up");
        return name;
    }

    /// <summary>A configuration: <c>{cniVersion, name, type}</c>, host-local on <paramref name="subnet"/> unless
    /// <paramref name="ipam"/> is false, then the keys of <paramref name="json"/> merged over it.</summary>
    public JsonObject Config(string version, string? json = null, bool ipam = true, string subnet = "10.93.0.0/24")
    {
        var conf = new JsonObject { ["cniVersion"] = version, ["name"] = Network, ["type"] = Type };
        if (ipam)
            conf["ipam"] = new JsonObject { ["type"] = "host-local", ["ranges"] = new JsonArray(new JsonArray(new JsonObject { ["subnet"] = subnet })), ["dataDir"] = DataDir };
        if (json is not null)
        {
            foreach ((string key, JsonNode? value) in JsonNode.Parse(json)!.AsObject())
                conf[key] = value?.DeepClone();
        }
        return conf;
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

    public Dictionary<string, string> Variables(string command, string? nsPath, string id, string ifName, string? args = null)
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
        return vars;
    }

    public async Task<PluginOutput> RunAsync(string command, JsonObject conf, string? nsPath, string id, string ifName, string? args = null)
    {
        Dictionary<string, string> vars = Variables(command, nsPath, id, ifName, args);
        string stdin = conf.ToJsonString();
        if (Mode == Mode.InProcess)
        {
            var env = new InMemoryCniEnvironment(vars, stdin);
            int code = await CniPluginHost.RunAsync(_factory(), env);
            return new PluginOutput(code, env.StdoutText, env.StderrText);
        }
        return await RunInHostNsAsync([BinaryPath!], vars, stdin);
    }

    /// <summary>Runs <paramref name="argv"/> inside the "host" namespace with exactly the CNI variables given.</summary>
    public async Task<PluginOutput> RunInHostNsAsync(IEnumerable<string> argv, IDictionary<string, string> vars, string stdin)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "netns", "exec", HostNs }.Concat(argv)) psi.ArgumentList.Add(a);
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

    /// <summary>Names of the links in <paramref name="ns"/>.</summary>
    public static string[] Links(string ns) =>
        Shell.Run("ip", "-n", ns, "-o", "link", "show").Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(':')[1].Trim().Split('@')[0])
            .ToArray();

    /// <summary><c>ip -d link show</c> of one link, one line.</summary>
    public static string LinkDetails(string ns, string name) => Shell.Run("ip", "-n", ns, "-o", "-d", "link", "show", name).Stdout;

    public void Dispose()
    {
        foreach (string ns in _namespaces)
            Shell.Try("ip", "netns", "del", ns);
        try { Directory.Delete(DataDir, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Runs a host tool (ip, busybox, strace) for test setup and assertions.</summary>
public static class Shell
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Run(string file, params string[] args) => Run(file, args, allowFailure: false);

    /// <summary>Runs and returns whatever happened (no exception on failure).</summary>
    public static Result Try(string file, params string[] args) => Run(file, args, allowFailure: true);

    public static Result Run(string file, string[] args, bool allowFailure, string? stdin = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null };
        foreach (string a in args) psi.ArgumentList.Add(a);
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

/// <summary>
/// Netlink requests out of an strace capture (<c>strace -f -e trace=sendmsg,sendto -e write=all -xx</c>): the hex dumps
/// after each send, split into messages.
/// </summary>
public static class StraceNetlink
{
    public const ushort RtmNewLink = 16;

    /// <summary>The strace arguments that capture every netlink send with a hex dump into <paramref name="output"/>.</summary>
    public static string[] Prefix(string output) => ["strace", "-f", "-o", output, "-e", "trace=sendmsg,sendto", "-e", "write=all", "-xx", "-s", "65535"];

    /// <summary>Every netlink message sent, in order.</summary>
    public static List<byte[]> Messages(string path)
    {
        var datagrams = new List<byte[]>();
        List<byte>? current = null;
        foreach (string line in File.ReadLines(path))
        {
            int bar = line.IndexOf(" | ", StringComparison.Ordinal);
            bool isDump = bar >= 0 && line.Length > bar + 10 && line.AsSpan(bar + 3, 5).ToString().All(char.IsAsciiHexDigit);
            if (!isDump)
            {
                if (current is { Count: > 0 }) datagrams.Add([.. current]);
                current = null;
                continue;
            }
            current ??= [];
            string hex = line.Substring(bar + 10, Math.Min(49, line.Length - bar - 10));
            foreach (string token in hex.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                current.Add(Convert.ToByte(token, 16));
        }
        if (current is { Count: > 0 }) datagrams.Add([.. current]);

        var messages = new List<byte[]>();
        foreach (byte[] d in datagrams)
        {
            int offset = 0;
            while (offset + 16 <= d.Length)
            {
                int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan(offset));
                if (len < 16 || offset + len > d.Length) break;
                messages.Add(d[offset..(offset + len)]);
                offset += (len + 3) & ~3;
            }
        }
        return messages;
    }

    /// <summary>The RTM_NEWLINK that creates a link (NLM_F_CREATE) of <paramref name="kind"/>.</summary>
    public static byte[] CreateLink(IEnumerable<byte[]> messages, string kind)
    {
        byte[] kindBytes = System.Text.Encoding.ASCII.GetBytes(kind);
        return messages.Last(m => BinaryPrimitives.ReadUInt16LittleEndian(m.AsSpan(4)) == RtmNewLink
            && (BinaryPrimitives.ReadUInt16LittleEndian(m.AsSpan(6)) & 0x400) != 0
            && m.AsSpan().IndexOf(kindBytes) >= 0);
    }

    /// <summary>Walks the top-level attributes after ifinfomsg: (type, offset of the value, length of the value).</summary>
    public static IEnumerable<(ushort Type, int Offset, int Length)> Attributes(byte[] message)
    {
        int offset = 16 + 16;
        while (offset + 4 <= message.Length)
        {
            ushort len = BinaryPrimitives.ReadUInt16LittleEndian(message.AsSpan(offset));
            ushort type = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(message.AsSpan(offset + 2)) & 0x3fff);
            if (len < 4) yield break;
            yield return (type, offset + 4, len - 4);
            offset += (len + 3) & ~3;
        }
    }

    /// <summary>The string value of IFLA_IFNAME (3).</summary>
    public static string IfName(byte[] message)
    {
        (ushort _, int off, int len) = Attributes(message).First(a => a.Type == 3);
        return System.Text.Encoding.ASCII.GetString(message, off, len).TrimEnd('\0');
    }

    /// <summary>
    /// The message with what legitimately differs between two processes zeroed: nlmsg_seq, nlmsg_pid and the file
    /// descriptor number in IFLA_NET_NS_FD (28).
    /// </summary>
    public static byte[] Normalise(byte[] message)
    {
        byte[] copy = (byte[])message.Clone();
        copy.AsSpan(8, 8).Clear();
        foreach ((ushort type, int off, int len) in Attributes(copy))
            if (type == 28) copy.AsSpan(off, len).Clear();
        return copy;
    }

    /// <summary>The message with the IFLA_IFNAME value replaced by <paramref name="name"/> (same length).</summary>
    public static byte[] WithIfName(byte[] message, string name)
    {
        byte[] copy = (byte[])message.Clone();
        (ushort _, int off, int len) = Attributes(copy).First(a => a.Type == 3);
        byte[] bytes = System.Text.Encoding.ASCII.GetBytes(name + "\0");
        if (bytes.Length != len)
            throw new ArgumentException($"name '{name}' does not have the length of the captured one ({len - 1})", nameof(name));
        bytes.CopyTo(copy, off);
        return copy;
    }

    /// <summary>The checked-in golden capture <paramref name="file"/> (Golden/ next to the test assembly): its link creation of <paramref name="kind"/>.</summary>
    public static byte[] Golden(string file, string kind) => CreateLink(Messages(Path.Combine(AppContext.BaseDirectory, "Golden", file)), kind);

    /// <summary>Hex with a space every 4 bytes, for readable assertion failures.</summary>
    public static string Hex(byte[] b) => string.Join(' ', b.Chunk(4).Select(c => Convert.ToHexString(c).ToLowerInvariant()));
}
