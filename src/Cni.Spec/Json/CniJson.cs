using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Cni.Spec.Json;

/// <summary>
/// The serializer settings shared by everything Cni.Spec prints: Go's <c>json.MarshalIndent(v, "", "    ")</c> layout,
/// empty lists and empty optional strings omitted (Go's <c>omitempty</c>), no HTML escaping of ordinary characters.
/// </summary>
internal static class CniJson
{
    // Created on first use: the relaxed encoder and the modified resolver cost a plugin start-up time (the relaxed
    // encoder alone builds a 64K-entry table), and a plugin that only reads its configuration needs neither.
    private static JsonSerializerOptions? s_indented;
    private static JsonSerializerOptions? s_compact;

    /// <summary>Four-space indented output, as the Go library prints results and errors.</summary>
    public static JsonSerializerOptions Indented => Volatile.Read(ref s_indented) ?? InitializeOptions(ref s_indented, indented: true);

    /// <summary>Single-line output, for configurations handed to other plugins.</summary>
    public static JsonSerializerOptions CompactOptions => Volatile.Read(ref s_compact) ?? InitializeOptions(ref s_compact, indented: false);

    private static JsonSerializerOptions InitializeOptions(ref JsonSerializerOptions? field, bool indented)
    {
        Interlocked.CompareExchange(ref field, CreateOptions(indented), null);
        return field;
    }

    /// <summary>The metadata of <typeparamref name="T"/> under <paramref name="options"/>, omit-empty rules included.</summary>
    public static JsonTypeInfo<T> TypeInfo<T>(JsonSerializerOptions options) => (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T));

    /// <summary>
    /// Deserializes <paramref name="json"/>, turning every failure into a <see cref="CniException"/> that names
    /// <paramref name="what"/> and the JSON path: decoding failure (6) for malformed JSON or wrong types,
    /// invalid configuration (7) for well-formed but unacceptable values.
    /// </summary>
    public static T Deserialize<T>(ReadOnlySpan<byte> json, JsonTypeInfo<T> typeInfo, string what)
    {
        try
        {
            return JsonSerializer.Deserialize(json, typeInfo)
                ?? throw new CniException(CniErrorCode.DecodingFailure, $"error decoding {what}: expected a JSON object, got null");
        }
        catch (JsonException ex)
        {
            throw ToCniException(ex, what, IsWellFormed(json));
        }
    }

    /// <summary>
    /// The CNI error for a JSON failure while reading <paramref name="what"/>. The message is ours, not the
    /// serializer's: NativeAOT plugins strip framework resource strings (<c>UseSystemResourceKeys</c>).
    /// </summary>
    internal static CniException ToCniException(JsonException ex, string what, bool wellFormed)
    {
        string path = ex.Path is null or "$" ? "" : $" at {ex.Path}";
        if (ex is InvalidJsonValueException)
            return new CniException((uint)CniErrorCode.InvalidNetworkConfig, $"invalid {what}{path}: {ex.Message}", null, ex);
        string message = wellFormed
            ? $"error decoding {what}{path}: unexpected JSON value (wrong type)"
            : $"error decoding {what}: not valid JSON (line {ex.LineNumber + 1 ?? 1}, byte {ex.BytePositionInLine + 1 ?? 1})";
        return new CniException((uint)CniErrorCode.DecodingFailure, message, null, ex);
    }

    private static bool IsWellFormed(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            while (reader.Read())
            {
            }
            return reader.BytesConsumed > 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static JsonSerializerOptions CreateOptions(bool indented)
    {
        var options = new JsonSerializerOptions
        {
            TypeInfoResolver = CniJsonContext.Default.WithAddedModifier(CniJsonModifiers.OmitEmpty).WithAddedModifier(CniJsonModifiers.InlineJsonObjectExtensionData),
            DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            WriteIndented = indented,
            IndentSize = 4,
            NewLine = "\n",
        };
        options.MakeReadOnly();
        return options;
    }
}
