using System.Net;
using System.Net.Sockets;

namespace Cni.Plugins.Firewall;

/// <summary>
/// The reference firewall plugin's iptables layout in the <c>filter</c> table, rule by rule, as argument lists (pure,
/// so that tests can compare them with golden text). Any difference here would keep a node from switching between the
/// Go plugin and this one: <c>iptables -C</c> and <c>-D</c> find a rule only by its exact specification.
/// </summary>
public static class IptablesRules
{
    /// <summary>The table every rule lives in.</summary>
    public const string Table = "filter";

    /// <summary>The built-in chain the plugin hooks into.</summary>
    public const string ForwardChain = "FORWARD";

    /// <summary>The chain holding one pair of rules per container address.</summary>
    public const string PrivateChain = "CNI-FORWARD";

    /// <summary>First isolation chain: traffic leaving a bridge for elsewhere goes on to stage 2.</summary>
    public const string IsolationStage1 = "CNI-ISOLATION-STAGE-1";

    /// <summary>Second isolation chain: such traffic entering another isolated bridge is dropped.</summary>
    public const string IsolationStage2 = "CNI-ISOLATION-STAGE-2";

    /// <summary>The comment on the isolation rules (the reference writes the same one for every policy).</summary>
    public const string IsolationComment = "CNI firewall plugin rules (ingressPolicy: same-bridge)";

    /// <summary>The address as the reference writes it in a rule: a host prefix (<c>/32</c> or <c>/128</c>).</summary>
    public static string HostPrefix(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        return address + (address.AddressFamily == AddressFamily.InterNetwork ? "/32" : "/128");
    }

    /// <summary>The two rules of one container address in <see cref="PrivateChain"/>: replies towards it, and anything from it.</summary>
    public static string[][] AddressRules(IPAddress address)
    {
        string ip = HostPrefix(address);
        return
        [
            ["-d", ip, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"],
            ["-s", ip, "-j", "ACCEPT"],
        ];
    }

    /// <summary>The jump from FORWARD to <see cref="PrivateChain"/> (inserted first).</summary>
    public static string[] ForwardJump() => ["-m", "comment", "--comment", "CNI firewall plugin rules", "-j", PrivateChain];

    /// <summary>The jump from <see cref="PrivateChain"/> to the admin chain (inserted first).</summary>
    public static string[] AdminJump(string adminChain) => ["-m", "comment", "--comment", "CNI firewall plugin admin overrides", "-j", adminChain];

    /// <summary>One isolation rule: where it goes, whether it is inserted first (else appended), and its specification.</summary>
    /// <param name="Chain">The chain.</param>
    /// <param name="Prepend">True: inserted at position 1 when missing; false: appended.</param>
    /// <param name="Rule">The rule specification.</param>
    public sealed record IsolationRule(string Chain, bool Prepend, string[] Rule);

    /// <summary>
    /// The isolation rules of one bridge for <see cref="IngressPolicy.SameBridge"/> and <see cref="IngressPolicy.Isolated"/>,
    /// in the order they are ensured (each only when missing). Equivalent to:
    /// <code>
    /// iptables -I FORWARD -j CNI-ISOLATION-STAGE-1
    /// iptables -I CNI-ISOLATION-STAGE-1 -i BR ! -o BR -j CNI-ISOLATION-STAGE-2
    /// iptables -A CNI-ISOLATION-STAGE-1 -j RETURN
    /// iptables -I CNI-ISOLATION-STAGE-2 -o BR -j DROP
    /// iptables -A CNI-ISOLATION-STAGE-2 -j RETURN
    /// iptables -I CNI-ISOLATION-STAGE-1 -i BR -o BR -j DROP      # isolated only
    /// </code>
    /// each with the comment <see cref="IsolationComment"/> last.
    /// </summary>
    public static IReadOnlyList<IsolationRule> IsolationRules(string bridge, IngressPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(bridge);
        var rules = new List<IsolationRule>
        {
            new(ForwardChain, true, WithComment(["-j", IsolationStage1])),
            new(IsolationStage1, true, WithComment(["-i", bridge, "!", "-o", bridge, "-j", IsolationStage2])),
            new(IsolationStage1, false, WithComment(["-j", "RETURN"])),
            new(IsolationStage2, true, WithComment(["-o", bridge, "-j", "DROP"])),
            new(IsolationStage2, false, WithComment(["-j", "RETURN"])),
        };
        if (policy == IngressPolicy.Isolated)
            rules.Add(new(IsolationStage1, true, WithComment(["-i", bridge, "-o", bridge, "-j", "DROP"])));
        return rules;
    }

    private static string[] WithComment(string[] rule) => [.. rule, "-m", "comment", "--comment", IsolationComment];

    /// <summary>A rule as an iptables command line would show it (arguments with spaces quoted), for messages and golden text.</summary>
    public static string Format(IEnumerable<string> arguments) =>
        string.Join(' ', arguments.Select(a => a.Length == 0 || a.Contains(' ', StringComparison.Ordinal) ? "\"" + a + "\"" : a));
}
