namespace Cni.Spec;

/// <summary>
/// The parsed <c>CNI_ARGS</c> variable: <c>KEY=VALUE</c> pairs separated by ';'. Keys are case-sensitive, a later
/// pair wins over an earlier one, and <c>IgnoreUnknown=1</c> (or <c>true</c>) lets a plugin skip keys it does not know.
/// </summary>
public sealed class CniArgs
{
    /// <summary>The key that tells plugins to ignore keys they do not know.</summary>
    public const string IgnoreUnknownKey = "IgnoreUnknown";

    private CniArgs(IReadOnlyList<KeyValuePair<string, string>> pairs, bool ignoreUnknown)
    {
        Pairs = pairs;
        IgnoreUnknown = ignoreUnknown;
    }

    /// <summary>No arguments.</summary>
    public static CniArgs Empty { get; } = new([], false);

    /// <summary>Every pair, in order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Pairs { get; }

    /// <summary>True when <c>IgnoreUnknown</c> is 1 or true: unknown keys must not be refused.</summary>
    public bool IgnoreUnknown { get; }

    /// <summary>The value of <paramref name="key"/> (the last one when repeated), or null.</summary>
    public string? Get(string key)
    {
        for (int i = Pairs.Count - 1; i >= 0; i--)
        {
            if (Pairs[i].Key == key)
                return Pairs[i].Value;
        }
        return null;
    }

    /// <summary>
    /// Parses <c>CNI_ARGS</c>. Throws <see cref="CniException"/> (invalid environment, 4) naming the bad pair
    /// when a pair is not <c>KEY=VALUE</c> or <c>IgnoreUnknown</c> is not a boolean. Empty segments are skipped.
    /// </summary>
    public static CniArgs Parse(string? text)
    {
        if (string.IsNullOrEmpty(text))
            return Empty;
        var pairs = new List<KeyValuePair<string, string>>();
        foreach (string pair in text.Split(';'))
        {
            if (pair.Length == 0)
                continue;
            string[] kv = pair.Split('=');
            if (kv.Length != 2 || kv[0].Length == 0)
                throw new CniException(CniErrorCode.InvalidEnvironmentVariables, $"CNI_ARGS: invalid pair \"{pair}\": expected KEY=VALUE");
            pairs.Add(new(kv[0], kv[1]));
        }
        var args = new CniArgs(pairs, false);
        string? ignore = args.Get(IgnoreUnknownKey);
        bool ignoreUnknown = ignore?.ToLowerInvariant() switch
        {
            null or "0" or "false" => false,
            "1" or "true" => true,
            _ => throw new CniException(CniErrorCode.InvalidEnvironmentVariables, $"CNI_ARGS: {IgnoreUnknownKey}=\"{ignore}\" is not a boolean (1, 0, true or false)"),
        };
        return new CniArgs(pairs, ignoreUnknown);
    }

    /// <summary>
    /// Refuses keys outside <paramref name="knownKeys"/> (and <c>IgnoreUnknown</c>) unless <see cref="IgnoreUnknown"/> is set:
    /// throws <see cref="CniException"/> (invalid environment, 4) naming the unknown keys.
    /// </summary>
    public void EnsureKnownKeys(IEnumerable<string> knownKeys)
    {
        if (IgnoreUnknown)
            return;
        var known = new HashSet<string>(knownKeys, StringComparer.Ordinal) { IgnoreUnknownKey };
        string[] unknown = Pairs.Select(p => p.Key).Where(k => !known.Contains(k)).Distinct().ToArray();
        if (unknown.Length > 0)
        {
            throw new CniException(CniErrorCode.InvalidEnvironmentVariables,
                $"CNI_ARGS: unknown key{(unknown.Length > 1 ? "s" : "")} {string.Join(", ", unknown.Select(k => $"\"{k}\""))}",
                $"this plugin accepts: {string.Join(", ", known.Order(StringComparer.Ordinal))}; add IgnoreUnknown=1 to skip unknown keys");
        }
    }

    /// <summary>The pairs in <c>CNI_ARGS</c> form.</summary>
    public override string ToString() => string.Join(';', Pairs.Select(p => $"{p.Key}={p.Value}"));
}
