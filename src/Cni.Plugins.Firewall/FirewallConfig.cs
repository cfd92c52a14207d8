using System.Text.Json.Serialization;
using Cni.Spec;
using Cni.Spec.Json;

namespace Cni.Plugins.Firewall;

/// <summary>The firewall plugin's own keys in the network configuration, with the reference's names.</summary>
public sealed class FirewallConfig
{
    /// <summary><c>backend</c>: <c>iptables</c> or <c>firewalld</c>; empty means firewalld when it answers on the system
    /// bus, iptables otherwise.</summary>
    [JsonPropertyName("backend")] public string? Backend { get; set; }

    /// <summary><c>iptablesAdminChainName</c>: the chain jumped to first from <c>CNI-FORWARD</c>, for an administrator's
    /// own rules; default <c>CNI-ADMIN</c>.</summary>
    [JsonPropertyName("iptablesAdminChainName")] public string? IptablesAdminChainName { get; set; }

    /// <summary><c>firewalldZone</c>: the zone the container addresses are put in; default <c>trusted</c>.</summary>
    [JsonPropertyName("firewalldZone")] public string? FirewalldZone { get; set; }

    /// <summary><c>ingressPolicy</c>: <c>open</c> (default), <c>same-bridge</c> or <c>isolated</c>.</summary>
    [JsonPropertyName("ingressPolicy")] public string? IngressPolicy { get; set; }
}

/// <summary>
/// Reads <see cref="FirewallConfig"/> from the network configuration with <see cref="JsonOptionReader"/>: keys
/// case-insensitive (as Go's decoder), unknown keys ignored, the results and errors of the serializer, without the
/// serializer's metadata for the type, which cost each run of this short-lived plugin more than the rest of its
/// configuration handling.
/// </summary>
internal static class FirewallConfigReader
{
    public static FirewallConfig Read(ReadOnlySpan<byte> json) => JsonOptionReader.ReadObject(json, new FirewallConfig(), Options);

    private static bool Options(ref JsonOptionReader r, FirewallConfig o, string key)
    {
        switch (key)
        {
            case "backend": o.Backend = r.String(); return true;
            case "iptablesadminchainname": o.IptablesAdminChainName = r.String(); return true;
            case "firewalldzone": o.FirewalldZone = r.String(); return true;
            case "ingresspolicy": o.IngressPolicy = r.String(); return true;
            default: return false;
        }
    }
}

/// <summary>Which firewall the rules go to.</summary>
public enum FirewallBackendKind
{
    /// <summary>Not configured: firewalld when it is running, iptables otherwise (the reference's choice).</summary>
    Auto,

    /// <summary>The <c>iptables</c>/<c>ip6tables</c> filter table (<c>CNI-FORWARD</c>, <c>CNI-ADMIN</c>).</summary>
    Iptables,

    /// <summary>firewalld over D-Bus: each container address becomes a source of a zone.</summary>
    Firewalld,
}

/// <summary>What traffic towards a container's bridge is let in from elsewhere.</summary>
public enum IngressPolicy
{
    /// <summary><c>open</c>: no restriction (the default).</summary>
    Open,

    /// <summary><c>same-bridge</c>: traffic from other interfaces routed onto the bridge is dropped
    /// (<c>CNI-ISOLATION-STAGE-1/2</c>); containers on the same bridge reach each other.</summary>
    SameBridge,

    /// <summary><c>isolated</c>: as <see cref="SameBridge"/>, and traffic between ports of the same bridge is dropped too
    /// (Docker's <c>enable_icc=false</c>).</summary>
    Isolated,
}

/// <summary>A validated firewall configuration.</summary>
/// <param name="Backend">The configured backend.</param>
/// <param name="AdminChain">The admin chain name.</param>
/// <param name="Zone">The firewalld zone.</param>
/// <param name="Policy">The ingress policy.</param>
public sealed record FirewallSettings(FirewallBackendKind Backend, string AdminChain, string Zone, IngressPolicy Policy)
{
    /// <summary>The reference's default admin chain.</summary>
    public const string DefaultAdminChain = "CNI-ADMIN";

    /// <summary>The reference's default firewalld zone.</summary>
    public const string DefaultZone = "trusted";

    /// <summary>
    /// Validates <paramref name="o"/>: every bad value is a <see cref="CniException"/> with code 7 naming the key, before
    /// anything is changed.
    /// </summary>
    public static FirewallSettings From(FirewallConfig o)
    {
        ArgumentNullException.ThrowIfNull(o);
        FirewallBackendKind backend = o.Backend switch
        {
            null or "" => FirewallBackendKind.Auto,
            "iptables" => FirewallBackendKind.Iptables,
            "firewalld" => FirewallBackendKind.Firewalld,
            _ => throw new CniException(CniErrorCode.InvalidNetworkConfig, $"unknown firewall backend \"{o.Backend}\" (backend): use \"iptables\" or \"firewalld\""),
        };
        IngressPolicy policy = o.IngressPolicy switch
        {
            null or "" or "open" => IngressPolicy.Open,
            "same-bridge" => IngressPolicy.SameBridge,
            "isolated" => IngressPolicy.Isolated,
            _ => throw new CniException(CniErrorCode.InvalidNetworkConfig, $"unknown ingress policy: \"{o.IngressPolicy}\" (ingressPolicy): use \"open\", \"same-bridge\" or \"isolated\""),
        };
        string admin = string.IsNullOrEmpty(o.IptablesAdminChainName) ? DefaultAdminChain : o.IptablesAdminChainName;
        ValidateChainName(admin, "iptablesAdminChainName");
        string zone = string.IsNullOrEmpty(o.FirewalldZone) ? DefaultZone : o.FirewalldZone;
        if (zone.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid firewalld zone \"{zone}\" (firewalldZone): no spaces or control characters");
        return new FirewallSettings(backend, admin, zone, policy);
    }

    /// <summary>An iptables user chain name: 1 to 28 characters (the kernel's limit), none blank or a control character,
    /// not starting with '-' or '!' (it would be read as an option), and not one of the built-in targets.</summary>
    public static void ValidateChainName(string name, string key)
    {
        ArgumentNullException.ThrowIfNull(name);
        string? problem =
            name.Length > 28 ? "longer than 28 characters"
            : name.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)) ? "contains a space or control character"
            : name[0] is '-' or '!' ? "starts with '-' or '!'"
            : name is "ACCEPT" or "DROP" or "RETURN" or "REJECT" or "QUEUE" or "FORWARD" or "INPUT" or "OUTPUT" ? "is a built-in chain or target"
            : null;
        if (problem is not null)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid iptables chain name \"{name}\" ({key}): {problem}");
    }
}
