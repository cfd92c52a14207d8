using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Cni.Netlink.Protocol;

namespace Cni.Netlink.Rtnl;

/// <summary>
/// Builds the traffic-control requests (qdiscs, filters) and ifb link creation. Attribute order, flags and values follow
/// what iproute2 6.1's <c>tc</c> and <c>ip</c> send (tests/Cni.Netlink.Tests/Golden/tc).
/// </summary>
internal static class TcRequests
{
    private const ushort AckFlags = NlmF.Request | NlmF.Ack;
    private const ushort CreateFlags = NlmF.Request | NlmF.Ack | NlmF.Excl | NlmF.Create;
    private const int RateTableSize = 256;

    /// <summary>As <c>ip link add name NAME [mtu M] [address A] [netns NS] [txqueuelen Q] [up] type ifb</c>.</summary>
    internal static void AddIfb(NetlinkBuffer buffer, string name, IfbOptions? options)
    {
        var w = new NetlinkWriter(buffer, NlMsgType.NewLink, CreateFlags);
        bool up = options?.Up == true;
        w.WriteStruct(new IfInfoMsg { Flags = up ? Iff.Up : 0, Change = up ? Iff.Up : 0 });
        if (options?.Mtu is int mtu) w.WriteUInt32(Ifla.Mtu, (uint)mtu);
        if (options?.MacAddress is { } mac) w.WriteAttribute(Ifla.Address, mac.GetAddressBytes());
        if (options?.Namespace is { } ns) w.WriteInt32(Ifla.NetNsFd, ns.Fd);
        if (options?.TxQueueLength is int q) w.WriteUInt32(Ifla.TxQLen, (uint)q);
        w.WriteString(Ifla.IfName, name);
        int info = w.BeginNested(Ifla.LinkInfo);
        w.WriteString(IflaInfo.Kind, "ifb", nulTerminated: false);
        w.EndNested(info);
        w.End();
    }

    private static NetlinkWriter BeginTc(NetlinkBuffer buffer, ushort type, ushort flags, int index, uint handle, uint parent, uint info = 0)
    {
        var w = new NetlinkWriter(buffer, type, flags);
        w.WriteStruct(new TcMsg { Index = index, Handle = handle, Parent = parent, Info = info });
        return w;
    }

    /// <summary>As <c>tc qdisc add dev X [root|parent P] handle H tbf rate R burst B limit L</c>.</summary>
    internal static void AddTbf(NetlinkBuffer buffer, int index, uint handle, uint parent, TbfOptions options)
    {
        NetlinkWriter w = BeginTc(buffer, TcMsgType.NewQdisc, CreateFlags, index, handle, parent);
        w.WriteString(Tca.Kind, "tbf");
        int opts = w.BeginNested(Tca.Options);
        uint rate32 = options.Rate >= 1UL << 32 ? uint.MaxValue : (uint)options.Rate;
        var qopt = new TcTbfQopt { Rate = new TcRateSpec { Rate = rate32 }, Limit = options.Limit, Buffer = options.Buffer };
        Span<uint> table = stackalloc uint[RateTableSize];
        bool withTable = options.RateTableTicksPerMicrosecond is double ticks;
        if (withTable)
            FillRateTable(ref qopt.Rate, table, options.RateTableTicksPerMicrosecond!.Value);
        w.WriteAttribute(TcaTbf.Parms, MemoryMarshal.AsBytes(new ReadOnlySpan<TcTbfQopt>(in qopt)));
        if (options.Burst is uint burst) w.WriteUInt32(TcaTbf.Burst, burst);
        if (options.Rate >= 1UL << 32)
        {
            Span<byte> v = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(v, options.Rate);
            w.WriteAttribute(TcaTbf.Rate64, v);
        }
        if (withTable) w.WriteAttribute(TcaTbf.Rtab, MemoryMarshal.AsBytes(table));
        w.EndNested(opts);
        w.End();
    }

    /// <summary>iproute2's tc_calc_rtable for an Ethernet link layer, no MPU, cell size from a 2047-byte MTU.</summary>
    internal static void FillRateTable(ref TcRateSpec spec, Span<uint> table, double ticksPerMicrosecond)
    {
        const int mtu = 2047;
        byte cellLog = 0;
        while ((mtu >> cellLog) > 255) cellLog++;
        for (int i = 0; i < table.Length; i++)
            table[i] = PschedClock.TransmitTime(spec.Rate, (uint)((i + 1) << cellLog), ticksPerMicrosecond);
        spec.CellAlign = -1;
        spec.CellLog = cellLog;
        spec.LinkLayer = 1; // TC_LINKLAYER_ETHERNET
    }

    /// <summary>As <c>tc qdisc add dev X handle ffff: ingress</c>.</summary>
    internal static void AddIngress(NetlinkBuffer buffer, int index)
    {
        NetlinkWriter w = BeginTc(buffer, TcMsgType.NewQdisc, CreateFlags, index, TcHandle.IngressQdisc, TcHandle.Ingress);
        w.WriteString(Tca.Kind, "ingress");
        w.End();
    }

