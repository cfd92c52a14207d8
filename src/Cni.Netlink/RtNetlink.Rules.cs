using System.Net.Sockets;
using Cni.Netlink.Protocol;
using Cni.Netlink.Rtnl;
using Cni.Netlink.Sockets;

namespace Cni.Netlink;

public sealed partial class RtNetlink
{
    // =====================================================================
    // Routing policy rules
    // =====================================================================

    /// <summary>Adds a routing policy rule (<c>ip rule add from A [to B] [table N] [prio P]</c>).</summary>
    /// <exception cref="NetlinkException">The same rule exists (<see cref="NetlinkException.IsExists"/>).</exception>
    public void AddRule(Rule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        lock (_connection.Sync)
        {
            RuleRequests.Rule(_connection.BeginRequest(), add: true, rule);
            _connection.Ack(new Operation("add rule", detail: rule.ToString()));
        }
    }

    /// <summary>
    /// Deletes the first rule that matches every selector <paramref name="rule"/> sets (<c>ip rule del ...</c>); pass a
    /// rule from <see cref="ListRules"/> to delete exactly that one.
    /// </summary>
    /// <exception cref="NetlinkException">No such rule (<see cref="NetlinkException.IsNotFound"/>: ENOENT).</exception>
    public void DeleteRule(Rule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        lock (_connection.Sync)
        {
            RuleRequests.Rule(_connection.BeginRequest(), add: false, rule);
            _connection.Ack(new Operation("delete rule", detail: rule.ToString()));
        }
    }

    /// <summary>The routing policy rules of one family in priority order (<c>ip -4|-6 rule show</c>), or of both
    /// (IPv4 first) when <paramref name="family"/> is null.</summary>
    public IReadOnlyList<Rule> ListRules(AddressFamily? family = null)
    {
        var all = new List<Rule>();
        if (family is null or AddressFamily.Unspecified)
        {
            DumpRules(all, AddressFamilies.Inet);
            DumpRules(all, AddressFamilies.Inet6);
            return all;
        }
        DumpRules(all, family switch
        {
            AddressFamily.InterNetwork => AddressFamilies.Inet,
            AddressFamily.InterNetworkV6 => AddressFamilies.Inet6,
            _ => throw new ArgumentOutOfRangeException(nameof(family), family, "only IPv4 and IPv6"),
        });
        return all;
    }

    private void DumpRules(List<Rule> into, byte family)
    {
        lock (_connection.Sync)
        {
            RuleRequests.DumpRules(_connection.BeginRequest(), family);
            _connection.Dump(into, static m => Rule.Parse(m), RuleMsgType.NewRule, new Operation("list rules"));
        }
    }
}
