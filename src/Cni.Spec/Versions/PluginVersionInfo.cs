using System.Text.Json.Serialization;

namespace Cni.Spec;

/// <summary>What a plugin answers to VERSION: <c>{"cniVersion": "1.1.0", "supportedVersions": [...]}</c>.</summary>
public sealed class PluginVersionInfo
{
    /// <summary>The version of this answer's format (the newest the plugin speaks).</summary>
    [JsonPropertyName("cniVersion")]
    public string CniVersion { get; set; } = CniVersions.Latest;

    /// <summary>Every configuration version the plugin accepts.</summary>
    [JsonPropertyName("supportedVersions")]
    public List<string> SupportedVersions { get; set; } = [];
}
