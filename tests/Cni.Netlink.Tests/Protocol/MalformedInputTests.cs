using Cni.Netlink.Protocol;
using Cni.Netlink.Sockets;
using Cni.Plugins.TestSupport;

namespace Cni.Netlink.Tests.Protocol;

/// <summary>Truncated or corrupted kernel messages fail with <see cref="NetlinkProtocolException"/> (or parse), never
/// with an index-out-of-range or a hang.</summary>
public class MalformedInputTests
{
    private static IEnumerable<byte[]> Samples()
    {
        foreach (string capture in new[] { "link-dump", "addr-dump", "route-dump-v4", "route-dump-v6", "error-vlan" })
            foreach (byte[] d in StraceCapture.Datagrams(GoldenCapture.ReplyPath(capture)))
                foreach (byte[] m in StraceCapture.Messages(d))
                    yield return m;
    }

    private static void ParseAll(byte[] datagram)
    {
        var reader = new NetlinkMessageReader(datagram);
        while (reader.TryRead(out NlMsgHdr hdr, out ReadOnlySpan<byte> message))
        {
            switch (hdr.Type)
            {
                case NlMsgType.NewLink: Link.Parse(message); RtNetlink.ParseBridgeVlans(message); break;
                case NlMsgType.NewAddr: Address.Parse(message); break;
                case NlMsgType.NewRoute: Cni.Netlink.Route.Parse(message); break;
                case NlMsgType.Error:
                    try { NetlinkConnection.ThrowIfError(message, new Operation("fuzz")); }
                    catch (NetlinkException) { }
                    break;
            }
        }
    }

    [Test]
    public void TruncationsAndBitFlipsNeverCrashTheParsers()
    {
        var random = new Random(20261129);
        int parsed = 0, rejected = 0;
        foreach (byte[] sample in Samples())
        {
            for (int i = 0; i < 40; i++)
            {
                byte[] mutated = (byte[])sample.Clone();
                if (i % 2 == 0)
                {
                    mutated = mutated[..random.Next(mutated.Length)];
                    // keep nlmsg_len consistent half of the time so the attribute walkers get exercised too
                    if (mutated.Length >= 4 && random.Next(2) == 0) BitConverter.TryWriteBytes(mutated, mutated.Length);
                }
                else
                {
                    mutated[16 + random.Next(Math.Max(1, mutated.Length - 16))] ^= (byte)(1 << random.Next(8));
                }
                try
                {
                    ParseAll(mutated);
                    parsed++;
                }
                catch (NetlinkProtocolException)
                {
                    rejected++;
                }
            }
        }
        Assert.That(parsed, Is.GreaterThan(0));
        Assert.That(rejected, Is.GreaterThan(0));
    }
}
