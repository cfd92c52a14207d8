using System.Net;
using Cni.Plugins.Ipam.Dhcp.Protocol;
using Cni.Spec;

namespace Cni.Plugins.Ipam.Dhcp.Tests;

/// <summary>
/// Replies captured from dnsmasq 2.90 (the UDP payloads, 300 bytes each): a client on 02:00:5e:10:20:30 asked with
/// xid 0x5eed1234 and the broadcast flag; dnsmasq ran with <c>--dhcp-range=10.213.200.50,10.213.200.50,255.255.255.0,1h
/// --dhcp-option=121,10.100.0.0/16,10.213.200.254,0.0.0.0/0,10.213.200.1</c> on a bridge at 10.213.200.1.
/// </summary>
public class DnsmasqGoldenTests
{
    private static readonly byte[] Offer = Convert.FromHexString(""
        + "020106005eed123400008000000000000ad5c8320ad5c8010000000002005e1020300000000000000000000000000000"
        + "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        + "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        + "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        + "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000063825363"
        + "35010236040ad5c801330400000e103a04000007083b0400000c4e0104ffffff001c040ad5c8ff03040ad5c801790c10"
        + "0a640ad5c8fe000ad5c801ff");

    private static readonly byte[] Ack = Convert.FromHexString(""
        + "020106005eed123400008000000000000ad5c8320ad5c8010000000002005e1020300000000000000000000000000000"
        + "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        + "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        + "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        + "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000063825363"
        + "35010536040ad5c801330400000e103a04000007083b0400000c4e0104ffffff001c040ad5c8ff03040ad5c801790c10"
        + "0a640ad5c8fe000ad5c801ff");

    [Test]
    public void OfferDecodes()
    {
        DhcpMessage offer = DhcpMessage.Decode(Offer);
        Assert.That((offer.Op, offer.MessageType, offer.TransactionId, offer.Flags), Is.EqualTo((DhcpMessage.BootReply, (DhcpMessageType?)DhcpMessageType.Offer, 0x5eed1234u, DhcpMessage.BroadcastFlag)));
        Assert.That(offer.YourAddress, Is.EqualTo(IPAddress.Parse("10.213.200.50")));
        Assert.That(offer.ServerAddress, Is.EqualTo(IPAddress.Parse("10.213.200.1")));
        Assert.That(DhcpMessages.IsReplyTo(offer, 0x5eed1234, System.Net.NetworkInformation.PhysicalAddress.Parse("02-00-5e-10-20-30"), DhcpMessageType.Offer), Is.True);
    }

    [Test]
    public void AckDecodesToTheLeaseAndTheResult()
    {
        DhcpLease lease = DhcpLease.FromAck(DhcpMessage.Decode(Ack));
        Assert.Multiple(() =>
        {
            Assert.That(lease.Ack.MessageType, Is.EqualTo(DhcpMessageType.Ack));
            Assert.That(lease.Address, Is.EqualTo(IPAddress.Parse("10.213.200.50")));
            Assert.That(lease.PrefixLength, Is.EqualTo(24));
            Assert.That(lease.Router, Is.EqualTo(IPAddress.Parse("10.213.200.1")));
            Assert.That(lease.ServerIdentifier, Is.EqualTo(IPAddress.Parse("10.213.200.1")));
            Assert.That((lease.LeaseTime, lease.RenewalTime, lease.RebindingTime),
                Is.EqualTo((TimeSpan.FromHours(1), TimeSpan.FromMinutes(30), TimeSpan.FromSeconds(3150))));
            Assert.That(lease.ClasslessRoutes.Select(r => $"{r.Destination} via {r.Router}"), Is.EqualTo(new[] { "10.100.0.0/16 via 10.213.200.254", "0.0.0.0/0 via 10.213.200.1" }));
        });
        // RFC 3442: with option 121 the routes are its routes only.
        CniResult result = lease.ToResult();
        Assert.That(result.Routes.Select(r => $"{r.Dst} {r.Gw}"), Is.EqualTo(new[] { "10.100.0.0/16 10.213.200.254", "0.0.0.0/0 10.213.200.1" }));
        Assert.That(result.Ips.Single().Address.ToString(), Is.EqualTo("10.213.200.50/24"));
    }

    [Test]
    public void ReencodingGivesDnsmasqsBytes()
    {
        Assert.That(Convert.ToHexString(DhcpMessage.Decode(Offer).Encode()), Is.EqualTo(Convert.ToHexString(Offer)));
        Assert.That(Convert.ToHexString(DhcpMessage.Decode(Ack).Encode()), Is.EqualTo(Convert.ToHexString(Ack)));
    }
}
