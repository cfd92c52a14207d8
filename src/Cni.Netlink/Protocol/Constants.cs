namespace Cni.Netlink.Protocol;

// Values from linux/netlink.h, linux/rtnetlink.h, linux/if_link.h, linux/if_addr.h, linux/if_bridge.h.

internal static class NlMsgType
{
    internal const ushort Noop = 1, Error = 2, Done = 3, Overrun = 4;
    internal const ushort NewLink = 16, DelLink = 17, GetLink = 18, SetLink = 19;
    internal const ushort NewAddr = 20, DelAddr = 21, GetAddr = 22;
    internal const ushort NewRoute = 24, DelRoute = 25, GetRoute = 26;
    internal const ushort NewNeigh = 28, DelNeigh = 29, GetNeigh = 30;
}

internal static class NlmF
{
    internal const ushort Request = 0x1, Multi = 0x2, Ack = 0x4, Echo = 0x8, DumpIntr = 0x10, DumpFiltered = 0x20;
    internal const ushort Root = 0x100, Match = 0x200, Dump = Root | Match;
    internal const ushort Replace = 0x100, Excl = 0x200, Create = 0x400, Append = 0x800;
    internal const ushort Capped = 0x100, AckTlvs = 0x200;
}

internal static class NlmsgErrAttr
{
    internal const ushort Msg = 1, Offset = 2, Cookie = 3, Policy = 4, MissingType = 5, MissingNest = 6;
}

internal static class Nla
{
    internal const ushort FNested = 0x8000, FNetByteOrder = 0x4000, TypeMask = 0x3fff;
}

internal static class Ifla
{
    internal const ushort Address = 1, Broadcast = 2, IfName = 3, Mtu = 4, Link = 5, QDisc = 6, Stats = 7;
    internal const ushort Master = 10, ProtInfo = 12, TxQLen = 13, OperState = 16, LinkMode = 17, LinkInfo = 18;
    internal const ushort NetNsPid = 19, IfAlias = 20, AfSpec = 26, Group = 27, NetNsFd = 28, ExtMask = 29;
    internal const ushort Promiscuity = 30, NumTxQueues = 31, NumRxQueues = 32, LinkNetNsId = 37, MinMtu = 50, MaxMtu = 51;
}

internal static class IflaInfo
{
    internal const ushort Kind = 1, Data = 2, XStats = 3, SlaveKind = 4, SlaveData = 5;
}

internal static class RtExtFilter
{
    internal const uint Vf = 1, BrVlan = 2, BrVlanCompressed = 4, SkipStats = 8;
}

internal static class IflaBr
{
    internal const ushort VlanFiltering = 7;
}

internal static class IflaBrPort
{
    internal const ushort Mode = 4 /* hairpin */, Learning = 8, Isolated = 33;
}

internal static class IflaVeth
{
    internal const ushort Peer = 1;
}

internal static class IflaVlan
{
    internal const ushort Id = 1, Protocol = 5;
}

internal static class IflaMacvlan
{
    internal const ushort Mode = 1, Flags = 2, BcQueueLen = 7, BcQueueLenUsed = 8;
}

internal static class IflaIpvlan
{
    internal const ushort Mode = 1, Flags = 2;
}

internal static class IflaBridge
{
    internal const ushort Flags = 0, Mode = 1, VlanInfo = 2;
}

internal static class Ifa
{
    internal const ushort Address = 1, Local = 2, Label = 3, Broadcast = 4, Anycast = 5, CacheInfo = 6, Multicast = 7, Flags = 8;
}

internal static class Nda
{
    internal const ushort Dst = 1, LlAddr = 2, CacheInfo = 3, Probes = 4;
}

internal static class Rta
{
    internal const ushort Dst = 1, Src = 2, Iif = 3, Oif = 4, Gateway = 5, Priority = 6, PrefSrc = 7, Metrics = 8;
    internal const ushort Table = 15, Pref = 20;
}

internal static class Rtax
{
    internal const ushort Mtu = 2, AdvMss = 8;
}

internal static class RtProt
{
    internal const byte Unspec = 0, Kernel = 2, Boot = 3, Static = 4;
}

internal static class RtnType
{
    internal const byte Unspec = 0, Unicast = 1;
}

internal static class AddressFamilies
{
    internal const byte Unspec = 0, Inet = 2, Bridge = 7, Inet6 = 10, Packet = 17;
}

internal static class Iff
{
    internal const uint Up = 0x1, Promisc = 0x100, AllMulti = 0x200;
}
