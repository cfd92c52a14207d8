using System.Text.Json.Serialization;

namespace Cni.Spec;

/// <summary>
/// The result of an ADD, in the newest spec's model (1.1.0). Older wire formats are converted at the edges
/// (<see cref="CniResultSerializer"/>); this model is what plugins build and what callers read.
/// </summary>
public sealed class CniResult
{
    /// <summary>The spec version the result was read in, or should be printed in by default.</summary>
    [JsonPropertyName("cniVersion")]
    public string CniVersion { get; set; } = CniVersions.Latest;

    /// <summary>The interfaces the plugin created or touched.</summary>
    [JsonPropertyName("interfaces")]
    public List<CniInterface> Interfaces { get; set; } = [];

    /// <summary>The IP addresses assigned.</summary>
    [JsonPropertyName("ips")]
    public List<CniIPConfig> Ips { get; set; } = [];

    /// <summary>The routes created.</summary>
    [JsonPropertyName("routes")]
    public List<CniRoute> Routes { get; set; } = [];

    /// <summary>DNS settings; empty when the plugin has none (printed as <c>{}</c>, as the Go library does).</summary>
    [JsonPropertyName("dns")]
    public CniDns Dns { get; set; } = new();

    /// <summary>A deep copy of this result.</summary>
    public CniResult Clone() => new()
    {
        CniVersion = CniVersion,
        Interfaces = Interfaces.Select(i => i.Clone()).ToList(),
        Ips = Ips.Select(i => i.Clone()).ToList(),
        Routes = Routes.Select(r => r.Clone()).ToList(),
        Dns = Dns.Clone(),
    };

    /// <summary>Replaces JSON nulls with empty collections so the model never holds null lists.</summary>
    internal CniResult Normalize()
    {
        Interfaces ??= [];
        Ips ??= [];
        Routes ??= [];
        Dns = (Dns ?? new()).Normalize();
        return this;
    }
}
