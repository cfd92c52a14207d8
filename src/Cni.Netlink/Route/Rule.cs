using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Cni.Netlink.Protocol;

namespace Cni.Netlink;

/// <summary>What a FIB rule does when it matches (FR_ACT_*).</summary>
public enum RuleAction : byte
{
    /// <summary>FR_ACT_UNSPEC: in a delete request, any action.</summary>
    Unspecified = 0,
    /// <summary>FR_ACT_TO_TBL: look the destination up in <see cref="Rule.Table"/> (<c>ip rule ... lookup N</c>).</summary>
    ToTable = 1,
    /// <summary>FR_ACT_GOTO: jump to another rule.</summary>
    Goto = 2,
    /// <summary>FR_ACT_NOP.</summary>
    Nop = 3,
    /// <summary>FR_ACT_BLACKHOLE: drop silently.</summary>
    Blackhole = 6,
    /// <summary>FR_ACT_UNREACHABLE: fail with network unreachable.</summary>
    Unreachable = 7,
    /// <summary>FR_ACT_PROHIBIT: fail with administratively prohibited.</summary>
    Prohibit = 8,
}

/// <summary>
/// A routing policy (FIB) rule, as <c>ip rule</c> shows it: what to add or delete and what a dump returns. For adding,
/// set <see cref="Family"/> (or <see cref="Source"/>/<see cref="Destination"/>, which imply it), <see cref="Table"/> and
/// whatever selectors you need; unset values are left to the kernel (no <see cref="Priority"/> lets the kernel number
/// the rule just above the highest-priority existing one).
/// </summary>
public sealed class Rule
{
    /// <summary>Address family; taken from <see cref="Source"/> or <see cref="Destination"/> when not set.</summary>
    public AddressFamily? Family { get; init; }
    /// <summary>Source selector (FRA_SRC, <c>from</c>); null for "from all".</summary>
    public IPAddress? Source { get; init; }
    /// <summary>Prefix length of <see cref="Source"/>; when null, a single address (32 or 128).</summary>
    public int? SourcePrefixLength { get; init; }
    /// <summary>Destination selector (FRA_DST, <c>to</c>); null for any destination.</summary>
    public IPAddress? Destination { get; init; }
    /// <summary>Prefix length of <see cref="Destination"/>; when null, a single address (32 or 128).</summary>
    public int? DestinationPrefixLength { get; init; }
    /// <summary>Input interface selector (FRA_IIFNAME, <c>iif</c>).</summary>
    public string? InputInterface { get; init; }
    /// <summary>Output interface selector (FRA_OIFNAME, <c>oif</c>).</summary>
    public string? OutputInterface { get; init; }
    /// <summary>Firewall mark selector (FRA_FWMARK, <c>fwmark</c>).</summary>
    public uint? FwMark { get; init; }
    /// <summary>The table to look up (<c>lookup N</c>); main when null on add, any table when null on delete.</summary>
    public uint? Table { get; init; }
    /// <summary>Rule priority (FRA_PRIORITY, <c>pref</c>); lower runs first. Null on add lets the kernel choose.</summary>
    public uint? Priority { get; init; }
    /// <summary>What the rule does; <see cref="RuleAction.ToTable"/> on add when null.</summary>
    public RuleAction? Action { get; init; }
    /// <summary>Type of service selector (<c>tos</c>).</summary>
    public byte Tos { get; init; }
    /// <summary>fib_rule_hdr flags (FIB_RULE_INVERT = 2 for <c>not</c>).</summary>
    public uint Flags { get; init; }
    /// <summary>Who installed the rule (FRA_PROTOCOL; 2 kernel for the built-in ones), on dumped rules.</summary>
    public byte? Protocol { get; init; }
    /// <summary>FRA_SUPPRESS_PREFIXLEN as dumped (0xffffffff: not set).</summary>
    public uint? SuppressPrefixLength { get; init; }
    /// <summary>Attributes this library does not interpret (on dumped rules).</summary>
    public IReadOnlyList<NetlinkAttribute> OtherAttributes { get; init; } = [];

    /// <summary>The family this rule belongs to.</summary>
    public AddressFamily EffectiveFamily =>
        Family ?? Source?.AddressFamily ?? Destination?.AddressFamily
        ?? throw new ArgumentException("a rule needs Family, Source or Destination to know its address family", nameof(Family));

