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

    /// <summary>The comment on the isolation rules every isolating policy shares (the jump from FORWARD, the stage-2
    /// drop and both RETURNs), as the reference writes it since it knows <c>isolated</c> (v1.7).</summary>
    public const string SharedIsolationComment = "CNI firewall plugin rules (ingressPolicy: same-bridge|isolated)";

    /// <summary>The comment the reference wrote on every isolation rule before v1.7 (only <c>same-bridge</c> existed).</summary>
    public const string LegacyIsolationComment = "CNI firewall plugin rules (ingressPolicy: same-bridge)";

    /// <summary>The comment on a bridge's stage-1 rules, naming the policy that made them.</summary>
    public static string PolicyComment(IngressPolicy policy) =>
        "CNI firewall plugin rules (ingressPolicy: " + (policy == IngressPolicy.Isolated ? "isolated" : "same-bridge") + ")";

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
    /// <param name="Legacy">The same rule as the reference wrote it before v1.7 (another comment), which CHECK accepts
    /// too: the per-bridge rules are never removed, so a node that ran the older plugin keeps them; null when the
    /// older plugin had no such rule.</param>
    public sealed record IsolationRule(string Chain, bool Prepend, string[] Rule, string[]? Legacy);

    /// <summary>
    /// The isolation rules of one bridge for <see cref="IngressPolicy.SameBridge"/> and <see cref="IngressPolicy.Isolated"/>,
    /// in the order the reference ensures them (each only when missing), which leaves:
    /// <code>
    /// -A FORWARD -j CNI-ISOLATION-STAGE-1                                  (shared comment, inserted first)
    /// -A CNI-ISOLATION-STAGE-1 -i BR -o BR -j DROP                         (isolated only; policy comment)
    /// -A CNI-ISOLATION-STAGE-1 -i BR ! -o BR -j CNI-ISOLATION-STAGE-2      (policy comment)
    /// -A CNI-ISOLATION-STAGE-1 -j RETURN                                   (shared comment)
    /// -A CNI-ISOLATION-STAGE-2 -o BR -j DROP                               (shared comment)
    /// -A CNI-ISOLATION-STAGE-2 -j RETURN                                   (shared comment)
    /// </code>
    /// with the comment match last in each rule.
    /// </summary>
    public static IReadOnlyList<IsolationRule> IsolationRules(string bridge, IngressPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(bridge);
        string own = PolicyComment(policy);
        bool legacy = policy == IngressPolicy.SameBridge;
        IsolationRule Rule(string chain, bool prepend, string[] rule, string comment) =>
            new(chain, prepend, WithComment(rule, comment), legacy ? WithComment(rule, LegacyIsolationComment) : null);

        var rules = new List<IsolationRule>
        {
            Rule(ForwardChain, true, ["-j", IsolationStage1], SharedIsolationComment),
            Rule(IsolationStage1, true, ["-i", bridge, "!", "-o", bridge, "-j", IsolationStage2], own),
        };
        if (policy == IngressPolicy.Isolated)
            rules.Add(Rule(IsolationStage1, true, ["-i", bridge, "-o", bridge, "-j", "DROP"], own));
        rules.Add(Rule(IsolationStage1, false, ["-j", "RETURN"], SharedIsolationComment));
        rules.Add(Rule(IsolationStage2, true, ["-o", bridge, "-j", "DROP"], SharedIsolationComment));
        rules.Add(Rule(IsolationStage2, false, ["-j", "RETURN"], SharedIsolationComment));
        return rules;
    }

    private static string[] WithComment(string[] rule, string comment) => [.. rule, "-m", "comment", "--comment", comment];

    /// <summary>A rule as an iptables command line would show it (arguments with spaces quoted), for messages and golden text.</summary>
    public static string Format(IEnumerable<string> arguments) =>
        string.Join(' ', arguments.Select(a => a.Length == 0 || a.Contains(' ', StringComparison.Ordinal) ? "\"" + a + "\"" : a));
}
