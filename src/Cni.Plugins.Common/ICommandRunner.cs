namespace Cni.Plugins.Common;

/// <summary>
/// Runs the host tools a plugin drives (<c>nft</c>, <c>iptables</c>, <c>ip6tables</c>, ...). Plugins take one through
/// their constructor so that a runtime embedding them, or a test, can substitute its own; <see cref="System"/> is the
/// default, which runs the real tools as <see cref="ExternalCommand"/> does.
/// </summary>
public interface ICommandRunner
{
    /// <summary>The full path of the tool <paramref name="name"/>, or null when it is not installed.</summary>
    /// <param name="name">A bare tool name, e.g. <c>nft</c>.</param>
    string? Find(string name);

    /// <summary>Runs <paramref name="path"/> with <paramref name="arguments"/> and <paramref name="stdin"/>; never throws for a
    /// non-zero exit.</summary>
    /// <param name="path">The tool's full path (from <see cref="Find"/>) or its bare name.</param>
    /// <param name="arguments">Its arguments.</param>
    /// <param name="stdin">What to write on its stdin, if anything.</param>
    /// <param name="cancellationToken">Kills the tool.</param>
    /// <param name="timeout">How long it may run; null for the default.</param>
    Task<CommandOutput> RunAsync(string path, IEnumerable<string> arguments, string? stdin = null, CancellationToken cancellationToken = default, TimeSpan? timeout = null);

    /// <summary>The runner of the real host tools (<see cref="ExternalCommand"/>).</summary>
    static ICommandRunner System { get; } = new SystemCommandRunner();

    private sealed class SystemCommandRunner : ICommandRunner
    {
        public string? Find(string name) => ExternalCommand.Find(name);

        public Task<CommandOutput> RunAsync(string path, IEnumerable<string> arguments, string? stdin = null, CancellationToken cancellationToken = default, TimeSpan? timeout = null)
            => ExternalCommand.RunAsync(path, arguments, stdin, cancellationToken, timeout);
    }
}
