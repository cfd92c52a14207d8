using System.Text.Json;

namespace Cni.Spec.Json;

/// <summary>
/// Reads a plugin's options straight from the configuration bytes with <see cref="Utf8JsonReader"/>, for the options a
/// plugin reads on every run: the serializer builds its metadata for every options type on first use (converters,
/// property tables, a reflection pass over attributes), which costs a short-lived plugin more than a millisecond, a
/// large part of its whole run. Results and errors are those of
/// <see cref="CniRequest.GetOptions{T}(System.Text.Json.Serialization.JsonSerializerContext)"/> on a context with
/// case-insensitive keys and strict numbers: unknown keys are skipped, a repeated key keeps its last value, and a value
/// of the wrong JSON type is a decoding failure (6) naming the JSON path (<c>$.vlanTrunk[0].minID</c>).
/// </summary>
/// <example>
/// <code>
/// var o = JsonOptionReader.ReadObject(request.RawConfig.Span, new MyOptions(), static (ref JsonOptionReader r, MyOptions o, string key) =>
/// {
///     switch (key)
///     {
///         case "mtu": o.Mtu = r.Int32(); return true;
///         case "bridge": o.Bridge = r.String(); return true;
///         default: return false; // skipped
///     }
/// });
/// </code>
/// </example>
public ref struct JsonOptionReader
{
    private Utf8JsonReader _json;
    private readonly List<string> _path;

    private JsonOptionReader(ReadOnlySpan<byte> json)
    {
        _json = new Utf8JsonReader(json);
        _path = ["$"];
    }

    /// <summary>
    /// Reads one property's value into <paramref name="target"/>. <paramref name="key"/> is the key as written,
    /// lower-cased (invariant), so that keys match case-insensitively as Go's decoder and the serializer's
    /// case-insensitive option match them. Returns false for a key it does not know; the value is then skipped.
    /// </summary>
    public delegate bool PropertyReader<in T>(ref JsonOptionReader reader, T target, string key);

    /// <summary>Reads one array item.</summary>
    public delegate TItem ItemReader<out TItem>(ref JsonOptionReader reader);

    /// <summary>
    /// Reads the JSON object <paramref name="json"/> (the network configuration) into <paramref name="target"/>.
    /// </summary>
    /// <exception cref="CniException">Decoding failure (6) for malformed JSON or a value of the wrong type; invalid
    /// configuration (7) for an <see cref="InvalidJsonValueException"/> thrown by <paramref name="reader"/>; both name the
    /// JSON path.</exception>
    public static T ReadObject<T>(ReadOnlySpan<byte> json, T target, PropertyReader<T> reader, string what = "network configuration")
        where T : class
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(reader);
        var options = new JsonOptionReader(json);
        try
        {
            options._json.Read();
            if (options._json.TokenType != JsonTokenType.StartObject)
                throw new CniException(CniErrorCode.DecodingFailure, $"error decoding {what}: expected a JSON object");
            options.ReadProperties(target, reader);
            return target;
        }
        catch (JsonException ex) when (ex.Path is null && ex is not InvalidJsonValueException)
        {
            // Thrown by Utf8JsonReader itself: malformed JSON.
            throw CniJson.ToCniException(ex, what, wellFormed: false);
        }
        catch (InvalidJsonValueException ex) when (ex.Path is null)
        {
            throw CniJson.ToCniException(new InvalidJsonValueException(ex.Message, options.Path), what, wellFormed: true);
        }
        catch (JsonException ex)
        {
            throw CniJson.ToCniException(ex, what, wellFormed: true);
        }
    }

    /// <summary>The JSON path of the value being read, as the serializer writes it (<c>$.a.b[2]</c>).</summary>
    public readonly string Path => string.Concat(_path);

    /// <summary>The current value as a boolean.</summary>
    public bool Bool() => _json.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        _ => throw WrongType(),
    };

    /// <summary>The current value as a boolean, or null for JSON null.</summary>
    public bool? NullableBool() => _json.TokenType == JsonTokenType.Null ? null : Bool();

    /// <summary>The current value as a 32-bit integer (a JSON number without fraction or exponent that fits).</summary>
    public int Int32() => _json.TokenType == JsonTokenType.Number && _json.TryGetInt32(out int value) ? value : throw WrongType();

    /// <summary>The current value as a 32-bit integer, or null for JSON null.</summary>
    public int? NullableInt32() => _json.TokenType == JsonTokenType.Null ? null : Int32();

    /// <summary>The current value as a 64-bit integer.</summary>
    public long Int64() => _json.TokenType == JsonTokenType.Number && _json.TryGetInt64(out long value) ? value : throw WrongType();

    /// <summary>The current value as an unsigned 64-bit integer.</summary>
    public ulong UInt64() => _json.TokenType == JsonTokenType.Number && _json.TryGetUInt64(out ulong value) ? value : throw WrongType();

    /// <summary>The current value as an unsigned 32-bit integer.</summary>
    public uint UInt32() => _json.TokenType == JsonTokenType.Number && _json.TryGetUInt32(out uint value) ? value : throw WrongType();

    /// <summary>The current value as a double (any JSON number).</summary>
    public double Double() => _json.TokenType == JsonTokenType.Number && _json.TryGetDouble(out double value) ? value : throw WrongType();

    /// <summary>The current value as a string, or null for JSON null.</summary>
    public string? String() => _json.TokenType switch
    {
        JsonTokenType.String => StringValue(),
        JsonTokenType.Null => null,
        _ => throw WrongType(),
    };

    /// <summary>The current value, a JSON object, read into <paramref name="target"/>; null for JSON null.</summary>
    public T? Object<T>(T target, PropertyReader<T> reader) where T : class
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (_json.TokenType == JsonTokenType.Null)
            return null;
        if (_json.TokenType != JsonTokenType.StartObject)
            throw WrongType();
        ReadProperties(target, reader);
        return target;
    }

    /// <summary>The current value, a JSON array, each item read by <paramref name="item"/>; null for JSON null.</summary>
    public List<TItem>? List<TItem>(ItemReader<TItem> item)
    {
        ArgumentNullException.ThrowIfNull(item);
        if (_json.TokenType == JsonTokenType.Null)
            return null;
        if (_json.TokenType != JsonTokenType.StartArray)
            throw WrongType();
        var list = new List<TItem>();
        while (_json.Read() && _json.TokenType != JsonTokenType.EndArray)
        {
            _path.Add($"[{list.Count}]");
            list.Add(item(ref this));
            _path.RemoveAt(_path.Count - 1);
        }
        return list;
    }

    /// <summary>
    /// The current value, a JSON object, as a dictionary of its keys (as written, case kept) to values read by
    /// <paramref name="value"/>; a repeated key keeps its last value; null for JSON null.
    /// </summary>
    public Dictionary<string, TValue>? Dictionary<TValue>(ItemReader<TValue> value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (_json.TokenType == JsonTokenType.Null)
            return null;
        if (_json.TokenType != JsonTokenType.StartObject)
            throw WrongType();
        var map = new Dictionary<string, TValue>(StringComparer.Ordinal);
        while (_json.Read() && _json.TokenType == JsonTokenType.PropertyName)
        {
            string name = StringValue();
            _json.Read();
            _path.Add(PathSegment(name));
            map[name] = value(ref this);
            _path.RemoveAt(_path.Count - 1);
        }
        return map;
    }

    /// <summary>The current value as a <see cref="JsonElement"/> (a copy, usable after reading ends).</summary>
    public JsonElement Element() => JsonElement.ParseValue(ref _json);

    /// <summary>The JSON type of the current value.</summary>
    public readonly JsonTokenType TokenType => _json.TokenType;

    /// <summary>Skips the current value.</summary>
    public void Skip() => _json.Skip();

    /// <summary>A decoding error for the current value: it is not of the JSON type the option needs.</summary>
    public readonly JsonException WrongType() => new("unexpected JSON value", Path, null, null);

    private void ReadProperties<T>(T target, PropertyReader<T> reader)
    {
        while (_json.Read() && _json.TokenType == JsonTokenType.PropertyName)
        {
            string name = StringValue();
            _json.Read();
            _path.Add(PathSegment(name));
            if (!reader(ref this, target, name.ToLowerInvariant()))
                _json.Skip();
            _path.RemoveAt(_path.Count - 1);
        }
    }

    // The serializer writes a key in a path as ['key'] when it holds one of these, else as .key.
    private static string PathSegment(string name) => name.AsSpan().ContainsAny(SpecialCharacters) ? $"['{name}']" : "." + name;

    private static readonly System.Buffers.SearchValues<char> SpecialCharacters = System.Buffers.SearchValues.Create(". '/\"[]()\t\n\r\f\b\\\u0085\u2028\u2029");

    // A string that JSON allows but a .NET string cannot hold (an escaped lone surrogate, "\ud800") is a decoding
    // failure naming its path, as the serializer reports it, rather than an InvalidOperationException.
    private readonly string StringValue()
    {
        try
        {
            return _json.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw WrongType();
        }
    }
}
