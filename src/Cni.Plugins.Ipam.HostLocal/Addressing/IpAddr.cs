using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Cni.Spec;

namespace Cni.Plugins.Ipam.HostLocal.Addressing;

/// <summary>
/// An IPv4 or IPv6 address as a 128-bit number, with the parsing and text form of Go's <c>net.IP</c>
/// (the reference plugin names its files with <c>ip.String()</c>, so the text must match byte for byte).
/// IPv4-mapped IPv6 addresses are folded onto IPv4, as Go's <c>To4()</c> does.
/// </summary>
internal readonly struct IpAddr : IEquatable<IpAddr>, IComparable<IpAddr>
{
    private IpAddr(UInt128 value, bool isV6)
    {
        Value = value;
        IsV6 = isV6;
    }

    /// <summary>The address as a number (IPv4 in the low 32 bits).</summary>
    public UInt128 Value { get; }

    /// <summary>True for IPv6.</summary>
    public bool IsV6 { get; }

    /// <summary>32 or 128.</summary>
    public int Bits => IsV6 ? 128 : 32;

    /// <summary>The largest value of this family.</summary>
    public UInt128 MaxValue => IsV6 ? UInt128.MaxValue : uint.MaxValue;

    public static IpAddr V4(uint value) => new(value, false);

    public static IpAddr V6(UInt128 value) => new(value, true);

    /// <summary>Same family, given value (truncated to the family's width).</summary>
    public IpAddr WithValue(UInt128 value) => new(value & MaxValue, IsV6);

    /// <summary>Go's <c>ip.NextIP</c>: the next address; wraps to zero after the last one.</summary>
    public IpAddr Next() => WithValue(Value + 1);

    /// <summary>The mask of a prefix length in this family.</summary>
    public UInt128 MaskOf(int prefixLength) => IPArithmetic.MaskOf(prefixLength, Bits);

    /// <summary>The address as host-local keeps it (an IPv4-mapped IPv6 address becomes IPv4, as Go's To4 does).</summary>
    public static IpAddr FromIPAddress(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        UInt128 value = IPArithmetic.ToNumber(address);
        return address.AddressFamily == AddressFamily.InterNetwork ? V4((uint)value) : V6(value);
    }

    /// <summary>The address as an <see cref="IPAddress"/>.</summary>
    public IPAddress ToIPAddress() =>
        IPArithmetic.FromNumber(Value, IsV6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork);

    public static bool TryParse(ReadOnlySpan<char> text, out IpAddr address)
    {
        address = default;
        if (text.IsEmpty || text.Length > 45)
            return false;
        if (text.Contains(':'))
        {
            foreach (char c in text)
            {
                if (!(char.IsAsciiHexDigit(c) || c is ':' or '.'))
                    return false; // no zones, brackets, blanks
            }
            int dot = text.IndexOf('.');
            if (dot >= 0)
            {
                // An embedded IPv4 tail must itself be strict dotted decimal.
                int lastColon = text.LastIndexOf(':');
                if (dot < lastColon || !TryParseV4(text[(lastColon + 1)..], out _))
                    return false;
            }
            if (!IPAddress.TryParse(text, out IPAddress? parsed) || parsed.AddressFamily != AddressFamily.InterNetworkV6)
                return false;
            address = FromIPAddress(parsed);
            return true;
        }
        if (!TryParseV4(text, out uint v4))
            return false;
        address = V4(v4);
        return true;
    }

    public static bool TryParse([NotNullWhen(true)] string? text, out IpAddr address)
    {
        address = default;
        return text is not null && TryParse(text.AsSpan(), out address);
    }

    /// <summary>Parses a file name (ASCII bytes) as an address.</summary>
    public static bool TryParseUtf8(ReadOnlySpan<byte> name, out IpAddr address)
    {
        address = default;
        if (name.Length is 0 or > 45)
            return false;
        Span<char> chars = stackalloc char[45];
        for (int i = 0; i < name.Length; i++)
        {
            if (name[i] >= 0x80)
                return false;
            chars[i] = (char)name[i];
        }
        return TryParse(chars[..name.Length], out address);
    }

    private static bool TryParseV4(ReadOnlySpan<char> text, out uint value)
    {
        value = 0;
        int parts = 0;
        int i = 0;
        while (true)
        {
            int start = i;
            uint part = 0;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                part = part * 10 + (uint)(text[i] - '0');
                i++;
                if (i - start > 3)
                    return false;
            }
            int digits = i - start;
            if (digits == 0 || part > 255 || (digits > 1 && text[start] == '0'))
                return false;
            value = (value << 8) | part;
            parts++;
            if (parts == 4)
                return i == text.Length;
            if (i >= text.Length || text[i] != '.')
                return false;
            i++;
        }
    }

    /// <summary>Go's <c>net.IP.String()</c>: dotted decimal, or RFC 5952 IPv6 (lower case, longest run of two or more zero groups as <c>::</c>).</summary>
    public override string ToString()
    {
        if (!IsV6)
        {
            uint v = (uint)Value;
            return string.Create(CultureInfo.InvariantCulture, $"{v >> 24}.{(v >> 16) & 0xff}.{(v >> 8) & 0xff}.{v & 0xff}");
        }
        Span<ushort> groups = stackalloc ushort[8];
        for (int g = 0; g < 8; g++)
            groups[g] = (ushort)(Value >> (112 - 16 * g));
        int bestStart = -1, bestLength = 0;
        for (int g = 0; g < 8;)
        {
            if (groups[g] != 0) { g++; continue; }
            int start = g;
            while (g < 8 && groups[g] == 0) g++;
            if (g - start > bestLength) { bestStart = start; bestLength = g - start; }
        }
        if (bestLength < 2)
            bestStart = -1;
        var sb = new StringBuilder(39);
        for (int g = 0; g < 8; g++)
        {
            if (g == bestStart)
            {
                sb.Append("::");
                g += bestLength - 1;
                continue;
            }
            if (sb.Length > 0 && sb[^1] != ':')
                sb.Append(':');
            sb.Append(groups[g].ToString("x", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    public bool Equals(IpAddr other) => Value == other.Value && IsV6 == other.IsV6;

    public override bool Equals(object? obj) => obj is IpAddr other && Equals(other);

    /// <summary>A cheap mix of the bits (a store's snapshot hashes tens of thousands of addresses per run).</summary>
    public override int GetHashCode()
    {
        ulong x = (ulong)Value ^ ((ulong)(Value >> 64) * 0xc2b2ae3d27d4eb4fUL) ^ (IsV6 ? 0x165667b19e3779f9UL : 0);
        x *= 0x9E3779B97F4A7C15UL;
        return (int)(x >> 32);
    }

    /// <summary>Orders IPv4 before IPv6, then numerically.</summary>
    public int CompareTo(IpAddr other) => IsV6 != other.IsV6 ? IsV6.CompareTo(other.IsV6) : Value.CompareTo(other.Value);

    public static bool operator ==(IpAddr a, IpAddr b) => a.Equals(b);
    public static bool operator !=(IpAddr a, IpAddr b) => !a.Equals(b);
    public static bool operator <(IpAddr a, IpAddr b) => a.CompareTo(b) < 0;
    public static bool operator >(IpAddr a, IpAddr b) => a.CompareTo(b) > 0;
    public static bool operator <=(IpAddr a, IpAddr b) => a.CompareTo(b) <= 0;
    public static bool operator >=(IpAddr a, IpAddr b) => a.CompareTo(b) >= 0;
}
