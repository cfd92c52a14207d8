using System.Runtime.InteropServices;

namespace Cni.Netlink.Protocol;

/// <summary>struct nlmsghdr (16 bytes, host byte order).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NlMsgHdr
{
    internal const int Size = 16;
    internal uint Length;
    internal ushort Type;
    internal ushort Flags;
    internal uint Seq;
    internal uint Pid;
}

/// <summary>struct nlmsgerr: a negative errno (0 for an ACK) followed by the offending request's header.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NlMsgErr
{
    internal const int Size = 20;
    internal int Error;
    internal NlMsgHdr Msg;
}

/// <summary>struct ifinfomsg (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IfInfoMsg
{
    internal const int Size = 16;
    internal byte Family;
    internal byte Pad;
    internal ushort Type;
    internal int Index;
    internal uint Flags;
    internal uint Change;
}

/// <summary>struct ifaddrmsg (8 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IfAddrMsg
{
    internal const int Size = 8;
    internal byte Family;
    internal byte PrefixLen;
    internal byte Flags;
    internal byte Scope;
    internal int Index;
}

/// <summary>struct rtmsg (12 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RtMsg
{
    internal const int Size = 12;
    internal byte Family;
    internal byte DstLen;
    internal byte SrcLen;
    internal byte Tos;
    internal byte Table;
    internal byte Protocol;
    internal byte Scope;
    internal byte Type;
    internal uint Flags;
}

/// <summary>struct bridge_vlan_info (4 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct BridgeVlanInfoRaw
{
    internal ushort Flags;
    internal ushort Vid;
}

/// <summary>struct ndmsg (12 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NdMsg
{
    internal const int Size = 12;
    internal byte Family;
    internal byte Pad1;
    internal ushort Pad2;
    internal int Index;
    internal ushort State;
    internal byte Flags;
    internal byte Type;
}
