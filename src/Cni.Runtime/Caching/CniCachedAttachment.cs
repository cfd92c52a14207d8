using System.Text.Json.Nodes;

namespace Cni.Runtime;

/// <summary>One entry of the result cache: an attachment made by ADD and not yet deleted.</summary>
public sealed class CniCachedAttachment
{
    /// <summary>The container id.</summary>
    public required string ContainerId { get; init; }

    /// <summary>The network name.</summary>
    public required string Network { get; init; }

    /// <summary>The interface name.</summary>
    public required string IfName { get; init; }

    /// <summary>The network configuration bytes used for the ADD.</summary>
    public byte[] Config { get; init; } = [];

    /// <summary>The network namespace path, when the writer recorded it (libcni 1.2 and later, and this library).</summary>
    public string? NetNs { get; init; }

    /// <summary>The <c>CNI_ARGS</c> pairs of the ADD.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Args { get; init; } = [];

    /// <summary>The capability arguments of the ADD.</summary>
    public JsonObject? CapabilityArgs { get; init; }

    /// <summary>The cached result as JSON (in the version the last plugin printed), or null.</summary>
    public JsonObject? Result { get; init; }

    /// <summary>The cache file.</summary>
    public required string Path { get; init; }

    /// <summary>The runtime arguments of the ADD, to repeat them (DEL by GC).</summary>
    public CniRuntimeConf ToRuntimeConf() => new()
    {
        ContainerId = ContainerId,
        NetNs = NetNs,
        IfName = IfName,
        Args = Args,
        CapabilityArgs = CapabilityArgs?.DeepClone().AsObject(),
    };
}
