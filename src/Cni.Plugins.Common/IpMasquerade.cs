using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Cni.Spec;

namespace Cni.Plugins.Common;

/// <summary>Which netfilter front end masquerade rules are written with.</summary>
public enum MasqueradeBackend
{
    /// <summary>The <c>inet cni_plugins_masquerade</c> table, one rule per address (the reference's nftables layout).</summary>
    Nftables,

    /// <summary>A <c>CNI-&lt;hash&gt;</c> chain in the nat table jumped to from POSTROUTING (the reference's iptables layout).</summary>
    Iptables,
}

/// <summary>One attachment a GC must keep (<c>cni.dev/valid-attachments</c>).</summary>
/// <param name="ContainerId">The container id.</param>
/// <param name="IfName">The interface name.</param>
public readonly record struct Attachment(string ContainerId, string IfName);

/// <summary>
/// Masquerade (source NAT) for container addresses leaving their subnet, except multicast, in the reference's
/// layouts so that either implementation can remove the other's rules. nftables changes are one atomic
/// <c>nft -f -</c> script; iptables rules go through the <c>iptables</c>/<c>ip6tables</c> binaries as the reference does.
/// </summary>
public static partial class IpMasquerade
{
    /// <summary>The reference's nftables table (family inet).</summary>
    public const string TableName = "cni_plugins_masquerade";

    /// <summary>The chain holding one rule per masqueraded address.</summary>
    public const string ChainName = "masq_checks";

    /// <summary>Parses <c>ipMasqBackend</c>: null means the default (<see cref="DefaultBackend()"/>).</summary>
    public static MasqueradeBackend ParseBackend(string? text) => text switch
    {
        null or "" => DefaultBackend(),
        "nftables" => MasqueradeBackend.Nftables,
        "iptables" => MasqueradeBackend.Iptables,
        _ => throw new CniException(CniErrorCode.InvalidNetworkConfig, $"unknown ipmasq backend \"{text}\" (ipMasqBackend): use \"nftables\" or \"iptables\""),
    };

    /// <summary>The reference's choice (plugins 1.5 and later): iptables, unless only nftables is available (no
    /// <c>iptables</c> tool, and an <c>nft</c> one).</summary>
    public static MasqueradeBackend DefaultBackend() => DefaultBackend(ExternalCommand.Find);

    /// <summary>The reference's default backend, with <paramref name="find"/> telling which tools are installed.</summary>
    public static MasqueradeBackend DefaultBackend(Func<string, string?> find)
    {
        ArgumentNullException.ThrowIfNull(find);
        return find("iptables") is null && find("nft") is not null ? MasqueradeBackend.Nftables : MasqueradeBackend.Iptables;
    }

    /// <summary>Masquerades traffic from each address of <paramref name="addresses"/> to anything outside its subnet.</summary>
    /// <param name="backend">The backend to install the rules with.</param>
    /// <param name="addresses">The container's addresses.</param>
    /// <param name="network">The network name.</param>
    /// <param name="ifName">The container interface.</param>
    /// <param name="containerId">The container id.</param>
    /// <param name="ct">Kills the tools.</param>
    /// <param name="runner">Runs nft/iptables (<see cref="ICommandRunner.System"/> when null).</param>
    public static Task SetupAsync(MasqueradeBackend backend, IReadOnlyCollection<IPPrefix> addresses, string network, string ifName, string containerId, CancellationToken ct = default,
        ICommandRunner? runner = null) =>
        backend == MasqueradeBackend.Nftables
            ? SetupNftablesAsync(runner ?? ICommandRunner.System, addresses, network, ifName, containerId, ct)
            : SetupIptablesAsync(runner ?? ICommandRunner.System, addresses, network, containerId, ct);

