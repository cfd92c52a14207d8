using Cni.Netlink.Rtnl;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Netlink.Tests.Protocol;

/// <summary>
/// The traffic-control requests (qdiscs, filters, ifb) compared byte for byte with what iproute2 6.1's tc and ip sent
/// (Golden/tc/*.strace, re-captured by Golden/tc/capture.sh; indexes of the capture namespace: veth1=2 veth0=3 ifb0=4),
/// and with what the Go reference bandwidth plugin 1.1.1 sent (Golden/tc/reference-bandwidth-add.strace: vethh1=2, the ifb=3).
/// nlmsg_seq and nlmsg_pid are zeroed on both sides. Read from the source tree, so nothing is copied next to the assembly.
/// </summary>
public class TcGoldenTests
{
    private const int Veth0 = 3, Ifb0 = 4;
    private const double Ticks = 1000.0 / 64; // Golden/tc/PSCHED: 000003e8 00000040 000f4240

    internal static string Path(string name) => System.IO.Path.Combine(TestEnvironment.RepoRoot, "tests", "Cni.Netlink.Tests", "Golden", "tc", name);

    public static IEnumerable<TestCaseData> Cases()
    {
        TestCaseData C(string capture, Action<RtNetlink> op, string? name = null) => new TestCaseData(capture, op).SetName(name ?? capture);

        yield return C("link-add-ifb", n => n.AddIfb("ifb0", new IfbOptions { Mtu = 1400, TxQueueLength = 1000, Up = true }));
        yield return C("qdisc-add-tbf", n => n.AddTbfQdisc(Veth0, new TbfOptions
        {
            Rate = 100_000, Limit = 12_500, Buffer = PschedClock.TransmitTime(100_000, 10_000, Ticks), Burst = 10_000, RateTableTicksPerMicrosecond = Ticks,
        }));
        // tc computes the buffer from the rate capped at 32 bits (4294967295 B/s): 931 us, 14546 ticks.
        yield return C("qdisc-add-tbf-rate64", n => n.AddTbfQdisc(Ifb0, new TbfOptions
        {
            Rate = 5_000_000_000, Limit = 129_000_000, Buffer = PschedClock.TransmitTime(uint.MaxValue, 4_000_000, Ticks), Burst = 4_000_000, RateTableTicksPerMicrosecond = Ticks,
        }));
        yield return C("qdisc-add-ingress", n => n.AddIngressQdisc(Veth0));
        yield return C("filter-add-u32-mirred", n => n.AddU32RedirectFilter(Veth0, TcHandle.IngressQdisc, 1, TcHandle.Make(1, 1), Ifb0));
        yield return C("qdisc-dump", n => n.ListQdiscs(Veth0));
        yield return C("filter-dump", n => n.ListFilters(Veth0, TcHandle.IngressQdisc));
        yield return C("qdisc-del-ingress", n => n.DeleteQdisc(Veth0, TcHandle.IngressQdisc, TcHandle.Ingress));
        yield return C("qdisc-del-root", n => n.DeleteQdisc(Veth0, 0x1_0000, TcHandle.Root));
        yield return C("qdisc-add-htb", n => n.AddHtbQdisc(Veth0, new HtbQdiscOptions { DefaultClass = 0x30 }));
        yield return C("class-add-htb", n => n.AddHtbClass(Veth0, TcHandle.Make(1, 0x30), 0x1_0000, new HtbClassOptions
        {
            Rate = 100_000, Ceil = 200_000, Buffer = PschedClock.TransmitTime(100_000, 10_000, Ticks), Cbuffer = PschedClock.TransmitTime(200_000, 10_000, Ticks), TicksPerMicrosecond = Ticks,
        }));
        yield return C("class-add-htb-rate64", n => n.AddHtbClass(Veth0, TcHandle.Make(1, 1), 0x1_0000, new HtbClassOptions
        {
            Rate = 100_000_000_000, Ceil = 100_000_000_000, TicksPerMicrosecond = Ticks,
        }));
        yield return C("filter-add-u32-ip-dst", n => n.AddU32Filter(Veth0, 0x1_0000, 16, EthernetProtocol.IPv4, TcHandle.Make(1, 1),
            U32Key.DestinationKeys(System.Net.IPAddress.Parse("10.128.0.0"), 9)));
        yield return C("filter-add-u32-ip6-dst", n => n.AddU32Filter(Veth0, 0x1_0000, 15, EthernetProtocol.IPv6, TcHandle.Make(1, 1),
            U32Key.DestinationKeys(System.Net.IPAddress.Parse("fd00:1:2:3::"), 72)));
        yield return C("class-dump", n => n.ListClasses(Veth0));
        // The reference plugin's TBFs: 800000 bit/s burst 80000 bit on the host veth, 1600000/160000 on the ifb; 25 ms latency.
        yield return C("reference-bandwidth-add", n => n.AddTbfQdisc(2, new TbfOptions { Rate = 100_000, Limit = 12_500, Buffer = 1_562_500 }), "reference-tbf-ingress");
        yield return C("reference-bandwidth-add", n => n.AddTbfQdisc(3, new TbfOptions { Rate = 200_000, Limit = 25_000, Buffer = 1_562_500 }), "reference-tbf-egress");
    }

