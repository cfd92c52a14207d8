using Cni.Spec;

namespace Cni.Runtime;

/// <summary>
/// A failure of a runtime operation on a network, naming the network, the step (ADD, DEL, ...) and, when a plugin
/// failed, the plugin. <see cref="CniException.Code"/> is the plugin's own error code when it reported one.
/// </summary>
public sealed class CniRuntimeException : CniException
{
    /// <summary>Creates the exception.</summary>
    public CniRuntimeException(uint code, string message, string? details, string network, CniCommand command,
        string? pluginType = null, int pluginIndex = -1, Exception? innerException = null, IReadOnlyList<CniRuntimeException>? errors = null)
        : base(code, message, details, innerException)
    {
        Network = network;
        Command = command;
        PluginType = pluginType;
        PluginIndex = pluginIndex;
        Errors = errors ?? [];
    }

    /// <summary>The network the operation was for.</summary>
    public string Network { get; }

    /// <summary>The step that failed.</summary>
    public CniCommand Command { get; }

    /// <summary>The type of the plugin that failed, or null when the failure was not a plugin's.</summary>
    public string? PluginType { get; }

    /// <summary>The plugin's position in the chain (0-based), or -1.</summary>
    public int PluginIndex { get; }

    /// <summary>For operations that go on after a failure (GC): every failure, in order.</summary>
    public IReadOnlyList<CniRuntimeException> Errors { get; }

    /// <summary>True when the operation failed because its timeout elapsed.</summary>
    public bool TimedOut => InnerException is TimeoutException;
}
