using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Cni.Netlink.Protocol;

namespace Cni.Netlink.Sockets;

/// <summary>Parses one reply message (header included) into a result.</summary>
internal delegate T ReplyParser<T>(ReadOnlySpan<byte> message);

/// <summary>
/// Request/response over one <see cref="INetlinkTransport"/>: stamps a fresh sequence number on each request,
/// reads the ACK or the error (errno plus extended-ACK text), reads multipart dumps until NLMSG_DONE and
/// restarts a dump the kernel marked NLM_F_DUMP_INTR. Replies whose sequence number or port id do not match
/// the request in flight are skipped. One request at a time: callers hold <see cref="Sync"/>.
/// </summary>
internal sealed class NetlinkConnection : IDisposable
{
    internal const int MaxDumpAttempts = 10;
    private const int ReceiveBufferSize = 64 * 1024;

    private readonly INetlinkTransport _transport;
    private readonly NetlinkBuffer _request = new();
    // Not from ArrayPool: a plugin opens two or three connections and disposes them at exit, and the pool's second
    // return of a same-size buffer makes the runtime calibrate its processor-id cache (3% of a bridge CHECK). The
    // buffer lives as long as the connection, so pooling saved nothing.
    private byte[] _receive = GC.AllocateUninitializedArray<byte>(ReceiveBufferSize);
    private uint _seq;

    internal NetlinkConnection(INetlinkTransport transport)
    {
        _transport = transport;
        _seq = (uint)Environment.TickCount;
    }

    internal Lock Sync { get; } = new();

    /// <summary>Clears and returns the request buffer; build exactly one message into it.</summary>
    internal NetlinkBuffer BeginRequest()
    {
        _request.Clear();
        return _request;
    }

    /// <summary>Sends the request built in the buffer and waits for its ACK.</summary>
    internal void Ack(in Operation operation)
    {
        uint seq = SendRequest();
        while (true)
        {
            int n = _transport.Receive(_receive);
            var reader = new NetlinkMessageReader(_receive.AsSpan(0, n));
            while (reader.TryRead(out NlMsgHdr hdr, out ReadOnlySpan<byte> message))
            {
                if (!IsOurs(in hdr, seq)) continue;
                if (hdr.Type == NlMsgType.Error)
                {
                    ThrowIfError(message, operation);
                    return;
                }
                // Echoed or unexpected replies before the ACK are ignored.
            }
        }
    }

    /// <summary>Sends a non-dump request that the kernel answers with one message (e.g. RTM_GETLINK by name); the
    /// request carries no NLM_F_ACK, so the reply or an NLMSG_ERROR ends it.</summary>
    internal T Get<T>(ReplyParser<T> parse, ushort replyType, in Operation operation)
    {
        uint seq = SendRequest();
        while (true)
        {
            int n = _transport.Receive(_receive);
            var reader = new NetlinkMessageReader(_receive.AsSpan(0, n));
            while (reader.TryRead(out NlMsgHdr hdr, out ReadOnlySpan<byte> message))
            {
                if (!IsOurs(in hdr, seq)) continue;
                if (hdr.Type == replyType)
                    return parse(message);
                if (hdr.Type == NlMsgType.Error)
                {
                    ThrowIfError(message, operation);
                    throw new NetlinkProtocolException($"{operation}: kernel sent an ACK but no reply");
                }
            }
        }
    }

