using System.Buffers.Binary;
using Cni.Netlink.Sockets;

namespace Cni.Netlink.Tests.Protocol;

/// <summary>Records what the library sends and answers like a kernel that accepts everything:
/// an ACK, NLMSG_DONE for dumps, a minimal RTM_NEWLINK for single RTM_GETLINK requests, or queued canned replies.</summary>
internal sealed class FakeTransport : INetlinkTransport
{
    public const uint Port = 4242;
    public List<byte[]> Sent { get; } = [];
    public Queue<Func<uint, byte[]>> Replies { get; } = new();
    public uint PortId => Port;

    public void Send(ReadOnlySpan<byte> datagram) => Sent.Add(datagram.ToArray());

    public int Receive(Span<byte> buffer)
    {
        byte[] last = Sent[^1];
        uint seq = BinaryPrimitives.ReadUInt32LittleEndian(last.AsSpan(8));
        byte[] reply;
        if (Replies.Count > 0) reply = Replies.Dequeue()(seq);
        else
        {
            ushort type = BinaryPrimitives.ReadUInt16LittleEndian(last.AsSpan(4));
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(last.AsSpan(6));
            if ((flags & 0x300) == 0x300 && type is 18 or 22 or 26) reply = Message(3, 2, seq, new byte[4]);
            else if (type == 18) reply = Message(16, 0, seq, last.AsSpan(16, 16).ToArray());
            else reply = Ack(seq, 0);
        }
        reply.CopyTo(buffer);
        return reply.Length;
    }

    public static byte[] Message(ushort type, ushort flags, uint seq, byte[] payload)
    {
        byte[] m = new byte[16 + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(m, (uint)m.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(4), type);
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(6), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(8), seq);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(12), Port);
        payload.CopyTo(m, 16);
        return m;
    }

    public static byte[] Ack(uint seq, int errno)
    {
        byte[] payload = new byte[20];
        BinaryPrimitives.WriteInt32LittleEndian(payload, -errno);
        return Message(2, 0x100, seq, payload);
    }

    public void Dispose() { }
}
