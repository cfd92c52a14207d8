using System.ComponentModel;
using System.Text;
using Cni.Spec.Json;

namespace Cni.Spec;

/// <summary>
/// Runs plugin executables as a runtime does: finds the type on <c>CNI_PATH</c>, starts it with the <c>CNI_*</c>
/// environment and the configuration on stdin, and turns its stdout into a result or a <see cref="CniException"/>.
/// Starting is retried when the binary is still being written ("text file busy"); cancellation kills the child.
/// </summary>
public sealed class PluginExecutor
{
    private const int ETXTBSY = 26;

    /// <summary>An executor forwarding plugins' stderr to this process's stderr.</summary>
    public static PluginExecutor Default { get; } = new();

    /// <summary>Where the child's stderr is copied (this process's stderr when null).</summary>
    public TextWriter? Stderr { get; init; }

    /// <summary>How many times to retry a start that failed with ETXTBSY ("text file busy").</summary>
    public int TextFileBusyRetries { get; init; } = 5;

    /// <summary>How long the plugin may run before it is killed and the call fails (<see cref="Timeout.InfiniteTimeSpan"/>
    /// or zero: no limit). Two minutes by default, as Cni.Runtime's plugin timeout: a hung delegated plugin must not hang
    /// its caller forever.</summary>
    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    /// <summary>The default <see cref="Timeout"/>: two minutes.</summary>
    public static TimeSpan DefaultTimeout => TimeSpan.FromMinutes(2);