    /// <summary>
    /// Removes the rules of one attachment from both backends (it may have been added by another version or
    /// configuration). Needs no addresses, so it works when the container namespace is gone. nftables: our
    /// <c>masq_checks</c> chain is listed and the attachment's rules deleted. iptables: when it is the nf_tables flavour,
    /// <c>nft list chains</c> (declarations only, small even on hosts with large rulesets) tells whether the attachment
    /// has an iptables chain at all, and the iptables tools run only when it does; the legacy flavour runs them for the
    /// families in <paramref name="families"/> when known. The listings run concurrently. Missing rules are success.
    /// </summary>
    /// <param name="network">The network name.</param>
    /// <param name="ifName">The container interface.</param>
    /// <param name="containerId">The container id.</param>
    /// <param name="families">The address families the attachment had, when known.</param>
    /// <param name="ct">Kills the tools.</param>
    /// <param name="runner">Runs nft/iptables (<see cref="ICommandRunner.System"/> when null).</param>
    public static async Task TeardownAsync(string network, string ifName, string containerId, IReadOnlyCollection<AddressFamily>? families = null, CancellationToken ct = default,
        ICommandRunner? runner = null)
    {
        ICommandRunner r = runner ?? ICommandRunner.System;
        string hash = NetfilterNames.InstanceHash(network, ifName, containerId);
        bool haveNft = r.Find("nft") is not null;
        Task<NftRuleset>? chains = haveNft && IptablesUsesNftables(r) ? ListChainsAsync(r, ct) : null;
        var work = new List<Task>();
        if (haveNft)
            work.Add(DeleteNftablesRulesAsync(r, c => c.StartsWith(hash, StringComparison.Ordinal), ct));
        foreach ((string tool, AddressFamily family, string table) in new[] { ("iptables", AddressFamily.InterNetwork, "ip nat"), ("ip6tables", AddressFamily.InterNetworkV6, "ip6 nat") })
        {
            if (r.Find(tool) is null)
                continue;
            if (chains is not null)
                work.Add(TeardownIptablesIfListedAsync(r, chains, table, tool, network, containerId, ct));
            else if (families is null || families.Contains(family))
                work.Add(TeardownIptablesAsync(r, tool, network, containerId, ct));
        }
        try
        {
            await Task.WhenAll(work).ConfigureAwait(false);
        }
        catch (CniException)
        {
            string[] errors = work.Where(t => t.IsFaulted).SelectMany(t => t.Exception!.InnerExceptions).Select(e => e.Message).ToArray();
            throw new CniException(CniErrorCode.Internal, "failed to remove masquerade rules: " + string.Join("; ", errors));
        }
    }

    private static async Task TeardownIptablesIfListedAsync(ICommandRunner r, Task<NftRuleset> chains, string table, string tool, string network, string containerId, CancellationToken ct)
    {
        if ((await chains.ConfigureAwait(false)).Mentions(table, NetfilterNames.ChainName(network, containerId)))
            await TeardownIptablesAsync(r, tool, network, containerId, ct).ConfigureAwait(false);
    }

