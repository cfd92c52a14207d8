using System.Net;
using System.Net.NetworkInformation;
using Cni.Plugins.Ipam.Dhcp.Protocol;
using Cni.Spec;

namespace Cni.Plugins.Ipam.Dhcp.Tests;

/// <summary>DHCPv4 messages byte for byte, against layouts written out from RFC 2131/2132/3442 by hand.</summary>
public class ProtocolTests
{
    private static readonly PhysicalAddress Mac = PhysicalAddress.Parse("02-00-5e-10-20-30");

    private static byte[] Hex(string text) => Convert.FromHexString(string.Concat(text.Where(Uri.IsHexDigit)));

    /// <summary>The fixed header of a client message: op 1, htype 1, hlen 6, hops 0, the xid, secs 0, flags, ciaddr,
    /// zero yiaddr/siaddr/giaddr, chaddr padded to 16, 64 + 128 zero bytes of sname and file, the cookie.</summary>
    private static string ClientHeader(string xid, string flags, string ciaddr) =>
        "01 01 06 00" + xid + "0000" + flags + ciaddr + "00000000 00000000 00000000"
        + "02005e102030 00000000000000000000" + new string('0', 64 * 2) + new string('0', 128 * 2) + "63825363";

    private static byte[] Padded(string hex)
    {
        byte[] bytes = Hex(hex);
        Array.Resize(ref bytes, Math.Max(bytes.Length, DhcpMessage.MinimumLength));
        return bytes;
    }

    [Test]
    public void DiscoverIsTheRfcLayout()
    {
        byte[] clientId = DhcpOptionValues.ClientIdentifier("c1/net/eth0");
        DhcpMessage discover = DhcpMessages.Discover(0xdeadbeef, Mac, clientId,
            [new DhcpOption(DhcpOptionCode.HostName, "pod"u8.ToArray()), new DhcpOption(DhcpOptionCode.ParameterRequestList, [3, 1])], broadcast: true);
        byte[] expected = Padded(ClientHeader("deadbeef", "8000", "00000000")
            + "35 01 01"                                  // 53: DISCOVER
            + "3d 0c 00 63312f6e65742f65746830"          // 61: type 0, "c1/net/eth0"
            + "0c 03 706f64"                              // 12: "pod"
            + "37 02 03 01"                               // 55: router, subnet mask
            + "ff");
        Assert.That(Convert.ToHexString(discover.Encode()), Is.EqualTo(Convert.ToHexString(expected)));
        Assert.That(discover.Encode(), Has.Length.EqualTo(300));
    }

    [Test]
    public void RequestForAnOfferCarriesRequestedAddressAndServerId()
    {
        DhcpMessage offer = Reply(DhcpMessageType.Offer, 0x01020304, "10.1.2.50");
        DhcpMessage request = DhcpMessages.RequestOffer(offer, Mac, DhcpOptionValues.ClientIdentifier("x"), [new DhcpOption(DhcpOptionCode.ParameterRequestList, [3, 1])], broadcast: false);
        byte[] expected = Padded(ClientHeader("01020304", "0000", "00000000")
            + "35 01 03" + "3d 02 00 78" + "32 04 0a010232" + "36 04 0a010201" + "37 02 03 01" + "ff");
        Assert.That(Convert.ToHexString(request.Encode()), Is.EqualTo(Convert.ToHexString(expected)));
    }

    [Test]
    public void RenewAndReleaseCarryTheLeasedAddress()
    {
        DhcpLease lease = DhcpLease.FromAck(Reply(DhcpMessageType.Ack, 7, "10.1.2.50"));
        DhcpMessage renew = DhcpMessages.Renew(0x0a0b0c0d, lease, Mac, DhcpOptionValues.ClientIdentifier("x"), [], broadcast: false);
        Assert.That(Convert.ToHexString(renew.Encode()), Is.EqualTo(Convert.ToHexString(Padded(
            ClientHeader("0a0b0c0d", "0000", "0a010232") + "35 01 03" + "3d 02 00 78" + "ff"))));
        DhcpMessage release = DhcpMessages.Release(0x0a0b0c0e, lease, Mac, DhcpOptionValues.ClientIdentifier("x"));
        Assert.That(Convert.ToHexString(release.Encode()), Is.EqualTo(Convert.ToHexString(Padded(
            ClientHeader("0a0b0c0e", "0000", "0a010232") + "35 01 07" + "3d 02 00 78" + "36 04 0a010201" + "ff"))));
    }

