using System.Text;
using System.Text.RegularExpressions;
using Cni.Plugins.TestSupport;

namespace Cni.E2E.Tests;

/// <summary>
/// What a network namespace holds that a CNI plugin may change and must give back: the iptables and ip6tables rules
/// (iptables-save), the whole nftables ruleset, the links (name and bridge master) and the addresses. Counters and
/// timestamps are dropped so that two captures of an unchanged namespace compare equal.
/// </summary>
internal sealed partial record HostState(IReadOnlyList<string> Iptables, IReadOnlyList<string> Ip6tables, IReadOnlyList<string> Nftables,
    IReadOnlyList<string> Links, IReadOnlyList<string> Addresses)
{
    /// <summary>Captures the namespace <paramref name="netns"/> (by name), or the namespace of this process when null.</summary>
    public static HostState Capture(string? netns)
    {
        string Run(params string[] args)
        {
            Shell.Result r = netns is null ? Shell.Try(args[0], args[1..]) : Shell.Try("ip", ["netns", "exec", netns, .. args]);
            if (r.ExitCode != 0)
                throw new InvalidOperationException($"{string.Join(' ', args)} failed ({r.ExitCode}): {r.Stderr}");
            return r.Stdout;
        }
        return new HostState(
            NormalizeSave(Run("iptables-save")),
            NormalizeSave(Run("ip6tables-save")),
            NormalizeNft(Run("nft", "list", "ruleset")),
            NormalizeLinks(Run("ip", "-o", "link", "show")),
            NormalizeAddresses(Run("ip", "-o", "addr", "show")));
    }

    /// <summary>iptables-save output without comments (timestamps) and with chain counters dropped.</summary>
    public static string[] NormalizeSave(string text) =>
        Lines(text).Where(l => !l.StartsWith('#')).Select(l => ChainCounters().Replace(l, "")).ToArray();

    /// <summary><c>nft list ruleset</c> output without rule counters' numbers and without iptables-nft's warnings.</summary>
    public static string[] NormalizeNft(string text) =>
        Lines(text).Where(l => !l.TrimStart().StartsWith('#')).Select(l => NftCounter().Replace(l, "counter").Trim()).Where(l => l.Length > 0).ToArray();

    /// <summary><c>ip -o link</c> reduced to "name" or "name master bridge" (state flags change as ports come and go).</summary>
    public static string[] NormalizeLinks(string text) =>
        Lines(text).Select(l =>
        {
            string[] fields = l.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            string name = fields[1].TrimEnd(':');
            int at = name.IndexOf('@', StringComparison.Ordinal);
            if (at >= 0) name = name[..at];
            Match master = MasterOf().Match(l);
            return master.Success ? $"{name} master {master.Groups[1].Value}" : name;
        }).ToArray();

    /// <summary><c>ip -o addr</c> reduced to "name family address/prefix".</summary>
    public static string[] NormalizeAddresses(string text) =>
        Lines(text).Select(l =>
        {
            string[] fields = l.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return $"{fields[1]} {fields[2]} {fields[3]}";
        }).ToArray();

    /// <summary>Every line of every part, prefixed with the part's name.</summary>
    public IEnumerable<string> AllLines() =>
        Iptables.Select(l => "iptables: " + l).Concat(Ip6tables.Select(l => "ip6tables: " + l)).Concat(Nftables.Select(l => "nft: " + l))
            .Concat(Links.Select(l => "link: " + l)).Concat(Addresses.Select(l => "addr: " + l));

    /// <summary>The rules only (iptables, ip6tables, nftables), each line prefixed with its part's name.</summary>
    public IEnumerable<string> RuleLines() => AllLines().Where(l => !l.StartsWith("link: ", StringComparison.Ordinal) && !l.StartsWith("addr: ", StringComparison.Ordinal));

    /// <summary>
    /// How <paramref name="after"/> differs from <paramref name="before"/>: one "- line" per line gone, one "+ line"
    /// per line new, by part; "" when equal. Same lines in another order are reported as such (rule order matters).
    /// </summary>
    public static string Diff(HostState before, HostState after, bool rulesOnly = false)
    {
        var text = new StringBuilder();
        void Part(string name, IReadOnlyList<string> a, IReadOnlyList<string> b)
        {
            if (a.SequenceEqual(b)) return;
            List<string> gone = MultisetMinus(a, b), added = MultisetMinus(b, a);
            if (gone.Count == 0 && added.Count == 0)
                text.Append(name).Append(": the same lines in another order\n");
            foreach (string l in gone) text.Append(name).Append(": - ").Append(l).Append('\n');
            foreach (string l in added) text.Append(name).Append(": + ").Append(l).Append('\n');
        }
        Part("iptables", before.Iptables, after.Iptables);
        Part("ip6tables", before.Ip6tables, after.Ip6tables);
        Part("nft", before.Nftables, after.Nftables);
        if (!rulesOnly)
        {
            Part("link", before.Links, after.Links);
            Part("addr", before.Addresses, after.Addresses);
        }
        return text.ToString();
    }

    /// <summary>The lines of <paramref name="a"/> left after removing one occurrence of each line of <paramref name="b"/>.</summary>
    public static List<string> MultisetMinus(IEnumerable<string> a, IEnumerable<string> b)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string l in b) counts[l] = counts.GetValueOrDefault(l) + 1;
        var left = new List<string>();
        foreach (string l in a)
        {
            if (counts.GetValueOrDefault(l) > 0) counts[l]--;
            else left.Add(l);
        }
        return left;
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [GeneratedRegex(@"\s*\[\d+:\d+\]$")]
    private static partial Regex ChainCounters();

    [GeneratedRegex(@"counter packets \d+ bytes \d+")]
    private static partial Regex NftCounter();

    [GeneratedRegex(@" master (\S+)")]
    private static partial Regex MasterOf();
}
