using System.Runtime.InteropServices;

namespace Cni.Netlink.Protocol;

// Values and layouts from linux/rtnetlink.h, linux/pkt_sched.h, linux/pkt_cls.h, linux/tc_act/tc_mirred.h.

internal static class TcMsgType
{
    internal const ushort NewQdisc = 36, DelQdisc = 37, GetQdisc = 38;
    internal const ushort NewTClass = 40, DelTClass = 41, GetTClass = 42;
    internal const ushort NewTFilter = 44, DelTFilter = 45, GetTFilter = 46;
}

internal static class TcaHtb
{
    internal const ushort Parms = 1, Init = 2, Ctab = 3, Rtab = 4, DirectQlen = 5, Rate64 = 6, Ceil64 = 7;
}

/// <summary>struct tc_htb_glob (20 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TcHtbGlob
{
    internal uint Version;
    internal uint Rate2Quantum;
    internal uint Defcls;
    internal uint Debug;
    internal uint DirectPkts;
}

/// <summary>struct tc_htb_opt (44 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TcHtbOpt
{
    internal TcRateSpec Rate;
    internal TcRateSpec Ceil;
    internal uint Buffer;
    internal uint Cbuffer;
    internal uint Quantum;
    internal uint Level;
    internal uint Prio;
}

internal static class Tca
{
    internal const ushort Kind = 1, Options = 2, Stats = 3, XStats = 4, Stats2 = 7, Chain = 11, HwOffload = 12;

    /// <summary>What every qdisc, class and filter message starts with: the tcmsg header, the kind (TCA_KIND) and
    /// the kind's options (TCA_OPTIONS, empty when absent).</summary>
    internal static TcMsg ReadHeader(ReadOnlySpan<byte> message, out string kind, out ReadOnlySpan<byte> options)
    {
        ReadOnlySpan<byte> payload = NetlinkMessageReader.Payload(message);
        TcMsg tcm = NetlinkMessageReader.ReadStruct<TcMsg>(payload);
        kind = "";
        options = default;
        var attrs = new AttributeReader(payload[TcMsg.Size..]);
        while (attrs.TryRead(out ushort type, out ReadOnlySpan<byte> value))
        {
            if (type == Kind) kind = AttributeReader.String(value);
            else if (type == Options) options = value;
        }
        return tcm;
    }
}

internal static class TcaTbf
{
    internal const ushort Parms = 1, Rtab = 2, Ptab = 3, Rate64 = 4, Prate64 = 5, Burst = 6, Pburst = 7;
}

internal static class TcaU32
{
    internal const ushort ClassId = 1, Sel = 5, Act = 7;
    internal const byte FlagTerminal = 1;
}

internal static class TcaAct
{
    internal const ushort Kind = 1, Options = 2;
}

internal static class TcaMirred
{
    internal const ushort Parms = 2;
    internal const int EgressRedirect = 1;
}

internal static class TcAct
{
    internal const int Ok = 0, Shot = 2, Stolen = 4;
}

/// <summary>struct tcmsg (20 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TcMsg
{
    internal const int Size = 20;
    internal byte Family;
    internal byte Pad1;
    internal ushort Pad2;
    internal int Index;
    internal uint Handle;
    internal uint Parent;
    internal uint Info;
}

/// <summary>struct tc_ratespec (12 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TcRateSpec
{
    internal byte CellLog;
    internal byte LinkLayer;
    internal ushort Overhead;
    internal short CellAlign;
    internal ushort Mpu;
    internal uint Rate;
}

/// <summary>struct tc_tbf_qopt (36 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TcTbfQopt
{
    internal const int Size = 36;
    internal TcRateSpec Rate;
    internal TcRateSpec PeakRate;
    internal uint Limit;
    internal uint Buffer;
    internal uint Mtu;
}

/// <summary>struct tc_u32_sel without its keys (16 bytes); offmask and hmask are in network order.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TcU32SelRaw
{
    internal byte Flags;
    internal byte OffShift;
    internal byte NKeys;
    internal byte Pad;
    internal ushort OffMask;
    internal ushort Off;
    internal short OffOff;
    internal short HOff;
    internal uint HMask;
}

/// <summary>struct tc_u32_key (16 bytes); mask and val are in network order.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TcU32KeyRaw
{
    internal uint Mask;
    internal uint Val;
    internal int Off;
    internal int OffMask;
}

/// <summary>struct tc_mirred (28 bytes): tc_gen (index, capab, action, refcnt, bindcnt), eaction, ifindex.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TcMirredRaw
{
    internal uint Index;
    internal uint Capab;
    internal int Action;
    internal int RefCnt;
    internal int BindCnt;
    internal int EAction;
    internal uint IfIndex;
}
