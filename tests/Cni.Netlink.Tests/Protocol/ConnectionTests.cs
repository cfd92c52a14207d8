using System.Buffers.Binary;
using System.Text;
using Cni.Netlink.Protocol;
using Cni.Plugins.TestSupport;

namespace Cni.Netlink.Tests.Protocol;

/// <summary>The request/response rules of the socket layer, against a scripted fake kernel.</summary>
public class ConnectionTests
{
    private static byte[] LinkMessage(uint seq, ushort flags, int index, string name)
    {
        var buffer = new NetlinkBuffer();
        var w = new NetlinkWriter(buffer, NlMsgType.NewLink, flags);
        w.WriteStruct(new IfInfoMsg { Index = index });
        w.WriteString(Ifla.IfName, name);
        w.WriteUInt32(999, 0xdeadbeef); // an attribute nobody knows
        w.End();
        byte[] m = buffer.WrittenSpan.ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(8), seq);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(12), FakeTransport.Port);
        return m;
    }

    private static byte[] Done(uint seq, ushort flags = NlmF.Multi) => FakeTransport.Message(NlMsgType.Done, flags, seq, new byte[4]);

    [Test]
    public void DumpReadsMultipartUntilDoneAndKeepsUnknownAttributes()
    {
        var t = new FakeTransport();
        t.Replies.Enqueue(seq => [.. LinkMessage(seq, NlmF.Multi, 1, "lo"), .. LinkMessage(seq, NlmF.Multi, 2, "eth0")]);
        t.Replies.Enqueue(seq => [.. LinkMessage(seq, NlmF.Multi, 3, "eth1"), .. Done(seq)]);
        using var nl = new RtNetlink(t);
        IReadOnlyList<Link> links = nl.ListLinks();
        Assert.That(links.Select(l => l.Name), Is.EqualTo(new[] { "lo", "eth0", "eth1" }));
        Assert.That(links[1].OtherAttributes, Has.Count.EqualTo(1));
        Assert.That(links[1].OtherAttributes[0].Type, Is.EqualTo(999));
        Assert.That(links[1].OtherAttributes[0].Value, Is.EqualTo(new byte[] { 0xef, 0xbe, 0xad, 0xde }));
    }

    [Test]
    public void InterruptedDumpIsRestartedWithAFreshSequenceNumber()
    {
        var t = new FakeTransport();
        t.Replies.Enqueue(seq => [.. LinkMessage(seq, NlmF.Multi | NlmF.DumpIntr, 1, "lo"), .. Done(seq, NlmF.Multi | NlmF.DumpIntr)]);
        t.Replies.Enqueue(seq => [.. LinkMessage(seq, NlmF.Multi, 1, "lo"), .. LinkMessage(seq, NlmF.Multi, 2, "eth0"), .. Done(seq)]);
        using var nl = new RtNetlink(t);
        Assert.That(nl.ListLinks().Select(l => l.Name), Is.EqualTo(new[] { "lo", "eth0" }), "first, interrupted attempt discarded");
        Assert.That(t.Sent, Has.Count.EqualTo(2));
        Assert.That(StraceCapture.SeqOf(t.Sent[1]), Is.Not.EqualTo(StraceCapture.SeqOf(t.Sent[0])));
    }

    [Test]
    public void RepliesToOtherRequestsAreSkipped()
    {
        var t = new FakeTransport();
        t.Replies.Enqueue(seq => [.. FakeTransport.Ack(seq - 1, 17), .. LinkMessage(seq + 5, NlmF.Multi, 9, "stale")]);
        t.Replies.Enqueue(seq => FakeTransport.Ack(seq, 0));
        using var nl = new RtNetlink(t);
        Assert.DoesNotThrow(() => nl.SetLinkUp(3), "an EEXIST for an older sequence number is not ours");
    }

    [Test]
    public void CappedErrorWithExtendedAckMessage()
    {
        var t = new FakeTransport();
        t.Replies.Enqueue(seq =>
        {
            byte[] text = Encoding.ASCII.GetBytes("Unknown device type\0");
            int attrLen = 4 + text.Length;
            byte[] payload = new byte[20 + ((attrLen + 3) & ~3)];
            BinaryPrimitives.WriteInt32LittleEndian(payload, -95);
            BinaryPrimitives.WriteUInt16LittleEndian(payload.AsSpan(20), (ushort)attrLen);
            BinaryPrimitives.WriteUInt16LittleEndian(payload.AsSpan(22), NlmsgErrAttr.Msg);
            text.CopyTo(payload, 24);
            return FakeTransport.Message(NlMsgType.Error, NlmF.Capped | NlmF.AckTlvs, seq, payload);
        });
        using var nl = new RtNetlink(t);
        var e = Assert.Throws<NetlinkException>(() => nl.AddVlan("eth0.5", 2, 5))!;
        Assert.That(e.IsNotSupported, Is.True);
        Assert.That(e.IsExists || e.IsNotFound || e.IsBusy, Is.False);
        Assert.That(e.KernelMessage, Is.EqualTo("Unknown device type"));
        Assert.That(e.Message, Is.EqualTo("add vlan eth0.5: EOPNOTSUPP (operation not supported): Unknown device type"));
    }

    [Test]
    public void DumpErrorInDoneIsThrown()
    {
        var t = new FakeTransport();
        t.Replies.Enqueue(seq =>
        {
            byte[] payload = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(payload, -16);
            return FakeTransport.Message(NlMsgType.Done, NlmF.Multi, seq, payload);
        });
        using var nl = new RtNetlink(t);
        Assert.That(Assert.Throws<NetlinkException>(() => nl.ListLinks())!.IsBusy, Is.True);
    }

    [Test]
    public void WriterNestsAndPads()
    {
        using var buffer = new NetlinkBuffer(16); // forces growth while writing
        var w = new NetlinkWriter(buffer, NlMsgType.NewLink, NlmF.Request);
        w.WriteStruct(new IfInfoMsg());
        int outer = w.BeginNested(18);
        w.WriteString(1, "abc", nulTerminated: false);
        int inner = w.BeginNested(2);
        w.WriteUInt8(7, 1);
        w.EndNested(inner);
        w.EndNested(outer);
        w.End();
        Assert.That(Convert.ToHexString(buffer.WrittenSpan),
            Is.EqualTo("38000000" + "1000" + "0100" + "00000000" + "00000000" + new string('0', 32)
                + "18001200" + "07000100616263" + "00" + "0C000200" + "05000700" + "01000000"));
    }

    [Test]
    public void InvalidNamesAreRejectedBeforeAnythingIsSent()
    {
        var t = new FakeTransport();
        using var nl = new RtNetlink(t);
        Assert.Throws<ArgumentException>(() => nl.AddBridge("this-name-is-too-long"));
        Assert.Throws<ArgumentException>(() => nl.AddVeth("ok", "bad/name"));
        Assert.Throws<ArgumentOutOfRangeException>(() => nl.AddAddress(1, System.Net.IPAddress.Parse("10.0.0.1"), 33));
        Assert.That(t.Sent, Is.Empty);
    }
}
