using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Cni.Spec;

/// <summary>The <c>ipam</c> section of a plugin configuration: the IPAM plugin's <c>type</c>, every other key kept untouched.</summary>
public sealed class IpamConfig
{
    /// <summary>The IPAM plugin to delegate to (its executable name on <c>CNI_PATH</c>).</summary>
    [JsonPropertyName("type")]
    public string Type { get; set; } = "";

    /// <summary>Every other key of the section, for the IPAM plugin to read.</summary>
    [JsonExtensionData]
    public JsonObject? ExtensionData { get; set; }
}
