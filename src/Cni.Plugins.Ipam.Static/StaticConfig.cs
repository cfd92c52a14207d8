using System.Net;
using System.Text.Json.Serialization;
using Cni.Spec;
using Cni.Spec.Json;

namespace Cni.Plugins.Ipam.Static;

/// <summary>The keys the static plugin reads from the whole configuration it is given (IPAM plugins get the caller's).</summary>
internal sealed class StaticNetConf
{
    [JsonPropertyName("cniVersion")]
    public string? CniVersion { get; set; }

    [JsonPropertyName("ipam")]
    public StaticIpamConfig? Ipam { get; set; }

    [JsonPropertyName("runtimeConfig")]
    public IpsHolder? RuntimeConfig { get; set; }

    [JsonPropertyName("args")]
    public StaticArgs? Args { get; set; }
}

/// <summary>The <c>ipam</c> section: fixed addresses, routes and DNS.</summary>
internal sealed class StaticIpamConfig
{
    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("addresses")]
    public List<StaticAddress>? Addresses { get; set; }

    [JsonPropertyName("routes")]
    public List<CniRoute>? Routes { get; set; }

    [JsonPropertyName("dns")]
    public CniDns? Dns { get; set; }
}

/// <summary>One configured address: CIDR text (host bits kept) and optional gateway.</summary>
internal sealed class StaticAddress
{
    [JsonPropertyName("address")]
    public string? Address { get; set; }

    [JsonPropertyName("gateway")]
    [JsonConverter(typeof(IPAddressJsonConverter))]
    public IPAddress? Gateway { get; set; }
}

/// <summary><c>args</c>: the static plugin reads <c>args.cni.ips</c>.</summary>
internal sealed class StaticArgs
{
    [JsonPropertyName("cni")]
    public IpsHolder? Cni { get; set; }
}

/// <summary>An object with an <c>ips</c> list (<c>runtimeConfig</c>, <c>args.cni</c>).</summary>
internal sealed class IpsHolder
{
    [JsonPropertyName("ips")]
    public List<string>? Ips { get; set; }
}

/// <summary>Source-generated metadata for the static plugin's options (read only: no fast-path serialization code).</summary>
[JsonSourceGenerationOptions(GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(StaticNetConf))]
internal sealed partial class StaticJsonContext : JsonSerializerContext
{
}