    /// <summary>The prefix length of <see cref="Source"/> (0 without a source).</summary>
    public int EffectiveSourcePrefixLength => Source is null ? 0 : SourcePrefixLength ?? HostLength(Source);

    /// <summary>The prefix length of <see cref="Destination"/> (0 without a destination).</summary>
    public int EffectiveDestinationPrefixLength => Destination is null ? 0 : DestinationPrefixLength ?? HostLength(Destination);

    private static int HostLength(IPAddress a) => a.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32;

    /// <summary>As <c>ip rule show</c> prints it, e.g. "100: from 10.0.0.2 lookup 100".</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        if (Priority is uint p) sb.Append(p.ToString(CultureInfo.InvariantCulture)).Append(": ");
        if ((Flags & 2) != 0) sb.Append("not ");
        sb.Append("from ").Append(Source is null ? "all" : Prefix(Source, EffectiveSourcePrefixLength));
        if (Destination is not null) sb.Append(" to ").Append(Prefix(Destination, EffectiveDestinationPrefixLength));
        if (FwMark is uint m) sb.Append(" fwmark 0x").Append(m.ToString("x", CultureInfo.InvariantCulture));
        if (InputInterface is not null) sb.Append(" iif ").Append(InputInterface);
        if (OutputInterface is not null) sb.Append(" oif ").Append(OutputInterface);
        if (Action is null or RuleAction.ToTable)
            sb.Append(" lookup ").Append((Table ?? RouteTable.Main).ToString(CultureInfo.InvariantCulture));
        else
            sb.Append(' ').Append(Action.Value.ToString().ToLowerInvariant());
        return sb.ToString();
    }

    private static string Prefix(IPAddress a, int length) => length == HostLength(a) ? a.ToString() : $"{a}/{length}";

    /// <summary>Parses one RTM_NEWRULE message (header included); null for families other than IPv4 and IPv6.</summary>
    internal static Rule? Parse(ReadOnlySpan<byte> message)
    {
        ReadOnlySpan<byte> payload = NetlinkMessageReader.Payload(message);
        FibRuleHdr hdr = NetlinkMessageReader.ReadStruct<FibRuleHdr>(payload);
        AddressFamily family = hdr.Family switch
        {
            AddressFamilies.Inet => AddressFamily.InterNetwork,
            AddressFamilies.Inet6 => AddressFamily.InterNetworkV6,
            _ => AddressFamily.Unspecified,
        };
        if (family == AddressFamily.Unspecified) return null;
        IPAddress? src = null, dst = null;
        string? iif = null, oif = null;
        uint table = hdr.Table;
        uint? priority = null, fwmark = null, suppress = null;
        byte? protocol = null;
        List<NetlinkAttribute>? other = null;
        var attrs = new AttributeReader(payload[FibRuleHdr.Size..]);
        while (attrs.TryRead(out ushort type, out ReadOnlySpan<byte> value))
        {
            switch (type)
            {
                case Fra.Src: src = AttributeReader.Address(value); break;
                case Fra.Dst: dst = AttributeReader.Address(value); break;
                case Fra.IifName: iif = AttributeReader.String(value); break;
                case Fra.OifName: oif = AttributeReader.String(value); break;
                case Fra.Table: table = AttributeReader.U32(value); break;
                case Fra.Priority: priority = AttributeReader.U32(value); break;
                case Fra.FwMark: fwmark = AttributeReader.U32(value); break;
                case Fra.SuppressPrefixLen: suppress = AttributeReader.U32(value); break;
                case Fra.Protocol: protocol = AttributeReader.U8(value); break;
                default: (other ??= []).Add(new NetlinkAttribute(type, value.ToArray())); break;
            }
        }
        return new Rule
        {
            Family = family,
            Source = src,
            SourcePrefixLength = src is null ? null : hdr.SrcLen,
            Destination = dst,
            DestinationPrefixLength = dst is null ? null : hdr.DstLen,
            InputInterface = iif,
            OutputInterface = oif,
            FwMark = fwmark,
            // The kernel leaves out FRA_PRIORITY for priority 0 (the "local" rule).
            Priority = priority ?? 0,
            Table = table,
            Action = (RuleAction)hdr.Action,
            Tos = hdr.Tos,
            Flags = hdr.Flags,
            Protocol = protocol,
            SuppressPrefixLength = suppress,
            OtherAttributes = (IReadOnlyList<NetlinkAttribute>?)other ?? [],
        };
    }
}