    /// <summary>Sends the dump request built in the buffer and adds every reply of <paramref name="replyType"/> that
    /// <paramref name="parse"/> accepts (non-null) to <paramref name="results"/>. Restarts when the kernel reports
    /// that the dump was interrupted by a concurrent change.</summary>
    internal void Dump<T>(List<T> results, ReplyParser<T?> parse, ushort replyType, in Operation operation) where T : class
    {
        int start = results.Count;
        for (int attempt = 1; ; attempt++)
        {
            bool interrupted = false;
            uint seq = SendRequest();
            bool done = false;
            while (!done)
            {
                int n = _transport.Receive(_receive);
                var reader = new NetlinkMessageReader(_receive.AsSpan(0, n));
                while (reader.TryRead(out NlMsgHdr hdr, out ReadOnlySpan<byte> message))
                {
                    if (!IsOurs(in hdr, seq)) continue;
                    if ((hdr.Flags & NlmF.DumpIntr) != 0) interrupted = true;
                    if (hdr.Type == NlMsgType.Done)
                    {
                        ReadOnlySpan<byte> payload = NetlinkMessageReader.Payload(message);
                        int error = payload.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(payload) : 0;
                        if (error < 0)
                            throw new NetlinkException(-error, operation.ToString(), ExtAckMessage(payload[4..], (hdr.Flags & NlmF.AckTlvs) != 0));
                        done = true;
                        break;
                    }
                    if (hdr.Type == NlMsgType.Error)
                    {
                        ThrowIfError(message, operation);
                        done = true;
                        break;
                    }
                    if (hdr.Type == replyType)
                    {
                        T? item = parse(message);
                        if (item is not null) results.Add(item);
                    }
                }
            }
            if (!interrupted) return;
            if (attempt >= MaxDumpAttempts)
                throw new NetlinkException(Tmds.Linux.LibC.EINTR, operation.ToString(), $"dump interrupted {attempt} times by concurrent changes");
            results.RemoveRange(start, results.Count - start);
        }
    }

    private uint SendRequest()
    {
        uint seq = unchecked(++_seq);
        if (seq == 0) seq = ++_seq;
        Span<byte> span = _request.WrittenSpanMutable;
        // Stamp every message in the buffer (normally one).
        int offset = 0;
        while (offset + NlMsgHdr.Size <= span.Length)
        {
            ref NlMsgHdr hdr = ref MemoryMarshal.AsRef<NlMsgHdr>(span[offset..]);
            hdr.Seq = seq;
            hdr.Pid = 0;
            offset += NetlinkWriter.Align((int)hdr.Length);
        }
        _transport.Send(span);
        return seq;
    }

    private bool IsOurs(in NlMsgHdr hdr, uint seq) => hdr.Seq == seq && (hdr.Pid == _transport.PortId || hdr.Pid == 0);

    /// <summary>Throws for an NLMSG_ERROR carrying a negative errno; returns for an ACK (errno 0).</summary>
    internal static void ThrowIfError(ReadOnlySpan<byte> message, in Operation operation)
    {
        NlMsgHdr outer = MemoryMarshal.Read<NlMsgHdr>(message);
        ReadOnlySpan<byte> payload = NetlinkMessageReader.Payload(message);
        NlMsgErr err = NetlinkMessageReader.ReadStruct<NlMsgErr>(payload);
        if (err.Error == 0) return;
        string? text = null;
        if ((outer.Flags & NlmF.AckTlvs) != 0)
        {
            // In long: the echoed nlmsg_len is the kernel's word, and a huge one must not wrap to a negative offset.
            long tlvStart = (outer.Flags & NlmF.Capped) != 0 ? NlMsgErr.Size : 4 + ((err.Msg.Length + 3L) & ~3L);
            if (tlvStart <= payload.Length) text = ExtAckMessage(payload[(int)tlvStart..], true);
        }
        throw new NetlinkException(-err.Error, operation.ToString(), text);
    }

    private static string? ExtAckMessage(ReadOnlySpan<byte> tlvs, bool present)
    {
        if (!present) return null;
        var attrs = new AttributeReader(tlvs);
        while (attrs.TryRead(out ushort type, out ReadOnlySpan<byte> value))
        {
            if (type == NlmsgErrAttr.Msg) return AttributeReader.String(value);
        }
        return null;
    }

    public void Dispose()
    {
        _transport.Dispose();
        _request.Dispose();
        _receive = [];
    }
}
