using System.Text.Json.Serialization;

namespace Cni.Plugins.Ipam.Dhcp.Daemon;

/// <summary>
/// The plugin's request to the daemon: one JSON object on one line over the daemon's unix socket, answered by one
/// <see cref="DaemonResponse"/> line. The plugin validates the configuration and sends what the daemon needs.
/// </summary>
internal sealed class DaemonRequest
{
    /// <summary><see cref="DaemonMethods"/>.</summary>
    [JsonPropertyName("method")]
    public string? Method { get; set; }

    [JsonPropertyName("containerId")]
    public string? ContainerId { get; set; }

    /// <summary>The container's network namespace path, absolute.</summary>
    [JsonPropertyName("netns")]
    public string? NetNs { get; set; }

    [JsonPropertyName("ifName")]
    public string? IfName { get; set; }

    /// <summary>The client identifier text (<c>containerID/network/ifname</c>).</summary>
    [JsonPropertyName("clientId")]
    public string? ClientId { get; set; }

    /// <summary>The network name: GC releases only this network's leases.</summary>
    [JsonPropertyName("network")]
    public string? Network { get; set; }

    /// <summary>GC: the client identifiers whose leases stay.</summary>
    [JsonPropertyName("valid")]
    public List<string>? Valid { get; set; }

    /// <summary>Options every message carries (provided values, parameter request list), in order.</summary>
    [JsonPropertyName("options")]
    public List<DaemonOption>? Options { get; set; }
}

/// <summary>One DHCP option in a <see cref="DaemonRequest"/>.</summary>
internal sealed class DaemonOption
{
    [JsonPropertyName("code")]
    public byte Code { get; set; }

    [JsonPropertyName("value")]
    public byte[]? Value { get; set; }
}

/// <summary>The daemon's answer: the lease as a CNI result (JSON text, spec 1.1.0), or an error.</summary>
internal sealed class DaemonResponse
{
    [JsonPropertyName("result")]
    public string? Result { get; set; }

    [JsonPropertyName("error")]
    public string? Error { get; set; }

    /// <summary>The CNI error code for <see cref="Error"/>.</summary>
    [JsonPropertyName("code")]
    public uint Code { get; set; }
}

/// <summary>The daemon's methods.</summary>
internal static class DaemonMethods
{
    /// <summary>Acquire a lease (or return the one held) and keep it.</summary>
    public const string Allocate = "Allocate";

    /// <summary>Stop keeping a lease and release it; success when none is held.</summary>
    public const string Release = "Release";

    /// <summary>The lease held, or an error when none is.</summary>
    public const string Check = "Check";

    /// <summary>Release every lease of a network whose client id is not listed as valid.</summary>
    public const string Gc = "Gc";

    /// <summary>Answers when the daemon is ready.</summary>
    public const string Status = "Status";
}

/// <summary>Source-generated serialization of the daemon protocol.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(DaemonRequest))]
[JsonSerializable(typeof(DaemonResponse))]
internal sealed partial class DaemonJsonContext : JsonSerializerContext
{
}
