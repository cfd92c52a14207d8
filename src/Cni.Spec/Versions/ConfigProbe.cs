using System.Text.Json.Serialization;

namespace Cni.Spec.Versions;

/// <summary>The two keys the host needs before anything else (Go's skel reads them the same way): name and cniVersion.</summary>
internal sealed class ConfigProbe
{
    [JsonPropertyName("cniVersion")]
    public string? CniVersion { get; set; }

    [JsonPropertyName("name")]
    public string? Name { get; set; }
}
