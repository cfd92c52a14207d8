using Cni.Plugins.Common;

namespace Cni.Plugins.Portmap.Tests;

/// <summary>Records every tool run as one line ("iptables --wait -t nat -N X", stdin after a tab) and answers from a script.</summary>
internal sealed class FakeCommandRunner(params string[] installed) : ICommandRunner
{
    private readonly HashSet<string> _installed = [.. installed];

    /// <summary>Every command, in order: the tool's bare name and its arguments joined by spaces.</summary>
    public List<string> Commands { get; } = [];

    /// <summary>The stdin of each command (null when none), parallel to <see cref="Commands"/>.</summary>
    public List<string?> Stdins { get; } = [];

    /// <summary>Answers a command line; null means success with no output.</summary>
    public Func<string, CommandOutput?> Respond { get; set; } = _ => null;

    public string? Find(string name) => _installed.Contains(name) ? "/usr/sbin/" + name : null;

    public Task<CommandOutput> RunAsync(string path, IEnumerable<string> arguments, string? stdin = null, CancellationToken cancellationToken = default, TimeSpan? timeout = null)
    {
        string line = string.Join(' ', [Path.GetFileName(path), .. arguments]);
        Commands.Add(line);
        Stdins.Add(stdin);
        return Task.FromResult(Respond(line) ?? new CommandOutput(0, "", ""));
    }
}

/// <summary>Runs the real tools inside a named network namespace (<c>ip netns exec</c>): the kernel tests' "host".</summary>
internal sealed class NamespacedCommandRunner(string netns) : ICommandRunner
{
    public string? Find(string name) => ExternalCommand.Find(name);

    public Task<CommandOutput> RunAsync(string path, IEnumerable<string> arguments, string? stdin = null, CancellationToken cancellationToken = default, TimeSpan? timeout = null) =>
        ExternalCommand.RunAsync(ExternalCommand.Find("ip")!, ["netns", "exec", netns, path, .. arguments], stdin, cancellationToken, timeout);
}
