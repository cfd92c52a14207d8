using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Cni.Spec.Versions;

namespace Cni.Spec.Json;

/// <summary>Source-generated JSON metadata for every type Cni.Spec reads or writes (no reflection).</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CniResult))]
[JsonSerializable(typeof(CniError))]
[JsonSerializable(typeof(NetConf))]
[JsonSerializable(typeof(NetworkConfigList))]
[JsonSerializable(typeof(PluginVersionInfo))]
[JsonSerializable(typeof(ConfigProbe))]
[JsonSerializable(typeof(Result020))]
[JsonSerializable(typeof(Result040))]
[JsonSerializable(typeof(JsonObject))]
internal sealed partial class CniJsonContext : JsonSerializerContext
{
}
