namespace Cni.Netlink.Sockets;

/// <summary>Datagram transport under <see cref="NetlinkConnection"/>: the real socket, or a fake in tests.</summary>
internal interface INetlinkTransport : IDisposable
{
    /// <summary>The port id the kernel assigned to this socket (nl_pid of its address).</summary>
    uint PortId { get; }

    /// <summary>Sends one datagram to the kernel.</summary>
    void Send(ReadOnlySpan<byte> datagram);

    /// <summary>Receives one datagram into <paramref name="buffer"/>; returns its length.</summary>
    int Receive(Span<byte> buffer);
}
