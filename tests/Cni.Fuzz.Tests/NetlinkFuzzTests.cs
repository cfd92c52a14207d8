using System.Buffers.Binary;
using System.Net.Sockets;
using Cni.Fuzz.Tests.Fuzzing;
using Cni.Netlink;
using Cni.Netlink.Protocol;
using Cni.Netlink.Sockets;
using Cni.Netlink.Tests.Protocol;
using Cni.Plugins.TestSupport;

namespace Cni.Fuzz.Tests;

/// <summary>
/// Cni.Netlink's reply parsers with kernel replies (captured with strace) mutated: truncated, with lying lengths,
/// flipped bits, spliced attributes. Read directly, and through the connection (ACKs, errors with extended-ACK text,
/// multipart dumps) over the fake transport. Every reply parses or fails with <see cref="NetlinkProtocolException"/>
/// (or the <see cref="NetlinkException"/> an error reply carries), never hangs.
/// </summary>
public class NetlinkFuzzTests
{
    private static List<byte[]> Datagrams() =>
        Directory.GetFiles(Path.Combine(Corpus.Dir, "netlink"), "*.strace").Order(StringComparer.Ordinal)
            .SelectMany(StraceCapture.Datagrams).ToList();

    private static List<byte[]> Messages() => Datagrams().SelectMany(StraceCapture.Messages).ToList();

    /// <summary>Every parser on every message of a datagram, whatever its type says.</summary>
    internal static void ParseAll(byte[] datagram)
    {
        var reader = new NetlinkMessageReader(datagram);
        while (reader.TryRead(out NlMsgHdr hdr, out ReadOnlySpan<byte> span))
        {
            byte[] message = span.ToArray();
            // The type byte is mutated too: try each parser, as a confused kernel reply would reach any of them.
            Attempt(() => Link.Parse(message));
            Attempt(() => RtNetlink.ParseBridgeVlans(message));
            Attempt(() => Address.Parse(message));
            Attempt(() => Cni.Netlink.Route.Parse(message));
            Attempt(() => Neighbor.Parse(message));
            if (hdr.Type == NlMsgType.Error)
                Attempt(() => NetlinkConnection.ThrowIfError(message, new Operation("fuzz")));
        }
    }

    /// <summary>Runs a parser; its documented refusals are fine, anything else propagates.</summary>
    private static void Attempt(Action parse)
    {
        try
        {
            parse();
        }
        catch (Exception ex) when (Documented.Netlink(ex))
        {
        }
    }

    [Test]
    public void ReplyParsersParseOrRefuseEveryMutatedMessage()
    {
        FuzzRun.Run("netlink parsers", Messages(), (input, unused) => ParseAll(input), Documented.Netlink, iterations: FuzzRun.Iterations(20000));
    }

    [Test]
    public void MutatedDatagramsOfSeveralMessagesParseOrAreRefused()
    {
        FuzzRun.Run("netlink datagrams", Datagrams(), (input, unused) => ParseAll(input), Documented.Netlink, iterations: FuzzRun.Iterations(10000));
    }

    private static readonly Action<RtNetlink>[] Operations =
    [
        nl => nl.ListLinks(),
        nl => nl.ListAddresses(),
        nl => nl.ListAddresses(2, AddressFamily.InterNetworkV6),
        nl => nl.ListRoutes(AddressFamily.InterNetwork),
        nl => nl.ListRoutes(AddressFamily.InterNetworkV6),
        nl => nl.ListNeighbors(),
        nl => nl.ListBridgeVlans(),
        nl => nl.GetLink("eth0"),
        nl => nl.GetLink(2),
        nl => nl.FindLink("eth0"),
        nl => nl.SetLinkUp(2),
        nl => nl.DeleteLink("veth0"),
    ];

    /// <summary>The connection and RtNetlink, answered with mutated kernel replies: the sequence number and port are
    /// fixed up where the (possibly lying) lengths put them, so the replies count as answers to the request.</summary>
    [Test]
    public void RequestsAnsweredWithMutatedRepliesSucceedOrFailWithANetlinkError()
    {
        FuzzRun.Run("RtNetlink over fake transport", Datagrams(), (input, mutator) =>
        {
            var transport = new FakeTransport();
            transport.Replies.Enqueue(seq => Readdress(input, seq));
            byte[]? second = mutator.Next(2) == 0 ? mutator.Next() : null;
            if (second is not null)
                transport.Replies.Enqueue(seq => Readdress(second, seq));
            int operation = mutator.Next(Operations.Length);
            FuzzRun.Note($"operation {operation}, second reply {(second is null ? "none" : Convert.ToBase64String(second))}");
            using var nl = new RtNetlink(transport);
            Operations[operation](nl);
        }, Documented.Netlink, iterations: FuzzRun.Iterations(10000));
    }

    /// <summary><paramref name="datagram"/> with every message's sequence number and port set to the request's, as far as its lengths allow.</summary>
    private static byte[] Readdress(byte[] datagram, uint seq)
    {
        byte[] copy = (byte[])datagram.Clone();
        int offset = 0;
        while (offset + 16 <= copy.Length)
        {
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(copy.AsSpan(offset));
            BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(offset + 8), seq);
            BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(offset + 12), FakeTransport.Port);
            if (length < 16)
                break;
            offset += (int)Math.Min((length + 3L) & ~3L, copy.Length); // in long: 0xffffffff must not wrap to 0
        }
        return copy;
    }
}