    /// <summary>As <c>tc qdisc del dev X [root|ingress] [handle H]</c>: the kind only for ingress, as tc sends it.</summary>
    internal static void DeleteQdisc(NetlinkBuffer buffer, int index, uint handle, uint parent)
    {
        NetlinkWriter w = BeginTc(buffer, TcMsgType.DelQdisc, AckFlags, index, handle, parent);
        if (parent == TcHandle.Ingress) w.WriteString(Tca.Kind, "ingress");
        w.End();
    }

    /// <summary>As <c>tc qdisc show dev X</c>: a dump request naming the device (the kernel dumps every device anyway).</summary>
    internal static void DumpQdiscs(NetlinkBuffer buffer, int index)
    {
        NetlinkWriter w = BeginTc(buffer, TcMsgType.GetQdisc, NlmF.Request | NlmF.Dump, index, 0, 0);
        w.End();
    }

    /// <summary>
    /// As <c>tc filter add dev X parent P protocol all prio N u32 match u32 0 0 flowid C action mirred egress redirect dev T</c>:
    /// a match-all u32 filter whose one action redirects every packet to the egress of device <paramref name="targetIndex"/>.
    /// </summary>
    internal static void AddU32MirredRedirect(NetlinkBuffer buffer, int index, uint parent, ushort priority, ushort protocol, uint classId, int targetIndex)
    {
        uint info = ((uint)priority << 16) | BinaryPrimitives.ReverseEndianness(protocol);
        NetlinkWriter w = BeginTc(buffer, TcMsgType.NewTFilter, CreateFlags, index, 0, parent, info);
        w.WriteString(Tca.Kind, "u32");
        int opts = w.BeginNested(Tca.Options);
        w.WriteUInt32(TcaU32.ClassId, classId);
        int acts = w.BeginNested(TcaU32.Act);
        int first = w.BeginNested(1);
        w.WriteString(TcaAct.Kind, "mirred");
        int actOpts = w.BeginNested(TcaAct.Options | Nla.FNested);
        var mirred = new TcMirredRaw { Action = TcAct.Stolen, EAction = TcaMirred.EgressRedirect, IfIndex = (uint)targetIndex };
        w.WriteAttribute(TcaMirred.Parms, MemoryMarshal.AsBytes(new ReadOnlySpan<TcMirredRaw>(in mirred)));
        w.EndNested(actOpts);
        w.EndNested(first);
        w.EndNested(acts);
        Span<byte> sel = stackalloc byte[32];
        sel.Clear();
        var head = new TcU32SelRaw { Flags = TcaU32.FlagTerminal, NKeys = 1 };
        MemoryMarshal.Write(sel, in head); // one key: mask 0, value 0 at offset 0 (match everything)
        w.WriteAttribute(TcaU32.Sel, sel);
        w.EndNested(opts);
        w.End();
    }
}

/// <summary>HTB and u32 match requests, as tc 6.1 sends them.</summary>
internal static class HtbRequests
{
    private const ushort AckFlags = NlmF.Request | NlmF.Ack;
    private const ushort CreateFlags = NlmF.Request | NlmF.Ack | NlmF.Excl | NlmF.Create;

    /// <summary>As <c>tc qdisc add dev X root handle H htb default D</c>.</summary>
    internal static void AddHtbQdisc(NetlinkBuffer buffer, int index, uint handle, uint parent, HtbQdiscOptions options)
    {
        var w = new NetlinkWriter(buffer, TcMsgType.NewQdisc, CreateFlags);
        w.WriteStruct(new TcMsg { Index = index, Handle = handle, Parent = parent });
        w.WriteString(Tca.Kind, "htb");
        int opts = w.BeginNested(Tca.Options);
        var glob = new TcHtbGlob { Version = options.Version, Rate2Quantum = options.Rate2Quantum, Defcls = options.DefaultClass };
        w.WriteAttribute(TcaHtb.Init, MemoryMarshal.AsBytes(new ReadOnlySpan<TcHtbGlob>(in glob)));
        w.EndNested(opts);
        w.End();
    }

