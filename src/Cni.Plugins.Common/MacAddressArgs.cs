using System.Globalization;
using System.Net.NetworkInformation;
using System.Text.Json.Nodes;
using Cni.Spec;

namespace Cni.Plugins.Common;

/// <summary>
/// The MAC address a runtime asks for, from the three places the reference reads it, later ones winning:
/// <c>CNI_ARGS</c> <c>MAC=</c>, <c>args.cni.mac</c>, then <c>runtimeConfig.mac</c> (capability <c>mac</c>).
/// </summary>
public static class MacAddressArgs
{
    /// <summary>The <c>CNI_ARGS</c> key.</summary>
    public const string CniArgsKey = "MAC";

    /// <summary>The requested MAC, or null when none is given. Throws <see cref="CniException"/> (invalid configuration, 7)
    /// naming the source when the text is not a unicast MAC address (see <see cref="Parse"/>).</summary>
    public static PhysicalAddress? Resolve(CniRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        (string Source, string? Text)[] candidates =
        [
            ("runtimeConfig.mac", StringAt(request.Config.RuntimeConfig, "mac")),
            ("args.cni.mac", StringAt(request.Config.Args?["cni"] as JsonObject, "mac")),
            ("CNI_ARGS MAC", request.Args.Get(CniArgsKey)),
        ];
        foreach ((string source, string? text) in candidates)
        {
            if (!string.IsNullOrEmpty(text))
                return Parse(text, source);
        }
        return null;
    }

    /// <summary>
    /// Parses <paramref name="text"/> as a MAC an interface can be given: six hex bytes (see <see cref="TryParse"/>) that
    /// are neither multicast (least significant bit of the first byte set) nor all zeros, which the kernel would refuse
    /// only after links exist.
    /// </summary>
    /// <param name="text">The MAC text.</param>
    /// <param name="source">Where it came from, for the message (e.g. <c>runtimeConfig.mac</c>, <c>mac</c>).</param>
    /// <exception cref="CniException">Invalid configuration (7), naming <paramref name="source"/>.</exception>
    public static PhysicalAddress Parse(string text, string source)
    {
        if (!TryParse(text, out PhysicalAddress? mac))
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid MAC address \"{text}\" ({source}): expected six hex bytes like 0a:58:0a:01:02:03");
        ReadOnlySpan<byte> bytes = mac.GetAddressBytes();
        if ((bytes[0] & 0x01) != 0)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid MAC address \"{text}\" ({source}): a multicast address cannot be an interface's address (the first byte must be even)");
        if (!bytes.ContainsAnyExcept((byte)0))
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid MAC address \"{text}\" ({source}): the all-zero address cannot be an interface's address");
        return mac;
    }

    /// <summary>Parses a 6-byte MAC written with ':' or '-' separators (as Go's net.ParseMAC for Ethernet); only the
    /// syntax is checked: <see cref="Parse"/> also rejects multicast and all-zero addresses.</summary>
    public static bool TryParse(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PhysicalAddress? mac)
    {
        mac = null;
        if (text is null)
            return false;
        string[] parts = text.Split(text.Contains('-') ? '-' : ':');
        if (parts.Length != 6)
            return false;
        byte[] bytes = new byte[6];
        for (int i = 0; i < 6; i++)
        {
            if (parts[i].Length != 2 || !byte.TryParse(parts[i], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out bytes[i]))
                return false;
        }
        mac = new PhysicalAddress(bytes);
        return true;
    }

    private static string? StringAt(JsonObject? obj, string key) =>
        obj is not null && obj.TryGetPropertyValue(key, out JsonNode? node) && node is JsonValue v && v.TryGetValue(out string? s) ? s : null;
}
