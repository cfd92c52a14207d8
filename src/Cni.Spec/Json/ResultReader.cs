using System.Net;
using System.Text.Json;

namespace Cni.Spec.Json;

/// <summary>
/// Reads a result in the 0.3.0-1.1.0 layouts straight off a <see cref="Utf8JsonReader"/>, without System.Text.Json
/// serialization metadata: building that metadata for the result types costs a plugin executable 1-2 M instructions
/// on every CHECK (bridge and host-local read <c>prevResult</c>).
/// </summary>
/// <remarks>
/// Only the plain case is handled: every key modelled by the version's layout and present at most once, every value of
/// the JSON type it is declared with (no nulls), every address and route destination present and valid. Anything else
/// (unknown keys, 0.1.0/0.2.0, malformed JSON) returns null, and the caller parses with the serializer, which then
/// produces the same object or the exact error it always did. For the inputs it accepts, the result is the object
/// <see cref="CniResultSerializer.Parse"/> would build; as there, <c>cniVersion</c> is the version passed in, and
/// unknown <c>dns</c> keys are skipped.
/// </remarks>
internal static class ResultReader
{
    /// <summary>The result as the serializer would read it, or null when the input needs the serializer.</summary>
    /// <param name="json">The result bytes.</param>
    /// <param name="version">The wire version, or null to take it from the result's own <c>cniVersion</c>.</param>
    public static CniResult? TryRead(ReadOnlySpan<byte> json, string? version)
    {
        try
        {
            version ??= ReadVersion(json);
            if (version is null)
                return null;
            // 0.3.x/0.4.0 differ from 1.x only in ips[].version and fewer interface keys (see ResultConverter.From040).
            bool v040 = version is CniVersions.V030 or CniVersions.V031 or CniVersions.V040;
            if (!(v040 || version is CniVersions.V100 or CniVersions.V110))
                return null;
            var reader = new Utf8JsonReader(json);
            return ReadResult(ref reader, version, v040);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return null; // malformed JSON or text: the serializer reports it
        }
    }

