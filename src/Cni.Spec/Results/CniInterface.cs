using System.Text.Json.Serialization;

namespace Cni.Spec;

/// <summary>An interface in a result: its name and, where known, MAC, MTU, sandbox and device identity.</summary>
public sealed class CniInterface
{
    /// <summary>The interface name.</summary>
    [JsonPropertyName("name")]
    public string Name { get; set; } = "";

    /// <summary>The hardware address, e.g. <c>"0a:58:0a:01:02:03"</c>.</summary>
    [JsonPropertyName("mac")]
    public string? Mac { get; set; }

    /// <summary>The MTU (1.1.0).</summary>
    [JsonPropertyName("mtu")]
    public int? Mtu { get; set; }

    /// <summary>The sandbox (network namespace path) for container interfaces; null for host interfaces.</summary>
    [JsonPropertyName("sandbox")]
    public string? Sandbox { get; set; }

    /// <summary>The socket path of a vhost-user or similar interface (1.1.0).</summary>
    [JsonPropertyName("socketPath")]
    public string? SocketPath { get; set; }

    /// <summary>The PCI id of a device-backed interface (1.1.0).</summary>
    [JsonPropertyName("pciID")]
    public string? PciId { get; set; }

    /// <summary>A copy of this interface.</summary>
    public CniInterface Clone() => (CniInterface)MemberwiseClone();
}
