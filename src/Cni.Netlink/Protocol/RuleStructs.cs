using System.Runtime.InteropServices;

namespace Cni.Netlink.Protocol;

// Values from linux/fib_rules.h and linux/rtnetlink.h.

/// <summary>RTM_NEWRULE, RTM_DELRULE, RTM_GETRULE.</summary>
internal static class RuleMsgType
{
    internal const ushort NewRule = 32, DelRule = 33, GetRule = 34;
}

/// <summary>struct fib_rule_hdr (12 bytes): the family header of every FIB rule message.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FibRuleHdr
{
    internal const int Size = 12;
    internal byte Family;
    internal byte DstLen;
    internal byte SrcLen;
    internal byte Tos;
    internal byte Table;
    internal byte Res1;
    internal byte Res2;
    internal byte Action;
    internal uint Flags;
}

/// <summary>FRA_* attributes of a FIB rule.</summary>
internal static class Fra
{
    internal const ushort Dst = 1, Src = 2, IifName = 3, Goto = 4, Priority = 6, FwMark = 10, Flow = 11, TunId = 12;
    internal const ushort SuppressIfGroup = 13, SuppressPrefixLen = 14, Table = 15, FwMask = 16, OifName = 17;
    internal const ushort L3MDev = 19, UidRange = 20, Protocol = 21, IpProto = 22, SportRange = 23, DportRange = 24;
}
