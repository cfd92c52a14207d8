using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cni.Runtime;
using Cni.Spec;

namespace Cni.Tool;

/// <summary>
/// The <c>cni</c> command line, compatible with Go's cnitool: <c>cni add|check|del|gc|status NETWORK NETNS</c>,
/// <c>cni validate NETWORK</c>, <c>cni version PLUGIN</c>, plus <c>cni list</c>. Results are JSON on stdout;
/// messages go to stderr.
/// </summary>
internal static class CniTool
{
    /// <summary>Exit code: success.</summary>
    public const int ExitOk = 0;

    /// <summary>Exit code: the operation failed (a plugin or the runtime reported an error).</summary>
    public const int ExitFailed = 1;

    /// <summary>Exit code: bad command line or environment.</summary>
    public const int ExitUsage = 2;

    /// <summary>Exit code: the network configuration is missing or invalid.</summary>
    public const int ExitConfig = 3;

    /// <summary>Exit code: STATUS says the network is not ready (plugin codes 50/51).</summary>
    public const int ExitNotReady = 4;

    /// <summary>Exit code: a plugin call timed out.</summary>
    public const int ExitTimeout = 5;

    /// <summary>Exit code: interrupted.</summary>
    public const int ExitInterrupted = 130;

    private const string Usage = """
        usage: cni [OPTIONS] COMMAND ARGS

        commands (cnitool compatible):
          add     NETWORK NETNS   attach the namespace; prints the result JSON
          check   NETWORK NETNS   verify an attachment against its cached result
          del     NETWORK NETNS   detach the namespace
          gc      NETWORK [NETNS] delete cached attachments not kept with --valid, then send GC to the plugins
          status  NETWORK [NETNS] ask the plugins whether they are ready
          validate NETWORK        check the plugins exist and support the network's version; prints capabilities
          version PLUGIN          print what a plugin answers to VERSION
          list                    print the networks in NETCONFPATH and the files that could not be loaded
          install                 copy cni-plugins into --dir (atomically) and link each CNI type it holds to it

        options:
          -i, --ifname NAME       interface name (default: $CNI_IFNAME, else eth0)
          --cache-dir DIR         result cache directory (default: $CNI_CACHE_DIR, else /var/lib/cni)
          --timeout SECONDS       limit for each plugin call (default 120; 0 for none)
          --valid ID/IFNAME       gc: an attachment to keep (repeatable)
          --dir DIR               install: the plugin directory (default /opt/cni/bin)
          --from FILE             install: the cni-plugins to install (default: beside this tool, or ../cni/bin)
          --force                 install: replace files of those type names that are not our links

        environment: NETCONFPATH (default /etc/cni/net.d), CNI_PATH (default /opt/cni/bin), CNI_IFNAME, CNI_ARGS (K=V;K=V),
          CAP_ARGS (JSON object of capability arguments), CNI_CONTAINERID (default: derived from the netns path
          as cnitool does), CNI_CACHE_DIR.

        exit codes: 0 ok, 1 operation failed, 2 usage, 3 configuration missing or invalid,
          4 not ready (STATUS), 5 timeout, 130 interrupted.
        """;

