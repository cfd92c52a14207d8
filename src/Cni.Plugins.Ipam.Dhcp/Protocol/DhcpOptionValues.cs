using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Cni.Spec;

namespace Cni.Plugins.Ipam.Dhcp.Protocol;

/// <summary>A classless static route (option 121): destination prefix and router (0.0.0.0 for on-link).</summary>
public readonly record struct ClasslessRoute(IPPrefix Destination, IPAddress Router);

/// <summary>Encoders and decoders of DHCPv4 option values (RFC 2132, RFC 3442). Decoders throw
/// <see cref="FormatException"/> naming the option for a value of the wrong shape.</summary>
public static class DhcpOptionValues
{
    /// <summary>Four bytes of an IPv4 address.</summary>
    public static byte[] Address(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.AddressFamily != AddressFamily.InterNetwork)
            throw new ArgumentException($"{address} is not an IPv4 address", nameof(address));
        return address.GetAddressBytes();
    }

    /// <summary>Addresses one after the other.</summary>
    public static byte[] Addresses(IEnumerable<IPAddress> addresses) => addresses.SelectMany(Address).ToArray();

    /// <summary>A 32-bit big-endian number of seconds (lease time, T1, T2).</summary>
    public static byte[] Seconds(uint seconds)
    {
        byte[] value = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(value, seconds);
        return value;
    }

    /// <summary>A subnet mask for a prefix length.</summary>
    public static byte[] SubnetMask(int prefixLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(prefixLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(prefixLength, 32);
        return Seconds(prefixLength == 0 ? 0 : uint.MaxValue << (32 - prefixLength));
    }

    /// <summary>The client identifier option value: type 0 (not a hardware address) then the identifier text, at most
    /// 254 bytes of it, as the reference builds it from <c>containerID/network/ifname</c>.</summary>
    public static byte[] ClientIdentifier(string identifier)
    {
        byte[] text = System.Text.Encoding.UTF8.GetBytes(identifier);
        byte[] value = new byte[1 + Math.Min(text.Length, 254)];
        text.AsSpan(0, value.Length - 1).CopyTo(value.AsSpan(1));
        return value;
    }

    /// <summary>Reads one IPv4 address (options 1, 50, 54).</summary>
    public static IPAddress ParseAddress(byte[] value, DhcpOptionCode code)
    {
        if (value.Length != 4)
            throw new FormatException($"DHCP option {(byte)code} ({code}) has {value.Length} bytes, not 4");
        return new IPAddress(value);
    }

    /// <summary>Reads a list of IPv4 addresses (options 3, 6).</summary>
    public static IReadOnlyList<IPAddress> ParseAddresses(byte[] value, DhcpOptionCode code)
    {
        if (value.Length == 0 || value.Length % 4 != 0)
            throw new FormatException($"DHCP option {(byte)code} ({code}) has {value.Length} bytes, not a multiple of 4");
        var list = new List<IPAddress>(value.Length / 4);
        for (int at = 0; at < value.Length; at += 4)
            list.Add(new IPAddress(value.AsSpan(at, 4)));
        return list;
    }

    /// <summary>Reads a 32-bit number of seconds (options 51, 58, 59).</summary>
    public static uint ParseSeconds(byte[] value, DhcpOptionCode code)
    {
        if (value.Length != 4)
            throw new FormatException($"DHCP option {(byte)code} ({code}) has {value.Length} bytes, not 4");
        return BinaryPrimitives.ReadUInt32BigEndian(value);
    }

    /// <summary>The prefix length of a subnet mask (option 1); a mask whose ones are not contiguous is refused.</summary>
    public static int ParsePrefixLength(byte[] value)
    {
        uint mask = ParseSeconds(value, DhcpOptionCode.SubnetMask);
        int ones = System.Numerics.BitOperations.PopCount(mask);
        if (ones != 0 && mask != uint.MaxValue << (32 - ones))
            throw new FormatException($"DHCP option 1 (SubnetMask) {new IPAddress(value)} is not a contiguous mask");
        return ones;
    }

    /// <summary>Encodes classless static routes (option 121): per route the prefix length, the significant octets
    /// of the destination, and the router.</summary>
    public static byte[] ClasslessRoutes(IEnumerable<ClasslessRoute> routes)
    {
        var bytes = new List<byte>();
        foreach (ClasslessRoute route in routes)
        {
            int length = route.Destination.PrefixLength;
            bytes.Add((byte)length);
            bytes.AddRange(Address(route.Destination.Network.Address).AsSpan(0, (length + 7) / 8).ToArray());
            bytes.AddRange(Address(route.Router));
        }
        return bytes.ToArray();
    }

    /// <summary>Decodes classless static routes (option 121).</summary>
    public static IReadOnlyList<ClasslessRoute> ParseClasslessRoutes(byte[] value)
    {
        var routes = new List<ClasslessRoute>();
        int at = 0;
        while (at < value.Length)
        {
            int length = value[at++];
            if (length > 32)
                throw new FormatException($"DHCP option 121 (ClasslessStaticRoute) has a prefix length of {length}");
            int significant = (length + 7) / 8;
            if (at + significant + 4 > value.Length)
                throw new FormatException($"DHCP option 121 (ClasslessStaticRoute) is cut short at byte {at}");
            byte[] destination = new byte[4];
            value.AsSpan(at, significant).CopyTo(destination);
            at += significant;
            var router = new IPAddress(value.AsSpan(at, 4));
            at += 4;
            routes.Add(new ClasslessRoute(new IPPrefix(new IPAddress(destination), length).Network, router));
        }
        return routes;
    }

    /// <summary>Decodes static routes (option 33): destination and router pairs, the destination's prefix taken from
    /// its address class as the reference does.</summary>
    public static IReadOnlyList<ClasslessRoute> ParseStaticRoutes(byte[] value)
    {
        var routes = new List<ClasslessRoute>();
        for (int at = 0; at + 8 <= value.Length; at += 8)
        {
            var destination = new IPAddress(value.AsSpan(at, 4));
            byte first = value[at];
            int length = first < 128 ? 8 : first < 192 ? 16 : 24;
            routes.Add(new ClasslessRoute(new IPPrefix(destination, length), new IPAddress(value.AsSpan(at + 4, 4))));
        }
        return routes;
    }
}
