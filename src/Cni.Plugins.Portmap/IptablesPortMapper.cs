using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Cni.Plugins.Common;
using Cni.Spec;

namespace Cni.Plugins.Portmap;

/// <summary>One iptables chain of the reference's layout: its rules and the rules that jump to it from its entry chains.</summary>
/// <param name="Table">The table (always nat).</param>
/// <param name="Name">The chain.</param>
/// <param name="EntryChains">The chains holding the jumps to this one.</param>
/// <param name="EntryRules">The matches of each jump (the <c>-j NAME</c> is added).</param>
/// <param name="Rules">The chain's own rules, appended in order.</param>
/// <param name="PrependEntry">True when the jumps are inserted at the top of the entry chains.</param>
public sealed record IptablesChain(string Table, string Name, IReadOnlyList<string> EntryChains, List<string[]> EntryRules, List<string[]> Rules, bool PrependEntry)
{
    /// <summary>An entry rule with its jump.</summary>
    public string[] EntryRuleWithJump(string[] rule) => [.. rule, "-j", Name];
}

/// <summary>
/// The iptables backend, with the reference's chains, names, comments and rule order, so that a node can switch
/// between the Go plugin and this one: a DEL by either removes what the other's ADD made.
/// <code>
/// PREROUTING, OUTPUT:   -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
/// CNI-HOSTPORT-DNAT:    -m comment --comment "dnat name: ..." -m multiport -p tcp --destination-ports 8080,8081 -j CNI-DN-&lt;hash&gt;
/// CNI-DN-&lt;hash&gt;:       -p tcp --dport 8080 -s 10.0.0.2/24 -j CNI-HOSTPORT-SETMARK   (hairpin)
///                       -p tcp --dport 8080 -s 127.0.0.1 -j CNI-HOSTPORT-SETMARK     (localhost, IPv4)
///                       -p tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80
/// POSTROUTING:          -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ
/// CNI-HOSTPORT-MASQ:    -m mark --mark 0x2000/0x2000 -j MASQUERADE
/// CNI-HOSTPORT-SETMARK: -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000
/// </code>
/// Every tool run goes through the <see cref="ICommandRunner"/>.
/// </summary>
public sealed class IptablesPortMapper(ICommandRunner commands) : IPortMapper
{
    /// <summary>The top-level DNAT chain (never deleted).</summary>
    public const string TopLevelDnatChainName = "CNI-HOSTPORT-DNAT";

    /// <summary>The chain that sets the masquerade mark (never deleted).</summary>
    public const string SetMarkChainName = "CNI-HOSTPORT-SETMARK";

    /// <summary>The chain that masquerades marked packets (never deleted).</summary>
    public const string MarkMasqChainName = "CNI-HOSTPORT-MASQ";

    /// <summary>The top-level SNAT chain of old reference versions, still cleaned up on DEL.</summary>
    public const string OldTopLevelSnatChainName = "CNI-HOSTPORT-SNAT";

    // ------------------------------------------------------------------ pure layout

    /// <summary>The per-attachment DNAT chain: <c>CNI-DN-</c> + SHA-512(network + container id), 28 characters.</summary>
    public static string DnatChainName(string network, string containerId) => NetfilterNames.HashWithPrefix(NetfilterNames.MaxChainLength, "CNI-DN-", network + containerId);

    /// <summary>The per-attachment SNAT chain of old reference versions: <c>CNI-SN-</c> + the same hash.</summary>
    public static string OldSnatChainName(string network, string containerId) => NetfilterNames.HashWithPrefix(NetfilterNames.MaxChainLength, "CNI-SN-", network + containerId);

    /// <summary>The comment of the entry rules: <c>dnat name: "NET" id: "ID"</c>, at most 255 characters.</summary>
    public static string DnatComment(string network, string containerId)
    {
        string c = $"dnat name: \"{network}\" id: \"{containerId}\"";
        return Encoding.UTF8.GetByteCount(c) <= 255 ? c : TrimTo253(c) + "...";
    }