    /// <summary>A server's ACK written out by hand: every field and the options the lease reads.</summary>
    private const string AckHex =
        "02 01 06 00 11223344 0003 8000 00000000 0a000a07 0a000a01 00000000"
        + "02005e102030 00000000000000000000"
        + "{sname}{file}63825363"
        + "35 01 05"                    // ACK
        + "36 04 0a000a01"              // server id 10.0.10.1
        + "33 04 00000e10"              // lease 3600 s
        + "3a 04 00000708"              // T1 1800 s
        + "3b 04 00000c4e"              // T2 3150 s
        + "01 04 ffffff00"              // mask /24
        + "03 08 0a000a01 0a000a02"     // routers
        + "06 04 08080808"              // DNS
        + "00 00"                       // padding
        + "ff";

    [Test]
    public void AckDecodesEveryField()
    {
        string hex = AckHex.Replace("{sname}", "6473" + new string('0', 62 * 2), StringComparison.Ordinal)
            .Replace("{file}", new string('0', 128 * 2), StringComparison.Ordinal);
        DhcpMessage ack = DhcpMessage.Decode(Hex(hex));
        Assert.Multiple(() =>
        {
            Assert.That(ack.Op, Is.EqualTo(DhcpMessage.BootReply));
            Assert.That(ack.TransactionId, Is.EqualTo(0x11223344u));
            Assert.That(ack.Seconds, Is.EqualTo(3));
            Assert.That(ack.Flags, Is.EqualTo(DhcpMessage.BroadcastFlag));
            Assert.That(ack.YourAddress, Is.EqualTo(IPAddress.Parse("10.0.10.7")));
            Assert.That(ack.ServerAddress, Is.EqualTo(IPAddress.Parse("10.0.10.1")));
            Assert.That(ack.HardwareAddress, Is.EqualTo(Mac));
            Assert.That(ack.ServerName, Is.EqualTo("ds"));
            Assert.That(ack.MessageType, Is.EqualTo(DhcpMessageType.Ack));
            Assert.That(ack.Options.Select(o => o.Code), Is.EqualTo(new byte[] { 53, 54, 51, 58, 59, 1, 3, 6 }));
        });
        DhcpLease lease = DhcpLease.FromAck(ack);
        Assert.Multiple(() =>
        {
            Assert.That(lease.Address, Is.EqualTo(IPAddress.Parse("10.0.10.7")));
            Assert.That(lease.PrefixLength, Is.EqualTo(24));
            Assert.That(lease.Router, Is.EqualTo(IPAddress.Parse("10.0.10.1")));
            Assert.That(lease.DnsServers, Is.EqualTo(new[] { IPAddress.Parse("8.8.8.8") }));
            Assert.That(lease.ServerIdentifier, Is.EqualTo(IPAddress.Parse("10.0.10.1")));
            Assert.That(lease.LeaseTime, Is.EqualTo(TimeSpan.FromSeconds(3600)));
            Assert.That(lease.RenewalTime, Is.EqualTo(TimeSpan.FromSeconds(1800)));
            Assert.That(lease.RebindingTime, Is.EqualTo(TimeSpan.FromSeconds(3150)));
        });
        CniResult result = lease.ToResult();
        Assert.That(CniResultSerializer.Serialize(result, "1.1.0").Replace(" ", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal),
            Does.Contain("\"ips\":[{\"address\":\"10.0.10.7/24\",\"gateway\":\"10.0.10.1\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.0.10.1\"}]"));
    }

    [Test]
    public void EncodeDecodeRoundTrip()
    {
        DhcpMessage ack = Reply(DhcpMessageType.Ack, 0x55667788, "192.168.7.9");
        DhcpMessage back = DhcpMessage.Decode(ack.Encode());
        Assert.That(back.Encode(), Is.EqualTo(ack.Encode()));
    }

    [Test]
    public void LeaseTimesDefaultAsRfc2131()
    {
        DhcpMessage ack = Reply(DhcpMessageType.Ack, 1, "10.1.2.3");
        ack.RemoveOption((byte)DhcpOptionCode.LeaseTime);
        DhcpLease defaults = DhcpLease.FromAck(ack);
        Assert.That((defaults.LeaseTime, defaults.RenewalTime, defaults.RebindingTime),
            Is.EqualTo((TimeSpan.FromMinutes(60), TimeSpan.FromMinutes(30), TimeSpan.FromMinutes(51))));
        ack.SetOption(DhcpOptionCode.LeaseTime, DhcpOptionValues.Seconds(100));
        DhcpLease hundred = DhcpLease.FromAck(ack);
        Assert.That((hundred.RenewalTime, hundred.RebindingTime), Is.EqualTo((TimeSpan.FromSeconds(50), TimeSpan.FromSeconds(85))));
    }

