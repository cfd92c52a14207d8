using System.Text.Json;
using System.Text.Json.Nodes;

namespace Cni.Runtime.Json;

/// <summary>
/// Reads JSON into nodes as Go's encoding/json reads it into <c>interface{}</c>: of keys repeated in one object the
/// last wins (<see cref="JsonNode.Parse(ReadOnlySpan{byte}, JsonNodeOptions?, JsonDocumentOptions)"/> builds an
/// object that throws <see cref="ArgumentException"/> on first use instead), and every string is decoded while
/// reading, so that text which is not UTF-8 fails here, as malformed JSON, and not later wherever the node is used.
/// </summary>
internal static class JsonTree
{
    /// <summary>The value in <paramref name="json"/>; throws <see cref="JsonException"/> for anything that is not one
    /// well-formed JSON value of readable text, nested at most 64 deep.</summary>
    public static JsonNode? Parse(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow });
        if (!reader.Read())
            throw new JsonException("no JSON value");
        JsonNode? node = ReadValue(ref reader);
        if (reader.Read())
            throw new JsonException($"unexpected data after the JSON value at byte {reader.TokenStartIndex}");
        return node;
    }

    private static JsonNode? ReadValue(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                var obj = new JsonObject();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                {
                    string key = ReadString(ref reader);
                    reader.Read();
                    obj[key] = ReadValue(ref reader); // a repeated key: the last value wins
                }
                return obj;
            case JsonTokenType.StartArray:
                var array = new JsonArray();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    array.Add(ReadValue(ref reader));
                return array;
            case JsonTokenType.String:
                return JsonValue.Create(ReadString(ref reader));
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.Number:
                // Go reads a number into interface{} as a float64 and refuses one that overflows it (1e400).
                if (!reader.TryGetDouble(out double number) || !double.IsFinite(number))
                    throw new JsonException($"number out of range at byte {reader.TokenStartIndex}");
                return JsonNode.Parse(ref reader); // kept as written
            default:
                return JsonNode.Parse(ref reader); // booleans
        }
    }

    private static string ReadString(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException ex)
        {
            throw new JsonException($"invalid text in a string at byte {reader.TokenStartIndex}: not UTF-8, or a lone surrogate", ex);
        }
    }
}
