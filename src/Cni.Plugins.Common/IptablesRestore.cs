using System.Text;

namespace Cni.Plugins.Common;

/// <summary>
/// Several iptables changes as one <c>iptables-restore --noflush</c> transaction: one process instead of one per rule.
/// Every iptables process reads the whole table before it changes one rule (about 20 ms on a host with many pods),
/// so a plugin that adds a chain, its rules and the jump to it paid that four or five times per attachment.
/// </summary>
/// <remarks>Callers keep their rule-by-rule path for when the restore tool is missing or the transaction fails as a
/// whole (nothing of it is applied then).</remarks>
public static class IptablesRestore
{
    /// <summary>An argument in <c>iptables-save</c> syntax: quoted, with <c>\</c> and <c>"</c> escaped, when it holds
    /// white space, a quote or a backslash (a rule comment, typically); as it is otherwise.</summary>
    public static string Quote(string argument)
    {
        ArgumentNullException.ThrowIfNull(argument);
        if (argument.Length > 0 && !argument.Any(c => char.IsWhiteSpace(c) || c is '"' or '\\' or '\''))
            return argument;
        return "\"" + argument.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
    }

    /// <summary>Appends one rule line (<c>-A CHAIN args</c>, or <c>-I CHAIN 1 args</c> when <paramref name="prepend"/>).</summary>
    public static StringBuilder AppendRule(StringBuilder script, string chain, IEnumerable<string> arguments, bool prepend = false)
    {
        ArgumentNullException.ThrowIfNull(script);
        ArgumentNullException.ThrowIfNull(arguments);
        script.Append(prepend ? "-I " : "-A ").Append(chain);
        if (prepend)
            script.Append(" 1");
        foreach (string argument in arguments)
            script.Append(' ').Append(Quote(argument));
        return script.Append('\n');
    }

    /// <summary>
    /// Runs <paramref name="script"/> (<c>*TABLE</c> ... <c>COMMIT</c>) with <c>TOOL-restore -w --noflush</c>, where
    /// <paramref name="tool"/> is the path or name of <c>iptables</c> or <c>ip6tables</c>. False when that restore tool
    /// is not found or the transaction failed (then none of it was applied).
    /// </summary>
    public static async Task<bool> TryRunAsync(ICommandRunner runner, string tool, string script, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(runner);
        ArgumentNullException.ThrowIfNull(tool);
        if (runner.Find(Path.GetFileName(tool) + "-restore") is not { } restore)
            return false;
        return (await runner.RunAsync(restore, ["-w", "--noflush"], script, ct).ConfigureAwait(false)).Succeeded;
    }
}