    /// <summary>
    /// The first regular, executable file named <paramref name="type"/> in <paramref name="paths"/>.
    /// Throws <see cref="CniException"/> (invalid configuration, 7) when the type is not a bare name or is not found.
    /// </summary>
    public static string FindInPath(string type, IEnumerable<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        if (string.IsNullOrEmpty(type) || type.Contains('/') || type.Contains('\0') || type is "." or "..")
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid plugin type \"{type}\": it must be a bare executable name");
        string[] dirs = paths.Where(p => p.Length > 0).ToArray();
        foreach (string dir in dirs)
        {
            string candidate = System.IO.Path.Combine(dir, type);
            if (IsRegularExecutable(candidate))
                return candidate;
        }
        throw new CniException(CniErrorCode.InvalidNetworkConfig,
            $"failed to find plugin \"{type}\" in path [{string.Join(" ", dirs)}]");
    }

    /// <summary>
    /// Runs <paramref name="pluginPath"/> with <paramref name="environment"/> added to this process's environment
    /// (a null value removes a variable) and <paramref name="stdin"/>; returns its stdout. A non-zero exit becomes a
    /// <see cref="CniException"/> with the plugin's own code and message when it printed error JSON.
    /// </summary>
    public async Task<byte[]> ExecAsync(string pluginPath, IEnumerable<KeyValuePair<string, string?>> environment,
        ReadOnlyMemory<byte> stdin, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        List<string> variables = BuildEnvironment(environment);

        // The child runs on a dedicated thread (spawn, pipes, wait: no Process machinery, no thread-pool workers), so
        // the caller goes on with its own work meanwhile.
        ChildProcess.Outcome outcome = await ChildProcess.RunOnDedicatedThreadAsync(token => RunWithRetries(pluginPath, variables, stdin, token),
            "plugin " + System.IO.Path.GetFileName(pluginPath), Timeout, cancellationToken).ConfigureAwait(false);

        if (outcome.Stderr.Length > 0)
            await (Stderr ?? Console.Error).WriteAsync(Encoding.UTF8.GetString(outcome.Stderr)).ConfigureAwait(false);
        if (outcome.ExitCode != 0)
            throw PluginError(pluginPath, outcome.Describe(), outcome.Stdout, outcome.Stderr);
        return outcome.Stdout;
    }

    /// <summary>Runs a plugin (see <see cref="ExecAsync"/>) and parses its stdout as a result in the version it names.</summary>
    public async Task<CniResult> ExecWithResultAsync(string pluginPath, IEnumerable<KeyValuePair<string, string?>> environment,
        ReadOnlyMemory<byte> stdin, CancellationToken cancellationToken = default)
    {
        byte[] stdout = await ExecAsync(pluginPath, environment, stdin, cancellationToken).ConfigureAwait(false);
        return CniResultSerializer.Parse(stdout, version: null, what: $"result of {System.IO.Path.GetFileName(pluginPath)}");
    }

    /// <summary>Asks a plugin which versions it supports (<c>CNI_COMMAND=VERSION</c>).</summary>
    public async Task<PluginVersionInfo> GetVersionInfoAsync(string pluginPath, CancellationToken cancellationToken = default)
    {
        KeyValuePair<string, string?>[] environment = [new(CniEnvironmentVariables.Command, "VERSION")];
        byte[] stdout = await ExecAsync(pluginPath, environment, ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
        return CniJson.Deserialize(stdout, CniJsonContext.Default.PluginVersionInfo, $"VERSION output of {System.IO.Path.GetFileName(pluginPath)}");
    }

    private ChildProcess.Outcome RunWithRetries(string pluginPath, List<string> environment, ReadOnlyMemory<byte> stdin, CancellationToken cancellationToken)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return ChildProcess.Run(pluginPath, environment, stdin, cancellationToken);
            }
            catch (Win32Exception ex) when (ex.NativeErrorCode == ETXTBSY && attempt < TextFileBusyRetries)
            {
                if (cancellationToken.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(100 * (attempt + 1))))
                    cancellationToken.ThrowIfCancellationRequested();
            }
            catch (Win32Exception ex)
            {
                throw new CniException((uint)CniErrorCode.Internal, $"failed to start plugin {pluginPath}: {ex.Message}", null, ex);
            }
        }
    }

    /// <summary>This process's environment with <paramref name="changes"/> applied (null removes), as <c>NAME=value</c> entries.</summary>
    internal static List<string> BuildEnvironment(IEnumerable<KeyValuePair<string, string?>> changes)
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            if (entry.Key is string name && entry.Value is string value)
                variables[name] = value;
        }
        foreach ((string name, string? value) in changes)
        {
            if (value is null)
                variables.Remove(name);
            else
                variables[name] = value;
        }
        var list = new List<string>(variables.Count);
        foreach ((string name, string value) in variables)
            list.Add(name + "=" + value);
        return list;
    }

    /// <summary>The error for a plugin that exited non-zero: its own CNI error when it printed one, else what it wrote.</summary>
    internal static CniException PluginError(string pluginPath, string ending, byte[] stdout, byte[] stderr)
    {
        string name = System.IO.Path.GetFileName(pluginPath);
        if (stdout.Length > 0)
        {
            try
            {
                CniError error = CniJson.Deserialize(stdout, CniJsonContext.Default.CniError, "plugin error");
                if (error.Code != 0 || !string.IsNullOrEmpty(error.Msg)) // "msg": null reads as null
                    return error.ToException();
            }
            catch (CniException)
            {
                // Not error JSON: report the raw output below.
            }
            return new CniException(CniErrorCode.Internal,
                $"plugin {name} failed ({ending}) and its output is not CNI error JSON: {Truncate(Encoding.UTF8.GetString(stdout))}");
        }
        return stderr.Length > 0
            ? new CniException(CniErrorCode.Internal, $"plugin {name} failed ({ending}): {Truncate(Encoding.UTF8.GetString(stderr))}")
            : new CniException(CniErrorCode.Internal, $"plugin {name} failed ({ending}) with no error message");
    }

    private static string Truncate(string text) => text.Length <= 512 ? text.Trim() : text[..512].Trim() + "...";

    /// <summary>True for an existing regular file (after following symlinks) with an execute bit set.</summary>
    internal static bool IsRegularExecutable(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
            return false;
        if (info.LinkTarget is not null)
        {
            FileSystemInfo? target = info.ResolveLinkTarget(returnFinalTarget: true);
            if (target is not FileInfo { Exists: true } file)
                return false;
            info = file;
        }
        const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        return OperatingSystem.IsWindows() || (info.UnixFileMode & anyExecute) != 0;
    }
}