    /// <summary>The top-level <c>cniVersion</c> string, or null when it is absent, empty or anything but plain.</summary>
    private static string? ReadVersion(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            return null;
        string? version = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isVersion = reader.ValueTextEquals("cniVersion"u8);
            reader.Read();
            if (!isVersion)
            {
                reader.Skip();
                continue;
            }
            if (version is not null || reader.TokenType != JsonTokenType.String)
                return null;
            version = reader.GetString()!;
        }
        return version;
    }

    private static CniResult? ReadResult(ref Utf8JsonReader reader, string version, bool v040)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            return null;
        var result = new CniResult { CniVersion = version };
        uint seen = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            int key = reader.ValueTextEquals("cniVersion"u8) ? 0
                : reader.ValueTextEquals("interfaces"u8) ? 1
                : reader.ValueTextEquals("ips"u8) ? 2
                : reader.ValueTextEquals("routes"u8) ? 3
                : reader.ValueTextEquals("dns"u8) ? 4
                : -1;
            if (key < 0 || (seen & (1u << key)) != 0)
                return null;
            seen |= 1u << key;
            reader.Read();
            switch (key)
            {
                case 0:
                    // The written cniVersion is read but not kept: the result carries the version it was read in.
                    if (reader.TokenType != JsonTokenType.String)
                        return null;
                    _ = reader.GetString();
                    break;
                case 1:
                    if (!ReadList(ref reader, result.Interfaces, v040, ReadInterface))
                        return null;
                    break;
                case 2:
                    if (!ReadList(ref reader, result.Ips, v040, ReadIPConfig))
                        return null;
                    break;
                case 3:
                    if (!ReadList(ref reader, result.Routes, v040, ReadRoute))
                        return null;
                    break;
                default:
                    if ((result.Dns = NetConfReader.ReadDns(ref reader)!) is null)
                        return null;
                    break;
            }
        }
        if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            return null; // anything after the object: the serializer reports it
        return result;
    }

    private delegate T? ItemReader<T>(ref Utf8JsonReader reader, bool v040) where T : class;

    private static bool ReadList<T>(ref Utf8JsonReader reader, List<T> list, bool v040, ItemReader<T> readItem) where T : class
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            return false;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject || readItem(ref reader, v040) is not T item)
                return false;
            list.Add(item);
        }
        return true;
    }

    private static CniInterface? ReadInterface(ref Utf8JsonReader reader, bool v040)
    {
        var i = new CniInterface();
        uint seen = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            int key = reader.ValueTextEquals("name"u8) ? 0
                : reader.ValueTextEquals("mac"u8) ? 1
                : reader.ValueTextEquals("sandbox"u8) ? 2
                : v040 ? -1 // 0.3.x/0.4.0 interfaces have no more keys
                : reader.ValueTextEquals("mtu"u8) ? 3
                : reader.ValueTextEquals("socketPath"u8) ? 4
                : reader.ValueTextEquals("pciID"u8) ? 5
                : -1;
            if (key < 0 || (seen & (1u << key)) != 0)
                return null;
            seen |= 1u << key;
            reader.Read();
            if (key == 3)
            {
                if (!TryReadInt(ref reader, out int mtu))
                    return null;
                i.Mtu = mtu;
                continue;
            }
            if (reader.TokenType != JsonTokenType.String)
                return null;
            string value = reader.GetString()!;
            switch (key)
            {
                case 0: i.Name = value; break;
                case 1: i.Mac = value; break;
                case 2: i.Sandbox = value; break;
                case 4: i.SocketPath = value; break;
                default: i.PciId = value; break;
            }
        }
        return i;
    }

    private static CniIPConfig? ReadIPConfig(ref Utf8JsonReader reader, bool v040)
    {
        var ip = new CniIPConfig();
        uint seen = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            int key = reader.ValueTextEquals("interface"u8) ? 0
                : reader.ValueTextEquals("address"u8) ? 1
                : reader.ValueTextEquals("gateway"u8) ? 2
                : v040 && reader.ValueTextEquals("version"u8) ? 3 // the family comes from the address, as in From040
                : -1;
            if (key < 0 || (seen & (1u << key)) != 0)
                return null;
            seen |= 1u << key;
            reader.Read();
            switch (key)
            {
                case 0:
                    if (!TryReadInt(ref reader, out int index))
                        return null;
                    ip.Interface = index;
                    break;
                case 1:
                    if (!TryReadPrefix(ref reader, out IPPrefix address))
                        return null;
                    ip.Address = address;
                    break;
                case 2:
                    if ((ip.Gateway = ReadAddress(ref reader)) is null)
                        return null;
                    break;
                default:
                    if (reader.TokenType != JsonTokenType.String)
                        return null;
                    _ = reader.GetString();
                    break;
            }
        }
        return (seen & 0b10) != 0 ? ip : null; // a missing address is the serializer path's error
    }

    private static CniRoute? ReadRoute(ref Utf8JsonReader reader, bool v040)
    {
        var route = new CniRoute();
        uint seen = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            int key = reader.ValueTextEquals("dst"u8) ? 0
                : reader.ValueTextEquals("gw"u8) ? 1
                : reader.ValueTextEquals("mtu"u8) ? 2
                : reader.ValueTextEquals("advmss"u8) ? 3
                : reader.ValueTextEquals("priority"u8) ? 4
                : reader.ValueTextEquals("table"u8) ? 5
                : reader.ValueTextEquals("scope"u8) ? 6
                : -1;
            if (key < 0 || (seen & (1u << key)) != 0)
                return null;
            seen |= 1u << key;
            reader.Read();
            if (key == 0)
            {
                if (!TryReadPrefix(ref reader, out IPPrefix dst))
                    return null;
                route.Dst = dst;
                continue;
            }
            if (key == 1)
            {
                if ((route.Gw = ReadAddress(ref reader)) is null)
                    return null;
                continue;
            }
            if (!TryReadInt(ref reader, out int number))
                return null;
            switch (key)
            {
                case 2: route.Mtu = number; break;
                case 3: route.AdvMss = number; break;
                case 4: route.Priority = number; break;
                case 5: route.Table = number; break;
                default: route.Scope = number; break;
            }
        }
        return (seen & 1) != 0 ? route : null; // a missing destination is the serializer path's error
    }

    private static bool TryReadInt(ref Utf8JsonReader reader, out int value)
    {
        value = 0;
        return reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out value);
    }

    /// <summary>As <see cref="IPPrefixJsonConverter"/> reads it; false where the converter would throw.</summary>
    private static bool TryReadPrefix(ref Utf8JsonReader reader, out IPPrefix prefix)
    {
        prefix = default;
        return reader.TokenType == JsonTokenType.String && IPPrefix.TryParse(reader.GetString()!, out prefix) && prefix.Address is not null;
    }

    /// <summary>As <see cref="IPAddressJsonConverter"/> reads it; null where the converter would throw.</summary>
    private static IPAddress? ReadAddress(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.String && IPText.TryParseAddress(reader.GetString()!, out IPAddress? address) ? address : null;
}
