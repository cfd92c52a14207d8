using System.Collections.Concurrent;
using System.Diagnostics;
using NUnit.Framework;

namespace Cni.TestSupport;

/// <summary>
/// Proves that a test project left the machine's own (root) network namespace as it found it: tests work in private
/// "host" namespaces, and a regression that makes a plugin, cnirun or a reference plugin act on the root namespace
/// again shows up as a failure of the project's run. Use it from a <c>[SetUpFixture]</c>: <see cref="Take"/> in
/// <c>[OneTimeSetUp]</c>, <see cref="AssertUnchanged"/> in <c>[OneTimeTearDown]</c>.
/// </summary>
/// <remarks>
/// Other processes on the machine (other test runs, runtimes) change the root namespace too, so only what this
/// process's tests can be told apart by fails: a line of <c>ip -o link</c>, <c>nft list ruleset</c>,
/// <c>iptables-save</c> or <c>ip6tables-save</c> that names something a test registered with <see cref="Watch"/>
/// (every <see cref="TestEnvironment.UniqueName"/>: bridges, networks, namespaces, container ids; and hashes of them a
/// test adds), and a changed forwarding sysctl. The chains and tables
/// every CNI plugin shares (<c>CNI-FORWARD</c>, <c>CNI-HOSTPORT-*</c>, <c>cni_plugins_masquerade</c>, ...) carry no
/// name of ours: when they appear during the run they are reported on the progress output, not failed.
/// </remarks>
public static class RootNamespaceGuard
{
    private static readonly ConcurrentDictionary<string, byte> s_watched = new(StringComparer.Ordinal);

    private static readonly string[] s_forwarding = ["net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding"];

    /// <summary>A view of the root namespace: one text per source, and the forwarding sysctls.</summary>
    /// <param name="Sources">Source (a command line) to its output, one line per entry.</param>
    /// <param name="Sysctls">Forwarding sysctl path (below <c>/proc/sys</c>) to its value.</param>
    public sealed record Snapshot(IReadOnlyDictionary<string, string[]> Sources, IReadOnlyDictionary<string, string> Sysctls);

    /// <summary>Registers <paramref name="name"/> (unique to this run, at least 6 characters) as one only this run's
    /// tests create: the root namespace must never mention it.</summary>
    public static void Watch(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Length < 6)
            throw new ArgumentException($"'{name}' is too short to be told apart from what others create", nameof(name));
        s_watched.TryAdd(name, 0);
    }

    /// <summary>The names registered so far.</summary>
    public static IReadOnlyCollection<string> Watched => s_watched.Keys.ToArray();

    /// <summary>The root namespace now (the caller must run in it, as a test process does). Needs root; null otherwise.</summary>
    public static Snapshot? Take()
    {
        if (!TestEnvironment.IsRoot)
            return null;
        var sources = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (string[] command in new[] { new[] { "ip", "-o", "link", "show" }, ["nft", "list", "ruleset"], ["iptables-save"], ["ip6tables-save"] })
            sources[string.Join(' ', command)] = Lines(command);
        var sysctls = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string key in s_forwarding)
        {
            string path = "/proc/sys/" + key;
            sysctls[key] = File.Exists(path) ? File.ReadAllText(path).Trim() : "(missing)";
        }
        return new Snapshot(sources, sysctls);
    }

    /// <summary>
    /// Fails when, since <paramref name="before"/>, the root namespace got a line naming a watched name or a forwarding
    /// sysctl changed; writes the shared CNI chains and tables that appeared meanwhile to the progress output.
    /// </summary>
    public static void AssertUnchanged(Snapshot? before)
    {
        Snapshot? after = Take();
        if (before is null || after is null)
            return;
        var problems = new List<string>();
        var notes = new List<string>();
        string[] watched = s_watched.Keys.ToArray();
        foreach ((string source, string[] lines) in after.Sources)
        {
            var old = new HashSet<string>(before.Sources.GetValueOrDefault(source) ?? [], StringComparer.Ordinal);
            foreach (string line in lines.Where(l => !old.Contains(l)))
            {
                string? name = watched.FirstOrDefault(w => line.Contains(w, StringComparison.Ordinal));
                if (name is not null)
                    problems.Add($"{source}: \"{line.Trim()}\" (names {name}, created by this run's tests)");
                else if (IsSharedCniObject(line))
                    notes.Add($"{source}: {line.Trim()}");
            }
        }
        foreach ((string key, string value) in after.Sysctls)
        {
            if (before.Sysctls.GetValueOrDefault(key) != value)
                problems.Add($"{key} changed from {before.Sysctls.GetValueOrDefault(key)} to {value}");
        }
        if (notes.Count > 0)
        {
            TestContext.Progress.WriteLine($"root namespace: shared CNI chains/tables appeared during the run (another process, or a regression of ours):{Environment.NewLine}  "
                + string.Join(Environment.NewLine + "  ", notes));
        }
        if (problems.Count > 0)
        {
            Assert.Fail($"the tests changed the machine's root network namespace (they must work in private host namespaces):{Environment.NewLine}  "
                + string.Join(Environment.NewLine + "  ", problems));
        }
    }

    /// <summary>A declaration of a chain or table every CNI plugin of a kind shares.</summary>
    internal static bool IsSharedCniObject(string line)
    {
        string t = line.Trim();
        return t.StartsWith(":CNI-", StringComparison.Ordinal)
            || (t.StartsWith("chain ", StringComparison.Ordinal) && (t.Contains(" CNI-", StringComparison.Ordinal) || t.Contains(" cni-", StringComparison.Ordinal)))
            || (t.StartsWith("table ", StringComparison.Ordinal) && t.Contains("cni", StringComparison.OrdinalIgnoreCase));
    }

    private static string[] Lines(string[] command)
    {
        var psi = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in command.Skip(1))
            psi.ArgumentList.Add(a);
        try
        {
            using Process p = Process.Start(psi)!;
            Task<string> stderr = p.StandardError.ReadToEndAsync();
            string stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            _ = stderr.Result;
            // Counters change with every packet: compare rules without them.
            return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Where(l => !l.StartsWith('#'))
                .Select(l => s_counters.Replace(l, ""))
                .ToArray();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return []; // the tool is not installed: nothing of it to compare
        }
    }

    private static readonly System.Text.RegularExpressions.Regex s_counters =
        new(@"counter packets \d+ bytes \d+|\[\d+:\d+\]", System.Text.RegularExpressions.RegexOptions.Compiled);
}
