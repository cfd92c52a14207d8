using System.Net;
using System.Net.Sockets;

namespace Cni.Spec;

/// <summary>Strict IP address text parsing, as Go's <c>net.ParseIP</c>: dotted-quad IPv4 or IPv6, no zones, no shorthand.</summary>
public static class IPText
{
    /// <summary>Parses <paramref name="text"/> as a plain IPv4 (four decimal octets) or IPv6 address.</summary>
    /// <param name="text">The text to parse.</param>
    /// <param name="address">The address, IPv4-mapped IPv6 addresses folded to IPv4 as Go does.</param>
    /// <returns>True when the text is a valid address.</returns>
    public static bool TryParseAddress(ReadOnlySpan<char> text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        if (text.IsEmpty || text.Length > 45)
            return false;
        if (text.Contains(':'))
        {
            if (text.Contains('%') || text.Contains('/') || !IPAddress.TryParse(text, out IPAddress? v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
                return false;
            address = v6.IsIPv4MappedToIPv6 ? v6.MapToIPv4() : v6;
            return true;
        }
        return TryParseIPv4(text, out address);
    }

    /// <summary>Parses <paramref name="text"/> like <see cref="TryParseAddress"/> or returns null.</summary>
    public static IPAddress? ParseAddressOrNull(string? text) =>
        text is not null && TryParseAddress(text, out IPAddress? address) ? address : null;

    private static bool TryParseIPv4(ReadOnlySpan<char> text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        Span<byte> bytes = stackalloc byte[4];
        int part = 0;
        foreach (Range range in text.Split('.'))
        {
            ReadOnlySpan<char> octet = text[range];
            if (part == 4 || octet.IsEmpty || octet.Length > 3 || (octet.Length > 1 && octet[0] == '0'))
                return false;
            int value = 0;
            foreach (char c in octet)
            {
                if (c is < '0' or > '9')
                    return false;
                value = value * 10 + (c - '0');
            }
            if (value > 255)
                return false;
            bytes[part++] = (byte)value;
        }
        if (part != 4)
            return false;
        address = new IPAddress(bytes);
        return true;
    }
}
