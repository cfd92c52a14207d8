using System.Net;
using Cni.Plugins.Ipam.Dhcp.Protocol;

namespace Cni.Plugins.Ipam.Dhcp.Client;

/// <summary>How the client's messages reach servers on one interface, and their replies come back.</summary>
public interface IDhcpTransport : IDisposable
{
    /// <summary>Sends <paramref name="message"/> to the server port of <paramref name="destination"/>
    /// (<see cref="IPAddress.Broadcast"/> for every server on the link).</summary>
    ValueTask SendAsync(DhcpMessage message, IPAddress destination, CancellationToken cancellationToken);

    /// <summary>The next DHCP message that arrives on the client port; messages that do not decode are skipped.</summary>
    ValueTask<DhcpMessage> ReceiveAsync(CancellationToken cancellationToken);
}
