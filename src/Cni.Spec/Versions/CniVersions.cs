using System.Globalization;

namespace Cni.Spec;

/// <summary>The CNI spec versions this library knows, and comparisons between version strings.</summary>
public static class CniVersions
{
    /// <summary>Spec 0.1.0 (results with <c>ip4</c>/<c>ip6</c>).</summary>
    public const string V010 = "0.1.0";

    /// <summary>Spec 0.2.0 (results with <c>ip4</c>/<c>ip6</c>).</summary>
    public const string V020 = "0.2.0";

    /// <summary>Spec 0.3.0 (results with <c>interfaces</c>, <c>ips</c>, <c>routes</c>).</summary>
    public const string V030 = "0.3.0";

    /// <summary>Spec 0.3.1.</summary>
    public const string V031 = "0.3.1";

    /// <summary>Spec 0.4.0 (adds CHECK).</summary>
    public const string V040 = "0.4.0";

    /// <summary>Spec 1.0.0 (drops <c>ips[].version</c>).</summary>
    public const string V100 = "1.0.0";

    /// <summary>Spec 1.1.0 (adds GC and STATUS).</summary>
    public const string V110 = "1.1.0";

    /// <summary>The newest version: the in-memory model's version.</summary>
    public const string Latest = V110;

    /// <summary>The version a configuration without <c>cniVersion</c> means.</summary>
    public const string Default = V010;

    /// <summary>Every version, oldest first.</summary>
    public static IReadOnlyList<string> All { get; } = [V010, V020, V030, V031, V040, V100, V110];

    /// <summary>True when <paramref name="version"/> is one of <see cref="All"/>.</summary>
    public static bool IsKnown(string? version) => version is not null && All.Contains(version);

    /// <summary>Parses "major.minor.patch"; throws <see cref="CniException"/> (decoding failure) when malformed.</summary>
    public static Version Parse(string version) =>
        TryParse(version, out Version? parsed)
            ? parsed
            : throw new CniException(CniErrorCode.DecodingFailure, $"invalid cniVersion \"{version}\": expected major.minor.patch");

    /// <summary>Parses "major.minor.patch" (missing parts count as zero, as the Go library allows).</summary>
    public static bool TryParse(string? version, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Version? parsed)
    {
        parsed = null;
        if (string.IsNullOrEmpty(version))
            return false;
        string[] parts = version.Split('.');
        if (parts.Length > 3)
            return false;
        int[] numbers = new int[3];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out numbers[i]))
                return false;
        }
        parsed = new Version(numbers[0], numbers[1], numbers[2]);
        return true;
    }

    /// <summary>True when <paramref name="version"/> is at least <paramref name="minimum"/>; throws on a malformed version.</summary>
    public static bool IsAtLeast(string version, string minimum) => Parse(version) >= Parse(minimum);
}
