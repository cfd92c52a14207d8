using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Cni.Spec;

/// <summary>
/// Address arithmetic on <see cref="IPAddress"/> shared by the plugins: an address as a number and back, the next
/// address, the network and the last address of a prefix. IPv4 addresses are 32-bit numbers, IPv6 ones 128-bit;
/// results keep the family of their input, and arithmetic wraps within it, as Go's <c>ip.NextIP</c> does.
/// </summary>
public static class IPArithmetic
{
    /// <summary>The number of bits of an address of <paramref name="address"/>'s family: 32 or 128.</summary>
    /// <param name="address">An IPv4 or IPv6 address.</param>
    public static int BitsOf(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
    }

    /// <summary>The address as an unsigned number (big-endian bytes: <c>10.0.0.1</c> is 0x0A000001).</summary>
    /// <param name="address">An IPv4 or IPv6 address.</param>
    public static UInt128 ToNumber(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int written);
        return written == 4 ? BinaryPrimitives.ReadUInt32BigEndian(bytes) : BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    /// <summary>The address numbered <paramref name="value"/> in <paramref name="family"/> (IPv4 keeps the low 32 bits).</summary>
    /// <param name="value">The number, as <see cref="ToNumber"/> gives it.</param>
    /// <param name="family"><see cref="AddressFamily.InterNetwork"/> or <see cref="AddressFamily.InterNetworkV6"/>.</param>
    public static IPAddress FromNumber(UInt128 value, AddressFamily family)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (family == AddressFamily.InterNetwork)
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)value);
            return new IPAddress(bytes[..4]);
        }
        if (family != AddressFamily.InterNetworkV6)
            throw new ArgumentOutOfRangeException(nameof(family), family, "only IPv4 and IPv6 addresses");
        BinaryPrimitives.WriteUInt128BigEndian(bytes, value);
        return new IPAddress(bytes);
    }

    /// <summary>The mask of <paramref name="prefixLength"/> leading bits in an address of <paramref name="bits"/> bits.</summary>
    /// <param name="prefixLength">0 to <paramref name="bits"/>.</param>
    /// <param name="bits">32 or 128.</param>
    public static UInt128 MaskOf(int prefixLength, int bits)
    {
        if (bits is not (32 or 128))
            throw new ArgumentOutOfRangeException(nameof(bits), bits, "must be 32 or 128");
        ArgumentOutOfRangeException.ThrowIfNegative(prefixLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(prefixLength, bits);
        UInt128 all = bits == 32 ? uint.MaxValue : UInt128.MaxValue;
        return prefixLength == 0 ? UInt128.Zero : (all << (bits - prefixLength)) & all;
    }

    /// <summary>The address after <paramref name="address"/>; the last address of the family wraps to the first.</summary>
    /// <param name="address">An IPv4 or IPv6 address.</param>
    public static IPAddress Next(IPAddress address) => Add(address, 1);

    /// <summary><paramref name="address"/> plus <paramref name="offset"/>, wrapping within the family.</summary>
    /// <param name="address">An IPv4 or IPv6 address.</param>
    /// <param name="offset">How far to move up.</param>
    public static IPAddress Add(IPAddress address, UInt128 offset) =>
        FromNumber(ToNumber(address) + offset, address.AddressFamily);

    /// <summary>The first address of the prefix: <paramref name="address"/> with its host bits cleared.</summary>
    /// <param name="address">An IPv4 or IPv6 address.</param>
    /// <param name="prefixLength">0 to 32 (IPv4) or 128 (IPv6).</param>
    public static IPAddress Network(IPAddress address, int prefixLength) =>
        FromNumber(ToNumber(address) & MaskOf(prefixLength, BitsOf(address)), address.AddressFamily);

    /// <summary>The last address of the prefix: <paramref name="address"/> with its host bits set (the IPv4 broadcast address).</summary>
    /// <param name="address">An IPv4 or IPv6 address.</param>
    /// <param name="prefixLength">0 to 32 (IPv4) or 128 (IPv6).</param>
    public static IPAddress LastAddress(IPAddress address, int prefixLength)
    {
        int bits = BitsOf(address);
        UInt128 all = bits == 32 ? uint.MaxValue : UInt128.MaxValue;
        return FromNumber(ToNumber(address) | (~MaskOf(prefixLength, bits) & all), address.AddressFamily);
    }
}