    private static string TrimTo253(string s)
    {
        // The reference cuts at byte 253; cut at the last whole character within it.
        int bytes = 0, i = 0;
        while (i < s.Length)
        {
            int n = char.IsSurrogatePair(s, i) ? 2 : 1;
            int b = Encoding.UTF8.GetByteCount(s.AsSpan(i, n));
            if (bytes + b > 253) break;
            bytes += b;
            i += n;
        }
        return s[..i];
    }

    /// <summary>The mark of <paramref name="bit"/> as the reference writes it: <c>0x2000/0x2000</c> for 13.</summary>
    public static string MarkDef(int bit)
    {
        string v = "0x" + (1u << bit).ToString("x", CultureInfo.InvariantCulture);
        return v + "/" + v;
    }

    /// <summary>CNI-HOSTPORT-DNAT, entered from PREROUTING and OUTPUT for local destinations.</summary>
    public static IptablesChain TopLevelDnatChain() =>
        new("nat", TopLevelDnatChainName, ["PREROUTING", "OUTPUT"], [["-m", "addrtype", "--dst-type", "LOCAL"]], [], false);

    /// <summary>CNI-HOSTPORT-SETMARK.</summary>
    public static IptablesChain SetMarkChain(int bit) =>
        new("nat", SetMarkChainName, [], [], [["-m", "comment", "--comment", "CNI portfwd masquerade mark", "-j", "MARK", "--set-xmark", MarkDef(bit)]], false);

    /// <summary>CNI-HOSTPORT-MASQ, entered first from POSTROUTING (before the bridge's and ptp's masquerade rules).</summary>
    public static IptablesChain MarkMasqChain(int bit) =>
        new("nat", MarkMasqChainName, ["POSTROUTING"], [["-m", "comment", "--comment", "CNI portfwd requiring masquerade"]],
            [["-m", "mark", "--mark", MarkDef(bit), "-j", "MASQUERADE"]], true);

    /// <summary>The old per-attachment SNAT chain (only torn down).</summary>
    public static IptablesChain OldSnatChain(string network, string containerId) =>
        new("nat", OldSnatChainName(network, containerId), [OldTopLevelSnatChainName], [], [], false);

    /// <summary>The per-attachment DNAT chain with its entry rules and rules for <paramref name="container"/>, exactly as
    /// the reference fills it.</summary>
    public static IptablesChain DnatChain(PortmapSettings s, IPPrefix container)
    {
        bool v6 = container.Family == AddressFamily.InterNetworkV6;
        var chain = new IptablesChain("nat", DnatChainName(s.Network, s.ContainerId), [TopLevelDnatChainName], [], [], true);
        string comment = DnatComment(s.Network, s.ContainerId);
        string setMark = s.ExternalSetMarkChain ?? SetMarkChainName;
        IReadOnlyList<string> conditions = s.Conditions(container.Family);

        // Entry rules: multiport (at most 15 ports per rule), protocols in sorted order, ports in the runtime's order;
        // as the reference, every mapping's host port is listed, whatever its host address family.
        foreach (IGrouping<string, PortMapping> byProto in s.Mappings.GroupBy(m => m.Protocol).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            foreach (PortMapping[] part in byProto.Chunk(15))
            {
                string ports = string.Join(",", part.Select(m => PortmapSettings.Port(m.HostPort)));
                chain.EntryRules.Add(["-m", "comment", "--comment", comment, "-m", "multiport", "-p", byProto.Key, "--destination-ports", ports, .. conditions]);
            }
        }

        foreach (PortMapping m in s.Mappings)
        {
            if (!m.AppliesTo(container.Family))
                continue;
            List<string> ruleBase = ["-p", m.Protocol, "--dport", PortmapSettings.Port(m.HostPort)];
            if (m.DestinationMatch is { } dst)
                ruleBase.AddRange(["-d", dst.ToString()]);
            if (s.Snat)
            {
                string masqCidr = s.MasqAll ? (v6 ? "::/0" : "0.0.0.0/0") : container.ToString();
                chain.Rules.Add([.. ruleBase, "-s", masqCidr, "-j", setMark]);
                if (!v6 && !s.MasqAll)
                    chain.Rules.Add([.. ruleBase, "-s", "127.0.0.1", "-j", setMark]);
            }
            string to = v6 ? $"[{container.Address}]:{PortmapSettings.Port(m.ContainerPort)}" : $"{container.Address}:{PortmapSettings.Port(m.ContainerPort)}";
            chain.Rules.Add([.. ruleBase, "-j", "DNAT", "--to-destination", to]);
        }
        return chain;
    }

