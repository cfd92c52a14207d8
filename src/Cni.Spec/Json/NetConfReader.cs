using System.Text.Json;
using System.Text.Json.Nodes;

namespace Cni.Spec.Json;

/// <summary>
/// Reads a plugin configuration straight off a <see cref="Utf8JsonReader"/>, without System.Text.Json serialization
/// metadata: building that metadata (per type, with reflection over attributes under NativeAOT) costs a plugin
/// executable more than a millisecond on every run.
/// </summary>
/// <remarks>
/// Only the plain case is handled: every key at most once, every modelled key with the JSON type it is declared with.
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
        catch (JsonException)
        {
            return null;
        }
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
                if (!ReadExtension(ref reader, conf.ExtensionData ??= new JsonObject(NodeOptions)))
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
            else if (!ReadExtension(ref reader, ipam.ExtensionData ??= new JsonObject(NodeOptions)))
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

    /// <summary>An unmodelled key and its value, stored as the serializer stores extension data; false on a duplicate key.</summary>
    private static bool ReadExtension(ref Utf8JsonReader reader, JsonObject extension)
    {
        string name = reader.GetString()!;
        reader.Read();
        if (extension.ContainsKey(name))
            return false;
        // JsonNode.Parse, not the serializer's node converter: asking the serializer for its JsonNode metadata costs a
        // plugin about 0.3 ms of start-up (polymorphism attributes, array types built at run time). The nodes read the
        // same (kinds, values, JSON); only a primitive's JsonValue subclass differs from the serializer's.
        extension[name] = JsonNode.Parse(ref reader, NodeOptions);
        return true;
    }
}
