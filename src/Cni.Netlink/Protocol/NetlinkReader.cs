using System.Buffers.Binary;
using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Cni.Netlink.Protocol;

/// <summary>Walks the netlink messages in a received datagram.</summary>
internal ref struct NetlinkMessageReader(ReadOnlySpan<byte> data)
{
    private ReadOnlySpan<byte> _rest = data;

    /// <summary>Reads the next message; <paramref name="message"/> is the whole message including its header.</summary>
    internal bool TryRead(out NlMsgHdr header, out ReadOnlySpan<byte> message)
    {
        if (_rest.Length < NlMsgHdr.Size)
        {
            header = default;
            message = default;
            return false;
        }
        header = MemoryMarshal.Read<NlMsgHdr>(_rest);
        if (header.Length < NlMsgHdr.Size || header.Length > _rest.Length)
            throw new NetlinkProtocolException($"truncated netlink message: nlmsg_len {header.Length}, {_rest.Length} bytes left");
        message = _rest[..(int)header.Length];
        int next = Math.Min(NetlinkWriter.Align((int)header.Length), _rest.Length);
        _rest = _rest[next..];
        return true;
    }

    /// <summary>The payload after the nlmsghdr.</summary>
    internal static ReadOnlySpan<byte> Payload(ReadOnlySpan<byte> message) => message[NlMsgHdr.Size..];

    /// <summary>Reads a fixed family header at the start of a payload.</summary>
    internal static T ReadStruct<T>(ReadOnlySpan<byte> payload) where T : unmanaged
    {
        if (payload.Length < Unsafe.SizeOf<T>())
            throw new NetlinkProtocolException($"message too short for {typeof(T).Name}");
        return MemoryMarshal.Read<T>(payload);
    }
}

/// <summary>Walks a run of netlink attributes (rtattr/nlattr) without allocating.</summary>
internal ref struct AttributeReader(ReadOnlySpan<byte> data)
{
    private ReadOnlySpan<byte> _rest = data;

    /// <summary>Reads the next attribute. <paramref name="type"/> has NLA_F_NESTED and NLA_F_NET_BYTEORDER masked off.</summary>
    internal bool TryRead(out ushort type, out ReadOnlySpan<byte> value)
    {
        if (_rest.Length < 4)
        {
            type = 0;
            value = default;
            return false;
        }
        ushort length = BinaryPrimitives.ReadUInt16LittleEndian(_rest);
        ushort rawType = BinaryPrimitives.ReadUInt16LittleEndian(_rest[2..]);
        if (length < 4 || length > _rest.Length)
            throw new NetlinkProtocolException($"malformed attribute {rawType & Nla.TypeMask}: length {length}, {_rest.Length} bytes left");
        type = (ushort)(rawType & Nla.TypeMask);
        value = _rest[4..length];
        _rest = _rest[Math.Min(NetlinkWriter.Align(length), _rest.Length)..];
        return true;
    }

    internal static uint U32(ReadOnlySpan<byte> v) => v.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(v) : 0;
    internal static ushort U16(ReadOnlySpan<byte> v) => v.Length >= 2 ? BinaryPrimitives.ReadUInt16LittleEndian(v) : (ushort)0;
    internal static byte U8(ReadOnlySpan<byte> v) => v.Length >= 1 ? v[0] : (byte)0;

    internal static string String(ReadOnlySpan<byte> v)
    {
        int nul = v.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul >= 0 ? v[..nul] : v);
    }

    internal static IPAddress? Address(ReadOnlySpan<byte> v) => v.Length is 4 or 16 ? new IPAddress(v) : null;
}

