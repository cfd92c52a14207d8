using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Cni.Spec.Json;

namespace Cni.Spec;

/// <summary>A network configuration list (a <c>.conflist</c> file): the network's name and version and its chain of plugins.</summary>
public sealed class NetworkConfigList
{
    /// <summary>The spec version the plugins are called with; "0.1.0" when missing.</summary>
    [JsonPropertyName("cniVersion")]
    public string CniVersion { get; set; } = Cni.Spec.CniVersions.Default;

    /// <summary>All versions the list supports (1.1.0); a runtime picks the newest it understands.</summary>
    [JsonPropertyName("cniVersions")]
    public List<string>? CniVersions { get; set; }

    /// <summary>The network name.</summary>
    [JsonPropertyName("name")]
    public string Name { get; set; } = "";

    /// <summary>When true, the runtime must not call CHECK.</summary>
    [JsonPropertyName("disableCheck")]
    public bool? DisableCheck { get; set; }

    /// <summary>When true, the runtime must not call GC (1.1.0).</summary>
    [JsonPropertyName("disableGC")]
    public bool? DisableGC { get; set; }

    /// <summary>When true, only plugins inlined in <see cref="Plugins"/> are loaded, not drop-in files.</summary>
    [JsonPropertyName("loadOnlyInlinedPlugins")]
    public bool? LoadOnlyInlinedPlugins { get; set; }

    /// <summary>The plugin configurations in chain order, each kept whole (every key survives).</summary>
    [JsonPropertyName("plugins")]
    public List<JsonObject> Plugins { get; set; } = [];

    /// <summary>Every key not modelled above, untouched.</summary>
    [JsonExtensionData]
    public JsonObject? ExtensionData { get; set; }

    /// <summary>Parses a configuration list; throws <see cref="CniException"/> (6 or 7) naming the field when invalid.</summary>
    public static NetworkConfigList Parse(ReadOnlySpan<byte> json)
    {
        NetworkConfigList list = CniJson.Deserialize(json, CniJsonContext.Default.NetworkConfigList, "network configuration list");
        list.Plugins ??= [];
        if (string.IsNullOrEmpty(list.CniVersion))
            list.CniVersion = Cni.Spec.CniVersions.Default;
        return list;
    }
}
