using Cni.Netlink;

namespace Cni.Plugins.Common;

/// <summary>
/// The host's network namespace as a plugin sees it: where it creates bridges and the host ends of veth pairs, writes
/// host sysctls (forwarding, <c>accept_ra</c>) and runs <c>nft</c>/<c>iptables</c>. A plugin takes one through its
/// constructor: <see cref="Current"/> (the namespace the plugin runs in) for a plugin executable, another namespace
/// (<see cref="Of"/>) for a runtime that hosts plugins in-process for a network namespace of its own, or a test that
/// must not touch the machine's namespace.
/// </summary>
public sealed class HostNetwork
{
    private HostNetwork(NetNs? ns, ICommandRunner commands)
    {
        Namespace = ns;
        Commands = commands;
    }

    /// <summary>The namespace of the calling thread (for a plugin process: the namespace it was started in).</summary>
    public static HostNetwork Current { get; } = new(null, ICommandRunner.System);

    /// <summary>The namespace <paramref name="ns"/> (the caller keeps it open for as long as this is used).</summary>
    public static HostNetwork Of(NetNs ns)
    {
        ArgumentNullException.ThrowIfNull(ns);
        return new HostNetwork(ns, new NamespacedRunner(ns));
    }

    /// <summary>The namespace; null for the calling thread's.</summary>
    public NetNs? Namespace { get; }

    /// <summary>Runs the host tools inside this namespace.</summary>
    public ICommandRunner Commands { get; }

    /// <summary>An rtnetlink socket bound to this namespace.</summary>
    public RtNetlink OpenNetlink() => Namespace is null ? RtNetlink.Open() : RtNetlink.Open(Namespace);

    /// <summary>Writes <paramref name="settings"/> below <c>/proc/sys</c> of this namespace (see <see cref="ContainerNamespace.ApplySysctls"/>).</summary>
    public void ApplySysctls(IEnumerable<SysctlSetting> settings) => ContainerNamespace.ApplySysctls(Namespace, settings);

    /// <summary>Runs each tool through <c>nsenter --net</c>: a thread of ours that entered the namespace would pass it on
    /// to every thread it starts (the runner's waiting thread, thread-pool workers), so nothing here enters it.</summary>
    private sealed class NamespacedRunner(NetNs ns) : ICommandRunner
    {
        public string? Find(string name) => ExternalCommand.Find(name);

        public Task<CommandOutput> RunAsync(string path, IEnumerable<string> arguments, string? stdin = null, CancellationToken cancellationToken = default, TimeSpan? timeout = null)
        {
            string target = ns.Path ?? $"/proc/{Environment.ProcessId}/fd/{ns.Fd}";
            string tool = path.Contains('/', StringComparison.Ordinal) ? path : ExternalCommand.Find(path) ?? path;
            return ExternalCommand.RunAsync("nsenter", ["--net=" + target, "--", tool, .. arguments], stdin, cancellationToken, timeout);
        }
    }
}
