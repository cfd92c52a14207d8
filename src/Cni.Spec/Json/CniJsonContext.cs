using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Cni.Spec.Versions;

namespace Cni.Spec.Json;

/// <summary>Source-generated JSON metadata for every type Cni.Spec reads or writes (no reflection).</summary>
// Metadata only: this context is used to read, and to write through CniJson's modified options, which never take a
// generated fast path. Without the fast-path code, creating the context no longer encodes every property name up
// front (JsonEncodedText), which builds the built-in JavaScript encoders' tables: ~1M instructions per plugin run.
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(CniResult))]
[JsonSerializable(typeof(CniError))]
[JsonSerializable(typeof(NetConf))]
[JsonSerializable(typeof(NetworkConfigList))]
[JsonSerializable(typeof(PluginVersionInfo))]
[JsonSerializable(typeof(ConfigProbe))]
[JsonSerializable(typeof(Result020))]
[JsonSerializable(typeof(Result040))]
[JsonSerializable(typeof(JsonObject))]
[JsonSerializable(typeof(JsonNode))]
internal sealed partial class CniJsonContext : JsonSerializerContext
{
}
