using System.Globalization;
using System.Text;
using Cni.Spec;

namespace Cni.Plugins.Common;

/// <summary>
/// MAC spoof checking (<c>macspoofchk</c>) in the reference's nftables layout: in table <c>bridge nat</c>, a
/// PREROUTING rule sends frames from the host-side interface to a per-attachment chain that accepts only the
/// container's MAC as source and drops everything else. Rules carry the comment <c>macspoofchk-&lt;id&gt;</c>.
/// </summary>
public static class MacSpoofCheck
{
    private const string Table = "bridge nat";

    /// <summary>The per-attachment chain: <c>cni-br-iface-&lt;id&gt;</c>.</summary>
    public static string InterfaceChain(string refId) => "cni-br-iface-" + refId;

    /// <summary>The rule comment: <c>macspoofchk-&lt;id&gt;</c>.</summary>
    public static string Comment(string refId) => "macspoofchk-" + refId;

    /// <summary>The <c>nft -f</c> script that installs the check (pure, for tests).</summary>
    public static string SetupScript(string hostInterface, string mac, string refId)
    {
        string ifaceChain = InterfaceChain(refId), macChain = ifaceChain + "-mac", comment = Comment(refId);
        var s = new StringBuilder();
        s.Append("add table ").Append(Table).Append('\n');
        s.Append("add chain ").Append(Table).Append(" PREROUTING { type filter hook prerouting priority -300 ; policy accept ; }\n");
        s.Append("add chain ").Append(Table).Append(' ').Append(ifaceChain).Append('\n');
        s.Append("add chain ").Append(Table).Append(' ').Append(macChain).Append('\n');
        s.Append("flush chain ").Append(Table).Append(' ').Append(ifaceChain).Append('\n');
        s.Append("flush chain ").Append(Table).Append(' ').Append(macChain).Append('\n');
        s.Append("add rule ").Append(Table).Append(" PREROUTING iifname \"").Append(hostInterface).Append("\" jump ").Append(ifaceChain).Append(" comment \"").Append(comment).Append("\"\n");
        s.Append("add rule ").Append(Table).Append(' ').Append(ifaceChain).Append(" jump ").Append(macChain).Append(" comment \"").Append(comment).Append("\"\n");
        s.Append("add rule ").Append(Table).Append(' ').Append(macChain).Append(" ether saddr ").Append(mac.ToLowerInvariant()).Append(" return comment \"").Append(comment).Append("\"\n");
        s.Append("add rule ").Append(Table).Append(' ').Append(macChain).Append(" drop comment \"").Append(comment).Append("\"\n");
        return s.ToString();
    }

    /// <summary>Installs the check for frames entering from <paramref name="hostInterface"/>.</summary>
    public static Task SetupAsync(string hostInterface, string mac, string refId, CancellationToken ct = default) =>
        IpMasquerade.NftAsync(SetupScript(hostInterface, mac, refId), ct);

    /// <summary>Removes the check of <paramref name="refId"/>; missing rules and chains are success.</summary>
    public static async Task TeardownAsync(string refId, CancellationToken ct = default)
    {
        string? nft = ExternalCommand.Find("nft");
        if (nft is null)
            return;
        CommandOutput listing = await ExternalCommand.RunAsync(nft, ["-a", "list", "chain", "bridge", "nat", "PREROUTING"], null, ct).ConfigureAwait(false);
        if (!listing.Succeeded)
            return; // no table: nothing to remove
        string comment = Comment(refId);
        var s = new StringBuilder();
        foreach ((string ruleComment, long handle) in IpMasquerade.ParseNftRules(listing.Stdout))
        {
            if (ruleComment == comment)
                s.Append("delete rule ").Append(Table).Append(" PREROUTING handle ").Append(handle.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        string ifaceChain = InterfaceChain(refId);
        CommandOutput chains = await ExternalCommand.RunAsync(nft, ["list", "chains", "bridge"], null, ct).ConfigureAwait(false);
        if (chains.Stdout.Contains("chain " + ifaceChain + " ", StringComparison.Ordinal) || chains.Stdout.Contains("chain " + ifaceChain + "\n", StringComparison.Ordinal))
        {
            s.Append("flush chain ").Append(Table).Append(' ').Append(ifaceChain).Append('\n');
            s.Append("delete chain ").Append(Table).Append(' ').Append(ifaceChain).Append('\n');
        }
        if (chains.Stdout.Contains("chain " + ifaceChain + "-mac", StringComparison.Ordinal))
        {
            s.Append("flush chain ").Append(Table).Append(' ').Append(ifaceChain).Append("-mac\n");
            s.Append("delete chain ").Append(Table).Append(' ').Append(ifaceChain).Append("-mac\n");
        }
        if (s.Length > 0)
            await IpMasquerade.NftAsync(s.ToString(), ct).ConfigureAwait(false);
    }
}
