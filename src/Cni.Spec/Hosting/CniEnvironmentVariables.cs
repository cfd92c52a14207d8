namespace Cni.Spec;

/// <summary>The <c>CNI_*</c> environment variables of the execution protocol, and which ones each command requires.</summary>
public static class CniEnvironmentVariables
{
    /// <summary>The operation: ADD, DEL, CHECK, GC, STATUS or VERSION.</summary>
    public const string Command = "CNI_COMMAND";

    /// <summary>The container id.</summary>
    public const string ContainerId = "CNI_CONTAINERID";

    /// <summary>The container's network namespace path.</summary>
    public const string NetNs = "CNI_NETNS";

    /// <summary>The interface name inside the container.</summary>
    public const string IfName = "CNI_IFNAME";

    /// <summary>Extra arguments, <c>KEY=VALUE;KEY=VALUE</c>.</summary>
    public const string Args = "CNI_ARGS";

    /// <summary>Directories to search for plugin executables, ':'-separated.</summary>
    public const string Path = "CNI_PATH";

    /// <summary>Every protocol variable, in the order the Go skel reads them.</summary>
    public static IReadOnlyList<string> All { get; } = [Command, ContainerId, NetNs, IfName, Args, Path];

    /// <summary>The variables <paramref name="command"/> requires (spec section 2 and Go's skel), in reading order.</summary>
    public static IReadOnlyList<string> RequiredFor(CniCommand command) => command switch
    {
        CniCommand.Add or CniCommand.Check => [ContainerId, NetNs, IfName, Path],
        CniCommand.Del => [ContainerId, IfName, Path],
        CniCommand.Gc or CniCommand.Status => [Path],
        _ => [],
    };
}
