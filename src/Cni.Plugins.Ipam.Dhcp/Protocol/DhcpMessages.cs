using System.Net;
using System.Net.NetworkInformation;

namespace Cni.Plugins.Ipam.Dhcp.Protocol;

/// <summary>
/// Builds the client's messages (RFC 2131 4.3-4.4): DISCOVER, REQUEST when selecting an offer, REQUEST when renewing
/// or rebinding, RELEASE. Every message carries the message type first, then the client identifier, then the
/// configured extra options (<c>ipam.provide</c> and the parameter request list) in their order. Pure.
/// </summary>
public static class DhcpMessages
{
    /// <summary>DHCPDISCOVER, broadcast: asks any server for an address.</summary>
    public static DhcpMessage Discover(uint xid, PhysicalAddress mac, byte[] clientId, IEnumerable<DhcpOption> extra, bool broadcast) =>
        Build(DhcpMessageType.Discover, xid, mac, clientId, extra, broadcast, IPAddress.Any);

    /// <summary>DHCPREQUEST in SELECTING state: takes <paramref name="offer"/> (requested address 50 and server id 54).</summary>
    public static DhcpMessage RequestOffer(DhcpMessage offer, PhysicalAddress mac, byte[] clientId, IEnumerable<DhcpOption> extra, bool broadcast)
    {
        ArgumentNullException.ThrowIfNull(offer);
        DhcpMessage request = Build(DhcpMessageType.Request, offer.TransactionId, mac, clientId, [], broadcast, IPAddress.Any);
        request.SetOption(DhcpOptionCode.RequestedIPAddress, DhcpOptionValues.Address(offer.YourAddress));
        if (offer.GetOption(DhcpOptionCode.ServerIdentifier) is { } serverId)
            request.SetOption(DhcpOptionCode.ServerIdentifier, serverId);
        foreach (DhcpOption option in extra)
            request.SetOption(option.Code, option.Value);
        return request;
    }

    /// <summary>DHCPREQUEST in RENEWING (unicast to the server) or REBINDING (broadcast) state: <c>ciaddr</c> is the
    /// leased address, no requested address or server id.</summary>
    public static DhcpMessage Renew(uint xid, DhcpLease lease, PhysicalAddress mac, byte[] clientId, IEnumerable<DhcpOption> extra, bool broadcast)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return Build(DhcpMessageType.Request, xid, mac, clientId, extra, broadcast, lease.Address);
    }

    /// <summary>DHCPRELEASE, unicast to the server: <c>ciaddr</c> is the leased address, with the server id.</summary>
    public static DhcpMessage Release(uint xid, DhcpLease lease, PhysicalAddress mac, byte[] clientId)
    {
        ArgumentNullException.ThrowIfNull(lease);
        DhcpMessage release = Build(DhcpMessageType.Release, xid, mac, clientId, [], false, lease.Address);
        if (lease.ServerIdentifier is { } server)
            release.SetOption(DhcpOptionCode.ServerIdentifier, DhcpOptionValues.Address(server));
        return release;
    }

    /// <summary>True when <paramref name="reply"/> answers a request of ours: BOOTREPLY, same transaction id, our
    /// hardware address, and one of <paramref name="types"/>.</summary>
    public static bool IsReplyTo(DhcpMessage reply, uint xid, PhysicalAddress mac, params DhcpMessageType[] types)
    {
        ArgumentNullException.ThrowIfNull(reply);
        ArgumentNullException.ThrowIfNull(mac);
        return reply.Op == DhcpMessage.BootReply
            && reply.TransactionId == xid
            && reply.HardwareAddress.Equals(mac)
            && reply.MessageType is { } type && types.Contains(type);
    }

    private static DhcpMessage Build(DhcpMessageType type, uint xid, PhysicalAddress mac, byte[] clientId, IEnumerable<DhcpOption> extra, bool broadcast, IPAddress clientAddress)
    {
        var message = new DhcpMessage
        {
            Op = DhcpMessage.BootRequest,
            TransactionId = xid,
            Flags = broadcast ? DhcpMessage.BroadcastFlag : (ushort)0,
            ClientAddress = clientAddress,
        };
        message.SetHardwareAddress(mac);
        message.MessageType = type;
        message.SetOption(DhcpOptionCode.ClientIdentifier, clientId);
        foreach (DhcpOption option in extra)
            message.SetOption(option.Code, option.Value);
        return message;
    }
}