    [TestCaseSource(nameof(Cases))]
    public void MatchesCapture(string capture, Action<RtNetlink> operation)
    {
        var transport = new FakeTransport();
        using (var netlink = new RtNetlink(transport))
            operation(netlink);

        Assert.That(transport.Sent, Has.Count.EqualTo(1), "one request per operation");
        byte[] ours = StraceCapture.Normalise(transport.Sent[0]);
        ushort type = StraceCapture.TypeOf(ours);
        List<byte[]> theirs = Messages(Path(capture + ".strace"))
            .Where(m => StraceCapture.TypeOf(m) == type && StraceCapture.SeqOf(m) != 0)
            .Select(StraceCapture.Normalise)
            .ToList();
        Assert.That(theirs, Is.Not.Empty, $"capture {capture} holds no message of type {type}");
        Assert.That(theirs.Any(t => t.AsSpan().SequenceEqual(ours)), Is.True,
            $"ours:\n{Convert.ToHexString(ours)}\ncaptured:\n{string.Join("\n", theirs.Select(Convert.ToHexString))}");
    }

    /// <summary>The netlink messages in a capture; tc sends some requests (class dumps) as two iovecs, dumped as two
    /// blocks: a block too short for the nlmsg_len it starts with is joined with the next one.</summary>
    private static List<byte[]> Messages(string path)
    {
        List<byte[]> blocks = StraceCapture.Datagrams(path);
        var joined = new List<byte[]>();
        for (int i = 0; i < blocks.Count; i++)
        {
            byte[] b = blocks[i];
            if (b.Length >= 4 && BitConverter.ToUInt32(b, 0) > b.Length && i + 1 < blocks.Count)
                b = [.. b, .. blocks[++i]];
            joined.Add(b);
        }
        return joined.SelectMany(StraceCapture.Messages).ToList();
    }

    [Test]
    public void FilterDumpReplyParses()
    {
        List<TrafficFilter> filters = Messages(Path("filter-dump-reply.strace")).Where(m => StraceCapture.TypeOf(m) == 44).Select(m => TrafficFilter.Parse(m)).ToList();
        TrafficFilter node = filters.Single(f => f.RedirectIndex is not null);
        Assert.Multiple(() =>
        {
            Assert.That((node.Kind, node.Parent, node.Priority, node.Protocol), Is.EqualTo(("u32", TcHandle.IngressQdisc, (ushort)1, EthernetProtocol.All)));
            Assert.That(node.RedirectIndex, Is.EqualTo(Ifb0), "tc printed: mirred (Egress Redirect to device ifb0)");
            Assert.That(node.ClassId, Is.EqualTo(TcHandle.Make(1, 1)));
            Assert.That(node.Keys, Is.EqualTo(new[] { new U32Key(0, 0, 0) }));
            Assert.That(filters, Has.Count.EqualTo(3), "priority head, hash table 800:, node 800::800");
        });
    }

    [Test]
    public void ClassDumpReplyParses()
    {
        List<TrafficClass> classes = Messages(Path("class-dump-reply.strace")).Where(m => StraceCapture.TypeOf(m) == 40).Select(m => TrafficClass.Parse(m)).ToList();
        TrafficClass shaped = classes.Single(c => c.Handle == TcHandle.Make(1, 0x30));
        TrafficClass fast = classes.Single(c => c.Handle == TcHandle.Make(1, 1));
        Assert.Multiple(() =>
        {
            Assert.That((shaped.Kind, shaped.Parent, shaped.Rate, shaped.Ceil, shaped.Buffer, shaped.Cbuffer), Is.EqualTo(("htb", TcHandle.Root, 100_000UL, 200_000UL, 1_562_500u, 781_250u)),
                "tc printed: root rate 800Kbit ceil 1600Kbit burst 10000b cburst 10000b (a top-level class reports the root as parent)");
            Assert.That((fast.Rate, fast.Ceil), Is.EqualTo((100_000_000_000UL, 100_000_000_000UL)), "800Gbit from TCA_HTB_RATE64/CEIL64");
        });
    }

    [Test]
    public void DestinationKeysAsTc()
    {
        Assert.That(U32Key.DestinationKeys(System.Net.IPAddress.Parse("10.128.0.0"), 9), Is.EqualTo(new[] { new U32Key(0xff80_0000, 0x0a80_0000, 16) }));
        Assert.That(U32Key.DestinationKeys(System.Net.IPAddress.Parse("fd00:1:2:3:4::"), 72), Is.EqualTo(new[]
        {
            new U32Key(uint.MaxValue, 0xfd00_0001, 24), new U32Key(uint.MaxValue, 0x0002_0003, 28), new U32Key(0xff00_0000, 0, 32),
        }));
        Assert.That(U32Key.DestinationKeys(System.Net.IPAddress.Parse("0.0.0.0"), 0), Is.Empty);
    }

