using System.Net;
using System.Text.Json.Serialization;
using Cni.Spec.Json;

namespace Cni.Spec.Versions;

/// <summary>The 0.1.0/0.2.0 result: one IPv4 and one IPv6 configuration, each with its own routes.</summary>
internal sealed class Result020
{
    [JsonPropertyName("cniVersion")]
    public string? CniVersion { get; set; }

    [JsonPropertyName("ip4")]
    public IPConfig020? IP4 { get; set; }

    [JsonPropertyName("ip6")]
    public IPConfig020? IP6 { get; set; }

    [JsonPropertyName("dns")]
    public CniDns Dns { get; set; } = new();
}

/// <summary>An 0.2.0 address with its gateway and routes.</summary>
internal sealed class IPConfig020
{
    [JsonPropertyName("ip")]
    public IPPrefix IP { get; set; }

    [JsonPropertyName("gateway")]
    [JsonConverter(typeof(IPAddressJsonConverter))]
    public IPAddress? Gateway { get; set; }

    [JsonPropertyName("routes")]
    public List<CniRoute> Routes { get; set; } = [];
}
