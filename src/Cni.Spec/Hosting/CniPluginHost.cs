using System.Text;
using System.Text.Json;
using Cni.Spec.Json;
using Cni.Spec.Versions;
using Microsoft.Extensions.DependencyInjection;

namespace Cni.Spec;

/// <summary>
/// Runs a plugin as the CNI execution protocol says (Go's <c>skel</c>): reads <c>CNI_*</c> and stdin, validates them,
/// answers VERSION, checks the configuration's version, dispatches to the plugin, and prints the result in the
/// configuration's version or the error JSON on stdout. Logs and stack traces go to stderr only.
/// </summary>
public static class CniPluginHost
{
    /// <summary>Exit code for success.</summary>
    public const int ExitSuccess = 0;

    /// <summary>Exit code for any CNI error (the error JSON is on stdout).</summary>
    public const int ExitFailure = 1;

    /// <summary>The largest stdin (network configuration) read: 16 MiB. Larger input is refused with a CNI error
    /// (invalid network configuration) instead of being read into memory without bound.</summary>
    public const int MaxStdinBytes = 16 * 1024 * 1024;

    /// <summary>Runs <paramref name="plugin"/> once against <paramref name="environment"/> (the process by default).</summary>
    /// <returns>The process exit code: 0 on success, 1 after printing an error.</returns>
    public static async Task<int> RunAsync(ICniPlugin plugin, ICniEnvironment? environment = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plugin);
        environment ??= new SystemCniEnvironment();
        try
        {
            await DispatchAsync(plugin, environment, cancellationToken).ConfigureAwait(false);
            return ExitSuccess;
        }
        catch (CniException ex)
        {
            WriteError(environment, ex);
            return ExitFailure;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            WriteError(environment, new CniException(CniErrorCode.TryAgainLater, "interrupted: the operation was cancelled"));
            return ExitFailure;
        }
        catch (Exception ex)
        {
            environment.Stderr.WriteLine($"unexpected error: {ex}");
            WriteError(environment, new CniException(CniErrorCode.Internal, OneLine($"{ex.GetType().Name}: {ex.Message}")));
            return ExitFailure;
        }
        finally
        {
            // Synchronous on purpose: console streams have no real async I/O, and their async paths start
            // thread-pool threads that cost a plugin measurable start-up time.
            environment.Stdout.Flush();
            environment.Stderr.Flush();
        }
    }

    /// <summary>
    /// Runs the plugin registered under <paramref name="type"/> (see
    /// <see cref="CniServiceCollectionExtensions.AddCniPlugin{TPlugin}"/>) against <paramref name="environment"/>.
    /// </summary>
    public static Task<int> RunAsync(IServiceProvider services, string type, ICniEnvironment? environment = null, CancellationToken cancellationToken = default)
    {
        ICniPluginResolver resolver = services.GetRequiredService<ICniPluginResolver>();
        ICniPlugin plugin = resolver.Resolve(type)
            ?? throw new InvalidOperationException($"no CNI plugin registered for type \"{type}\"");
        return RunAsync(plugin, environment, cancellationToken);
    }

    private static async Task DispatchAsync(ICniPlugin plugin, ICniEnvironment env, CancellationToken ct)
    {
        PluginInfo info = plugin.Info;
        string commandText = env.GetVariable(CniEnvironmentVariables.Command) ?? "";
        if (commandText.Length == 0)
        {
            env.Stderr.WriteLine(info.About);
            env.Stderr.WriteLine($"CNI protocol versions supported: {string.Join(", ", info.SupportedVersions)}");
            return;
        }
        if (!CniCommandNames.TryParse(commandText, out CniCommand command))
            throw new CniException(CniErrorCode.InvalidEnvironmentVariables, $"unknown CNI_COMMAND: {commandText}");

        List<string>? missing = null;
        foreach (string name in CniEnvironmentVariables.RequiredFor(command))
        {
            if (string.IsNullOrEmpty(env.GetVariable(name)))
                (missing ??= []).Add(name);
        }
        if (missing is not null)
            throw new CniException(CniErrorCode.InvalidEnvironmentVariables, $"required env variables [{string.Join(",", missing)}] missing");

        if (command == CniCommand.Version)
        {
            var versionInfo = new PluginVersionInfo { CniVersion = CniVersions.Latest, SupportedVersions = [.. info.SupportedVersions] };
            byte[]? fast = ResultWriter.TryWriteVersionInfo(versionInfo);
            env.Stdout.Write(fast is not null
                ? Encoding.UTF8.GetString(fast)
                : JsonSerializer.Serialize(versionInfo, CniJson.TypeInfo<PluginVersionInfo>(CniJson.CompactOptions)));
            env.Stdout.Write('\n');
            return;
        }

        (CniRequest request, string version) = ReadRequest(env, command, info);

        switch (command)
        {
            case CniCommand.Add:
                CniResult result = await plugin.AddAsync(request, ct).ConfigureAwait(false)
                    ?? throw new InvalidOperationException("the plugin returned no result for ADD");
                // The plain case without serializer metadata (start-up cost), else the serializer: same bytes.
                byte[] json = ResultWriter.TryWrite(result, version) ?? CniResultSerializer.SerializeToUtf8Bytes(result, version);
                env.Stdout.Write(Encoding.UTF8.GetString(json));
                break;
            case CniCommand.Del:
                await plugin.DelAsync(request, ct).ConfigureAwait(false);
                break;
            case CniCommand.Check:
                await plugin.CheckAsync(request, ct).ConfigureAwait(false);
                break;
            case CniCommand.Gc:
                await plugin.GcAsync(request, ct).ConfigureAwait(false);
                break;
            case CniCommand.Status:
                await plugin.StatusAsync(request, ct).ConfigureAwait(false);
                break;
        }
    }

    /// <summary>
    /// Reads stdin and the remaining variables and validates them in the Go skel's order: network name, container id,
    /// interface name, cniVersion (against the command and the plugin), then <c>CNI_ARGS</c> and the whole configuration.
    /// </summary>
    private static (CniRequest Request, string Version) ReadRequest(ICniEnvironment env, CniCommand command, PluginInfo info)
    {
        byte[] stdin = ReadStdin(env);
        JsonText.EnsureDecodable(stdin, "network configuration");
        byte[] received = stdin;
        stdin = JsonText.LastNestedKeyWins(stdin) ?? stdin; // what plugins (and delegated IPAM) read: one value per key
        // The plain case is read without serializer metadata (start-up cost); anything else takes the serializer's
        // path, which then reports the same errors in the same order as always.
        NetConf? fast = NetConfReader.TryRead(stdin, out string? rawVersion, out string? rawName);
        // Keys decided as Go decides them (case-insensitive, last wins), once, for the probe and the configuration.
        byte[] canonical = fast is not null ? stdin : NetConfReader.CanonicalTopLevel(stdin) ?? stdin;
        ConfigProbe probe = fast is not null
            ? new ConfigProbe { CniVersion = rawVersion, Name = rawName }
            : CniJson.Deserialize(canonical, CniJsonContext.Default.ConfigProbe, "network configuration");
        CniValidation.ValidateNetworkName(probe.Name);
        string containerId = env.GetVariable(CniEnvironmentVariables.ContainerId) ?? "";
        string ifName = env.GetVariable(CniEnvironmentVariables.IfName) ?? "";
        if (command is CniCommand.Add or CniCommand.Check or CniCommand.Del)
        {
            CniValidation.ValidateContainerId(containerId);
            CniValidation.ValidateInterfaceName(ifName);
        }
        string version = CheckVersion(probe, command, info);

        CniArgs args = CniArgs.Parse(env.GetVariable(CniEnvironmentVariables.Args));
        if (info.ArgsKeys is not null)
            args.EnsureKnownKeys(info.ArgsKeys);

        var request = new CniRequest
        {
            Command = command,
            ContainerId = containerId,
            NetNs = NullIfEmpty(env.GetVariable(CniEnvironmentVariables.NetNs)),
            IfName = ifName,
            Args = args,
            Path = (env.GetVariable(CniEnvironmentVariables.Path) ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries),
            Config = fast is not null ? NetConfReader.Complete(fast) : NetConf.ParseCanonical(canonical),
            RawConfig = stdin,
            ReceivedConfig = received,
            Environment = env,
        };
        return (request, version);
    }

    /// <summary>Checks cniVersion against the command and the plugin, as the Go skel does; returns the configuration's version.</summary>
    private static string CheckVersion(ConfigProbe probe, CniCommand command, PluginInfo info)
    {
        string version = string.IsNullOrEmpty(probe.CniVersion) ? CniVersions.Default : probe.CniVersion;

        string? minimum = command switch
        {
            CniCommand.Check => CniVersions.V040,
            CniCommand.Gc or CniCommand.Status => CniVersions.V110,
            _ => null,
        };
        if (minimum is not null && !CniVersions.IsAtLeast(version, minimum))
        {
            throw new CniException(CniErrorCode.IncompatibleCniVersion,
                $"config version does not allow {command.ToWireName()}: cniVersion is \"{version}\", {command.ToWireName()} needs {minimum} or later");
        }
        if (!info.SupportedVersions.Contains(version))
        {
            throw new CniException(CniErrorCode.IncompatibleCniVersion,
                $"incompatible CNI versions: cniVersion \"{version}\" is not supported by this plugin",
                $"config is \"{version}\", plugin supports [{string.Join(" ", info.SupportedVersions.Select(v => $"\"{v}\""))}]");
        }
        return version;
    }

    /// <remarks>Synchronous on purpose (see the flush in <see cref="RunAsync(ICniPlugin, ICniEnvironment?, CancellationToken)"/>).</remarks>
    private static byte[] ReadStdin(ICniEnvironment env)
    {
        try
        {
            // Not Stream.CopyTo: its pooled 128 KiB buffer is a large-object allocation, zeroed and page-faulted in,
            // for a configuration that is usually well under a kilobyte.
            Stream stdin = env.Stdin;
            byte[] buffer = new byte[4096];
            int length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > MaxStdinBytes)
                    {
                        throw new CniException(CniErrorCode.InvalidNetworkConfig,
                            $"network configuration on stdin is too large: more than {MaxStdinBytes} bytes (16 MiB)");
                    }
                    // One byte past the bound, so that exactly MaxStdinBytes fits and one more is seen.
                    Array.Resize(ref buffer, (int)Math.Min((long)buffer.Length * 2, MaxStdinBytes + 1L));
                }
                int read = stdin.Read(buffer, length, buffer.Length - length);
                if (read <= 0)
                    break;
                length += read;
            }
            return buffer.AsSpan(0, length).ToArray();
        }
        catch (IOException ex)
        {
            throw new CniException((uint)CniErrorCode.IoFailure, $"error reading from stdin: {ex.Message}", null, ex);
        }
    }

    /// <summary>Prints <paramref name="error"/> on <paramref name="env"/>'s stdout as a plugin reports an error (and as the Go
    /// library does): indented <c>{"code","msg","details"}</c>.</summary>
    /// <remarks>Written with a bare <see cref="Utf8JsonWriter"/> so that reporting an error cannot itself fail.</remarks>
    public static void WriteError(ICniEnvironment env, CniException error)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(error);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions
        {
            Indented = true,
            IndentSize = 4,
            NewLine = "\n",
            // Plain text prints the same under both; the relaxed encoder costs ~1M instructions to create.
            Encoder = PlainJsonEncoder.IsPlain(error.Message) && PlainJsonEncoder.IsPlain(error.Details)
                ? PlainJsonEncoder.Instance
                : System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }))
        {
            writer.WriteStartObject();
            writer.WriteNumber("code", error.NumericCode);
            writer.WriteString("msg", error.Message);
            if (error.Details.Length > 0)
                writer.WriteString("details", error.Details);
            writer.WriteEndObject();
        }
        env.Stdout.Write(Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries));
}
