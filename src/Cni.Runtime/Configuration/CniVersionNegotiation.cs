using Cni.Spec;

namespace Cni.Runtime;

/// <summary>
/// Picks the spec version to call a network's plugins with, as libcni does: among <c>cniVersion</c> and every entry
/// of <c>cniVersions</c>, versions newer than this library (<see cref="CniVersions.Latest"/>) are skipped and the
/// highest remaining one wins. Without <c>cniVersions</c>, <c>cniVersion</c> is used as written.
/// </summary>
public static class CniVersionNegotiation
{
    /// <summary>The version to use; throws <see cref="CniException"/> naming <paramref name="where"/> for malformed versions or when nothing is usable.</summary>
    /// <param name="cniVersion">The <c>cniVersion</c> key ("" when missing).</param>
    /// <param name="cniVersions">The <c>cniVersions</c> key (empty when missing).</param>
    /// <param name="where">How messages name the configuration.</param>
    public static string Negotiate(string cniVersion, IReadOnlyList<string> cniVersions, string where = "network configuration")
    {
        ArgumentNullException.ThrowIfNull(cniVersion);
        ArgumentNullException.ThrowIfNull(cniVersions);
        Version latest = Cni.Spec.CniVersions.Parse(Cni.Spec.CniVersions.Latest);
        if (cniVersions.Count == 0)
        {
            if (cniVersion.Length > 0 && !Cni.Spec.CniVersions.TryParse(cniVersion, out _))
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"{where}: invalid cniVersion \"{cniVersion}\": expected major.minor.patch");
            return cniVersion;
        }

        string? best = null;
        Version? bestParsed = null;
        for (int i = 0; i <= cniVersions.Count; i++)
        {
            bool fromList = i < cniVersions.Count;
            string candidate = fromList ? cniVersions[i] : cniVersion;
            if (!fromList && candidate.Length == 0)
                continue;
            if (!Cni.Spec.CniVersions.TryParse(candidate, out Version? parsed))
            {
                throw new CniException(CniErrorCode.InvalidNetworkConfig, fromList
                    ? $"{where}: invalid cniVersions entry \"{candidate}\" at index {i}: expected major.minor.patch"
                    : $"{where}: invalid cniVersion \"{candidate}\": expected major.minor.patch");
            }
            if (parsed > latest)
                continue; // newer than this implementation of the spec
            if (bestParsed is null || parsed > bestParsed)
            {
                best = candidate;
                bestParsed = parsed;
            }
        }
        return best ?? throw new CniException(CniErrorCode.IncompatibleCniVersion,
            $"{where}: none of the versions in cniVersion/cniVersions is supported (this runtime implements up to {Cni.Spec.CniVersions.Latest})",
            $"cniVersion \"{cniVersion}\", cniVersions [{string.Join(", ", cniVersions)}]");
    }
}
