using System.Buffers;
using System.Text;
using System.Text.Json;
using Cni.Spec;

namespace Cni.Plugins.Common;

/// <summary>
/// MAC spoof checking (<c>macspoofchk</c>) in the reference's nftables layout: in table <c>bridge nat</c>, a
/// PREROUTING rule sends frames from the host-side interface to a per-attachment chain that accepts only the
/// container's MAC as source and drops everything else. Rules carry the comment <c>macspoofchk-&lt;id&gt;</c>.
/// </summary>
/// <remarks>The chain names hold the interface name, which may contain any character but '/', ':' and whitespace
/// (<c>#</c>, <c>;</c>, <c>"</c>, <c>{</c>...), and nft's text syntax has no quoting for chain names: so every change
/// and listing goes through nft's JSON syntax (<c>nft -j</c>), as the reference's go-nft does, where a name is a
/// JSON string and no name can break the script.</remarks>
public static class MacSpoofCheck
{
    private const string Family = "bridge";
    private const string Table = "nat";
    private const string BaseChain = "PREROUTING";

    /// <summary>The per-attachment chain: <c>cni-br-iface-&lt;id&gt;</c>.</summary>
    public static string InterfaceChain(string refId) => "cni-br-iface-" + refId;

    /// <summary>The chain matching the container's MAC: <c>cni-br-iface-&lt;id&gt;-mac</c>.</summary>
    public static string MacChain(string refId) => InterfaceChain(refId) + "-mac";

    /// <summary>The rule comment: <c>macspoofchk-&lt;id&gt;</c>.</summary>
    public static string Comment(string refId) => "macspoofchk-" + refId;

    /// <summary>The <c>nft -j -f</c> script (JSON) that installs the check (pure, for tests).</summary>
    public static string SetupScript(string hostInterface, string mac, string refId)
    {
        string ifaceChain = InterfaceChain(refId), macChain = MacChain(refId), comment = Comment(refId);
        return Script(w =>
        {
            Command(w, "add", "table", () => { w.WriteString("family", Family); w.WriteString("name", Table); });
            Command(w, "add", "chain", () =>
            {
                ChainId(w, BaseChain);
                w.WriteString("type", "filter");
                w.WriteString("hook", "prerouting");
                w.WriteNumber("prio", -300);
                w.WriteString("policy", "accept");
            });
            Command(w, "add", "chain", () => ChainId(w, ifaceChain));
            Command(w, "add", "chain", () => ChainId(w, macChain));
            Command(w, "flush", "chain", () => ChainId(w, ifaceChain));
            Command(w, "flush", "chain", () => ChainId(w, macChain));
            Rule(w, BaseChain, comment, () =>
            {
                Match(w, () => { w.WriteStartObject("meta"); w.WriteString("key", "iifname"); w.WriteEndObject(); }, hostInterface);
                Verdict(w, "jump", ifaceChain);
            });
            Rule(w, ifaceChain, comment, () => Verdict(w, "jump", macChain));
            Rule(w, macChain, comment, () =>
            {
                Match(w, () => { w.WriteStartObject("payload"); w.WriteString("protocol", "ether"); w.WriteString("field", "saddr"); w.WriteEndObject(); }, mac.ToLowerInvariant());
                Verdict(w, "return", null);
            });
            Rule(w, macChain, comment, () => Verdict(w, "drop", null));
        });
    }

    /// <summary>The <c>nft -j -f</c> script (JSON) that removes the PREROUTING rules with handles <paramref name="ruleHandles"/>
    /// and flushes and deletes the chains <paramref name="chains"/> (pure, for tests).</summary>
    public static string TeardownScript(IEnumerable<long> ruleHandles, IEnumerable<string> chains) => Script(w =>
    {
        foreach (long handle in ruleHandles)
            Command(w, "delete", "rule", () => { ChainId(w, BaseChain, "chain"); w.WriteNumber("handle", handle); });
        foreach (string chain in chains)
        {
            Command(w, "flush", "chain", () => ChainId(w, chain));
            Command(w, "delete", "chain", () => ChainId(w, chain));
        }
    });

    /// <summary>Installs the check for frames entering from <paramref name="hostInterface"/>.</summary>
    /// <param name="hostInterface">The host end of the attachment.</param>
    /// <param name="mac">The container interface's MAC.</param>
    /// <param name="refId">Names the attachment's chains and rules.</param>
    /// <param name="ct">Kills nft.</param>
    /// <param name="runner">Runs nft (<see cref="ICommandRunner.System"/> when null).</param>
    public static Task SetupAsync(string hostInterface, string mac, string refId, CancellationToken ct = default, ICommandRunner? runner = null) =>
        IpMasquerade.NftAsync(runner ?? ICommandRunner.System, SetupScript(hostInterface, mac, refId), ct, json: true);

