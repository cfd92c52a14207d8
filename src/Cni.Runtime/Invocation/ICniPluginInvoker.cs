using Cni.Spec;

namespace Cni.Runtime;

/// <summary>One plugin call as the runtime makes it: the command, the <c>CNI_*</c> values and the configuration for stdin.</summary>
public sealed class CniInvocation
{
    /// <summary>The command.</summary>
    public required CniCommand Command { get; init; }

    /// <summary>The plugin type.</summary>
    public required string PluginType { get; init; }

    /// <summary><c>CNI_CONTAINERID</c> ("" for GC and STATUS).</summary>
    public string ContainerId { get; init; } = "";

    /// <summary><c>CNI_NETNS</c> ("" when none).</summary>
    public string NetNs { get; init; } = "";

    /// <summary><c>CNI_IFNAME</c> ("" for GC and STATUS).</summary>
    public string IfName { get; init; } = "";

    /// <summary><c>CNI_ARGS</c>.</summary>
    public string Args { get; init; } = "";

    /// <summary><c>CNI_PATH</c> directories.</summary>
    public IReadOnlyList<string> Path { get; init; } = [];

    /// <summary>The configuration written to the plugin's stdin.</summary>
    public ReadOnlyMemory<byte> Config { get; init; }

    /// <summary>The six <c>CNI_*</c> variables, as libcni sets them (empty values included).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Environment =>
    [
        new(CniEnvironmentVariables.Command, Command.ToWireName()),
        new(CniEnvironmentVariables.ContainerId, ContainerId),
        new(CniEnvironmentVariables.NetNs, NetNs),
        new(CniEnvironmentVariables.Args, Args),
        new(CniEnvironmentVariables.IfName, IfName),
        new(CniEnvironmentVariables.Path, string.Join(':', Path)),
    ];
}

/// <summary>Runs plugins for the runtime: as processes, in process, or anything else (tests use fakes).</summary>
public interface ICniPluginInvoker
{
    /// <summary>Runs one command; returns the plugin's stdout (the result JSON for ADD), or throws <see cref="CniException"/> with the plugin's error.</summary>
    Task<byte[]> InvokeAsync(CniInvocation invocation, CancellationToken cancellationToken);

    /// <summary>What the plugin answers to VERSION.</summary>
    Task<PluginVersionInfo> GetVersionInfoAsync(string pluginType, IReadOnlyList<string> path, CancellationToken cancellationToken);
}
