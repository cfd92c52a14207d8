using System.Diagnostics;
using System.Text.Json.Nodes;
using Cni.Spec;

[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

namespace Cni.Plugins.Ipam.HostLocal.Tests;

/// <summary>The outcome of one plugin invocation.</summary>
internal sealed record PluginRun(int ExitCode, string Stdout, string Stderr)
{
    public JsonNode? Json => Stdout.Trim().Length == 0 ? null : JsonNode.Parse(Stdout);

    /// <summary>The "address" of every entry of "ips".</summary>
    public string[] Addresses => Json?["ips"]?.AsArray().Select(i => i!["address"]!.GetValue<string>()).ToArray() ?? [];

    public uint? ErrorCode => ExitCode == 0 ? null : Json?["code"]?.GetValue<uint>();

    public override string ToString() => $"exit {ExitCode}: {Stdout} {Stderr}";
}

/// <summary>Runs host-local in process (through the host, with a fake environment) or as a binary.</summary>
internal sealed class Harness
{
    private readonly string? _binary;

    private readonly HostLocalStoreOptions _storeOptions;

    private Harness(string? binary, HostLocalStoreOptions? storeOptions = null)
    {
        _binary = binary;
        _storeOptions = storeOptions ?? HostLocalStoreOptions.Default;
    }

    public static Harness InProcess { get; } = new(null);

    /// <summary>In process, with a plugin built with <paramref name="storeOptions"/>.</summary>
    public static Harness InProcessWith(HostLocalStoreOptions storeOptions) => new(null, storeOptions);

    public static Harness Binary(string path) => new(path);

    public string Name => _binary ?? "in-process";

    public async Task<PluginRun> RunAsync(string command, string config, string containerId = "ctr1", string ifName = "eth0", string? args = null)
    {
        var env = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = command,
            ["CNI_PATH"] = "/opt/cni/bin",
        };
        if (command is not ("GC" or "STATUS" or "VERSION"))
        {
            env["CNI_CONTAINERID"] = containerId;
            env["CNI_IFNAME"] = ifName;
            env["CNI_NETNS"] = "/var/run/netns/host-local-test"; // IPAM plugins never open it
        }
        if (args is not null)
            env["CNI_ARGS"] = args;

        if (_binary is null)
        {
            var fake = new InMemoryCniEnvironment(env, config);
            int code = await CniPluginHost.RunAsync(new HostLocalPlugin(_storeOptions), fake);
            return new PluginRun(code, fake.StdoutText, fake.StderrText);
        }

        var start = new ProcessStartInfo(_binary)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment.Clear();
        foreach ((string k, string v) in env)
            start.Environment[k] = v;
        using Process process = Process.Start(start)!;
        await process.StandardInput.WriteAsync(config);
        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return new PluginRun(process.ExitCode, await stdout, await stderr);
    }
}

/// <summary>A temporary data directory, removed afterwards.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "hl-test-" + Guid.NewGuid().ToString("N")[..12]);

    /// <summary>Every file under the directory (relative path → bytes), the cache excluded.</summary>
    public SortedDictionary<string, byte[]> Files(bool includeCache = false)
    {
        var files = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        if (!Directory.Exists(Path))
            return files;
        foreach (string f in Directory.EnumerateFiles(Path, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            string rel = System.IO.Path.GetRelativePath(Path, f);
            if (!includeCache && rel.StartsWith(".host-local-cache", StringComparison.Ordinal))
                continue;
            files[rel] = File.ReadAllBytes(f);
        }
        return files;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}

internal static class Configs
{
    public static string Dual(string dataDir, string version = "1.0.0", string name = "testnet", string extra = "") => $$$"""
        {"cniVersion":"{{{version}}}","name":"{{{name}}}","type":"bridge"{{{extra}}},
         "ipam":{"type":"host-local","dataDir":"{{{dataDir}}}",
                 "ranges":[[{"subnet":"10.10.0.0/29"}],[{"subnet":"fd10::/125"}]],
                 "routes":[{"dst":"0.0.0.0/0"}]}}
        """;

    public static string Single(string dataDir, string subnet = "10.20.0.0/24", string version = "1.0.0", string name = "testnet", string extra = "") => $$$"""
        {"cniVersion":"{{{version}}}","name":"{{{name}}}","type":"bridge"{{{extra}}},
         "ipam":{"type":"host-local","dataDir":"{{{dataDir}}}","ranges":[[{"subnet":"{{{subnet}}}"}]]}}
        """;
}
