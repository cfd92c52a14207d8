using System.Collections;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Cni.Spec.Json;

/// <summary>
/// Contract modifiers for writing CNI JSON with source-generated metadata; add them with
/// <see cref="JsonTypeInfoResolver.WithAddedModifier"/> on a context used for writing.
/// </summary>
public static class CniJsonModifiers
{
    /// <summary>Omits empty collections and empty nullable strings, as Go's <c>omitempty</c> does.</summary>
    public static void OmitEmpty(JsonTypeInfo typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        if (typeInfo.Kind != JsonTypeInfoKind.Object)
            return;
        foreach (JsonPropertyInfo property in typeInfo.Properties)
        {
            if (property.IsExtensionData)
                continue;
            if (property.PropertyType != typeof(string) && typeof(ICollection).IsAssignableFrom(property.PropertyType))
                property.ShouldSerialize = static (_, value) => value is ICollection { Count: > 0 };
            else if (property.PropertyType == typeof(string) && property.IsGetNullable)
                property.ShouldSerialize = static (_, value) => !string.IsNullOrEmpty((string?)value);
        }
    }

    /// <summary>
    /// Writes <see cref="JsonObject"/> extension data as the object's own keys. System.Text.Json writes it as a nested
    /// object without a name, which is invalid JSON (dotnet/runtime#60806, #97225). Only for writing: read with an
    /// unmodified context.
    /// </summary>
    public static void InlineJsonObjectExtensionData(JsonTypeInfo typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        if (typeInfo.Kind != JsonTypeInfoKind.Object)
            return;
        foreach (JsonPropertyInfo property in typeInfo.Properties)
        {
            if (property.IsExtensionData && property.PropertyType == typeof(JsonObject))
                property.CustomConverter = InlineObjectWriter.Instance;
        }
    }

    private sealed class InlineObjectWriter : JsonConverter<JsonObject>
    {
        public static readonly InlineObjectWriter Instance = new();

        public override JsonObject Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            throw new NotSupportedException("InlineJsonObjectExtensionData is for writing only");

        public override void Write(Utf8JsonWriter writer, JsonObject value, JsonSerializerOptions options)
        {
            foreach ((string key, JsonNode? node) in value)
            {
                writer.WritePropertyName(key);
                if (node is null)
                    writer.WriteNullValue();
                else
                    node.WriteTo(writer, options);
            }
        }
    }
}