    /// <summary>True when <c>iptables</c> is the nf_tables flavour (its rules then show in <c>nft list ruleset</c>).</summary>
    internal static bool IptablesUsesNftables(ICommandRunner r)
    {
        string? path = r.Find("iptables");
        if (path is null)
            return false;
        try
        {
            FileSystemInfo? target = new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true);
            string name = Path.GetFileName(target?.FullName ?? path);
            return name.Contains("nft", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static async Task<NftRuleset> ListChainsAsync(ICommandRunner r, CancellationToken ct)
    {
        string nft = r.Find("nft")!;
        CommandOutput output = await r.RunAsync(nft, ["list", "chains"], null, ct).ConfigureAwait(false);
        if (!output.Succeeded)
            throw new CniException(CniErrorCode.Internal, $"nft list chains failed: {output.Stderr.Trim()}");
        return NftRuleset.Parse(output.Stdout);
    }

    /// <summary>Removes the nftables rules of <paramref name="network"/> whose attachment is not in <paramref name="valid"/>
    /// (the iptables layout carries no network marker, so, as in the reference, it is not collected).</summary>
    /// <param name="network">The network name.</param>
    /// <param name="valid">The attachments to keep.</param>
    /// <param name="ct">Kills the tools.</param>
    /// <param name="runner">Runs nft (<see cref="ICommandRunner.System"/> when null).</param>
    public static async Task GcAsync(string network, IEnumerable<Attachment> valid, CancellationToken ct = default, ICommandRunner? runner = null)
    {
        ICommandRunner r = runner ?? ICommandRunner.System;
        if (r.Find("nft") is null)
            return;
        var keep = new HashSet<string>(valid.Select(a => InstanceCommentFor(network, a)), StringComparer.Ordinal);
        string prefix = NetfilterNames.NetworkHash(network);
        await DeleteNftablesRulesAsync(r, c => c.StartsWith(prefix, StringComparison.Ordinal) && !keep.Contains(c), ct).ConfigureAwait(false);
    }

    private static string InstanceCommentFor(string network, Attachment a) => NetfilterNames.InstanceComment(network, a.IfName, a.ContainerId);

    /// <summary>The <c>nft -f</c> script that creates the table and its chains and installs the rules of one attachment
    /// (pure, for tests).</summary>
    public static string NftablesSetupScript(IEnumerable<IPPrefix> addresses, string network, string ifName, string containerId)
    {
        string t = "inet " + TableName;
        var s = new StringBuilder();
        s.Append("add table ").Append(t).Append(" { comment \"Masquerading for plugins from github.com/containernetworking/plugins\" ; }\n");
        s.Append("add chain ").Append(t).Append(' ').Append(ChainName).Append(" { comment \"Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet\" ; }\n");
        s.Append("add chain ").Append(t).Append(" postrouting { type nat hook postrouting priority 100 ; }\n");
        s.Append("flush chain ").Append(t).Append(" postrouting\n");
        s.Append("add rule ").Append(t).Append(" postrouting ip daddr == 224.0.0.0/4  return\n");
        s.Append("add rule ").Append(t).Append(" postrouting ip6 daddr == ff00::/8  return\n");
        s.Append("add rule ").Append(t).Append(" postrouting goto ").Append(ChainName).Append('\n');
        return s.Append(NftablesRulesScript(addresses, network, ifName, containerId)).ToString();
    }

    private static async Task SetupNftablesAsync(ICommandRunner r, IReadOnlyCollection<IPPrefix> addresses, string network, string ifName, string containerId, CancellationToken ct)
    {
        // Fast path: once the table and its chains exist, only the attachment's rules are added (re-declaring existing
        // tables and chains makes the kernel commit an order of magnitude slower). When they are missing, the full
        // script creates them, atomically. No listing first: rules an earlier ADD of the same attachment left (ADD
        // without DEL) carry the same comment, and DEL and GC remove every rule with it.
        string rulesOnly = NftablesRulesScript(addresses, network, ifName, containerId);
        CommandOutput fast = await RunNftAsync(r, rulesOnly, ct).ConfigureAwait(false);
        if (fast.Succeeded)
            return;
        if (!fast.Stderr.Contains("No such file or directory", StringComparison.Ordinal))
            throw new CniException(CniErrorCode.Internal, $"nft failed: {fast.Stderr.Trim()}", rulesOnly);
        await NftAsync(r, NftablesSetupScript(addresses, network, ifName, containerId), ct).ConfigureAwait(false);
    }

    /// <summary>The <c>nft -f</c> script adding only the attachment's rules to an existing <c>masq_checks</c> chain (pure, for tests).</summary>
    public static string NftablesRulesScript(IEnumerable<IPPrefix> addresses, string network, string ifName, string containerId)
    {
        string comment = NetfilterNames.InstanceComment(network, ifName, containerId);
        var s = new StringBuilder();
        foreach (IPPrefix a in addresses)
        {
            string ip = a.Family == AddressFamily.InterNetwork ? "ip" : "ip6";
            s.Append("add rule inet ").Append(TableName).Append(' ').Append(ChainName).Append(' ')
             .Append(ip).Append(" saddr == ").Append(a.Address).Append(' ')
             .Append(ip).Append(" daddr != ").Append(a.Network).Append(" masquerade comment \"").Append(comment).Append("\"\n");
        }
        return s.ToString();
    }

    /// <summary>
    /// Deletes the rules of <c>masq_checks</c> whose comment <paramref name="match"/> accepts, in one <c>nft -f</c>
    /// transaction. A DEL or GC running at the same moment may delete one of them first, which fails the whole
    /// transaction: then the chain is listed again and the rules still there are deleted.
    /// </summary>
    private static async Task DeleteNftablesRulesAsync(ICommandRunner r, Func<string, bool> match, CancellationToken ct)
    {
        for (int attempt = 1; ; attempt++)
        {
            long[] handles = (await ListNftablesRulesAsync(r, ct).ConfigureAwait(false)).Where(r => match(r.Comment)).Select(r => r.Handle).ToArray();
            if (handles.Length == 0)
                return;
            var s = new StringBuilder();
            foreach (long h in handles)
                s.Append("delete rule inet ").Append(TableName).Append(' ').Append(ChainName).Append(" handle ").Append(h.ToString(CultureInfo.InvariantCulture)).Append('\n');
            CommandOutput output = await RunNftAsync(r, s.ToString(), ct).ConfigureAwait(false);
            if (output.Succeeded)
                return;
            if (attempt >= 5 || !output.Stderr.Contains("No such file or directory", StringComparison.Ordinal))
                throw new CniException(CniErrorCode.Internal, $"nft failed: {output.Stderr.Trim()}", s.ToString());
        }
    }

    /// <summary>The rules of <c>masq_checks</c> with their comments and handles; empty when the table does not exist.</summary>
    internal static async Task<List<(string Comment, long Handle)>> ListNftablesRulesAsync(ICommandRunner r, CancellationToken ct)
    {
        string nft = r.Find("nft") ?? throw new CniException(CniErrorCode.Internal, "nft not found: install nftables or use ipMasqBackend \"iptables\"");
        CommandOutput output = await r.RunAsync(nft, ["-a", "list", "chain", "inet", TableName, ChainName], null, ct).ConfigureAwait(false);
        if (!output.Succeeded)
        {
            if (output.Stderr.Contains("No such file or directory", StringComparison.Ordinal))
                return [];
            throw new CniException(CniErrorCode.Internal, $"nft list chain inet {TableName} {ChainName} failed: {output.Stderr.Trim()}");
        }
        return ParseNftRules(output.Stdout);
    }

    /// <summary>Reads <c>comment "…" # handle N</c> pairs from <c>nft -a list</c> output (pure, for tests).</summary>
    public static List<(string Comment, long Handle)> ParseNftRules(string listing)
    {
        var rules = new List<(string, long)>();
        foreach (Match m in NftRuleWithComment().Matches(listing))
            rules.Add((m.Groups[1].Value, long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)));
        return rules;
    }

    [GeneratedRegex("comment \"([^\"]*)\" # handle ([0-9]+)")]
    private static partial Regex NftRuleWithComment();

    private static Task<CommandOutput> RunNftAsync(ICommandRunner r, string script, CancellationToken ct, bool json = false)
    {
        string nft = r.Find("nft") ?? throw new CniException(CniErrorCode.Internal, "nft not found: install nftables or use ipMasqBackend \"iptables\"");
        return r.RunAsync(nft, json ? ["-j", "-f", "-"] : ["-f", "-"], script, ct);
    }

    /// <summary>Runs <paramref name="script"/> with <c>nft -f -</c> (<c>nft -j -f -</c> when <paramref name="json"/>), failing with nft's error.</summary>
    internal static async Task NftAsync(ICommandRunner r, string script, CancellationToken ct, bool json = false)
    {
        CommandOutput output = await RunNftAsync(r, script, ct, json).ConfigureAwait(false);
        if (!output.Succeeded)
            throw new CniException(CniErrorCode.Internal, $"nft failed: {output.Stderr.Trim()}", script);
    }

    // ---------------------------------------------------------------- iptables

    private static async Task SetupIptablesAsync(ICommandRunner r, IReadOnlyCollection<IPPrefix> addresses, string network, string containerId, CancellationToken ct)
    {
        string chain = NetfilterNames.ChainName(network, containerId);
        string comment = NetfilterNames.IptablesComment(network, containerId);
        foreach (IPPrefix a in addresses)
        {
            bool v6 = a.Family == AddressFamily.InterNetworkV6;
            string tool = r.Find(v6 ? "ip6tables" : "iptables")
                ?? throw new CniException(CniErrorCode.Internal, $"failed to locate {(v6 ? "ip6tables" : "iptables")}: install iptables or use ipMasqBackend \"nftables\"");
            string multicast = v6 ? "ff00::/8" : "224.0.0.0/4";
            CommandOutput created = await r.RunAsync(tool, ["-w", "-t", "nat", "-N", chain], null, ct).ConfigureAwait(false);
            if (!created.Succeeded && !created.Stderr.Contains("exists", StringComparison.OrdinalIgnoreCase))
                throw new CniException(CniErrorCode.Internal, $"{tool} -t nat -N {chain} failed: {created.Stderr.Trim()}");
            // A chain this call created is empty, and nothing can jump to it yet (iptables refuses a jump to a chain that
            // does not exist): its rules and the jump need no look first, and go in as one iptables-restore transaction
            // (each iptables process reads the table again). Step by step when that is not possible.
            bool fresh = created.Succeeded;
            if (fresh && await IptablesRestore.TryRunAsync(r, tool, IptablesSetupScript(chain, comment, a, multicast), ct).ConfigureAwait(false))
                continue;
            await AppendUniqueAsync(r, tool, chain, ["-d", a.ToString(), "-j", "ACCEPT", "-m", "comment", "--comment", comment], ct, fresh).ConfigureAwait(false);
            await AppendUniqueAsync(r, tool, chain, ["!", "-d", multicast, "-j", "MASQUERADE", "-m", "comment", "--comment", comment], ct, fresh).ConfigureAwait(false);
            await AppendUniqueAsync(r, tool, "POSTROUTING", ["-s", a.Address.ToString(), "-j", chain, "-m", "comment", "--comment", comment], ct).ConfigureAwait(false);
        }
    }

    private static async Task AppendUniqueAsync(ICommandRunner r, string tool, string chain, string[] rule, CancellationToken ct, bool chainIsNew = false)
    {
        if (!chainIsNew && (await r.RunAsync(tool, ["-w", "-t", "nat", "-C", chain, .. rule], null, ct).ConfigureAwait(false)).Succeeded)
            return;
        CommandOutput add = await r.RunAsync(tool, ["-w", "-t", "nat", "-A", chain, .. rule], null, ct).ConfigureAwait(false);
        if (!add.Succeeded)
            throw new CniException(CniErrorCode.Internal, $"{tool} -t nat -A {chain} failed: {add.Stderr.Trim()}");
    }

    /// <summary>The <c>iptables-restore --noflush</c> input filling the new (empty) <paramref name="chain"/> of an
    /// attachment and jumping to it from POSTROUTING: the rules the step-by-step path appends, in its order (pure, for
    /// tests).</summary>
    public static string IptablesSetupScript(string chain, string comment, IPPrefix address, string multicast)
    {
        var s = new StringBuilder("*nat\n");
        IptablesRestore.AppendRule(s, chain, ["-d", address.ToString(), "-j", "ACCEPT", "-m", "comment", "--comment", comment]);
        IptablesRestore.AppendRule(s, chain, ["!", "-d", multicast, "-j", "MASQUERADE", "-m", "comment", "--comment", comment]);
        IptablesRestore.AppendRule(s, "POSTROUTING", ["-s", address.Address.ToString(), "-j", chain, "-m", "comment", "--comment", comment]);
        return s.Append("COMMIT\n").ToString();
    }

    /// <summary>The <c>iptables-restore --noflush</c> input removing <paramref name="jumps"/> (lines of <c>-S</c>) and,
    /// when it exists, <paramref name="chain"/> (pure, for tests).</summary>
    public static string IptablesTeardownScript(string chain, IReadOnlyList<string> jumps, bool chainExists)
    {
        ArgumentNullException.ThrowIfNull(jumps);
        var s = new StringBuilder("*nat\n");
        foreach (string line in jumps)
        {
            if (!line.StartsWith("-A ", StringComparison.Ordinal))
                throw new ArgumentException($"not an appended rule: {line}", nameof(jumps));
            s.Append("-D ").Append(line, 3, line.Length - 3).Append('\n');
        }
        if (chainExists)
            s.Append("-F ").Append(chain).Append("\n-X ").Append(chain).Append('\n');
        return s.Append("COMMIT\n").ToString();
    }

    private static async Task TeardownIptablesAsync(ICommandRunner r, string tool, string network, string containerId, CancellationToken ct)
    {
        string chain = NetfilterNames.ChainName(network, containerId);
        CommandOutput listing = await r.RunAsync(tool, ["-w", "-t", "nat", "-S"], null, ct).ConfigureAwait(false);
        if (!listing.Succeeded)
            return; // no nat table for this family (e.g. IPv6 disabled): nothing of ours can be there
        string[] lines = listing.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        bool chainExists = lines.Any(l => l == "-N " + chain);
        string[] jumps = lines.Where(l => l.StartsWith("-A POSTROUTING ", StringComparison.Ordinal)
            && (l.EndsWith(" -j " + chain, StringComparison.Ordinal) || l.Contains(" -j " + chain + " ", StringComparison.Ordinal))).ToArray();
        if (jumps.Length == 0 && !chainExists)
            return;
        // One transaction when possible: the jumps deleted by the very lines -S printed (iptables-save syntax), the chain
        // flushed and removed. It fails as a whole when a concurrent DEL or GC removed something first: then step by
        // step, tolerating what is already gone.
        if (await IptablesRestore.TryRunAsync(r, tool, IptablesTeardownScript(chain, jumps, chainExists), ct).ConfigureAwait(false))
            return;
        // POSTROUTING rules jumping to our chain, deleted by their specification (positions shift under concurrent changes).
        string comment = NetfilterNames.IptablesComment(network, containerId);
        foreach (string line in jumps)
        {
            string[] tokens = line.Split(' ');
            int s = Array.IndexOf(tokens, "-s");
            string[] rule = s >= 0 && s + 1 < tokens.Length
                ? ["-s", tokens[s + 1], "-j", chain, "-m", "comment", "--comment", comment]
                : ["-j", chain, "-m", "comment", "--comment", comment];
            CommandOutput del = await r.RunAsync(tool, ["-w", "-t", "nat", "-D", "POSTROUTING", .. rule], null, ct).ConfigureAwait(false);
            if (!del.Succeeded && !del.Stderr.Contains("does a matching rule exist", StringComparison.OrdinalIgnoreCase) && !del.Stderr.Contains("Bad rule", StringComparison.OrdinalIgnoreCase))
                throw new CniException(CniErrorCode.Internal, $"{tool} -t nat -D POSTROUTING {string.Join(' ', rule)} failed: {del.Stderr.Trim()}");
        }
        if (!chainExists)
            return;
        await r.RunAsync(tool, ["-w", "-t", "nat", "-F", chain], null, ct).ConfigureAwait(false);
        CommandOutput x = await r.RunAsync(tool, ["-w", "-t", "nat", "-X", chain], null, ct).ConfigureAwait(false);
        if (!x.Succeeded && !x.Stderr.Contains("No chain", StringComparison.OrdinalIgnoreCase) && !x.Stderr.Contains("does not exist", StringComparison.OrdinalIgnoreCase))
            throw new CniException(CniErrorCode.Internal, $"{tool} -t nat -X {chain} failed: {x.Stderr.Trim()}");
    }
}

/// <summary>What the masquerade teardown needs from <c>nft list chains</c>: the text of each table, to tell whether a
/// table declares a chain.</summary>
public sealed class NftRuleset
{
    private readonly Dictionary<string, StringBuilder> _tables = new(StringComparer.Ordinal);

    /// <summary>True when table <paramref name="table"/> (e.g. <c>ip nat</c>) mentions <paramref name="word"/> (a chain name).</summary>
    public bool Mentions(string table, string word) =>
        _tables.TryGetValue(table, out StringBuilder? text) && text.ToString().Contains(word, StringComparison.Ordinal);

    /// <summary>Parses the listing (pure, for tests).</summary>
    public static NftRuleset Parse(string listing)
    {
        var result = new NftRuleset();
        string? table = null;
        foreach (string raw in listing.Split('\n'))
        {
            string line = raw.Trim();
            if (line.StartsWith("table ", StringComparison.Ordinal))
            {
                string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                table = parts.Length >= 3 ? parts[1] + " " + parts[2] : null;
                if (table is not null && !result._tables.ContainsKey(table))
                    result._tables[table] = new StringBuilder();
                continue;
            }
            if (table is not null)
                result._tables[table].Append(line).Append('\n');
        }
        return result;
    }
}
