using System.Net;
using System.Net.Sockets;
using Cni.Netlink;
using Cni.Plugins.Ipam.Dhcp.Protocol;

namespace Cni.Plugins.Ipam.Dhcp.Client;

/// <summary>
/// DHCP over a UDP socket on port 68 bound to one interface (<c>SO_BINDTODEVICE</c>) with <c>SO_BROADCAST</c>, created
/// inside the container's network namespace (a socket stays in the namespace it was made in). Before the interface
/// has an address the client asks servers to broadcast their replies (the BOOTP broadcast flag), which such a socket
/// receives; renewals go unicast from the leased address once the container has it.
/// </summary>
public sealed class UdpDhcpTransport : IDhcpTransport
{
    private const int SolSocket = 1;
    private const int SoBindToDevice = 25;

    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[1500];

    private UdpDhcpTransport(Socket socket) => _socket = socket;

    /// <summary>Opens the socket for <paramref name="ifName"/> inside <paramref name="ns"/> (the current namespace when null).</summary>
    public static UdpDhcpTransport Open(NetNs? ns, string ifName)
    {
        ArgumentException.ThrowIfNullOrEmpty(ifName);
        return ns is null ? new UdpDhcpTransport(Create(ifName)) : new UdpDhcpTransport(ns.Run(() => Create(ifName)));
    }

    private static Socket Create(string ifName)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Broadcast, true);
            byte[] name = new byte[System.Text.Encoding.ASCII.GetByteCount(ifName) + 1];
            System.Text.Encoding.ASCII.GetBytes(ifName, name);
            socket.SetRawSocketOption(SolSocket, SoBindToDevice, name);
            socket.Bind(new IPEndPoint(IPAddress.Any, DhcpMessage.ClientPort));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public async ValueTask SendAsync(DhcpMessage message, IPAddress destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        await _socket.SendToAsync(message.Encode(), SocketFlags.None, new IPEndPoint(destination, DhcpMessage.ServerPort), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask<DhcpMessage> ReceiveAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            int length = await _socket.ReceiveAsync(_buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            try
            {
                return DhcpMessage.Decode(_buffer.AsSpan(0, length));
            }
            catch (FormatException)
            {
                // Not a DHCP message we can read: wait for the next one.
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _socket.Dispose();
}
