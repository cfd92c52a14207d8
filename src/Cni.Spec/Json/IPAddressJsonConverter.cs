using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cni.Spec.Json;

/// <summary>Reads and writes <see cref="IPAddress"/> as a plain address string, strictly (dotted-quad IPv4 or IPv6, no zone).</summary>
public sealed class IPAddressJsonConverter : JsonConverter<IPAddress>
{
    /// <inheritdoc/>
    public override bool HandleNull => false;

    /// <inheritdoc/>
    public override IPAddress Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
            throw new JsonException($"expected an IP address string, got {reader.TokenType}");
        string text = reader.GetString()!;
        return IPText.TryParseAddress(text, out IPAddress? address) ? address : throw new InvalidJsonValueException($"invalid IP address \"{text}\"");
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, IPAddress value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString());
}