    [Test]
    public void EveryRequestCaptureIsCovered()
    {
        var covered = Cases().Select(c => (string)c.Arguments[0]!).ToHashSet();
        var captures = Directory.GetFiles(Path(""), "*.strace").Select(f => System.IO.Path.GetFileNameWithoutExtension(f)!)
            .Where(c => !c.EndsWith("-reply", StringComparison.Ordinal));
        Assert.That(captures.Where(c => !covered.Contains(c)), Is.Empty, "captures without a golden test");
    }

    [Test]
    public void ReferenceFilterRedirectsLikeOurs()
    {
        // The Go plugin's filter carries the mirred redirect twice (vishvananda/netlink adds one for RedirIndex and the
        // plugin another), the second unreachable after the first steals the packet; ours is tc's single action. Both
        // redirect to the same device: compare the first action's parameters.
        byte[] reference = StraceCapture.AllMessages(Path("reference-bandwidth-add.strace")).Single(m => StraceCapture.TypeOf(m) == 44);
        var transport = new FakeTransport();
        using (var netlink = new RtNetlink(transport))
            netlink.AddU32RedirectFilter(2, TcHandle.IngressQdisc, 1, TcHandle.Make(1, 1), 3);
        byte[] ours = transport.Sent[0];
        static byte[] Mirred(byte[] m)
        {
            int at = m.AsSpan().IndexOf("mirred\0"u8);
            // after "mirred\0" + pad: TCA_ACT_OPTIONS header (4), TCA_MIRRED_PARMS header (4), tc_mirred (28)
            return m.AsSpan(at + 8 + 8, 28).ToArray();
        }
        Assert.That(Mirred(ours), Is.EqualTo(Mirred(reference)));
        Assert.That(ours.AsSpan(16, 20).ToArray(), Is.EqualTo(reference.AsSpan(16, 20).ToArray()), "same tcmsg: device, parent ffff:, prio 1, protocol all");
    }

    [Test]
    public void RateTableAsTc()
    {
        var spec = new Cni.Netlink.Protocol.TcRateSpec { Rate = 100_000 };
        Span<uint> table = stackalloc uint[256];
        TcRequests.FillRateTable(ref spec, table, Ticks);
        Assert.That(spec.CellLog, Is.EqualTo(3));
        Assert.That(table[0], Is.EqualTo(1250u), "8 bytes at 100000 B/s: 80 us, 1250 ticks");
        Assert.That(table[255], Is.EqualTo(320_000u), "2048 bytes: 20480 us");
    }

    [Test]
    public void PschedParsesLikeIproute2()
    {
        Assert.That(PschedClock.Parse("000003e8 00000040 000f4240 3b9aca00\n"), Is.EqualTo(15.625));
        Assert.That(PschedClock.Parse(File.ReadAllText(Path("PSCHED"))), Is.EqualTo(Ticks));
        Assert.Throws<FormatException>(() => PschedClock.Parse("garbage"));
    }

    [Test]
    public void QdiscDumpReplyParses()
    {
        List<Qdisc> qdiscs = StraceCapture.AllMessages(Path("qdisc-dump-reply.strace")).Where(m => StraceCapture.TypeOf(m) == 36).Select(m => Qdisc.Parse(m)).ToList();
        Qdisc tbf = qdiscs.Single(q => q.Kind == "tbf" && q.LinkIndex == Veth0);
        Assert.Multiple(() =>
        {
            Assert.That(tbf.Handle, Is.EqualTo(0x1_0000u));
            Assert.That(tbf.Parent, Is.EqualTo(TcHandle.Root));
            Assert.That(tbf.Tbf, Is.EqualTo(new TbfParameters(100_000, 12_500, 1_562_500, 0, 1)), "tc printed: rate 800Kbit burst 10000b lat 25ms");
        });
        Qdisc ingress = qdiscs.Single(q => q.Kind == "ingress");
        Assert.That((ingress.LinkIndex, ingress.Handle, ingress.Parent, ingress.Tbf), Is.EqualTo((Veth0, TcHandle.IngressQdisc, TcHandle.Ingress, (TbfParameters?)null)));

        List<Qdisc> ifb = StraceCapture.AllMessages(Path("qdisc-dump-ifb-reply.strace")).Where(m => StraceCapture.TypeOf(m) == 36).Select(m => Qdisc.Parse(m)).ToList();
        Qdisc tbf64 = ifb.Single(q => q.Kind == "tbf" && q.LinkIndex == Ifb0);
        Assert.That(tbf64.Tbf!.Rate, Is.EqualTo(5_000_000_000UL), "TCA_TBF_RATE64 wins over the capped 32-bit rate");
        Assert.That(tbf64.Tbf.Limit, Is.EqualTo(129_000_000u));
    }

    [Test]
    public void HandlesFormatLikeTc()
    {
        Assert.That(TcHandle.Format(0x1_0000), Is.EqualTo("1:"));
        Assert.That(TcHandle.Format(TcHandle.Make(1, 0x30)), Is.EqualTo("1:30"));
        Assert.That(TcHandle.Format(TcHandle.Root), Is.EqualTo("root"));
        Assert.That(TcHandle.Format(TcHandle.IngressQdisc), Is.EqualTo("ffff:"));
    }
}
