using System.Text.Json;

namespace Cni.Plugins.Ipam.HostLocal.Configuration;

/// <summary>
/// A parsed JSON value with the few <see cref="JsonElement"/> members the configuration parser uses, read straight
/// from a <see cref="Utf8JsonReader"/>.
/// </summary>
/// <remarks>
/// <see cref="JsonDocument"/> (and <see cref="JsonElement.ParseValue"/>) rent their working buffers from the shared
/// array pool, whose first use in a process calibrates how fast the processor number can be read: about 0.1 ms,
/// a noticeable share of a plugin run that lives 2–3 ms. A configuration is a few hundred bytes, so a plain tree
/// costs nothing worth pooling.
/// </remarks>
internal sealed class ConfigValue
{
    private static readonly List<ConfigValue> NoItems = [];
    private static readonly List<ConfigProperty> NoProperties = [];

    private readonly string? _string;
    private readonly int? _int32;
    private readonly List<ConfigValue>? _items;
    private readonly List<ConfigProperty>? _properties;

    private ConfigValue(JsonValueKind kind, string? text = null, int? int32 = null, List<ConfigValue>? items = null, List<ConfigProperty>? properties = null)
    {
        ValueKind = kind;
        _string = text;
        _int32 = int32;
        _items = items;
        _properties = properties;
    }

    /// <summary>The JSON type of the value.</summary>
    public JsonValueKind ValueKind { get; }

    /// <summary>
    /// Parses one complete JSON document (nothing but white space may follow the value).
    /// </summary>
    /// <exception cref="JsonException">The text is not valid JSON (or not valid UTF-8).</exception>
    public static ConfigValue Parse(ReadOnlySpan<byte> utf8Json)
    {
        var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        if (!reader.Read())
            throw new JsonException("the configuration is empty");
        ConfigValue value = ReadValue(ref reader);
        if (reader.Read())
            throw new JsonException($"unexpected data after the end of the value at byte {reader.TokenStartIndex}");
        return value;
    }

    private static ConfigValue ReadValue(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                var properties = new List<ConfigProperty>();
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    string name = GetString(ref reader);
                    reader.Read();
                    properties.Add(new ConfigProperty(name, ReadValue(ref reader)));
                }
                return new ConfigValue(JsonValueKind.Object, properties: properties);
            case JsonTokenType.StartArray:
                var items = new List<ConfigValue>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    items.Add(ReadValue(ref reader));
                return new ConfigValue(JsonValueKind.Array, items: items);
            case JsonTokenType.String:
                return new ConfigValue(JsonValueKind.String, text: GetString(ref reader));
            case JsonTokenType.Number:
                return new ConfigValue(JsonValueKind.Number, int32: reader.TryGetInt32(out int n) ? n : null);
            case JsonTokenType.True:
                return new ConfigValue(JsonValueKind.True);
            case JsonTokenType.False:
                return new ConfigValue(JsonValueKind.False);
            case JsonTokenType.Null:
                return new ConfigValue(JsonValueKind.Null);
            default:
                throw new JsonException($"unexpected {reader.TokenType} at byte {reader.TokenStartIndex}");
        }
    }

    private static string GetString(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException ex)
        {
            throw new JsonException($"invalid string at byte {reader.TokenStartIndex}: {ex.Message}");
        }
    }

    /// <summary>The items of an array (none for any other kind).</summary>
    public List<ConfigValue> EnumerateArray() => _items ?? NoItems;

    /// <summary>The properties of an object in document order, duplicates included (none for any other kind).</summary>
    public List<ConfigProperty> EnumerateObject() => _properties ?? NoProperties;

    /// <summary>The text of a string value; null for any other kind.</summary>
    public string? GetString() => _string;

    /// <summary>The value of a number written as an integer that fits in 32 bits.</summary>
    public bool TryGetInt32(out int value)
    {
        value = _int32.GetValueOrDefault();
        return _int32.HasValue;
    }
}

/// <summary>One member of a JSON object.</summary>
internal readonly record struct ConfigProperty(string Name, ConfigValue Value);