    /// <summary>Splits one line of <c>iptables -S</c> into arguments as a shell would (double quotes with backslash
    /// escapes, single quotes), the way the reference reads them back to delete a rule.</summary>
    public static List<string> SplitRule(string line)
    {
        var args = new List<string>();
        var cur = new StringBuilder();
        bool inArg = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (c is ' ' or '\t')
            {
                if (inArg) { args.Add(cur.ToString()); cur.Clear(); inArg = false; }
                continue;
            }
            inArg = true;
            if (c == '"')
            {
                for (i++; i < line.Length && line[i] != '"'; i++)
                {
                    if (line[i] == '\\' && i + 1 < line.Length && line[i + 1] is '"' or '\\' or '$' or '`')
                        i++;
                    cur.Append(line[i]);
                }
            }
            else if (c == '\'')
            {
                for (i++; i < line.Length && line[i] != '\''; i++)
                    cur.Append(line[i]);
            }
            else if (c == '\\' && i + 1 < line.Length)
            {
                cur.Append(line[++i]);
            }
            else
            {
                cur.Append(c);
            }
        }
        if (inArg) args.Add(cur.ToString());
        return args;
    }

    // ------------------------------------------------------------------ operations

    /// <inheritdoc/>
    public async Task ForwardAsync(PortmapSettings s, IPPrefix container, CancellationToken ct)
    {
        string tool = Tool(container.Family);
        if (s.Snat && s.ExternalSetMarkChain is null)
        {
            await SetupAsync(tool, SetMarkChain(s.MarkMasqBit), ct).ConfigureAwait(false);
            await SetupAsync(tool, MarkMasqChain(s.MarkMasqBit), ct).ConfigureAwait(false);
        }
        await SetupAsync(tool, TopLevelDnatChain(), ct).ConfigureAwait(false);
        await SetupAsync(tool, DnatChain(s, container), ct).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task CheckAsync(PortmapSettings s, IPPrefix container, CancellationToken ct)
    {
        // Only the family of the address: the reference 1.1.x also looked for the IPv4 chain in ip6tables and failed
        // CHECK on every IPv4-only network.
        string tool = Tool(container.Family);
        IptablesChain chain = DnatChain(s, container);
        // Every look at once (each is an iptables process of its own, and none changes anything); the error still
        // names the first thing missing, in the order the rules are written.
        Task<CommandOutput> exists = RunAsync(tool, ["-t", chain.Table, "-S", chain.Name], ct);
        var looks = new List<(string Chain, string[] Rule, Task<bool> Found)>();
        foreach (string[] rule in chain.Rules)
            looks.Add((chain.Name, rule, ExistsAsync(tool, chain.Table, chain.Name, rule, ct)));
        foreach (string entry in chain.EntryChains)
        {
            foreach (string[] rule in chain.EntryRules)
            {
                string[] r = chain.EntryRuleWithJump(rule);
                looks.Add((entry, r, ExistsAsync(tool, chain.Table, entry, r, ct)));
            }
        }
        try
        {
            if (!(await exists.ConfigureAwait(false)).Succeeded)
                throw new CniException(CniErrorCode.Internal, $"chain {chain.Name} not found in {ToolName(container.Family)} table {chain.Table}");
            foreach ((string name, string[] rule, Task<bool> found) in looks)
            {
                if (!await found.ConfigureAwait(false))
                    throw new CniException(CniErrorCode.Internal, $"rule \"{string.Join(' ', rule)}\" not found in chain {name} of {ToolName(container.Family)} table {chain.Table}");
            }
        }
        finally
        {
            // Nothing left running behind an early answer.
            await Task.WhenAll(looks.Select(l => (Task)l.Found).Append(exists)).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async Task UnforwardAsync(PortmapSettings s, CancellationToken ct)
    {
        bool anyUsable = false;
        var errors = new List<string>();
        foreach (AddressFamily family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
        {
            string? tool = commands.Find(ToolName(family));
            if (tool is null)
            {
                errors.Add($"{ToolName(family)} not found");
                continue;
            }
            // Is the nat table usable for this family at all (ip6tables on a kernel without IPv6, say)? As the reference.
            CommandOutput probe = await RunAsync(tool, ["-t", "nat", "-S", "OUTPUT"], ct).ConfigureAwait(false);
            if (!probe.Succeeded)
            {
                errors.Add($"{ToolName(family)}: {probe.Stderr.Trim()}");
                continue;
            }
            anyUsable = true;
            await TeardownAsync(tool, DnatChainName(s.Network, s.ContainerId), TopLevelDnatChainName, ct).ConfigureAwait(false);
            try
            {
                await TeardownAsync(tool, OldSnatChainName(s.Network, s.ContainerId), OldTopLevelSnatChainName, ct).ConfigureAwait(false);
            }
            catch (CniException)
            {
                // As the reference: the chain of old versions is removed best effort.
            }
        }
        if (!anyUsable)
            throw new CniException(CniErrorCode.Internal, "neither iptables nor ip6tables is usable: " + string.Join("; ", errors));
    }

    /// <inheritdoc/>
    public Task UnforwardFamilyAsync(PortmapSettings s, AddressFamily family, CancellationToken ct) =>
        TeardownAsync(Tool(family), DnatChainName(s.Network, s.ContainerId), TopLevelDnatChainName, ct);

    private async Task SetupAsync(string tool, IptablesChain chain, CancellationToken ct)
    {
        CommandOutput created = await RunAsync(tool, ["-t", chain.Table, "-N", chain.Name], ct).ConfigureAwait(false);
        if (!created.Succeeded && !created.Stderr.Contains("exists", StringComparison.OrdinalIgnoreCase))
            throw Failed(tool, ["-t", chain.Table, "-N", chain.Name], created);
        // A chain this call created is empty, and nothing can jump to it yet (iptables refuses a jump to a chain that
        // does not exist): its rules and the jumps into it need no look first, and go in as one iptables-restore
        // transaction. Rule by rule otherwise (each look and each change is an iptables run of its own).
        if (created.Succeeded && await IptablesRestore.TryRunAsync(commands, tool, SetupScript(chain), ct).ConfigureAwait(false))
            return;
        foreach (string[] rule in chain.Rules)
            await InsertUniqueAsync(tool, chain.Table, chain.Name, prepend: false, rule, ct, chainIsNew: created.Succeeded).ConfigureAwait(false);
        foreach (string entry in chain.EntryChains)
        {
            foreach (string[] rule in chain.EntryRules)
                await InsertUniqueAsync(tool, chain.Table, entry, chain.PrependEntry, chain.EntryRuleWithJump(rule), ct).ConfigureAwait(false);
        }
    }

    /// <summary>The <c>iptables-restore --noflush</c> input filling a new <paramref name="chain"/> and adding the jumps
    /// into it, in the order the rule-by-rule path adds them (pure, for tests).</summary>
    public static string SetupScript(IptablesChain chain)
    {
        ArgumentNullException.ThrowIfNull(chain);
        var s = new System.Text.StringBuilder("*").Append(chain.Table).Append('\n');
        foreach (string[] rule in chain.Rules)
            IptablesRestore.AppendRule(s, chain.Name, rule);
        foreach (string entry in chain.EntryChains)
        {
            foreach (string[] rule in chain.EntryRules)
                IptablesRestore.AppendRule(s, entry, chain.EntryRuleWithJump(rule), chain.PrependEntry);
        }
        return s.Append("COMMIT\n").ToString();
    }

    private async Task InsertUniqueAsync(string tool, string table, string chain, bool prepend, string[] rule, CancellationToken ct, bool chainIsNew = false)
    {
        if (!chainIsNew && await ExistsAsync(tool, table, chain, rule, ct).ConfigureAwait(false))
            return;
        string[] args = prepend ? ["-t", table, "-I", chain, "1", .. rule] : ["-t", table, "-A", chain, .. rule];
        CommandOutput added = await RunAsync(tool, args, ct).ConfigureAwait(false);
        if (!added.Succeeded)
            throw Failed(tool, args, added);
    }

    private async Task<bool> ExistsAsync(string tool, string table, string chain, string[] rule, CancellationToken ct)
    {
        string[] args = ["-t", table, "-C", chain, .. rule];
        CommandOutput check = await RunAsync(tool, args, ct).ConfigureAwait(false);
        if (check.Succeeded)
            return true;
        if (check.ExitCode == 1)
            return false; // no such rule (or no such chain)
        throw Failed(tool, args, check);
    }

    /// <summary>Deletes every jump to <paramref name="chain"/> from <paramref name="entryChain"/> (read back from the
    /// listing, so rules written by any version are found), then flushes and deletes the chain; missing is success.</summary>
    private async Task TeardownAsync(string tool, string chain, string entryChain, CancellationToken ct)
    {
        CommandOutput listing = await RunAsync(tool, ["-t", "nat", "-S", entryChain], ct).ConfigureAwait(false);
        if (listing.Succeeded)
        {
            foreach (string line in listing.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!line.StartsWith("-A ", StringComparison.Ordinal) || !line.EndsWith("-j " + chain, StringComparison.Ordinal))
                    continue;
                List<string> parts = SplitRule(line);
                string[] args = ["-t", "nat", "-D", entryChain, .. parts.Skip(2)];
                CommandOutput del = await RunAsync(tool, args, ct).ConfigureAwait(false);
                if (!del.Succeeded && del.ExitCode != 1)
                    throw Failed(tool, args, del);
            }
        }
        CommandOutput flush = await RunAsync(tool, ["-t", "nat", "-F", chain], ct).ConfigureAwait(false);
        if (!flush.Succeeded && !IsNoChain(flush))
            throw Failed(tool, ["-t", "nat", "-F", chain], flush);
        if (!flush.Succeeded)
            return;
        CommandOutput x = await RunAsync(tool, ["-t", "nat", "-X", chain], ct).ConfigureAwait(false);
        if (!x.Succeeded && !IsNoChain(x))
            throw Failed(tool, ["-t", "nat", "-X", chain], x);
    }

    private static bool IsNoChain(CommandOutput o) =>
        o.Stderr.Contains("No chain", StringComparison.OrdinalIgnoreCase) || o.Stderr.Contains("does not exist", StringComparison.OrdinalIgnoreCase);

    private string Tool(AddressFamily family) =>
        commands.Find(ToolName(family)) ?? throw new CniException(CniErrorCode.Internal,
            $"failed to locate {ToolName(family)}: install iptables or use \"backend\": \"nftables\"");

    private static string ToolName(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? "ip6tables" : "iptables";

    private Task<CommandOutput> RunAsync(string tool, string[] args, CancellationToken ct) =>
        commands.RunAsync(tool, ["--wait", .. args], null, ct);

    private static CniException Failed(string tool, string[] args, CommandOutput o) =>
        new(CniErrorCode.Internal, $"{Path.GetFileName(tool)} {string.Join(' ', args)} failed (exit {o.ExitCode}): {o.Stderr.Trim()}");
}

/// <summary>A portmap backend: installs, checks and removes the mappings of one attachment.</summary>
public interface IPortMapper
{
    /// <summary>Installs the mappings of <paramref name="s"/> to <paramref name="container"/> (one address family).</summary>
    Task ForwardAsync(PortmapSettings s, IPPrefix container, CancellationToken ct);

    /// <summary>Verifies that the mappings to <paramref name="container"/> are in place; throws naming what is missing.</summary>
    Task CheckAsync(PortmapSettings s, IPPrefix container, CancellationToken ct);

    /// <summary>Removes every rule of this attachment (by network and container id), in both families; missing is success.</summary>
    Task UnforwardAsync(PortmapSettings s, CancellationToken ct);

    /// <summary>Removes the rules of this attachment in one family (the rollback of a failed ADD); missing is success.</summary>
    Task UnforwardFamilyAsync(PortmapSettings s, AddressFamily family, CancellationToken ct);
}
