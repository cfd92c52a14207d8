using System.Text.Json.Serialization.Metadata;
using Cni.Spec.Json;

namespace Cni.Spec;

/// <summary>One invocation of a plugin: the command, the <c>CNI_*</c> variables, and the configuration from stdin.</summary>
public sealed class CniRequest
{
    /// <summary>The operation.</summary>
    public required CniCommand Command { get; init; }

    /// <summary><c>CNI_CONTAINERID</c>; "" for commands without a container (GC, STATUS).</summary>
    public string ContainerId { get; init; } = "";

    /// <summary><c>CNI_NETNS</c>: the container's network namespace path; null when not given (allowed for DEL).</summary>
    public string? NetNs { get; init; }

    /// <summary><c>CNI_IFNAME</c>: the interface name inside the container; "" for GC and STATUS.</summary>
    public string IfName { get; init; } = "";

    /// <summary>The parsed <c>CNI_ARGS</c>.</summary>
    public CniArgs Args { get; init; } = CniArgs.Empty;

    /// <summary><c>CNI_PATH</c> split into directories.</summary>
    public IReadOnlyList<string> Path { get; init; } = [];

    /// <summary>The common configuration keys (prevResult converted to the model).</summary>
    public required NetConf Config { get; init; }

    /// <summary>The configuration exactly as read from stdin (forwarded as is to delegated plugins).</summary>
    public ReadOnlyMemory<byte> RawConfig { get; init; }

    /// <summary>The environment the request came from (delegated plugins get the same variables).</summary>
    public required ICniEnvironment Environment { get; init; }

    /// <summary>
    /// Reads the plugin's own options from the raw configuration with its source-generated metadata.
    /// Throws <see cref="CniException"/>: decoding failure (6) for malformed JSON or wrong types,
    /// invalid configuration (7) for bad values, both naming the JSON path of the field.
    /// </summary>
    public T GetOptions<T>(JsonTypeInfo<T> typeInfo) =>
        CniJson.Deserialize(RawConfig.Span, typeInfo, "network configuration");
}
