using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Serialization;
using Cni.Spec.Json;

namespace Cni.Spec;

/// <summary>
/// An IP address with a prefix length, host bits allowed: CNI's <c>"10.1.2.3/24"</c>
/// (<see cref="IPNetwork"/> refuses host bits, so CNI needs its own type).
/// </summary>
/// <param name="Address">The address, host bits included.</param>
/// <param name="PrefixLength">The prefix length: 0-32 for IPv4, 0-128 for IPv6.</param>
[JsonConverter(typeof(IPPrefixJsonConverter))]
public readonly record struct IPPrefix(IPAddress Address, int PrefixLength)
{
    /// <summary>The address family of <see cref="Address"/>.</summary>
    public AddressFamily Family => Address.AddressFamily;

    /// <summary>The number of bits of an address of this family (32 or 128).</summary>
    public int AddressBits => Family == AddressFamily.InterNetwork ? 32 : 128;

    /// <summary>The network: the same prefix with the host bits cleared.</summary>
    public IPPrefix Network => new(Mask(Address, PrefixLength), PrefixLength);

    /// <summary>True when <paramref name="address"/> is of the same family and inside this prefix.</summary>
    public bool Contains(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        return address.AddressFamily == Family && Mask(address, PrefixLength).Equals(Network.Address);
    }

    /// <summary>The prefix as <see cref="IPNetwork"/> (host bits cleared).</summary>
    public IPNetwork ToIPNetwork() => new(Network.Address, PrefixLength);

    /// <summary>Parses <c>"address/length"</c>; throws <see cref="FormatException"/> naming the text when invalid.</summary>
    public static IPPrefix Parse(string text) =>
        TryParse(text, out IPPrefix prefix) ? prefix : throw new FormatException($"invalid CIDR address: {text}");

    /// <summary>Parses <c>"address/length"</c> strictly, as Go's <c>net.ParseCIDR</c>.</summary>
    /// <param name="text">The text, e.g. <c>10.1.2.3/24</c> or <c>2001:db8::1/64</c>.</param>
    /// <param name="prefix">The parsed prefix.</param>
    /// <returns>True when valid.</returns>
    public static bool TryParse([NotNullWhen(true)] string? text, out IPPrefix prefix)
    {
        prefix = default;
        if (text is null)
            return false;
        int slash = text.IndexOf('/');
        if (slash <= 0 || slash == text.Length - 1)
            return false;
        ReadOnlySpan<char> lengthText = text.AsSpan(slash + 1);
        if (lengthText.Length > 3 || (lengthText.Length > 1 && lengthText[0] == '0'))
            return false;
        if (!int.TryParse(lengthText, NumberStyles.None, CultureInfo.InvariantCulture, out int length))
            return false;
        bool isV6Text = text.AsSpan(0, slash).Contains(':');
        if (!IPText.TryParseAddress(text.AsSpan(0, slash), out IPAddress? address))
            return false;
        int bits = isV6Text ? 128 : 32;
        if (length > bits)
            return false;
        if (isV6Text && address.AddressFamily == AddressFamily.InterNetwork)
        {
            // "::ffff:a.b.c.d/n": Go keeps a 128-bit mask; fold it onto IPv4 when the mask covers the mapping.
            if (length < 96)
                return false;
            length -= 96;
        }
        prefix = new IPPrefix(address, length);
        return true;
    }

    /// <summary>The CNI text form, <c>"10.1.2.3/24"</c>.</summary>
    public override string ToString() => Address is null ? "" : $"{Address}/{PrefixLength.ToString(CultureInfo.InvariantCulture)}";

    // Tolerant of a length out of range (a record can be built with any): it keeps every bit, or none.
    private static IPAddress Mask(IPAddress address, int prefixLength) =>
        IPArithmetic.Network(address, Math.Clamp(prefixLength, 0, IPArithmetic.BitsOf(address)));
}
