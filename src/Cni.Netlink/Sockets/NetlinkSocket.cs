using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Cni.Netlink.Sockets;

/// <summary>
/// An AF_NETLINK socket (NETLINK_ROUTE unless another protocol is given, e.g. NETLINK_NETFILTER) bound to the network namespace of the thread that created it.
/// Extended ACKs and capped ACKs are switched on, so errors carry the kernel's message without echoing the request.
/// </summary>
internal sealed unsafe class NetlinkSocket : INetlinkTransport
{
    internal const int ReceiveTimeoutSeconds = 60;
    private readonly SafeSocketHandle _handle;

    internal NetlinkSocket(int protocol = Interop.Netlink.NETLINK_ROUTE)
    {
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
        if (fd < 0) throw new NetlinkException(errno, "open netlink socket");
        try
        {
            int one = 1;
            // Best effort: older kernels lack these, and the protocol works without them.
            setsockopt(fd, SOL_NETLINK, Interop.Netlink.NETLINK_EXT_ACK, &one, sizeof(int));
            setsockopt(fd, SOL_NETLINK, Interop.Netlink.NETLINK_CAP_ACK, &one, sizeof(int));
            int sndbuf = 32768, rcvbuf = 1024 * 1024;
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(int));
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(int));
            // The kernel always answers; a bound on the wait turns a lost reply into an error instead of a hang.
            var timeout = new Interop.Libc.TimeVal { Seconds = ReceiveTimeoutSeconds };
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, (uint)sizeof(Interop.Libc.TimeVal));

            var addr = new Interop.Netlink.SockAddrNl { Family = (ushort)AF_NETLINK };
            if (bind(fd, (sockaddr*)&addr, (uint)sizeof(Interop.Netlink.SockAddrNl)) < 0)
                throw new NetlinkException(errno, "bind netlink socket");
            socklen_t len = (uint)sizeof(Interop.Netlink.SockAddrNl);
            if (getsockname(fd, (sockaddr*)&addr, &len) < 0)
                throw new NetlinkException(errno, "getsockname netlink socket");
            PortId = addr.Pid;
        }
        catch
        {
            close(fd);
            throw;
        }
        _handle = new SafeSocketHandle(fd);
    }

    public uint PortId { get; }

    public void Send(ReadOnlySpan<byte> datagram)
    {
        var kernel = new Interop.Netlink.SockAddrNl { Family = (ushort)AF_NETLINK };
        fixed (byte* p = datagram)
        {
            while (true)
            {
                long n = sendto(Fd, p, datagram.Length, 0, (sockaddr*)&kernel, (uint)sizeof(Interop.Netlink.SockAddrNl));
                if (n >= 0) return;
                int e = errno;
                if (e != EINTR) throw new NetlinkException(e, "send netlink request");
            }
        }
    }

    public int Receive(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                long n = recv(Fd, p, buffer.Length, MSG_TRUNC);
                if (n >= 0)
                {
                    if (n > buffer.Length)
                        throw new NetlinkProtocolException($"netlink reply of {n} bytes did not fit the {buffer.Length}-byte receive buffer");
                    return (int)n;
                }
                int e = errno;
                if (e == EAGAIN) throw new NetlinkException(e, "receive netlink reply", $"no reply from the kernel within {ReceiveTimeoutSeconds} s");
                if (e != EINTR) throw new NetlinkException(e, "receive netlink reply");
            }
        }
    }

    private int Fd => _handle.IsClosed ? throw new ObjectDisposedException(nameof(NetlinkSocket)) : (int)_handle.DangerousGetHandle();

    public void Dispose() => _handle.Dispose();

    /// <summary>Owns the descriptor so that a socket nobody disposed is still closed by the finalizer.</summary>
    private sealed class SafeSocketHandle : Microsoft.Win32.SafeHandles.SafeHandleZeroOrMinusOneIsInvalid
    {
        internal SafeSocketHandle(int fd) : base(ownsHandle: true) => SetHandle(fd);

        protected override bool ReleaseHandle() => close((int)handle) == 0;
    }
}
