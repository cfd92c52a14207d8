using System.Net;
using System.Text.Json.Serialization;
using Cni.Spec.Json;

namespace Cni.Spec;

/// <summary>A route: destination, optional gateway and (1.1.0) MTU, advertised MSS, priority, table and scope.</summary>
public sealed class CniRoute
{
    /// <summary>The destination, e.g. <c>0.0.0.0/0</c>.</summary>
    [JsonPropertyName("dst")]
    public IPPrefix Dst { get; set; }

    /// <summary>The next hop; null means the default gateway of the address.</summary>
    [JsonPropertyName("gw")]
    [JsonConverter(typeof(IPAddressJsonConverter))]
    public IPAddress? Gw { get; set; }

    /// <summary>The route MTU.</summary>
    [JsonPropertyName("mtu")]
    public int? Mtu { get; set; }

    /// <summary>The advertised TCP MSS.</summary>
    [JsonPropertyName("advmss")]
    public int? AdvMss { get; set; }

    /// <summary>The route priority (metric).</summary>
    [JsonPropertyName("priority")]
    public int? Priority { get; set; }

    /// <summary>The routing table.</summary>
    [JsonPropertyName("table")]
    public int? Table { get; set; }

    /// <summary>The route scope (0 universe, 253 link, 254 host).</summary>
    [JsonPropertyName("scope")]
    public int? Scope { get; set; }

    /// <summary>A copy of this route.</summary>
    public CniRoute Clone() => (CniRoute)MemberwiseClone();
}
