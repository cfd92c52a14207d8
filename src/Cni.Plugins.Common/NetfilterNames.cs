
namespace Cni.Plugins.Common;

/// <summary>
/// The names and comments the reference plugins give their netfilter objects, reproduced exactly so that rules
/// written by the Go plugins are found and removed by ours and the other way round.
/// </summary>
public static class NetfilterNames
{
    /// <summary>The longest iptables chain name the reference produces.</summary>
    public const int MaxChainLength = 28;

    /// <summary>The longest nftables comment (knftables' limit).</summary>
    public const int MaxCommentLength = 128;

    /// <summary><paramref name="prefix"/> followed by the hex SHA-512 of <paramref name="text"/>, cut to <paramref name="length"/> characters.</summary>
    public static string HashWithPrefix(int length, string prefix, string text)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (length <= prefix.Length || length > 128 + prefix.Length)
            throw new ArgumentOutOfRangeException(nameof(length), length, "invalid length");
        string hex = ManagedSha512.HexOf(text);
        return (prefix + hex)[..length];
    }

    /// <summary>The iptables chain of an attachment: <c>CNI-</c> + 24 hex digits of SHA-512(name + id).</summary>
    public static string ChainName(string network, string containerId) => HashWithPrefix(MaxChainLength, "CNI-", network + containerId);

    /// <summary>The iptables comment of an attachment: <c>name: "NET" id: "ID"</c>.</summary>
    public static string IptablesComment(string network, string containerId) => $"name: {GoQuote(network)} id: {GoQuote(containerId)}";

    /// <summary>The nftables hash of a network (16 hex digits).</summary>
    public static string NetworkHash(string network) => HashWithPrefix(16, "", network);

    /// <summary>The nftables hash of an attachment: network hash, '-', 16 hex digits of SHA-512(ifname:containerId).</summary>
    public static string InstanceHash(string network, string ifName, string containerId) =>
        NetworkHash(network) + "-" + HashWithPrefix(16, "", ifName + ":" + containerId);

    /// <summary>The nftables rule comment of an attachment: its hash then a readable description, at most 128 characters.</summary>
    public static string InstanceComment(string network, string ifName, string containerId)
    {
        string comment = $"{InstanceHash(network, ifName, containerId)}, net: {network.Replace("\"", "")}, if: {ifName.Replace("\"", "")}, id: {containerId.Replace("\"", "")}";
        return comment.Length > MaxCommentLength ? comment[..MaxCommentLength] : comment;
    }

    private static string GoQuote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