    [Test]
    public void ClasslessRoutesFollowRfc3442()
    {
        // RFC 3442 examples: 0/0 -> 1 byte, 10.0.0.0/8 -> 2 bytes, 10.17.0.0/16 -> 3, 10.27.129.0/24 -> 4, 10.229.0.128/25 -> 5.
        byte[] encoded = DhcpOptionValues.ClasslessRoutes([
            new ClasslessRoute(IPPrefix.Parse("0.0.0.0/0"), IPAddress.Parse("10.0.0.1")),
            new ClasslessRoute(IPPrefix.Parse("10.0.0.0/8"), IPAddress.Parse("10.0.0.2")),
            new ClasslessRoute(IPPrefix.Parse("10.17.0.0/16"), IPAddress.Parse("0.0.0.0")),
            new ClasslessRoute(IPPrefix.Parse("10.27.129.0/24"), IPAddress.Parse("10.0.0.3")),
            new ClasslessRoute(IPPrefix.Parse("10.229.0.128/25"), IPAddress.Parse("10.0.0.4")),
        ]);
        Assert.That(Convert.ToHexString(encoded), Is.EqualTo(Convert.ToHexString(Hex(
            "00 0a000001" + "08 0a 0a000002" + "10 0a11 00000000" + "18 0a1b81 0a000003" + "19 0ae50080 0a000004"))));
        IReadOnlyList<ClasslessRoute> decoded = DhcpOptionValues.ParseClasslessRoutes(encoded);
        Assert.That(decoded.Select(r => $"{r.Destination} via {r.Router}"), Is.EqualTo(new[]
        {
            "0.0.0.0/0 via 10.0.0.1", "10.0.0.0/8 via 10.0.0.2", "10.17.0.0/16 via 0.0.0.0", "10.27.129.0/24 via 10.0.0.3", "10.229.0.128/25 via 10.0.0.4",
        }));
    }

    [Test]
    public void ClasslessRoutesReplaceRouterAndStaticRoutes()
    {
        DhcpMessage ack = Reply(DhcpMessageType.Ack, 1, "10.1.2.3");
        // Option 33: the destination keeps its host bits and takes its class mask, as the reference prints it.
        ack.SetOption(DhcpOptionCode.StaticRoutes, Hex("0a640000 0a010201"));
        CniResult withStatic = DhcpLease.FromAck(ack).ToResult();
        Assert.That(withStatic.Routes.Select(r => $"{r.Dst} {r.Gw} {r.Scope}"), Is.EqualTo(new[] { "10.100.0.0/8 10.1.2.1 ", "0.0.0.0/0 10.1.2.1 " }));
        ack.SetOption(DhcpOptionCode.ClasslessStaticRoute, Hex("10 ac10 00000000" + "00 0a010201"));
        CniResult classless = DhcpLease.FromAck(ack).ToResult();
        Assert.That(classless.Routes.Select(r => $"{r.Dst} {r.Gw} {r.Scope}"), Is.EqualTo(new[] { "172.16.0.0/16 0.0.0.0 253", "0.0.0.0/0 10.1.2.1 " }));
        Assert.That(classless.Ips[0].Gateway, Is.EqualTo(IPAddress.Parse("10.1.2.1")));
    }

    [Test]
    public void LongOptionsAreSplitAndJoined()
    {
        var message = new DhcpMessage();
        byte[] value = Enumerable.Range(0, 300).Select(i => (byte)i).ToArray();
        message.SetOption(DhcpOptionCode.HostName, value);
        byte[] wire = message.Encode();
        int at = DhcpMessage.HeaderLength + 4;
        Assert.That((wire[at], wire[at + 1], wire[at + 2 + 255], wire[at + 3 + 255]), Is.EqualTo(((byte)12, (byte)255, (byte)12, (byte)45)));
        Assert.That(DhcpMessage.Decode(wire).GetOption(DhcpOptionCode.HostName), Is.EqualTo(value));
    }

    [Test]
    public void OverloadedFileAndSnameHoldOptions()
    {
        byte[] wire = Reply(DhcpMessageType.Ack, 9, "10.1.2.3").Encode();
        // Option 52 = 3 (file and sname) in the options area, the router in file, DNS in sname.
        byte[] withOverload = new byte[wire.Length + 3];
        wire.AsSpan(0, DhcpMessage.HeaderLength + 4).CopyTo(withOverload);
        Hex("34 01 03").CopyTo(withOverload, DhcpMessage.HeaderLength + 4);
        wire.AsSpan(DhcpMessage.HeaderLength + 4).CopyTo(withOverload.AsSpan(DhcpMessage.HeaderLength + 7));
        Hex("06 04 01010101 ff").CopyTo(withOverload, 44);
        Hex("0f 03 616263 ff").CopyTo(withOverload, 108);
        DhcpMessage decoded = DhcpMessage.Decode(withOverload);
        Assert.That(decoded.GetOption(DhcpOptionCode.DomainNameServer), Is.EqualTo(Hex("01010101")));
        Assert.That(decoded.GetOption(DhcpOptionCode.DomainName), Is.EqualTo("abc"u8.ToArray()));
        Assert.That(decoded.ServerName, Is.Empty);
    }

