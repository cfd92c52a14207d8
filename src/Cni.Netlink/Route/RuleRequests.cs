using System.Net;
using System.Net.Sockets;
using Cni.Netlink.Protocol;

namespace Cni.Netlink.Rtnl;

/// <summary>
/// Builds the FIB rule requests. Header and attribute order follow what iproute2 6.1 sends for
/// <c>ip rule add|del from A [to B] [table N] [prio P]</c> (tests/Cni.Netlink.Tests/Golden/rules).
/// </summary>
internal static class RuleRequests
{
    /// <summary>As <c>ip rule add|del</c>: fib_rule_hdr (table in the header below 256), then SRC, DST, IIFNAME, OIFNAME,
    /// FWMARK, TABLE (ids over 255), PRIORITY.</summary>
    internal static void Rule(NetlinkBuffer buffer, bool add, Cni.Netlink.Rule rule)
    {
        AddressFamily family = rule.EffectiveFamily;
        if (family is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
            throw new ArgumentException($"a rule must be IPv4 or IPv6, not {family}", nameof(rule));
        int max = family == AddressFamily.InterNetworkV6 ? 128 : 32;
        Check(rule.Source, rule.EffectiveSourcePrefixLength, "source");
        Check(rule.Destination, rule.EffectiveDestinationPrefixLength, "destination");

        // On add, no table means main (as `ip rule add` without `table`); on delete, any table.
        uint table = rule.Table ?? (add ? RouteTable.Main : RouteTable.Unspecified);
        RuleAction action = rule.Action ?? (add ? RuleAction.ToTable : RuleAction.Unspecified);
        var w = new NetlinkWriter(buffer, add ? RuleMsgType.NewRule : RuleMsgType.DelRule,
            add ? (ushort)(NlmF.Request | NlmF.Ack | NlmF.Excl | NlmF.Create) : (ushort)(NlmF.Request | NlmF.Ack));
        w.WriteStruct(new FibRuleHdr
        {
            Family = family == AddressFamily.InterNetworkV6 ? AddressFamilies.Inet6 : AddressFamilies.Inet,
            DstLen = (byte)rule.EffectiveDestinationPrefixLength,
            SrcLen = (byte)rule.EffectiveSourcePrefixLength,
            Tos = rule.Tos,
            Table = table < 256 ? (byte)table : (byte)0,
            Action = (byte)action,
            Flags = rule.Flags,
        });
        if (rule.Source is IPAddress src) w.WriteAddress(Fra.Src, src);
        if (rule.Destination is IPAddress dst) w.WriteAddress(Fra.Dst, dst);
        if (rule.InputInterface is string iif) w.WriteString(Fra.IifName, iif);
        if (rule.OutputInterface is string oif) w.WriteString(Fra.OifName, oif);
        if (rule.FwMark is uint mark) w.WriteUInt32(Fra.FwMark, mark);
        if (table >= 256) w.WriteUInt32(Fra.Table, table);
        if (rule.Priority is uint prio) w.WriteUInt32(Fra.Priority, prio);
        w.End();

        void Check(IPAddress? address, int length, string what)
        {
            if (address is null) return;
            if (address.AddressFamily != family)
                throw new ArgumentException($"{what} {address} is not in the rule's address family", nameof(rule));
            if (length < 0 || length > max)
                throw new ArgumentOutOfRangeException(nameof(rule), $"{what} prefix length {length} out of range 0..{max}");
        }
    }

    /// <summary>RTM_GETRULE dump of one family (as <c>ip -4|-6 rule show</c>).</summary>
    internal static void DumpRules(NetlinkBuffer buffer, byte family)
    {
        var w = new NetlinkWriter(buffer, RuleMsgType.GetRule, NlmF.Request | NlmF.Dump);
        w.WriteStruct(new FibRuleHdr { Family = family });
        w.End();
    }
}
