using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Cni.Plugins.Common;
using Cni.Spec;

namespace Cni.Plugins.Portmap;

/// <summary>
/// The nftables backend, with the reference's layout (which it builds with knftables): tables <c>ip cni_hostport</c> and
/// <c>ip6 cni_hostport</c>; base chains <c>prerouting</c> and <c>output</c> (nat, dstnat) jumping to <c>hostip_hostports</c>
/// and <c>hostports</c>; <c>masquerading</c> (nat, srcnat); one rule per mapping whose comment is the container id, so
/// DEL deletes exactly the rules of that container, whoever wrote them.
/// </summary>
/// <remarks>
/// The script fed to <c>nft -f -</c> is built only from validated tokens: protocols from a fixed set, addresses and
/// ports formatted from parsed values, the container id restricted to the CNI id alphabet, conditions refused when
/// they contain anything that could end a statement or open a block (see <see cref="PortmapSettings.Load"/>); the network
/// and interface names never appear in it.
/// </remarks>
public sealed class NftablesPortMapper(ICommandRunner commands) : IPortMapper
{
    /// <summary>The table name in both families.</summary>
    public const string TableName = "cni_hostport";

    /// <summary>The chain of mappings with a host address.</summary>
    public const string HostIPHostPortsChain = "hostip_hostports";

    /// <summary>The chain of mappings without a host address.</summary>
    public const string HostPortsChain = "hostports";

    /// <summary>The postrouting chain masquerading hairpin and localhost connections.</summary>
    public const string MasqueradingChain = "masquerading";

