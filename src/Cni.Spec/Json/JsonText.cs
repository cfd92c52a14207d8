using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;

namespace Cni.Spec.Json;

/// <summary>
/// Refuses JSON whose strings cannot be read as text: bytes that are not UTF-8, or a <c>\u</c> escape of a lone
/// surrogate. <see cref="Utf8JsonReader"/> checks neither while it reads (only when a string is read out, which then
/// throws <see cref="InvalidOperationException"/>), so without this check such input fails deep inside a plugin with
/// an unexpected exception instead of a decoding error.
/// </summary>
internal static class JsonText
{
    /// <summary>
    /// Throws <see cref="CniException"/> (decoding failure, 6) naming <paramref name="what"/> and the byte when
    /// <paramref name="json"/> holds text that no JSON string can be read from. Syntax errors are left to the parser
    /// that follows, which reports them as it always did.
    /// </summary>
    public static void EnsureDecodable(ReadOnlySpan<byte> json, string what)
    {
        if (!Utf8.IsValid(json))
        {
            Utf8.ToUtf16(json, new char[json.Length], out int valid, out _, replaceInvalidSequences: false);
            throw new CniException(CniErrorCode.DecodingFailure, $"error decoding {what}: not valid UTF-8 (byte {valid + 1})");
        }
        if (json.IndexOf("\\u"u8) < 0)
            return; // no escapes, no lone surrogates: the common case costs one search
        var reader = new Utf8JsonReader(json);
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.PropertyName or JsonTokenType.String && reader.ValueIsEscaped)
                {
                    try
                    {
                        _ = reader.GetString();
                    }
                    catch (InvalidOperationException)
                    {
                        throw new CniException(CniErrorCode.DecodingFailure,
                            $"error decoding {what}: the string at byte {reader.TokenStartIndex + 1} holds an escaped lone surrogate (\\uD800-\\uDFFF without its pair)");
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Malformed JSON: the parser that follows reports it.
        }
    }

    /// <summary>
    /// <paramref name="json"/> rewritten so that no object below the top level repeats a key, the last value of a
    /// repeated key kept (as Go's encoding/json keeps it); null when nothing repeats, or when the input is not
    /// well-formed (the parser that follows reports that). The top level is left alone: its keys are decided as Go
    /// decides struct fields (<see cref="NetConfReader.CanonicalTopLevel"/>). Without this, the nodes that hold
    /// <c>args</c>, <c>runtimeConfig</c> and unknown keys throw <see cref="ArgumentException"/> when first used.
    /// </summary>
    public static byte[]? LastNestedKeyWins(ReadOnlySpan<byte> json)
    {
        if (!HasNestedRepeatedKey(json))
            return null;
        var buffer = new ArrayBufferWriter<byte>(json.Length);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true }))
        {
            var reader = new Utf8JsonReader(json);
            reader.Read();
            WriteValue(json, ref reader, writer, depth: 0);
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static bool HasNestedRepeatedKey(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            var open = new List<List<string>?>(); // per open container: the keys seen (null: an array, or the top level)
            bool repeated = false;
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        open.Add(open.Count == 0 ? null : []);
                        break;
                    case JsonTokenType.StartArray:
                        open.Add(null);
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        open.RemoveAt(open.Count - 1);
                        break;
                    case JsonTokenType.PropertyName when open[^1] is { } keys:
                        string key = reader.GetString()!;
                        repeated |= keys.Contains(key);
                        keys.Add(key);
                        break;
                }
            }
            return repeated; // read to the end: only well-formed input is rewritten
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return false;
        }
    }

    private static void WriteValue(ReadOnlySpan<byte> json, ref Utf8JsonReader reader, Utf8JsonWriter writer, int depth)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                var members = new List<(string Key, int Start, int End)>();
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    string key = reader.GetString()!;
                    reader.Read();
                    int start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    members.Add((key, start, (int)reader.BytesConsumed));
                }
                writer.WriteStartObject();
                for (int i = 0; i < members.Count; i++)
                {
                    string key = members[i].Key;
                    if (depth > 0 && members.FindLastIndex(m => m.Key == key) != i)
                        continue; // a later value of the same key wins
                    writer.WritePropertyName(key);
                    ReadOnlySpan<byte> value = json[members[i].Start..members[i].End];
                    var inner = new Utf8JsonReader(value);
                    inner.Read();
                    WriteValue(value, ref inner, writer, depth + 1);
                }
                writer.WriteEndObject();
                break;
            case JsonTokenType.StartArray:
                writer.WriteStartArray();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    WriteValue(json, ref reader, writer, depth + 1);
                writer.WriteEndArray();
                break;
            default:
                writer.WriteRawValue(json[(int)reader.TokenStartIndex..(int)reader.BytesConsumed], skipInputValidation: true);
                break;
        }
    }
}
