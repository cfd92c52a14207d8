using System.Net;
using System.Text.Json.Serialization;
using Cni.Spec.Json;

namespace Cni.Spec;

/// <summary>An IP address assigned by a plugin, with its gateway and the interface it belongs to (JSON in Go's key order).</summary>
public sealed class CniIPConfig
{
    /// <summary>The index into <see cref="CniResult.Interfaces"/> of the interface holding the address.</summary>
    [JsonPropertyName("interface")]
    public int? Interface { get; set; }

    /// <summary>The address with its prefix length, e.g. <c>10.1.2.3/24</c>.</summary>
    [JsonPropertyName("address")]
    public IPPrefix Address { get; set; }

    /// <summary>The default gateway for this subnet, if any.</summary>
    [JsonPropertyName("gateway")]
    [JsonConverter(typeof(IPAddressJsonConverter))]
    public IPAddress? Gateway { get; set; }

    /// <summary>A copy of this IP configuration.</summary>
    public CniIPConfig Clone() => (CniIPConfig)MemberwiseClone();
}