    /// <summary>Removes the check of <paramref name="refId"/>; missing rules and chains are success.</summary>
    /// <param name="refId">Names the attachment's chains and rules.</param>
    /// <param name="ct">Kills nft.</param>
    /// <param name="runner">Runs nft (<see cref="ICommandRunner.System"/> when null).</param>
    public static async Task TeardownAsync(string refId, CancellationToken ct = default, ICommandRunner? runner = null)
    {
        ICommandRunner r = runner ?? ICommandRunner.System;
        string? nft = r.Find("nft");
        if (nft is null)
            return;
        CommandOutput listing = await r.RunAsync(nft, ["-j", "-a", "list", "chain", Family, Table, BaseChain], null, ct).ConfigureAwait(false);
        if (!listing.Succeeded)
            return; // no table: nothing to remove
        string comment = Comment(refId);
        long[] handles = ListedObjects(listing.Stdout, "rule")
            .Where(r => Text(r, "chain") == BaseChain && Text(r, "comment") == comment && r.TryGetProperty("handle", out JsonElement h) && h.ValueKind == JsonValueKind.Number)
            .Select(r => r.GetProperty("handle").GetInt64()).ToArray();
        CommandOutput chainListing = await r.RunAsync(nft, ["-j", "list", "chains", Family], null, ct).ConfigureAwait(false);
        var existing = new HashSet<string>(
            ListedObjects(chainListing.Succeeded ? chainListing.Stdout : "", "chain").Where(c => Text(c, "table") == Table).Select(c => Text(c, "name") ?? ""),
            StringComparer.Ordinal);
        string[] chains = new[] { InterfaceChain(refId), MacChain(refId) }.Where(existing.Contains).ToArray();
        if (handles.Length > 0 || chains.Length > 0)
            await IpMasquerade.NftAsync(r, TeardownScript(handles, chains), ct, json: true).ConfigureAwait(false);
    }

    /// <summary>The objects of kind <paramref name="kind"/> (<c>rule</c>, <c>chain</c>) in an <c>nft -j list</c> output of
    /// family bridge; nothing when the output is not the JSON nft prints.</summary>
    internal static List<JsonElement> ListedObjects(string listing, string kind)
    {
        var found = new List<JsonElement>();
        if (string.IsNullOrWhiteSpace(listing))
            return found;
        try
        {
            using JsonDocument doc = JsonDocument.Parse(listing);
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("nftables", out JsonElement items) || items.ValueKind != JsonValueKind.Array)
                return found;
            foreach (JsonElement item in items.EnumerateArray())
            {
                if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty(kind, out JsonElement o) && o.ValueKind == JsonValueKind.Object && Text(o, "family") == Family)
                    found.Add(o.Clone());
            }
        }
        catch (JsonException)
        {
        }
        return found;
    }

    private static string? Text(JsonElement o, string property) =>
        o.TryGetProperty(property, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static string Script(Action<Utf8JsonWriter> commands)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("nftables");
            commands(w);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary><c>{"verb": {"kind": {…}}}</c>.</summary>
    private static void Command(Utf8JsonWriter w, string verb, string kind, Action body)
    {
        w.WriteStartObject();
        w.WriteStartObject(verb);
        w.WriteStartObject(kind);
        body();
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void ChainId(Utf8JsonWriter w, string chain, string property = "name")
    {
        w.WriteString("family", Family);
        w.WriteString("table", Table);
        w.WriteString(property, chain);
    }

    private static void Rule(Utf8JsonWriter w, string chain, string comment, Action expressions) => Command(w, "add", "rule", () =>
    {
        ChainId(w, chain, "chain");
        w.WriteStartArray("expr");
        expressions();
        w.WriteEndArray();
        w.WriteString("comment", comment);
    });

    private static void Match(Utf8JsonWriter w, Action left, string right)
    {
        w.WriteStartObject();
        w.WriteStartObject("match");
        w.WriteString("op", "==");
        w.WriteStartObject("left");
        left();
        w.WriteEndObject();
        w.WriteString("right", right);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void Verdict(Utf8JsonWriter w, string verdict, string? target)
    {
        w.WriteStartObject();
        if (target is null)
        {
            w.WriteNull(verdict);
        }
        else
        {
            w.WriteStartObject(verdict);
            w.WriteString("target", target);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }
}