    private static string FamilyName(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? "ip6" : "ip";

    /// <summary>The attachment's rules: (chain, rule body without the comment), in the reference's order (pure).</summary>
    public static List<(string Chain, string Rule)> Rules(PortmapSettings s, IPPrefix container)
    {
        bool v6 = container.Family == AddressFamily.InterNetworkV6;
        string ipX = FamilyName(container.Family);
        var rules = new List<(string, string)>();
        foreach (PortMapping m in s.Mappings)
        {
            if (!m.AppliesTo(container.Family))
                continue;
            string to = v6 ? $"[{container.Address}]:{PortmapSettings.Port(m.ContainerPort)}" : $"{container.Address}:{PortmapSettings.Port(m.ContainerPort)}";
            if (m.DestinationMatch is { } dst)
                rules.Add((HostIPHostPortsChain, $"{ipX} daddr {dst} {m.Protocol} dport {PortmapSettings.Port(m.HostPort)} dnat to {to}"));
            else
                rules.Add((HostPortsChain, $"{m.Protocol} dport {PortmapSettings.Port(m.HostPort)} dnat to {to}"));
        }
        if (s.Snat)
        {
            rules.Add((MasqueradingChain, $"{ipX} saddr {container.Address} {ipX} daddr {container.Address} masquerade"));
            if (!v6)
                rules.Add((MasqueradingChain, $"{ipX} saddr 127.0.0.1 {ipX} daddr {container.Address} masquerade"));
        }
        return rules;
    }

    /// <summary>The <c>nft -f</c> script of an ADD for one family: the table and chains (idempotent), the base chains
    /// rewritten, then the attachment's rules (pure, for tests).</summary>
    public static string ForwardScript(PortmapSettings s, IPPrefix container)
    {
        string t = FamilyName(container.Family) + " " + TableName;
        string cond = string.Concat(s.Conditions(container.Family).Select(c => c + " "));
        var b = new StringBuilder();
        b.Append("add table ").Append(t).Append(" { comment \"CNI portmap plugin\" ; }\n");
        b.Append("add chain ").Append(t).Append(' ').Append(HostPortsChain).Append('\n');
        b.Append("add chain ").Append(t).Append(' ').Append(HostIPHostPortsChain).Append('\n');
        b.Append("add chain ").Append(t).Append(" prerouting { type nat hook prerouting priority -100 ; }\n");
        b.Append("flush chain ").Append(t).Append(" prerouting\n");
        b.Append("add rule ").Append(t).Append(" prerouting ").Append(cond).Append("jump ").Append(HostIPHostPortsChain).Append('\n');
        b.Append("add rule ").Append(t).Append(" prerouting ").Append(cond).Append("jump ").Append(HostPortsChain).Append('\n');
        b.Append("add chain ").Append(t).Append(" output { type nat hook output priority -100 ; }\n");
        b.Append("flush chain ").Append(t).Append(" output\n");
        b.Append("add rule ").Append(t).Append(" output ").Append(cond).Append("jump ").Append(HostIPHostPortsChain).Append('\n');
        b.Append("add rule ").Append(t).Append(" output ").Append(cond).Append("fib daddr type local jump ").Append(HostPortsChain).Append('\n');
        if (s.Snat)
            b.Append("add chain ").Append(t).Append(' ').Append(MasqueradingChain).Append(" { type nat hook postrouting priority 100 ; }\n");
        foreach ((string chain, string rule) in Rules(s, container))
            b.Append("add rule ").Append(t).Append(' ').Append(chain).Append(' ').Append(rule).Append(" comment \"").Append(s.ContainerId).Append("\"\n");
        return b.ToString();
    }

    /// <summary>The rules of table <c>cni_hostport</c> in an <c>nft -j list table</c> listing: chain, handle, comment (pure).</summary>
    public static List<(string Chain, long Handle, string? Comment)> ParseRules(string json)
    {
        var rules = new List<(string, long, string?)>();
        using JsonDocument doc = JsonDocument.Parse(json);
        if (!doc.RootElement.TryGetProperty("nftables", out JsonElement items) || items.ValueKind != JsonValueKind.Array)
            return rules;
        foreach (JsonElement item in items.EnumerateArray())
        {
            if (!item.TryGetProperty("rule", out JsonElement r))
                continue;
            string chain = r.TryGetProperty("chain", out JsonElement c) ? c.GetString() ?? "" : "";
            long handle = r.TryGetProperty("handle", out JsonElement h) && h.TryGetInt64(out long hv) ? hv : -1;
            string? comment = r.TryGetProperty("comment", out JsonElement cm) ? cm.GetString() : null;
            rules.Add((chain, handle, comment));
        }
        return rules;
    }

    /// <summary>The script deleting the rules of <paramref name="containerId"/> from a listing (pure).</summary>
    public static string DeleteScript(AddressFamily family, IEnumerable<(string Chain, long Handle, string? Comment)> rules, string containerId)
    {
        var b = new StringBuilder();
        foreach ((string chain, long handle, string? comment) in rules)
        {
            if (comment != containerId || handle < 0 || chain is not (HostPortsChain or HostIPHostPortsChain or MasqueradingChain))
                continue;
            b.Append("delete rule ").Append(FamilyName(family)).Append(' ').Append(TableName).Append(' ').Append(chain)
             .Append(" handle ").Append(handle.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
        }
        return b.ToString();
    }

    /// <inheritdoc/>
    public async Task ForwardAsync(PortmapSettings s, IPPrefix container, CancellationToken ct)
    {
        string script = ForwardScript(s, container);
        CommandOutput o = await commands.RunAsync(Nft(), ["-f", "-"], script, ct).ConfigureAwait(false);
        if (!o.Succeeded)
            throw new CniException(CniErrorCode.Internal, $"unable to set up nftables rules for port mappings: {o.Stderr.Trim()}", script);
    }

    /// <inheritdoc/>
    public async Task CheckAsync(PortmapSettings s, IPPrefix container, CancellationToken ct)
    {
        List<(string Chain, long Handle, string? Comment)>? listed = await ListAsync(container.Family, ct).ConfigureAwait(false)
            ?? throw new CniException(CniErrorCode.Internal, $"table {FamilyName(container.Family)} {TableName} not found");
        foreach (IGrouping<string, (string Chain, string Rule)> chain in Rules(s, container).GroupBy(r => r.Chain))
        {
            int found = listed.Count(r => r.Chain == chain.Key && r.Comment == s.ContainerId);
            if (found < chain.Count())
                throw new CniException(CniErrorCode.Internal,
                    $"missing hostport rules in chain {chain.Key} of table {FamilyName(container.Family)} {TableName}: {found} of {chain.Count()} for container {s.ContainerId}");
        }
    }

    /// <inheritdoc/>
    public async Task UnforwardAsync(PortmapSettings s, CancellationToken ct)
    {
        foreach (AddressFamily family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
            await UnforwardFamilyAsync(s.ContainerId, family, ct).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public Task UnforwardFamilyAsync(PortmapSettings s, AddressFamily family, CancellationToken ct) => UnforwardFamilyAsync(s.ContainerId, family, ct);

    /// <summary>Deletes the rules of <paramref name="containerId"/> in one family, listing again when a concurrent DEL
    /// removed one of them first (which fails the whole nft transaction).</summary>
    private async Task UnforwardFamilyAsync(string containerId, AddressFamily family, CancellationToken ct)
    {
        for (int attempt = 1; ; attempt++)
        {
            List<(string Chain, long Handle, string? Comment)>? listed = await ListAsync(family, ct).ConfigureAwait(false);
            if (listed is null)
                return;
            string script = DeleteScript(family, listed, containerId);
            if (script.Length == 0)
                return;
            CommandOutput o = await commands.RunAsync(Nft(), ["-f", "-"], script, ct).ConfigureAwait(false);
            if (o.Succeeded)
                return;
            if (attempt >= 5 || !o.Stderr.Contains("No such file or directory", StringComparison.Ordinal))
                throw new CniException(CniErrorCode.Internal, $"error deleting nftables rules: {o.Stderr.Trim()}", script);
        }
    }

    /// <summary>The rules of the family's table; null when the table does not exist.</summary>
    private async Task<List<(string Chain, long Handle, string? Comment)>?> ListAsync(AddressFamily family, CancellationToken ct)
    {
        CommandOutput o = await commands.RunAsync(Nft(), ["-j", "list", "table", FamilyName(family), TableName], null, ct).ConfigureAwait(false);
        if (!o.Succeeded)
        {
            if (o.Stderr.Contains("No such file or directory", StringComparison.Ordinal))
                return null;
            throw new CniException(CniErrorCode.Internal, $"could not list rules in table {FamilyName(family)} {TableName}: {o.Stderr.Trim()}");
        }
        try
        {
            return ParseRules(o.Stdout);
        }
        catch (JsonException e)
        {
            throw new CniException(CniErrorCode.Internal, $"could not read the listing of table {FamilyName(family)} {TableName}: {e.Message}");
        }
    }

    private string Nft() => commands.Find("nft") ?? throw new CniException(CniErrorCode.Internal, "nft not found: install nftables or use \"backend\": \"iptables\"");
}
