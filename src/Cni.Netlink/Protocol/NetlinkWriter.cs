using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Cni.Netlink.Protocol;

/// <summary>
/// Writes one netlink message (header, fixed family header, attributes and nested attributes) into a
/// <see cref="NetlinkBuffer"/>. Lengths of the message and of nested attributes are patched when they end.
/// Nothing here allocates.
/// </summary>
internal ref struct NetlinkWriter
{
    private readonly NetlinkBuffer _buffer;
    private readonly int _messageStart;

    /// <summary>Starts a message of <paramref name="type"/> with <paramref name="flags"/> at the end of <paramref name="buffer"/>.
    /// Sequence number and port id are left 0: the socket stamps them when it sends.</summary>
    internal NetlinkWriter(NetlinkBuffer buffer, ushort type, ushort flags)
    {
        _buffer = buffer;
        _messageStart = buffer.Length;
        var hdr = new NlMsgHdr { Length = 0, Type = type, Flags = flags };
        WriteStruct(in hdr);
    }

    /// <summary>Finishes the message: writes nlmsg_len. Returns the message's offset in the buffer.</summary>
    internal readonly int End()
    {
        int length = _buffer.Length - _messageStart;
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.Array.AsSpan(_messageStart), (uint)length);
        return _messageStart;
    }

    /// <summary>Appends an unmanaged struct (a family header such as ifinfomsg) at 4-byte alignment.</summary>
    internal readonly void WriteStruct<T>(in T value) where T : unmanaged
    {
        int size = Unsafe.SizeOf<T>();
        Span<byte> span = Grow(Align(size));
        MemoryMarshal.Write(span, in value);
        span[size..].Clear();
    }

    internal readonly void WriteAttribute(ushort type, ReadOnlySpan<byte> value)
    {
        int length = 4 + value.Length;
        Span<byte> span = Grow(Align(length));
        BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)length);
        BinaryPrimitives.WriteUInt16LittleEndian(span[2..], type);
        value.CopyTo(span[4..]);
        span[length..].Clear();
    }

    internal readonly void WriteUInt32(ushort type, uint value)
    {
        Span<byte> v = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(v, value);
        WriteAttribute(type, v);
    }

    internal readonly void WriteInt32(ushort type, int value) => WriteUInt32(type, (uint)value);

    internal readonly void WriteUInt16(ushort type, ushort value)
    {
        Span<byte> v = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(v, value);
        WriteAttribute(type, v);
    }

    internal readonly void WriteUInt8(ushort type, byte value)
    {
        Span<byte> v = [value];
        WriteAttribute(type, v);
    }

    /// <summary>A string attribute, NUL-terminated (IFLA_IFNAME) or not (IFLA_INFO_KIND, as iproute2 sends it).</summary>
    internal readonly void WriteString(ushort type, string value, bool nulTerminated = true)
    {
        Span<byte> v = stackalloc byte[Encoding.UTF8.GetMaxByteCount(value.Length) + 1];
        int n = Encoding.UTF8.GetBytes(value, v);
        v[n] = 0;
        WriteAttribute(type, v[..(nulTerminated ? n + 1 : n)]);
    }

    /// <summary>An IP address attribute: 4 or 16 bytes in network order.</summary>
    internal readonly void WriteAddress(ushort type, IPAddress address)
    {
        Span<byte> v = stackalloc byte[16];
        address.TryWriteBytes(v, out int n);
        WriteAttribute(type, v[..n]);
    }

    /// <summary>Opens a nested attribute; pass the result to <see cref="EndNested"/>.</summary>
    internal readonly int BeginNested(ushort type)
    {
        int start = _buffer.Length;
        Span<byte> span = Grow(4);
        BinaryPrimitives.WriteUInt16LittleEndian(span[2..], type);
        return start;
    }

    internal readonly void EndNested(int start)
    {
        int length = _buffer.Length - start;
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer.Array.AsSpan(start), (ushort)length);
    }

    private readonly Span<byte> Grow(int count)
    {
        byte[] array = _buffer.Reserve(count);
        int at = _buffer.Length;
        _buffer.Length = at + count;
        return array.AsSpan(at, count);
    }

    internal static int Align(int length) => (length + 3) & ~3;

    internal static byte Family(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetworkV6 ? AddressFamilies.Inet6 : AddressFamilies.Inet;
}
