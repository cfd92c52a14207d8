using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Cni.Spec.Json;

namespace Cni.Spec;

/// <summary>
/// The keys every plugin configuration shares (spec "Plugin configuration objects"); every other key is kept in
/// <see cref="ExtensionData"/> so that it survives a round trip. A plugin reads its own keys with
/// <see cref="CniRequest.GetOptions{T}(System.Text.Json.Serialization.JsonSerializerContext)"/>.
/// </summary>
public class NetConf
{
    /// <summary>The spec version of the configuration; "0.1.0" when the key is missing.</summary>
    [JsonPropertyName("cniVersion")]
    public string CniVersion { get; set; } = CniVersions.Default;

    /// <summary>The network name.</summary>
    [JsonPropertyName("name")]
    public string Name { get; set; } = "";

    /// <summary>The plugin type (its executable name).</summary>
    [JsonPropertyName("type")]
    public string Type { get; set; } = "";

    /// <summary>The IPAM section, if any.</summary>
    [JsonPropertyName("ipam")]
    public IpamConfig? Ipam { get; set; }

    /// <summary>DNS settings from the configuration, if any.</summary>
    [JsonPropertyName("dns")]
    public CniDns? Dns { get; set; }

    /// <summary>Whether the plugin should set up IP masquerade for the network (plugins that support it).</summary>
    [JsonPropertyName("ipMasq")]
    public bool? IpMasq { get; set; }

    /// <summary>Capabilities the plugin declares (in configuration files) and the runtime honours.</summary>
    [JsonPropertyName("capabilities")]
    public JsonObject? Capabilities { get; set; }

    /// <summary>Values the runtime passes for the capabilities it honours (<c>portMappings</c>, <c>ips</c>, ...).</summary>
    [JsonPropertyName("runtimeConfig")]
    public JsonObject? RuntimeConfig { get; set; }

    /// <summary>Additional arguments from the runtime (<c>args.cni</c> and others).</summary>
    [JsonPropertyName("args")]
    public JsonObject? Args { get; set; }

    /// <summary>The previous plugin's result, on the wire in the configuration's version; see <see cref="PrevResult"/>.</summary>
    [JsonPropertyName("prevResult")]
    public JsonObject? RawPrevResult
    {
        get
        {
            if (_rawPrevResult is null && !_rawPrevResultJson.IsEmpty)
            {
                var reader = new Utf8JsonReader(_rawPrevResultJson.Span);
                reader.Read();
                _rawPrevResult = JsonObject.Create(JsonElement.ParseValue(ref reader));
                _rawPrevResultJson = default;
            }
            return _rawPrevResult;
        }
        set
        {
            _rawPrevResult = value;
            _rawPrevResultJson = default;
            _prevResult = null;
            _prevResultRead = false;
        }
    }

    /// <summary>Sets <see cref="RawPrevResult"/> from the <c>prevResult</c> object's bytes in the configuration, parsed
    /// on first use: most plugins never look at it, and a CHECK's IPAM plugin gets it in every request.</summary>
    internal void SetRawPrevResult(ReadOnlyMemory<byte> json)
    {
        _rawPrevResult = null;
        _rawPrevResultJson = json;
        _prevResultRead = false;
    }

    /// <summary>
    /// The previous plugin's result converted to the current model (read from <see cref="RawPrevResult"/> in
    /// <see cref="CniVersion"/> on first use), or null when there is none.
    /// </summary>
    /// <remarks>
    /// Converted lazily, as Go plugins call <c>ParsePrevResult</c> themselves: a plugin that never looks at the previous
    /// result (an IPAM plugin on DEL, say) neither pays for reading it nor fails on it.
    /// </remarks>
    /// <exception cref="CniException">The previous result is malformed (the message names <c>prevResult</c>).</exception>
    [JsonIgnore]
    public CniResult? PrevResult
    {
        get
        {
            if (!_prevResultRead)
            {
                _prevResult = _rawPrevResult is not null ? CniResultSerializer.Parse(Utf8(_rawPrevResult), CniVersion, "prevResult")
                    : !_rawPrevResultJson.IsEmpty ? CniResultSerializer.Parse(_rawPrevResultJson.Span, CniVersion, "prevResult")
                    : null;
                _prevResultRead = true;
            }
            return _prevResult;
        }
        set
        {
            _prevResult = value;
            _prevResultRead = true;
        }
    }

    /// <summary>
    /// <paramref name="node"/> as UTF-8 JSON. Not <see cref="JsonNode.ToJsonString"/>: its writer's default encoder
    /// builds the built-in encoders' tables, about a million instructions per plugin run (see <see cref="PlainJsonEncoder"/>).
    /// </summary>
    private static ReadOnlySpan<byte> Utf8(JsonObject node)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = PlainJsonEncoder.Instance }))
            node.WriteTo(writer);
        return buffer.WrittenSpan;
    }

    private JsonObject? _rawPrevResult;
    private ReadOnlyMemory<byte> _rawPrevResultJson;
    private CniResult? _prevResult;
    private bool _prevResultRead = true;

    /// <summary>Every key not modelled above, untouched.</summary>
    [JsonExtensionData]
    public JsonObject? ExtensionData { get; set; }

    /// <summary>
    /// Parses a plugin configuration; <c>prevResult</c> is read in the configuration's own version when first used.
    /// Throws <see cref="CniException"/>: decoding failure (6) for malformed JSON, invalid configuration (7) for bad values.
    /// </summary>
    /// <remarks>Top-level keys are read as Go's encoding/json reads them (<see cref="GoJsonKeys"/>): case-insensitively,
    /// the last of several keys for one field winning.</remarks>
    public static NetConf Parse(ReadOnlySpan<byte> json)
    {
        JsonText.EnsureDecodable(json, "network configuration");
        byte[]? nested = JsonText.LastNestedKeyWins(json);
        if (nested is not null)
            json = nested;
        byte[]? canonical = NetConfReader.CanonicalTopLevel(json);
        return ParseCanonical(canonical ?? json);
    }

    /// <summary><see cref="Parse"/> of a configuration whose top-level keys <see cref="NetConfReader.CanonicalTopLevel"/>
    /// has already decided.</summary>
    internal static NetConf ParseCanonical(ReadOnlySpan<byte> json) =>
        NetConfReader.Complete(CniJson.Deserialize(json, CniJsonContext.Default.NetConf, "network configuration"));

    /// <summary>
    /// This configuration as JSON; <see cref="PrevResult"/>, when set, is written as <c>prevResult</c> in <see cref="CniVersion"/>.
    /// </summary>
    public byte[] ToJsonBytes()
    {
        if (_prevResult is not null)
        {
            // The raw form follows the model; PrevResult keeps returning the object that was set.
            _rawPrevResult = JsonNode.Parse(CniResultSerializer.SerializeToUtf8Bytes(_prevResult, CniVersion, indented: false))!.AsObject();
            _rawPrevResultJson = default;
        }
        return JsonSerializer.SerializeToUtf8Bytes(this, CniJson.TypeInfo<NetConf>(CniJson.CompactOptions));
    }
}
