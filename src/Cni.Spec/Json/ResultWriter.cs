using System.Buffers;
using System.Net;
using System.Text.Json;

namespace Cni.Spec.Json;

/// <summary>
/// Writes a result in the 0.3.0-1.1.0 layouts with a bare <see cref="Utf8JsonWriter"/>, byte for byte what
/// <see cref="CniResultSerializer.SerializeToUtf8Bytes"/> prints, without building System.Text.Json serialization
/// metadata (costly at start-up under NativeAOT: reflection over attributes for every type involved).
/// </summary>
/// <remarks>
/// Only the plain case is handled: every list element, address and required string present, and every string made of
/// printable ASCII characters that no JSON encoder escapes. Anything else returns null and the caller uses
/// <see cref="CniResultSerializer"/>, which then prints what it always did or throws the error it always threw.
/// </remarks>
internal static class ResultWriter
{
    // With its own encoder: see PlainJsonEncoder.
    private static readonly JsonWriterOptions Indented = new() { Indented = true, IndentSize = 4, NewLine = "\n", Encoder = PlainJsonEncoder.Instance };

    /// <summary><paramref name="result"/> as indented JSON in <paramref name="version"/>, or null when the serializer must do it.</summary>
    public static byte[]? TryWrite(CniResult result, string version)
    {
        // 0.3.x/0.4.0 differ from 1.x only in ips[].version and fewer interface keys (see ResultConverter.To040).
        bool v040 = version is CniVersions.V030 or CniVersions.V031 or CniVersions.V040;
        if (!(v040 || version is CniVersions.V100 or CniVersions.V110) || !IsPlain(result))
            return null;
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, Indented))
        {
            writer.WriteStartObject();
            writer.WriteString("cniVersion"u8, version);
            if (result.Interfaces.Count > 0)
            {
                writer.WriteStartArray("interfaces"u8);
                foreach (CniInterface i in result.Interfaces)
                {
                    writer.WriteStartObject();
                    writer.WriteString("name"u8, i.Name);
                    WriteIfNotEmpty(writer, "mac"u8, i.Mac);
                    if (!v040)
                        WriteIfNotNull(writer, "mtu"u8, i.Mtu);
                    WriteIfNotEmpty(writer, "sandbox"u8, i.Sandbox);
                    if (!v040)
                    {
                        WriteIfNotEmpty(writer, "socketPath"u8, i.SocketPath);
                        WriteIfNotEmpty(writer, "pciID"u8, i.PciId);
                    }
                    writer.WriteEndObject();
                }
                writer.WriteEndArray();
            }
            if (result.Ips.Count > 0)
            {
                writer.WriteStartArray("ips"u8);
                foreach (CniIPConfig ip in result.Ips)
                {
                    writer.WriteStartObject();
                    if (v040)
                        writer.WriteString("version"u8, ip.Address.Family == System.Net.Sockets.AddressFamily.InterNetwork ? "4"u8 : "6"u8);
                    WriteIfNotNull(writer, "interface"u8, ip.Interface);
                    writer.WriteString("address"u8, ip.Address.ToString());
                    WriteIfNotNull(writer, "gateway"u8, ip.Gateway);
                    writer.WriteEndObject();
                }
                writer.WriteEndArray();
            }
            if (result.Routes.Count > 0)
            {
                writer.WriteStartArray("routes"u8);
                foreach (CniRoute route in result.Routes)
                {
                    writer.WriteStartObject();
                    writer.WriteString("dst"u8, route.Dst.ToString());
                    WriteIfNotNull(writer, "gw"u8, route.Gw);
                    WriteIfNotNull(writer, "mtu"u8, route.Mtu);
                    WriteIfNotNull(writer, "advmss"u8, route.AdvMss);
                    WriteIfNotNull(writer, "priority"u8, route.Priority);
                    WriteIfNotNull(writer, "table"u8, route.Table);
                    WriteIfNotNull(writer, "scope"u8, route.Scope);
                    writer.WriteEndObject();
                }
                writer.WriteEndArray();
            }
            writer.WriteStartObject("dns"u8);
            WriteIfNotEmpty(writer, "nameservers"u8, result.Dns.Nameservers);
            WriteIfNotEmpty(writer, "domain"u8, result.Dns.Domain);
            WriteIfNotEmpty(writer, "search"u8, result.Dns.Search);
            WriteIfNotEmpty(writer, "options"u8, result.Dns.Options);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static readonly JsonWriterOptions Compact = new() { Encoder = PlainJsonEncoder.Instance };

    /// <summary>
    /// <paramref name="info"/> as the single-line VERSION answer the serializer prints (empty <c>supportedVersions</c>
    /// omitted), or null when the serializer must do it.
    /// </summary>
    public static byte[]? TryWriteVersionInfo(PluginVersionInfo info)
    {
        if (info.CniVersion is null || !IsPlain(info.CniVersion) || !IsPlain(info.SupportedVersions))
            return null;
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, Compact))
        {
            writer.WriteStartObject();
            writer.WriteString("cniVersion"u8, info.CniVersion);
            WriteIfNotEmpty(writer, "supportedVersions"u8, info.SupportedVersions);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Whether every value is present and every string prints the same under any encoder.</summary>
    private static bool IsPlain(CniResult result)
    {
        if (result.Interfaces is null || result.Ips is null || result.Routes is null || result.Dns is null)
            return false;
        foreach (CniInterface? i in result.Interfaces)
        {
            if (i is null || i.Name is null || !IsPlain(i.Name) || !IsPlain(i.Mac) || !IsPlain(i.Sandbox) || !IsPlain(i.SocketPath) || !IsPlain(i.PciId))
                return false;
        }
        foreach (CniIPConfig? ip in result.Ips)
        {
            if (ip is null || ip.Address.Address is null)
                return false;
        }
        foreach (CniRoute? route in result.Routes)
        {
            if (route is null || route.Dst.Address is null)
                return false;
        }
        CniDns dns = result.Dns;
        return IsPlain(dns.Nameservers) && IsPlain(dns.Domain) && IsPlain(dns.Search) && IsPlain(dns.Options);
    }

    private static bool IsPlain(List<string>? values)
    {
        if (values is null)
            return false;
        foreach (string? value in values)
        {
            if (value is null || !IsPlain(value))
                return false;
        }
        return true;
    }

    private static bool IsPlain(string? value) => value is null || PlainJsonEncoder.IsPlain(value);


    private static void WriteIfNotEmpty(Utf8JsonWriter writer, ReadOnlySpan<byte> name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
            writer.WriteString(name, value);
    }

    private static void WriteIfNotEmpty(Utf8JsonWriter writer, ReadOnlySpan<byte> name, List<string> values)
    {
        if (values.Count == 0)
            return;
        writer.WriteStartArray(name);
        foreach (string value in values)
            writer.WriteStringValue(value);
        writer.WriteEndArray();
    }

    private static void WriteIfNotNull(Utf8JsonWriter writer, ReadOnlySpan<byte> name, int? value)
    {
        if (value is int number)
            writer.WriteNumber(name, number);
    }

    private static void WriteIfNotNull(Utf8JsonWriter writer, ReadOnlySpan<byte> name, IPAddress? value)
    {
        if (value is not null)
            writer.WriteString(name, value.ToString());
    }
}
