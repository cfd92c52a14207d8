using System.Text.Json;
using System.Text.Json.Nodes;

namespace Cni.Spec.Json;

/// <summary>
/// Reads a plugin configuration straight off a <see cref="Utf8JsonReader"/>, without System.Text.Json serialization
/// metadata: building that metadata (per type, with reflection over attributes under NativeAOT) costs a plugin
/// executable more than a millisecond on every run.
/// </summary>
/// <remarks>
/// Only the plain case is handled: every key at most once and spelled as modelled, every modelled key with the JSON type it is declared with.
/// Anything else (null values, wrong types, duplicate keys, malformed JSON) returns null, and the caller parses with
/// <see cref="NetConf.Parse"/>, which then produces the same object or the exact error it always did. For the inputs
/// it accepts, the result is the object <see cref="NetConf.Parse"/> would build, without <c>prevResult</c> conversion
/// (see <see cref="Complete"/>): unknown keys go to <see cref="NetConf.ExtensionData"/> as the nodes the serializer
/// creates (tests compare the node classes), unknown <c>dns</c> keys are skipped.
/// </remarks>
internal static class NetConfReader
{
    private static readonly JsonNodeOptions NodeOptions = new();

    /// <summary>The configuration as the serializer would read it, or null when the input needs <see cref="NetConf.Parse"/>.</summary>
    /// <param name="json">The configuration bytes.</param>
    /// <param name="rawCniVersion">The <c>cniVersion</c> string as written (null when absent), before defaulting.</param>
    /// <param name="rawName">The <c>name</c> string as written (null when absent).</param>
    public static NetConf? TryRead(ReadOnlyMemory<byte> json, out string? rawCniVersion, out string? rawName)
    {
        rawCniVersion = null;
        rawName = null;
        try
        {
            var reader = new Utf8JsonReader(json.Span);
            return ReadNetConf(ref reader, json, ref rawCniVersion, ref rawName);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return null; // malformed JSON or text (not UTF-8, lone surrogates): the serializer reports it
        }
    }

    /// <summary>The keys <see cref="NetConf"/> models, as written in the spec.</summary>
    private static readonly string[] TopLevelKeys = ["cniVersion", "name", "type", "ipam", "dns", "ipMasq", "capabilities", "runtimeConfig", "args", "prevResult"];

    /// <summary>The keys <see cref="IpamConfig"/> models.</summary>
    private static readonly string[] IpamKeys = ["type"];

    /// <summary>The keys whose JSON null Go ignores (string and struct fields of <c>types.NetConf</c>): the earlier value stays.</summary>
    private static readonly string[] NullIgnoredKeys = ["cniVersion", "name", "type", "ipam", "dns"];

    /// <summary>The modelled key <paramref name="key"/> is read into (<see cref="GoJsonKeys.Matches"/>), or null.</summary>
    private static string? ModelledKey(string key, string[] modelled)
    {
        foreach (string m in modelled)
        {
            if (GoJsonKeys.Matches(key, m))
                return m;
        }
        return null;
    }

    /// <summary>
    /// The configuration with its top-level keys decided as Go's encoding/json decides them, written so that the
    /// serializer (which matches keys exactly) reads the same: a key that folds onto a modelled key (<c>"CNIVersion"</c>)
    /// is renamed to it, and of several keys for one field only the last is kept, except that a JSON null in a string or
    /// struct field is ignored, as Go ignores it. Null when nothing needs to change, or when the input is not one
    /// well-formed JSON object (the serializer then reports it as it always did).
    /// </summary>
    internal static byte[]? CanonicalTopLevel(ReadOnlySpan<byte> json)
    {
        var entries = new List<(string Name, int Start, int End, bool IsNull)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        bool change = false;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                return null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string key = reader.GetString()!;
                string name = ModelledKey(key, TopLevelKeys) ?? key;
                change |= !string.Equals(name, key, StringComparison.Ordinal) | !seen.Add(name);
                reader.Read();
                int start = (int)reader.TokenStartIndex;
                bool isNull = reader.TokenType == JsonTokenType.Null;
                reader.Skip();
                entries.Add((name, start, (int)reader.BytesConsumed, isNull));
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
                return null;
        }
        catch (JsonException)
        {
            return null;
        }
        if (!change)
            return null;

