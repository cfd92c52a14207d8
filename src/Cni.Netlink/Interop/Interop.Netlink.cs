using System.Runtime.InteropServices;

namespace Cni.Netlink;

/// <summary>Netlink socket definitions from linux/netlink.h that Tmds.LibC does not carry (AF_NETLINK and SOL_NETLINK it does).</summary>
internal static partial class Interop
{
    internal static class Netlink
    {
        internal const int NETLINK_ROUTE = 0;
        internal const int NETLINK_NETFILTER = 12;
        internal const int NETLINK_CAP_ACK = 10;
        internal const int NETLINK_EXT_ACK = 11;

        /// <summary>struct sockaddr_nl.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct SockAddrNl
        {
            internal ushort Family;
            internal ushort Pad;
            internal uint Pid;
            internal uint Groups;
        }
    }
}
