using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cni.Spec.Json;

/// <summary>Reads and writes <see cref="IPPrefix"/> as its CNI string form, <c>"10.1.2.3/24"</c>.</summary>
public sealed class IPPrefixJsonConverter : JsonConverter<IPPrefix>
{
    /// <inheritdoc/>
    public override IPPrefix Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
            throw new JsonException($"expected a CIDR string such as \"10.1.2.3/24\", got {reader.TokenType}");
        string text = reader.GetString()!;
        return IPPrefix.TryParse(text, out IPPrefix prefix) ? prefix : throw new InvalidJsonValueException($"invalid CIDR address \"{text}\"");
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, IPPrefix value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString());
}