        // The entry each field keeps: the last one, not counting the nulls Go ignores.
        var kept = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < entries.Count; i++)
        {
            if (entries[i].IsNull && Array.IndexOf(NullIgnoredKeys, entries[i].Name) >= 0)
                continue;
            kept[entries[i].Name] = i;
        }
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(json.Length);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = PlainJsonEncoder.Instance }))
        {
            writer.WriteStartObject();
            for (int i = 0; i < entries.Count; i++)
            {
                if (kept.GetValueOrDefault(entries[i].Name, -1) != i)
                    continue;
                writer.WritePropertyName(entries[i].Name);
                writer.WriteRawValue(json[entries[i].Start..entries[i].End], skipInputValidation: true);
            }
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// What <see cref="NetConf.Parse"/> does after deserializing: defaults <c>cniVersion</c>.
    /// </summary>
    public static NetConf Complete(NetConf conf)
    {
        conf.CniVersion = string.IsNullOrEmpty(conf.CniVersion) ? CniVersions.Default : conf.CniVersion;
        return conf; // prevResult is converted on first use (NetConf.PrevResult)
    }

    private static NetConf? ReadNetConf(ref Utf8JsonReader reader, ReadOnlyMemory<byte> json, ref string? rawCniVersion, ref string? rawName)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            return null;
        var conf = new NetConf();
        uint seen = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            int key = reader.ValueTextEquals("cniVersion"u8) ? 0
                : reader.ValueTextEquals("name"u8) ? 1
                : reader.ValueTextEquals("type"u8) ? 2
                : reader.ValueTextEquals("ipam"u8) ? 3
                : reader.ValueTextEquals("dns"u8) ? 4
                : reader.ValueTextEquals("ipMasq"u8) ? 5
                : reader.ValueTextEquals("capabilities"u8) ? 6
                : reader.ValueTextEquals("runtimeConfig"u8) ? 7
                : reader.ValueTextEquals("args"u8) ? 8
                : reader.ValueTextEquals("prevResult"u8) ? 9
                : -1;
            if (key < 0)
            {
                if (!ReadExtension(ref reader, conf.ExtensionData ??= new JsonObject(NodeOptions), TopLevelKeys))
                    return null;
                continue;
            }
            if ((seen & (1u << key)) != 0)
                return null;
            seen |= 1u << key;
            reader.Read();
            switch (key)
            {
                case 0:
                    if (reader.TokenType != JsonTokenType.String)
                        return null;
                    conf.CniVersion = rawCniVersion = reader.GetString()!;
                    break;
                case 1:
                    if (reader.TokenType != JsonTokenType.String)
                        return null;
                    conf.Name = rawName = reader.GetString()!;
                    break;
                case 2:
                    if (reader.TokenType != JsonTokenType.String)
                        return null;
                    conf.Type = reader.GetString()!;
                    break;
                case 3:
                    if ((conf.Ipam = ReadIpam(ref reader)) is null)
                        return null;
                    break;
                case 4:
                    if ((conf.Dns = ReadDns(ref reader)) is null)
                        return null;
                    break;
                case 5:
                    if (reader.TokenType is not (JsonTokenType.True or JsonTokenType.False))
                        return null;
                    conf.IpMasq = reader.GetBoolean();
                    break;
                case 9:
                    // Kept as bytes: parsed when a plugin asks for it (most never do; see NetConf.PrevResult).
                    if (reader.TokenType != JsonTokenType.StartObject)
                        return null;
                    int start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    conf.SetRawPrevResult(json[start..(int)reader.BytesConsumed]);
                    break;
                default:
                    if (reader.TokenType != JsonTokenType.StartObject)
                        return null;
                    JsonObject value = JsonObject.Create(JsonElement.ParseValue(ref reader), NodeOptions)!;
                    if (key == 6)
                        conf.Capabilities = value;
                    else if (key == 7)
                        conf.RuntimeConfig = value;
                    else
                        conf.Args = value;
                    break;
            }
        }
        if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            return null; // anything after the object: the serializer reports it
        return conf;
    }

    private static IpamConfig? ReadIpam(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            return null;
        var ipam = new IpamConfig();
        bool typeSeen = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                if (typeSeen || reader.TokenType != JsonTokenType.String)
                    return null;
                typeSeen = true;
                ipam.Type = reader.GetString()!;
            }
            else if (!ReadExtension(ref reader, ipam.ExtensionData ??= new JsonObject(NodeOptions), IpamKeys))
            {
                return null;
            }
        }
        return ipam;
    }

    /// <summary>A <c>dns</c> object as the serializer reads it (unknown keys skipped), or null when it needs the serializer.</summary>
    internal static CniDns? ReadDns(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            return null;
        var dns = new CniDns();
        uint seen = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            int key = reader.ValueTextEquals("nameservers"u8) ? 0
                : reader.ValueTextEquals("domain"u8) ? 1
                : reader.ValueTextEquals("search"u8) ? 2
                : reader.ValueTextEquals("options"u8) ? 3
                : -1;
            reader.Read();
            if (key < 0)
            {
                reader.Skip(); // the serializer ignores keys CniDns does not model
                continue;
            }
            if ((seen & (1u << key)) != 0)
                return null;
            seen |= 1u << key;
            if (key == 1)
            {
                if (reader.TokenType != JsonTokenType.String)
                    return null;
                dns.Domain = reader.GetString();
                continue;
            }
            List<string>? list = ReadStrings(ref reader);
            if (list is null)
                return null;
            if (key == 0)
                dns.Nameservers = list;
            else if (key == 2)
                dns.Search = list;
            else
                dns.Options = list;
        }
        return dns;
    }

    private static List<string>? ReadStrings(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            return null;
        var list = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.String)
                return null;
            list.Add(reader.GetString()!);
        }
        return list;
    }

    /// <summary>An unmodelled key and its value, stored as the serializer stores extension data; false on a duplicate key
    /// and on a key Go would read into one of <paramref name="modelled"/> ("NAME", "cniverſion": see <see cref="CanonicalTopLevel"/>).</summary>
    private static bool ReadExtension(ref Utf8JsonReader reader, JsonObject extension, string[] modelled)
    {
        string name = reader.GetString()!;
        reader.Read();
        if (extension.ContainsKey(name) || ModelledKey(name, modelled) is not null)
            return false;
        // JsonNode.Parse, not the serializer's node converter: asking the serializer for its JsonNode metadata costs a
        // plugin about 0.3 ms of start-up (polymorphism attributes, array types built at run time). The nodes read the
        // same (kinds, values, JSON); only a primitive's JsonValue subclass differs from the serializer's.
        extension[name] = JsonNode.Parse(ref reader, NodeOptions);
        return true;
    }
}