    /// <summary>As <c>tc class add dev X parent P classid C htb rate R burst B ceil CE cburst CB</c>.</summary>
    internal static void AddHtbClass(NetlinkBuffer buffer, int index, uint classId, uint parent, HtbClassOptions options)
    {
        var w = new NetlinkWriter(buffer, TcMsgType.NewTClass, CreateFlags);
        w.WriteStruct(new TcMsg { Index = index, Handle = classId, Parent = parent });
        w.WriteString(Tca.Kind, "htb");
        int opts = w.BeginNested(Tca.Options);
        if (options.Rate >= 1UL << 32) WriteU64(ref w, TcaHtb.Rate64, options.Rate);
        if (options.Ceil >= 1UL << 32) WriteU64(ref w, TcaHtb.Ceil64, options.Ceil);
        var opt = new TcHtbOpt
        {
            Rate = new TcRateSpec { Rate = Capped(options.Rate) },
            Ceil = new TcRateSpec { Rate = Capped(options.Ceil) },
            Buffer = options.Buffer, Cbuffer = options.Cbuffer, Quantum = options.Quantum, Prio = options.Prio,
        };
        Span<uint> rtab = stackalloc uint[256], ctab = stackalloc uint[256];
        FillRateTable(ref opt.Rate, rtab, options.TicksPerMicrosecond);
        FillRateTable(ref opt.Ceil, ctab, options.TicksPerMicrosecond);
        w.WriteAttribute(TcaHtb.Parms, MemoryMarshal.AsBytes(new ReadOnlySpan<TcHtbOpt>(in opt)));
        w.WriteAttribute(TcaHtb.Rtab, MemoryMarshal.AsBytes(rtab));
        w.WriteAttribute(TcaHtb.Ctab, MemoryMarshal.AsBytes(ctab));
        w.EndNested(opts);
        w.End();
    }

    private static uint Capped(ulong rate) => rate >= 1UL << 32 ? uint.MaxValue : (uint)rate;

    private static void WriteU64(ref NetlinkWriter w, ushort type, ulong value)
    {
        Span<byte> v = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(v, value);
        w.WriteAttribute(type, v);
    }

    /// <summary>iproute2's tc_calc_rtable for HTB: Ethernet, no MPU, cells for a 1600-byte MTU.</summary>
    internal static void FillRateTable(ref TcRateSpec spec, Span<uint> table, double ticksPerMicrosecond)
    {
        const int mtu = 1600;
        byte cellLog = 0;
        while ((mtu >> cellLog) > 255) cellLog++;
        for (int i = 0; i < table.Length; i++)
            table[i] = PschedClock.TransmitTime(spec.Rate, (uint)((i + 1) << cellLog), ticksPerMicrosecond);
        spec.CellAlign = -1;
        spec.CellLog = cellLog;
        spec.LinkLayer = 1;
    }

    /// <summary>As <c>tc filter add dev X parent P protocol PROTO prio N u32 match ... flowid C</c>: terminal, one key per
    /// 32-bit match; no keys matches everything (one zero key, as <c>match u32 0 0</c>).</summary>
    internal static void AddU32Classifier(NetlinkBuffer buffer, int index, uint parent, ushort priority, ushort protocol, uint classId, ReadOnlySpan<U32Key> keys)
    {
        uint info = ((uint)priority << 16) | BinaryPrimitives.ReverseEndianness(protocol);
        var w = new NetlinkWriter(buffer, TcMsgType.NewTFilter, CreateFlags);
        w.WriteStruct(new TcMsg { Index = index, Parent = parent, Info = info });
        w.WriteString(Tca.Kind, "u32");
        int opts = w.BeginNested(Tca.Options);
        w.WriteUInt32(TcaU32.ClassId, classId);
        int n = Math.Max(keys.Length, 1);
        Span<byte> sel = stackalloc byte[16 + 16 * n];
        sel.Clear();
        var head = new TcU32SelRaw { Flags = TcaU32.FlagTerminal, NKeys = (byte)n };
        MemoryMarshal.Write(sel, in head);
        for (int i = 0; i < keys.Length; i++)
        {
            var key = new TcU32KeyRaw
            {
                Mask = BinaryPrimitives.ReverseEndianness(keys[i].Mask),
                Val = BinaryPrimitives.ReverseEndianness(keys[i].Value),
                Off = keys[i].Offset,
            };
            MemoryMarshal.Write(sel[(16 + 16 * i)..], in key);
        }
        w.WriteAttribute(TcaU32.Sel, sel);
        w.EndNested(opts);
        w.End();
    }

    /// <summary>As <c>tc class show dev X</c>: a dump of the device's classes.</summary>
    internal static void DumpClasses(NetlinkBuffer buffer, int index)
    {
        var w = new NetlinkWriter(buffer, TcMsgType.GetTClass, NlmF.Request | NlmF.Dump);
        w.WriteStruct(new TcMsg { Index = index });
        w.End();
    }
}

/// <summary>Filter dumps, as tc 6.1 sends them.</summary>
internal static class FilterRequests
{
    /// <summary>As <c>tc filter show dev X parent P</c>.</summary>
    internal static void DumpFilters(NetlinkBuffer buffer, int index, uint parent)
    {
        var w = new NetlinkWriter(buffer, TcMsgType.GetTFilter, NlmF.Request | NlmF.Dump);
        w.WriteStruct(new TcMsg { Index = index, Parent = parent });
        w.End();
    }
}
