using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Serialization;
using Cni.Spec;

namespace Cni.Plugins.Sbr;

/// <summary>The sbr plugin's own keys in the network configuration, with the reference's names.</summary>
public sealed class SbrConfig
{
    /// <summary>
    /// <c>table</c>: when set, every address of the interface gets a rule <c>from ADDR lookup TABLE</c> and nothing else
    /// happens (the routes are expected in that table already, e.g. from IPAM routes with <c>table</c>). When absent,
    /// each address gets a free table from 100 up and the interface's routes move there from the main table.
    /// </summary>
    [JsonPropertyName("table")] public long? Table { get; set; }

    /// <summary><c>gateways</c>: at most one IPv4 and one IPv6 gateway used for the default route of each table instead
    /// of the gateways of <c>prevResult</c>.</summary>
    [JsonPropertyName("gateways")] public List<string?>? Gateways { get; set; }

    /// <summary><c>addSourceHints</c>: keep the subnet routes in the main table (with the address as preferred source)
    /// instead of moving every route of the interface out of it.</summary>
    [JsonPropertyName("addSourceHints")] public bool AddSourceHints { get; set; }
}

/// <summary>Source-generated JSON metadata for the sbr configuration (keys case-insensitive, as Go's decoder).</summary>
[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, NumberHandling = JsonNumberHandling.Strict, GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(SbrConfig))]
internal sealed partial class SbrJsonContext : JsonSerializerContext;

/// <summary>A validated sbr configuration.</summary>
/// <param name="Table">The fixed table (the <c>table</c> key), or null to pick free tables from <see cref="SbrPlugin.FirstTableId"/>.</param>
/// <param name="GatewayV4">The static IPv4 gateway (<c>gateways</c>), or null.</param>
/// <param name="GatewayV6">The static IPv6 gateway (<c>gateways</c>), or null.</param>
/// <param name="AddSourceHints">Keep subnet routes in main with a source hint (<c>addSourceHints</c>).</param>
public sealed record SbrSettings(uint? Table, IPAddress? GatewayV4, IPAddress? GatewayV6, bool AddSourceHints)
{
    /// <summary>Reads and validates the sbr keys of <paramref name="request"/>.</summary>
    /// <exception cref="CniException">Decoding failure (6) or invalid configuration (7), naming the field.</exception>
    public static SbrSettings Load(CniRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        SbrConfig o = request.GetOptions<SbrConfig>(SbrJsonContext.Default);
        uint? table = null;
        if (o.Table is long t)
        {
            // 0 is RT_TABLE_UNSPEC, which the kernel refuses for a lookup rule; ids are 32-bit.
            if (t < 1 || t > uint.MaxValue)
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid table {t} (table): must be a routing table id from 1 to {uint.MaxValue}");
            table = (uint)t;
        }
        IPAddress? v4 = null, v6 = null;
        if (o.Gateways is { } gateways)
        {
            if (gateways.Count > 2)
                throw new CniException(CniErrorCode.InvalidNetworkConfig, "gateways list cannot contain more than 2 entries (one IPv4, one IPv6) (gateways)");
            for (int i = 0; i < gateways.Count; i++)
            {
                string text = gateways[i] ?? "";
                IPAddress ip = ParseIp(text) ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid static gateway IP address: \"{text}\" (gateways[{i}])");
                if (ip.AddressFamily == AddressFamily.InterNetwork)
                {
                    if (v4 is not null)
                        throw new CniException(CniErrorCode.InvalidNetworkConfig, $"gateways list contains multiple IPv4 addresses: {v4} and {ip} (gateways[{i}])");
                    v4 = ip;
                }
                else
                {
                    if (v6 is not null)
                        throw new CniException(CniErrorCode.InvalidNetworkConfig, $"gateways list contains multiple IPv6 addresses: {v6} and {ip} (gateways[{i}])");
                    v6 = ip;
                }
            }
        }
        return new SbrSettings(table, v4, v6, o.AddSourceHints);
    }

    /// <summary>An IP address as Go's <c>net.ParseIP</c> accepts it: dotted quad (no leading zeros) or IPv6 without a zone;
    /// IPv4-mapped IPv6 counts as IPv4. Null when not an address.</summary>
    internal static IPAddress? ParseIp(string text)
    {
        if (text.Contains(':'))
        {
            if (text.Contains('%') || !IPAddress.TryParse(text, out IPAddress? v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
                return null;
            return v6.IsIPv4MappedToIPv6 ? v6.MapToIPv4() : v6;
        }
        string[] parts = text.Split('.');
        if (parts.Length != 4)
            return null;
        byte[] bytes = new byte[4];
        for (int i = 0; i < 4; i++)
        {
            string p = parts[i];
            if (p.Length is 0 or > 3 || (p.Length > 1 && p[0] == '0') || !p.All(char.IsAsciiDigit)
                || !int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v > 255)
                return null;
            bytes[i] = (byte)v;
        }
        return new IPAddress(bytes);
    }

    /// <summary>The static gateway for <paramref name="family"/>, or null.</summary>
    public IPAddress? StaticGateway(AddressFamily family) => family == AddressFamily.InterNetwork ? GatewayV4 : GatewayV6;
}