    /// <summary>Runs the command line; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args, Func<string, string?> getEnv, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        try
        {
            return await RunCoreAsync(args, getEnv, stdout, stderr, cancellationToken).ConfigureAwait(false);
        }
        catch (UsageException ex)
        {
            await stderr.WriteLineAsync($"cni: {ex.Message}").ConfigureAwait(false);
            await stderr.WriteLineAsync("run 'cni --help' for usage").ConfigureAwait(false);
            return ExitUsage;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await stderr.WriteLineAsync("cni: interrupted").ConfigureAwait(false);
            return ExitInterrupted;
        }
        catch (CniRuntimeException ex)
        {
            await WriteErrorAsync(stderr, ex).ConfigureAwait(false);
            if (ex.TimedOut)
                return ExitTimeout;
            if (ex.Command == CniCommand.Status && ex.Code is CniErrorCode.PluginNotAvailable or CniErrorCode.PluginNotAvailableLimitedConnectivity)
                return ExitNotReady;
            return ex.PluginType is null && ex.Code is CniErrorCode.InvalidNetworkConfig or CniErrorCode.DecodingFailure or CniErrorCode.IncompatibleCniVersion
                ? ExitConfig : ExitFailed;
        }
        catch (ConfigException ex)
        {
            await WriteErrorAsync(stderr, ex.Error).ConfigureAwait(false);
            return ExitConfig;
        }
        catch (CniException ex)
        {
            await WriteErrorAsync(stderr, ex).ConfigureAwait(false);
            return ExitFailed;
        }
    }

    private static async Task<int> RunCoreAsync(string[] args, Func<string, string?> getEnv, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var positional = new List<string>();
        string? ifName = null, cacheDir = null;
        double timeoutSeconds = 120;
        var valid = new List<CniGcAttachment>();
        string installDir = "/opt/cni/bin";
        string? installFrom = null;
        bool force = false;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string? inlineValue = null;
            if (arg.StartsWith("--", StringComparison.Ordinal) && arg.Contains('='))
            {
                inlineValue = arg[(arg.IndexOf('=') + 1)..];
                arg = arg[..arg.IndexOf('=')];
            }
            string Value() => inlineValue ?? (i + 1 < args.Length ? args[++i] : throw new UsageException($"option {arg} needs a value"));
            switch (arg)
            {
                case "-h" or "--help" or "help":
                    await stdout.WriteLineAsync(Usage).ConfigureAwait(false);
                    return ExitOk;
                case "-i" or "--ifname":
                    ifName = Value();
                    break;
                case "--cache-dir":
                    cacheDir = Value();
                    break;
                case "--timeout":
                    string t = Value();
                    if (!double.TryParse(t, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out timeoutSeconds) || timeoutSeconds < 0)
                        throw new UsageException($"--timeout: \"{t}\" is not a number of seconds");
                    break;
                case "--valid":
                    string v = Value();
                    int slash = v.LastIndexOf('/');
                    if (slash <= 0 || slash == v.Length - 1)
                        throw new UsageException($"--valid: \"{v}\" is not CONTAINERID/IFNAME");
                    valid.Add(new CniGcAttachment(v[..slash], v[(slash + 1)..]));
                    break;
                case "--dir":
                    installDir = Value();
                    break;
                case "--from":
                    installFrom = Value();
                    break;
                case "--force":
                    force = true;
                    break;
                case "--":
                    positional.AddRange(args[(i + 1)..]);
                    i = args.Length;
                    break;
                default:
                    if (arg.StartsWith('-') && arg.Length > 1)
                        throw new UsageException($"unknown option {arg}");
                    positional.Add(arg);
                    break;
            }
        }
        if (positional.Count == 0)
        {
            await stderr.WriteLineAsync(Usage).ConfigureAwait(false);
            return ExitUsage;
        }

        string command = positional[0];
        if (command == "install")
        {
            Expect(positional, 1, 1, "install [--dir DIR] [--from FILE] [--force]");
            return await PluginInstaller.InstallAsync(installFrom, installDir, force, stdout, stderr).ConfigureAwait(false);
        }
        string confDir = NonEmpty(getEnv("NETCONFPATH")) ?? CniConfigLoader.DefaultDirectory;
        var options = new CniRuntimeOptions
        {
            PluginPaths = NonEmpty(getEnv("CNI_PATH")) is { } cniPath ? CniRuntimeOptions.SplitPath(cniPath) : [CniRuntimeOptions.DefaultPluginPath],
            CacheDirectory = cacheDir ?? NonEmpty(getEnv("CNI_CACHE_DIR")) ?? CniResultCache.DefaultDirectory,
            PluginTimeout = timeoutSeconds > 0 ? TimeSpan.FromSeconds(timeoutSeconds) : null,
            PluginStderr = stderr,
        };
        var runtime = new CniRuntime(options);

        switch (command)
        {
            case "add" or "check" or "del":
            {
                Expect(positional, 3, 3, $"{command} NETWORK NETNS");
                CniNetworkConfig network = LoadNetwork(confDir, positional[1], stderr);
                CniRuntimeConf rt = BuildRuntimeConf(positional[2], ifName, getEnv);
                switch (command)
                {
                    case "add":
                        CniResult result = await runtime.AddNetworkListAsync(network, rt, ct).ConfigureAwait(false);
                        await stdout.WriteLineAsync(CniResultSerializer.Serialize(result, result.CniVersion)).ConfigureAwait(false);
                        break;
                    case "check":
                        await runtime.CheckNetworkListAsync(network, rt, ct).ConfigureAwait(false);
                        break;
                    default:
                        await runtime.DelNetworkListAsync(network, rt, ct).ConfigureAwait(false);
                        break;
                }
                return ExitOk;
            }
            case "gc":
            {
                Expect(positional, 2, 3, "gc NETWORK [NETNS]");
                CniNetworkConfig network = LoadNetwork(confDir, positional[1], stderr);
                await runtime.GcNetworkListAsync(network, valid, ct).ConfigureAwait(false);
                return ExitOk;
            }
            case "status":
            {
                Expect(positional, 2, 3, "status NETWORK [NETNS]");
                CniNetworkConfig network = LoadNetwork(confDir, positional[1], stderr);
                await runtime.GetStatusNetworkListAsync(network, ct).ConfigureAwait(false);
                return ExitOk;
            }
            case "validate":
            {
                Expect(positional, 2, 2, "validate NETWORK");
                CniNetworkConfig network = LoadNetwork(confDir, positional[1], stderr);
                IReadOnlyList<string> capabilities = await runtime.ValidateNetworkListAsync(network, ct).ConfigureAwait(false);
                var array = new JsonArray();
                foreach (string capability in capabilities)
                    array.Add((JsonNode)JsonValue.Create(capability));
                await stdout.WriteLineAsync(array.ToJsonString()).ConfigureAwait(false);
                return ExitOk;
            }
            case "version":
            {
                Expect(positional, 2, 2, "version PLUGIN");
                PluginVersionInfo info = await runtime.GetVersionInfoAsync(positional[1], ct).ConfigureAwait(false);
                var json = new JsonObject { ["cniVersion"] = info.CniVersion, ["supportedVersions"] = new JsonArray([.. info.SupportedVersions.Select(s => (JsonNode)JsonValue.Create(s))]) };
                await stdout.WriteLineAsync(json.ToJsonString()).ConfigureAwait(false);
                return ExitOk;
            }
            case "list":
            {
                Expect(positional, 1, 1, "list");
                CniConfigSet set = CniConfigLoader.LoadAll(confDir);
                var networks = new JsonArray();
                foreach (CniNetworkConfig n in set.Networks)
                {
                    networks.Add((JsonNode)new JsonObject
                    {
                        ["name"] = n.Name,
                        ["cniVersion"] = n.CniVersion,
                        ["file"] = n.SourcePath,
                        ["plugins"] = new JsonArray([.. n.Plugins.Select(p => (JsonNode)JsonValue.Create(p.Type))]),
                    });
                }
                await stdout.WriteLineAsync(networks.ToJsonString(new JsonSerializerOptions { WriteIndented = true, TypeInfoResolver = JsonNodeOnlyResolver.Instance })).ConfigureAwait(false);
                foreach (CniConfigFileError error in set.Errors)
                    await stderr.WriteLineAsync($"cni: skipped {error}").ConfigureAwait(false);
                return set.Errors.Count == 0 ? ExitOk : ExitConfig;
            }
            default:
                throw new UsageException($"unknown command \"{command}\"");
        }
    }

    /// <summary>The runtime arguments as cnitool builds them: absolute netns path, container id from its hash unless CNI_CONTAINERID is set.</summary>
    internal static CniRuntimeConf BuildRuntimeConf(string netns, string? ifName, Func<string, string?> getEnv)
    {
        string absolute = Path.GetFullPath(netns);
        JsonObject? capabilityArgs = null;
        string? capText = NonEmpty(getEnv("CAP_ARGS"));
        if (capText is not null)
        {
            try
            {
                capabilityArgs = JsonNode.Parse(capText) as JsonObject ?? throw new UsageException("CAP_ARGS must be a JSON object");
            }
            catch (JsonException ex)
            {
                throw new UsageException($"CAP_ARGS is not valid JSON: {ex.Message}");
            }
        }
        IReadOnlyList<KeyValuePair<string, string>> cniArgs;
        try
        {
            cniArgs = CniRuntimeConf.ParseArgs(getEnv("CNI_ARGS"));
        }
        catch (CniException ex)
        {
            throw new UsageException(ex.Message);
        }
        return new CniRuntimeConf
        {
            ContainerId = NonEmpty(getEnv("CNI_CONTAINERID")) ?? ContainerIdFor(absolute),
            NetNs = absolute,
            IfName = ifName ?? NonEmpty(getEnv("CNI_IFNAME")) ?? "eth0",
            Args = cniArgs,
            CapabilityArgs = capabilityArgs,
        };
    }

    /// <summary>cnitool's container id: "cnitool-" and the first 10 bytes of the SHA-512 of the absolute netns path, in hex.</summary>
    internal static string ContainerIdFor(string absoluteNetns)
    {
        byte[] hash = SHA512.HashData(Encoding.UTF8.GetBytes(absoluteNetns));
        return "cnitool-" + Convert.ToHexStringLower(hash, 0, 10);
    }

    private static CniNetworkConfig LoadNetwork(string confDir, string name, TextWriter stderr)
    {
        CniConfigSet set = CniConfigLoader.LoadAll(confDir);
        if (set.Find(name) is { } network)
        {
            // Broken files did not stop this network from loading, but the operator should hear about them.
            foreach (CniConfigFileError error in set.Errors)
                stderr.WriteLine($"cni: warning: skipped {error}");
            return network;
        }
        try
        {
            return CniConfigLoader.Load(confDir, name);
        }
        catch (CniException ex)
        {
            throw new ConfigException(ex);
        }
    }

    private static void Expect(List<string> positional, int min, int max, string usage)
    {
        if (positional.Count < min || positional.Count > max)
            throw new UsageException($"usage: cni {usage}");
    }

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static async Task WriteErrorAsync(TextWriter stderr, CniException ex)
    {
        await stderr.WriteLineAsync($"cni: {ex.Message} (code {ex.NumericCode})").ConfigureAwait(false);
        if (ex.Details.Length > 0)
            await stderr.WriteLineAsync($"  {ex.Details}").ConfigureAwait(false);
    }

    internal sealed class UsageException(string message) : Exception(message);

    private sealed class ConfigException(CniException error) : Exception(error.Message, error)
    {
        public CniException Error { get; } = error;
    }
}

/// <summary>Lets <see cref="JsonNode.ToJsonString"/> run with options under NativeAOT (nodes need no metadata).</summary>
internal sealed class JsonNodeOnlyResolver : System.Text.Json.Serialization.Metadata.IJsonTypeInfoResolver
{
    public static JsonNodeOnlyResolver Instance { get; } = new();

    public System.Text.Json.Serialization.Metadata.JsonTypeInfo? GetTypeInfo(Type type, JsonSerializerOptions options) => null;
}
