using System.Net;
using System.Text.Json.Serialization;
using Cni.Spec.Json;

namespace Cni.Spec.Versions;

/// <summary>The 0.3.0/0.3.1/0.4.0 result: like 1.x, but addresses carry a <c>version</c> and interfaces only name, mac, sandbox.</summary>
internal sealed class Result040
{
    [JsonPropertyName("cniVersion")]
    public string? CniVersion { get; set; }

    [JsonPropertyName("interfaces")]
    public List<Interface040> Interfaces { get; set; } = [];

    [JsonPropertyName("ips")]
    public List<IPConfig040> Ips { get; set; } = [];

    [JsonPropertyName("routes")]
    public List<CniRoute> Routes { get; set; } = [];

    [JsonPropertyName("dns")]
    public CniDns Dns { get; set; } = new();
}

/// <summary>A 0.3.x/0.4.0 interface.</summary>
internal sealed class Interface040
{
    [JsonPropertyName("name")]
    public string Name { get; set; } = "";

    [JsonPropertyName("mac")]
    public string? Mac { get; set; }

    [JsonPropertyName("sandbox")]
    public string? Sandbox { get; set; }
}

/// <summary>A 0.3.x/0.4.0 address, with its family as <c>"4"</c> or <c>"6"</c>.</summary>
internal sealed class IPConfig040
{
    [JsonPropertyName("version")]
    public string Version { get; set; } = "";

    [JsonPropertyName("interface")]
    public int? Interface { get; set; }

    [JsonPropertyName("address")]
    public IPPrefix Address { get; set; }

    [JsonPropertyName("gateway")]
    [JsonConverter(typeof(IPAddressJsonConverter))]
    public IPAddress? Gateway { get; set; }
}
