// mini-runtime: what a container runtime does for Docker's "none"-style containers that get a CNI network:
// create a network namespace, load a network configuration, ADD through Cni.Runtime, show the result, DEL, and
// remove the namespace — leaving nothing behind, also when a step fails.
//
//   usage: mini-runtime [--plugins DIR[:DIR]] [--conf-dir DIR --network NAME]
//   default: a bridge + host-local network (our published plugins from artifacts/cni/bin, else /usr/lib/cni)
//            chained with the in-process dns-override sample plugin.
using System.Diagnostics;
using System.Text;
using Cni.Runtime;
using Cni.Samples.CustomPlugin;
using Cni.Spec;
using Microsoft.Extensions.DependencyInjection;

string? pluginDirs = null, confDir = null, networkName = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--plugins" when i + 1 < args.Length: pluginDirs = args[++i]; break;
        case "--conf-dir" when i + 1 < args.Length: confDir = args[++i]; break;
        case "--network" when i + 1 < args.Length: networkName = args[++i]; break;
        default:
            Console.Error.WriteLine("usage: mini-runtime [--plugins DIR[:DIR]] [--conf-dir DIR --network NAME]");
            return 2;
    }
}
if (Environment.UserName != "root")
{
    Console.Error.WriteLine("mini-runtime creates a network namespace: run it as root");
    return 2;
}

pluginDirs ??= FindPluginDir();
string suffix = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray(), 0, 3);
string work = Directory.CreateTempSubdirectory("mini-runtime-").FullName;
string netns = $"mini-{suffix}";
string bridge = $"minibr{suffix}";

// The runtime: plugins found on the plugin path run as processes; dns-override runs in process (no exec).
using ServiceProvider services = new ServiceCollection()
    .AddCniPlugin<DnsOverridePlugin>("dns-override")
    .AddCniRuntime(o =>
    {
        o.PluginPaths = CniRuntimeOptions.SplitPath(pluginDirs);
        o.CacheDirectory = Path.Combine(work, "cache");
        o.PluginTimeout = TimeSpan.FromSeconds(30);
    })
    .BuildServiceProvider();
CniRuntime runtime = services.GetRequiredService<CniRuntime>();

CniNetworkConfig network;
if (confDir is not null)
{
    network = CniConfigLoader.Load(confDir, networkName ?? throw new ArgumentException("--network is required with --conf-dir"));
}
else
{
    network = CniNetworkConfig.Parse(Encoding.UTF8.GetBytes($$"""
        {
          "cniVersion": "1.1.0", "name": "mini",
          "plugins": [
            { "type": "bridge", "bridge": "{{bridge}}", "isGateway": true,
              "ipam": { "type": "host-local", "subnet": "10.231.7.0/24", "dataDir": "{{Path.Combine(work, "ipam")}}" } },
            { "type": "dns-override", "nameservers": ["10.231.7.1"], "search": ["mini.local"] }
          ]
        }
        """));
}

var attachment = new CniRuntimeConf { ContainerId = $"mini-{suffix}", NetNs = $"/var/run/netns/{netns}", IfName = "eth0" };
Console.WriteLine($"plugins: {pluginDirs}");
Console.WriteLine($"network: {network.Name} (cniVersion {network.CniVersion}, {string.Join(" -> ", network.Plugins.Select(p => p.Type))})");
int exitCode = 0;
bool added = false;
try
{
    Run("ip", "netns", "add", netns);
    Console.WriteLine($"[1/4] created network namespace {netns}");

    CniResult result = await runtime.AddNetworkListAsync(network, attachment);
    added = true;
    Console.WriteLine("[2/4] ADD result:");
    Console.WriteLine(CniResultSerializer.Serialize(result, result.CniVersion));
    Console.WriteLine("      inside the namespace:");
    Console.WriteLine(Indent(Run("ip", "-n", netns, "-br", "addr")));

    await runtime.CheckNetworkListAsync(network, attachment);
    Console.WriteLine("[3/4] CHECK passed");
}
catch (CniException ex)
{
    Console.Error.WriteLine($"error: {Describe(ex)}");
    exitCode = 1;
}
finally
{
    try
    {
        await runtime.DelNetworkListAsync(network, attachment);
        Console.WriteLine(added ? "[4/4] DEL done" : "[4/4] DEL done (cleanup after failure)");
    }
    catch (CniException ex)
    {
        Console.Error.WriteLine($"DEL failed: {Describe(ex)}");
        exitCode = 1;
    }
    TryRun("ip", "netns", "del", netns);
    TryRun("ip", "link", "del", bridge);
    Directory.Delete(work, recursive: true);
    Console.WriteLine($"removed namespace {netns}, bridge {bridge} and {work}");
}
return exitCode;

static string FindPluginDir()
{
    for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        string ours = Path.Combine(dir.FullName, "artifacts", "cni", "bin");
        if (File.Exists(Path.Combine(ours, "bridge")) && File.Exists(Path.Combine(ours, "host-local")))
            return ours;
    }
    return "/usr/lib/cni";
}

static string Run(string file, params string[] arguments)
{
    var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (string argument in arguments)
        start.ArgumentList.Add(argument);
    using Process process = Process.Start(start)!;
    string stdout = process.StandardOutput.ReadToEnd();
    string stderr = process.StandardError.ReadToEnd();
    process.WaitForExit();
    return process.ExitCode == 0 ? stdout : throw new CniException(CniErrorCode.Internal, $"{file} {string.Join(' ', arguments)}: {stderr.Trim()}");
}

static void TryRun(string file, params string[] arguments)
{
    try
    {
        Run(file, arguments);
    }
    catch (CniException)
    {
        // already gone
    }
}

static string Describe(CniException ex) => $"{ex.Message} (code {ex.NumericCode}){(ex.Details.Length > 0 ? "; " + ex.Details : "")}";

static string Indent(string text) => string.Join('\n', text.TrimEnd().Split('\n').Select(l => "      " + l));