    [TestCase(100, "shorter")]
    [TestCase(-1, "magic cookie")]
    [TestCase(-2, "claims 9 bytes")]
    [TestCase(-3, "no length byte")]
    public void MalformedMessagesAreRefused(int length, string message)
    {
        byte[] wire = length switch
        {
            -1 => new byte[300],
            -2 => Hex(new string('0', 236 * 2) + "63825363" + "0c 09 6162"),
            -3 => Hex(new string('0', 236 * 2) + "63825363" + "0c"),
            _ => new byte[length],
        };
        Assert.That(() => DhcpMessage.Decode(wire), Throws.TypeOf<FormatException>().With.Message.Contains(message));
    }

    [Test]
    public void MalformedOptionValuesAreRefused()
    {
        Assert.That(() => DhcpOptionValues.ParseAddress([1, 2, 3], DhcpOptionCode.ServerIdentifier), Throws.TypeOf<FormatException>().With.Message.Contains("54"));
        Assert.That(() => DhcpOptionValues.ParsePrefixLength(Hex("ff00ff00")), Throws.TypeOf<FormatException>().With.Message.Contains("contiguous"));
        Assert.That(() => DhcpOptionValues.ParseClasslessRoutes(Hex("21 0a000001")), Throws.TypeOf<FormatException>());
        Assert.That(() => DhcpOptionValues.ParseClasslessRoutes(Hex("18 0a01")), Throws.TypeOf<FormatException>().With.Message.Contains("cut short"));
        DhcpMessage noMask = Reply(DhcpMessageType.Ack, 1, "10.1.2.3");
        noMask.RemoveOption((byte)DhcpOptionCode.SubnetMask);
        Assert.That(() => DhcpLease.FromAck(noMask).ToResult(), Throws.TypeOf<CniException>().With.Message.Contains("Subnet Mask"));
    }

    [Test]
    public void ClientIdentifierIsTypeZeroCutTo254()
    {
        Assert.That(DhcpOptionValues.ClientIdentifier("ab"), Is.EqualTo(new byte[] { 0, 0x61, 0x62 }));
        Assert.That(DhcpOptionValues.ClientIdentifier(new string('x', 300)), Has.Length.EqualTo(255));
        Assert.That(DhcpSettings.ClientId(new string('c', 250), "net", "eth0"), Has.Length.EqualTo(254));
        Assert.That(DhcpSettings.ClientId("id", "net", "eth0"), Is.EqualTo("id/net/eth0"));
    }

    [Test]
    public void RepliesArePairedByXidAndHardwareAddress()
    {
        DhcpMessage offer = Reply(DhcpMessageType.Offer, 42, "10.1.2.3");
        Assert.That(DhcpMessages.IsReplyTo(offer, 42, Mac, DhcpMessageType.Offer), Is.True);
        Assert.That(DhcpMessages.IsReplyTo(offer, 43, Mac, DhcpMessageType.Offer), Is.False);
        Assert.That(DhcpMessages.IsReplyTo(offer, 42, PhysicalAddress.Parse("02-00-00-00-00-01"), DhcpMessageType.Offer), Is.False);
        Assert.That(DhcpMessages.IsReplyTo(offer, 42, Mac, DhcpMessageType.Ack, DhcpMessageType.Nak), Is.False);
    }

    /// <summary>A server reply from 10.1.2.1 (or the /24 of <paramref name="address"/>): mask, router, lease an hour.</summary>
    internal static DhcpMessage Reply(DhcpMessageType type, uint xid, string address)
    {
        IPAddress yours = IPAddress.Parse(address);
        byte[] b = yours.GetAddressBytes();
        var server = new IPAddress(new byte[] { b[0], b[1], b[2], 1 });
        var reply = new DhcpMessage { Op = DhcpMessage.BootReply, TransactionId = xid, YourAddress = yours, ServerAddress = server };
        reply.SetHardwareAddress(Mac);
        reply.MessageType = type;
        reply.SetOption(DhcpOptionCode.ServerIdentifier, DhcpOptionValues.Address(server));
        reply.SetOption(DhcpOptionCode.LeaseTime, DhcpOptionValues.Seconds(3600));
        reply.SetOption(DhcpOptionCode.SubnetMask, DhcpOptionValues.SubnetMask(24));
        reply.SetOption(DhcpOptionCode.Router, DhcpOptionValues.Address(server));
        return reply;
    }
}
