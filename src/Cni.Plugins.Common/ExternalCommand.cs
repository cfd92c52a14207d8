using System.Text;
using Cni.Spec;

namespace Cni.Plugins.Common;

/// <summary>What a finished external command printed and returned.</summary>
/// <param name="ExitCode">The exit code.</param>
/// <param name="Stdout">Everything printed on stdout.</param>
/// <param name="Stderr">Everything printed on stderr.</param>
public readonly record struct CommandOutput(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>True for exit code 0.</summary>
    public bool Succeeded => ExitCode == 0;
}

/// <summary>
/// Runs the few host tools the plugins drive the way the reference does (<c>nft</c>, <c>iptables</c>): an executable
/// found on PATH or in the usual sbin directories, arguments, optional stdin text.
/// </summary>
public static class ExternalCommand
{
    private static readonly string[] FallbackDirectories = ["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin"];

    /// <summary>The full path of <paramref name="name"/>, or null when it is not installed: the first executable regular
    /// file of that name in an absolute PATH entry or a fallback directory. As Go's <c>exec.LookPath</c> (which refuses
    /// results relative to the working directory), empty and relative PATH entries are skipped: a plugin's working
    /// directory is its caller's, and a tool found there would run with our privileges.</summary>
    public static string? Find(string name)
    {
        IEnumerable<string> dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(FallbackDirectories);
        foreach (string dir in dirs)
        {
            if (!Path.IsPathRooted(dir))
                continue;
            string candidate = Path.Combine(dir, name);
            if (PluginExecutor.IsRegularExecutable(candidate))
                return candidate;
        }
        return null;
    }

    /// <summary>Runs <paramref name="path"/> (a bare name is looked up as <see cref="Find"/> does) with <paramref name="arguments"/> and <paramref name="stdin"/>, in our
    /// environment with <c>LC_ALL=C</c>; never throws for a non-zero exit. Cancellation kills the process; so does
    /// <paramref name="timeout"/>, which then fails the call with a <see cref="CniException"/>.</summary>
    /// <param name="path">The tool, or its bare name.</param>
    /// <param name="arguments">Its arguments.</param>
    /// <param name="stdin">What to write on its stdin.</param>
    /// <param name="cancellationToken">Kills the tool.</param>
    /// <param name="timeout">How long the tool may run (<see cref="PluginExecutor.DefaultTimeout"/> when null; zero or
    /// <see cref="System.Threading.Timeout.InfiniteTimeSpan"/>: no limit): a hung <c>nft</c> or <c>iptables</c> (e.g. waiting
    /// for the xtables lock) must not hang the plugin and its runtime forever.</param>
    /// <remarks>The tool is started with <c>posix_spawn</c> and waited for on a thread of its own (the same lean child
    /// runner the IPAM delegation uses): <see cref="System.Diagnostics.Process"/> would add a SIGCHLD thread, an epoll
    /// thread and thread-pool workers, several milliseconds per plugin run.</remarks>
    /// <exception cref="System.ComponentModel.Win32Exception">The tool could not be started.</exception>
    public static async Task<CommandOutput> RunAsync(string path, IEnumerable<string> arguments, string? stdin = null, CancellationToken cancellationToken = default,
        TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(arguments);
        if (!path.Contains('/', StringComparison.Ordinal))
            path = Find(path) ?? throw new System.ComponentModel.Win32Exception(2, $"{path} not found on PATH or in {string.Join(", ", FallbackDirectories)}");
        string[] args = arguments.ToArray();
        List<string> environment = PluginExecutor.BuildEnvironment([new("LC_ALL", "C")]);
        byte[] input = stdin is null ? [] : Encoding.UTF8.GetBytes(stdin);
        ChildProcess.Outcome outcome = await ChildProcess.RunOnDedicatedThreadAsync(
            token => ChildProcess.Run(path, args, environment, input, token), Path.GetFileName(path), timeout ?? PluginExecutor.DefaultTimeout, cancellationToken).ConfigureAwait(false);
        return new CommandOutput(outcome.ExitCode, Encoding.UTF8.GetString(outcome.Stdout), Encoding.UTF8.GetString(outcome.Stderr));
    }
}
