using Cni.Spec;

namespace Cni.Plugins.Tuning;

/// <summary>
/// Turns a <c>sysctl</c> key of the configuration into a path below <c>/proc/sys</c>, refusing anything outside the
/// container's network parameters (<c>/proc/sys/net/...</c>).
/// </summary>
/// <remarks>
/// A dotted key (<c>net.ipv4.conf.IFNAME.arp_notify</c>) has its dots turned into slashes; a key that already contains a
/// slash is taken as a path as it is (<c>net/ipv4/conf/eth0.100/arp_notify</c>: dots inside interface names survive).
/// The first <c>IFNAME</c> is then replaced by <c>CNI_IFNAME</c>, so an interface name with dots stays one segment, as
/// in the reference. Any empty, <c>.</c> or <c>..</c> segment, a leading slash, a control character, or a first
/// segment other than <c>net</c> is refused: nothing can reach a file outside <c>/proc/sys/net</c>.
/// </remarks>
public static class SysctlKeys
{
    /// <summary>The placeholder replaced by the interface name.</summary>
    public const string IfNamePlaceholder = "IFNAME";

    /// <summary>
    /// The path below <c>/proc/sys</c> (slash separated, e.g. <c>net/ipv4/conf/eth0/arp_notify</c>) of
    /// <paramref name="key"/> with <c>IFNAME</c> replaced by <paramref name="ifName"/>.
    /// </summary>
    /// <exception cref="CniException">Invalid configuration (7) naming the key when it would leave <c>/proc/sys/net</c>.</exception>
    public static string Resolve(string key, string ifName)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(ifName);
        foreach (char c in key)
        {
            if (char.IsControl(c))
                throw Invalid(key, "it contains a control character");
        }
        string path = key.Contains('/') ? key : key.Replace('.', '/');
        int at = path.IndexOf(IfNamePlaceholder, StringComparison.Ordinal);
        if (at >= 0 && ifName.Length > 0)
            path = string.Concat(path.AsSpan(0, at), ifName, path.AsSpan(at + IfNamePlaceholder.Length));
        if (path.StartsWith('/'))
            throw Invalid(key, "absolute paths are not allowed");
        string[] segments = path.Split('/');
        foreach (string s in segments)
        {
            if (s is "" or "." or "..")
                throw Invalid(key, "empty, \".\" and \"..\" path segments are not allowed");
        }
        if (segments.Length < 2 || segments[0] != "net")
            throw Invalid(key, "only keys below net. (/proc/sys/net) can be set in the container's network namespace");
        return path;
    }

    /// <summary>The full file path of a resolved key, for messages.</summary>
    public static string FilePath(string resolved) => "/proc/sys/" + resolved;

    private static CniException Invalid(string key, string why) =>
        new(CniErrorCode.InvalidNetworkConfig, $"invalid net sysctl key: \"{key}\" (sysctl): {why}");
}
