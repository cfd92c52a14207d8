using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cni.Spec;

namespace Cni.Runtime;

/// <summary>
/// One plugin of a network's chain: its <c>type</c>, the capabilities it enables and its whole configuration object,
/// every key kept as written. The runtime injects <c>name</c>, <c>cniVersion</c>, <c>runtimeConfig</c> and
/// <c>prevResult</c> into a copy before each call.
/// </summary>
public sealed class CniPluginConfig
{
    private readonly JsonObject _json;

    private CniPluginConfig(JsonObject json, string type, IReadOnlyList<string> capabilities, string? sourcePath)
    {
        _json = json;
        Type = type;
        Capabilities = capabilities;
        SourcePath = sourcePath;
    }

    /// <summary>The plugin type: the executable name on the plugin path, or the key of an in-process plugin.</summary>
    public string Type { get; }

    /// <summary>The capabilities the configuration enables (<c>"capabilities": {"portMappings": true}</c>), sorted.</summary>
    public IReadOnlyList<string> Capabilities { get; }

    /// <summary>The file the plugin came from when loaded from <c>&lt;dir&gt;/&lt;network&gt;/*.conf</c>; null when inlined.</summary>
    public string? SourcePath { get; }

    /// <summary>A copy of the configuration object, every key as written.</summary>
    public JsonObject ToJsonObject() => _json.DeepClone().AsObject();

    /// <summary>How errors name this plugin, like libcni: <c>type="bridge"</c>, plus <c>name="..."</c> when the object has one.</summary>
    public string Description =>
        _json["name"] is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>().Length > 0
            ? $"type=\"{Type}\" name=\"{v.GetValue<string>()}\""
            : $"type=\"{Type}\"";

    /// <summary>
    /// Reads a plugin configuration object. Throws <see cref="CniException"/> (invalid configuration, 7) naming the field
    /// when <c>type</c> is missing or not a string, or <c>capabilities</c> is not an object of booleans.
    /// </summary>
    /// <param name="json">The plugin configuration object.</param>
    /// <param name="where">How messages name the object, e.g. <c>plugins[1]</c>.</param>
    /// <param name="sourcePath">The file it came from, if it is a file of its own.</param>
    public static CniPluginConfig FromJson(JsonObject json, string where = "plugin configuration", string? sourcePath = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (json["type"] is not JsonValue typeValue || typeValue.GetValueKind() != JsonValueKind.String)
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig,
                json.ContainsKey("type") ? $"{where}: 'type' must be a string" : $"{where}: missing 'type'");
        }
        string type = typeValue.GetValue<string>();
        if (type.Length == 0)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"{where}: missing 'type'");

        var capabilities = new List<string>();
        switch (json["capabilities"])
        {
            case null:
                break;
            case JsonObject caps:
                foreach ((string key, JsonNode? value) in caps)
                {
                    JsonValueKind kind = value?.GetValueKind() ?? JsonValueKind.Null;
                    if (kind is not (JsonValueKind.True or JsonValueKind.False))
                        throw new CniException(CniErrorCode.InvalidNetworkConfig, $"{where}: capabilities.{key} must be true or false");
                    if (kind == JsonValueKind.True)
                        capabilities.Add(key);
                }
                break;
            default:
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"{where}: 'capabilities' must be an object");
        }
        capabilities.Sort(StringComparer.Ordinal);
        return new CniPluginConfig(json.DeepClone().AsObject(), type, capabilities, sourcePath);
    }

    /// <summary>Parses a plugin configuration from JSON bytes (a <c>.conf</c> file); errors as <see cref="FromJson"/>, code 6 for malformed JSON.</summary>
    public static CniPluginConfig Parse(ReadOnlySpan<byte> json, string? sourcePath = null)
    {
        string where = sourcePath ?? "plugin configuration";
        return FromJson(ParseObject(json, where), where, sourcePath);
    }

    internal static JsonObject ParseObject(ReadOnlySpan<byte> json, string where)
    {
        JsonNode? node;
        try
        {
            node = Json.JsonTree.Parse(json); // repeated keys: the last wins, as in libcni
        }
        catch (JsonException ex)
        {
            throw new CniException((uint)CniErrorCode.DecodingFailure, $"{where}: invalid JSON: {FirstLine(ex.Message)}", null, ex);
        }
        return node as JsonObject
            ?? throw new CniException(CniErrorCode.DecodingFailure, $"{where}: expected a JSON object");
    }

    internal static string FirstLine(string message)
    {
        int cut = message.IndexOf(" Path: ", StringComparison.Ordinal);
        string text = cut > 0 ? message[..cut] : message;
        return text.ReplaceLineEndings(" ").Trim();
    }

    /// <summary>The configuration's JSON as written (keys sorted, Go style).</summary>
    public override string ToString() => Encoding.UTF8.GetString(Json.GoJson.Serialize(_json));
}
