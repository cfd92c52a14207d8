using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization;
using Cni.Spec;
using Cni.Spec.Json;

namespace Cni.Plugins.Portmap;

/// <summary>One entry of the <c>portMappings</c> capability (CNI CONVENTIONS.md), with the reference's key names.</summary>
public sealed class PortMapEntry
{
    /// <summary><c>hostPort</c>: the port on the host, 1..65535.</summary>
    [JsonPropertyName("hostPort")] public long HostPort { get; set; }

    /// <summary><c>containerPort</c>: the port in the container, 1..65535.</summary>
    [JsonPropertyName("containerPort")] public long ContainerPort { get; set; }

    /// <summary><c>protocol</c>: tcp, udp or sctp.</summary>
    [JsonPropertyName("protocol")] public string? Protocol { get; set; }

    /// <summary><c>hostIP</c>: only traffic to this host address is forwarded; empty or unspecified (0.0.0.0, ::) for any.</summary>
    [JsonPropertyName("hostIP")] public string? HostIP { get; set; }
}

/// <summary><c>runtimeConfig</c> as portmap reads it.</summary>
public sealed class PortmapRuntimeConfig
{
    /// <summary><c>portMappings</c>: the mappings the runtime asks for.</summary>
    [JsonPropertyName("portMappings")] public List<PortMapEntry>? PortMappings { get; set; }
}

/// <summary>The portmap plugin's own keys in the network configuration, with the reference's names.</summary>
public sealed class PortmapConfig
{
    /// <summary><c>snat</c>: masquerade hairpin and localhost connections (default true).</summary>
    [JsonPropertyName("snat")] public bool? Snat { get; set; }

    /// <summary><c>conditionsV4</c>: extra matches for the IPv4 entry rules (iptables arguments or nftables tokens).</summary>
    [JsonPropertyName("conditionsV4")] public List<string>? ConditionsV4 { get; set; }

    /// <summary><c>conditionsV6</c>: extra matches for the IPv6 entry rules.</summary>
    [JsonPropertyName("conditionsV6")] public List<string>? ConditionsV6 { get; set; }

    /// <summary><c>masqAll</c>: (iptables) mark every connection to a mapped port for masquerade, not only hairpin and localhost ones.</summary>
    [JsonPropertyName("masqAll")] public bool MasqAll { get; set; }

    /// <summary><c>markMasqBit</c>: the mark bit 0..31 that asks for masquerade (default 13); not with <c>externalSetMarkChain</c>.</summary>
    [JsonPropertyName("markMasqBit")] public long? MarkMasqBit { get; set; }

    /// <summary><c>externalSetMarkChain</c>: (iptables) an existing chain that marks for masquerade, e.g. Kubernetes' KUBE-MARK-MASQ.</summary>
    [JsonPropertyName("externalSetMarkChain")] public string? ExternalSetMarkChain { get; set; }

    /// <summary><c>backend</c>: iptables or nftables; by default iptables, or nftables when only nft is installed.</summary>
    [JsonPropertyName("backend")] public string? Backend { get; set; }

    /// <summary><c>runtimeConfig</c>: the <c>portMappings</c> capability.</summary>
    [JsonPropertyName("runtimeConfig")] public PortmapRuntimeConfig? RuntimeConfig { get; set; }
}

/// <summary>
/// Reads <see cref="PortmapConfig"/> (with <c>runtimeConfig.portMappings</c>) from the network configuration with
/// <see cref="JsonOptionReader"/>: keys case-insensitive (as Go's decoder), numbers strict, unknown keys ignored, the
/// results and errors of the serializer. portmap runs on every pod start that publishes a port, and the serializer's
/// metadata for these four types cost each run more than the rest of its configuration handling.
/// </summary>
internal static class PortmapConfigReader
{
    public static PortmapConfig Read(ReadOnlySpan<byte> json) => JsonOptionReader.ReadObject(json, new PortmapConfig(), Options);

    private static bool Options(ref JsonOptionReader r, PortmapConfig o, string key)
    {
        switch (key)
        {
            case "snat": o.Snat = r.NullableBool(); return true;
            case "conditionsv4": o.ConditionsV4 = Strings(ref r); return true; // a null item stays null, refused by Load
            case "conditionsv6": o.ConditionsV6 = Strings(ref r); return true;
            case "masqall": o.MasqAll = r.Bool(); return true;
            case "markmasqbit": o.MarkMasqBit = r.TokenType == JsonTokenType.Null ? null : r.Int64(); return true;
            case "externalsetmarkchain": o.ExternalSetMarkChain = r.String(); return true;
            case "backend": o.Backend = r.String(); return true;
            case "runtimeconfig": o.RuntimeConfig = r.Object(new PortmapRuntimeConfig(), RuntimeConfig); return true;
            default: return false;
        }
    }

    private static List<string>? Strings(ref JsonOptionReader r) => r.List(static (ref JsonOptionReader r) => r.String()!);

    private static bool RuntimeConfig(ref JsonOptionReader r, PortmapRuntimeConfig c, string key)
    {
        if (key != "portmappings")
            return false;
        c.PortMappings = r.List(static (ref JsonOptionReader r) => r.Object(new PortMapEntry(), Entry)!); // a null item stays null, refused by Load
        return true;
    }

    private static bool Entry(ref JsonOptionReader r, PortMapEntry e, string key)
    {
        switch (key)
        {
            case "hostport": e.HostPort = r.Int64(); return true;
            case "containerport": e.ContainerPort = r.Int64(); return true;
            case "protocol": e.Protocol = r.String(); return true;
            case "hostip": e.HostIP = r.String(); return true;
            default: return false;
        }
    }
}

/// <summary>The firewall implementation that holds the mappings.</summary>
public enum PortmapBackend
{
    /// <summary>iptables/ip6tables, nat table, the reference's CNI-HOSTPORT-* chains.</summary>
    Iptables,

    /// <summary>nftables, tables <c>ip cni_hostport</c> and <c>ip6 cni_hostport</c>.</summary>
    Nftables,
}

/// <summary>A validated port mapping.</summary>
/// <param name="HostPort">The host port.</param>
/// <param name="ContainerPort">The container port.</param>
/// <param name="Protocol">tcp, udp or sctp (lower case).</param>
/// <param name="HostIP">The host address, or null for any.</param>
public sealed record PortMapping(int HostPort, int ContainerPort, string Protocol, IPAddress? HostIP)
{
    /// <summary>True when the mapping applies to a container address of <paramref name="family"/>: no host address, or
    /// one of that family (the reference skips host addresses of the other family).</summary>
    public bool AppliesTo(AddressFamily family) => HostIP is null || HostIP.AddressFamily == family;

    /// <summary>The host address as a match, or null when any address matches (none given, or 0.0.0.0 / ::).</summary>
    public IPAddress? DestinationMatch => HostIP is null || HostIP.Equals(IPAddress.Any) || HostIP.Equals(IPAddress.IPv6Any) ? null : HostIP;
}

/// <summary>A validated portmap configuration of one invocation.</summary>
/// <param name="Network">The network name.</param>
/// <param name="ContainerId">CNI_CONTAINERID.</param>
/// <param name="Snat">Masquerade hairpin and localhost connections.</param>
/// <param name="MasqAll">Mark every connection for masquerade (iptables).</param>
/// <param name="MarkMasqBit">The mark bit.</param>
/// <param name="ExternalSetMarkChain">The external mark chain, or null.</param>
/// <param name="ConditionsV4">Extra IPv4 matches.</param>
/// <param name="ConditionsV6">Extra IPv6 matches.</param>
/// <param name="Backend">The backend.</param>
/// <param name="Mappings">The mappings, in the runtime's order.</param>
/// <param name="ContainerV4">The container's IPv4 address from prevResult, if any.</param>
/// <param name="ContainerV6">The container's IPv6 address from prevResult, if any.</param>
public sealed record PortmapSettings(
    string Network, string ContainerId, bool Snat, bool MasqAll, int MarkMasqBit, string? ExternalSetMarkChain,
    IReadOnlyList<string> ConditionsV4, IReadOnlyList<string> ConditionsV6, PortmapBackend Backend,
    IReadOnlyList<PortMapping> Mappings, IPPrefix? ContainerV4, IPPrefix? ContainerV6)
{
    /// <summary>The reference's default mark bit (Kubernetes uses 14 and 15, Calico 20-31).</summary>
    public const int DefaultMarkBit = 13;

    /// <summary>The conditions of <paramref name="family"/>.</summary>
    public IReadOnlyList<string> Conditions(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? ConditionsV6 : ConditionsV4;

    /// <summary>
    /// Reads and validates everything portmap takes from <paramref name="request"/> before anything is changed: its keys,
    /// <c>runtimeConfig.portMappings</c>, the container addresses from <c>prevResult</c>, and the backend
    /// (<paramref name="iptablesInstalled"/>/<paramref name="nftInstalled"/> decide the default, as the reference).
    /// </summary>
    /// <param name="request">The request.</param>
    /// <param name="iptablesInstalled">True when iptables is installed.</param>
    /// <param name="nftInstalled">True when nft is installed.</param>
    /// <param name="forAdd">False for DEL: prevResult is not read (a DEL must not fail on it) and the container id is
    /// not checked against the nftables comment alphabet (DEL only compares it).</param>
    public static PortmapSettings Load(CniRequest request, bool iptablesInstalled, bool nftInstalled, bool forAdd = true)
    {
        ArgumentNullException.ThrowIfNull(request);
        PortmapConfig o = PortmapConfigReader.Read(request.RawConfig.Span);

        if (o.MarkMasqBit is not null && o.ExternalSetMarkChain is not null)
            throw Invalid("cannot specify both externalSetMarkChain and markMasqBit");
        long bit = o.MarkMasqBit ?? DefaultMarkBit;
        if (bit is < 0 or > 31)
            throw Invalid($"invalid markMasqBit {bit}: must be between 0 and 31");
        if (o.ExternalSetMarkChain is { } ext && !IsChainName(ext))
            throw Invalid($"invalid externalSetMarkChain \"{ext}\": an iptables chain name of 1 to 28 letters, digits, '-', '_' or '.'");

        PortmapBackend backend = o.Backend switch
        {
            null => !iptablesInstalled && nftInstalled ? PortmapBackend.Nftables : PortmapBackend.Iptables,
            "iptables" => PortmapBackend.Iptables,
            "nftables" => PortmapBackend.Nftables,
            _ => throw Invalid($"invalid backend \"{o.Backend}\": expected \"iptables\" or \"nftables\""),
        };
        RejectNullItems(o.ConditionsV4, "conditionsV4");
        RejectNullItems(o.ConditionsV6, "conditionsV6");
        // As the reference: configuration written for one backend must not be silently ignored by the other.
        var wrong = new List<string>();
        PortmapBackend? v4Kind = ConditionsBackend(o.ConditionsV4), v6Kind = ConditionsBackend(o.ConditionsV6);
        if (o.ExternalSetMarkChain is not null && backend == PortmapBackend.Nftables) wrong.Add("externalSetMarkChain");
        if (v4Kind is { } k4 && k4 != backend) wrong.Add("conditionsV4");
        if (v6Kind is { } k6 && k6 != backend) wrong.Add("conditionsV6");
        if (wrong.Count > 0)
        {
            string other = backend == PortmapBackend.Iptables ? "nftables" : "iptables";
            throw Invalid($"cannot use {other}-specific config ({string.Join(", ", wrong)}) with {Name(backend)} backend");
        }
        if (backend == PortmapBackend.Nftables)
        {
            ValidateNftConditions(o.ConditionsV4, "conditionsV4");
            ValidateNftConditions(o.ConditionsV6, "conditionsV6");
        }
        else
        {
            ValidateIptablesConditions(o.ConditionsV4, "conditionsV4");
            ValidateIptablesConditions(o.ConditionsV6, "conditionsV6");
        }

        var mappings = new List<PortMapping>();
        List<PortMapEntry> entries = o.RuntimeConfig?.PortMappings ?? [];
        for (int i = 0; i < entries.Count; i++)
            mappings.Add(ValidateEntry(entries[i], $"runtimeConfig.portMappings[{i}]"));

        if (forAdd && backend == PortmapBackend.Nftables && mappings.Count > 0)
            ValidateNftComment(request.ContainerId);

        (IPPrefix? v4, IPPrefix? v6) = forAdd ? ContainerAddresses(request.Config.PrevResult, request.IfName) : (null, null);
        return new PortmapSettings(request.Config.Name, request.ContainerId, o.Snat ?? true, o.MasqAll, (int)bit, o.ExternalSetMarkChain,
            o.ConditionsV4 ?? [], o.ConditionsV6 ?? [], backend, mappings, v4, v6);
    }

    /// <summary>The backend's configuration name.</summary>
    public static string Name(PortmapBackend backend) => backend == PortmapBackend.Nftables ? "nftables" : "iptables";

    private static PortMapping ValidateEntry(PortMapEntry? e, string field)
    {
        if (e is null)
            throw Invalid($"{field}: a port mapping must be an object");
        if (e.HostPort is < 1 or > 65535)
            throw Invalid($"invalid host port number {e.HostPort} ({field}.hostPort): must be 1 to 65535");
        if (e.ContainerPort is < 1 or > 65535)
            throw Invalid($"invalid container port number {e.ContainerPort} ({field}.containerPort): must be 1 to 65535");
        string protocol = (e.Protocol ?? "").ToLowerInvariant();
        if (protocol is not ("tcp" or "udp" or "sctp"))
            throw Invalid($"invalid protocol \"{e.Protocol}\" ({field}.protocol): expected tcp, udp or sctp");
        IPAddress? hostIP = null;
        if (!string.IsNullOrEmpty(e.HostIP))
        {
            if (!IPAddress.TryParse(e.HostIP, out hostIP) || (hostIP.AddressFamily == AddressFamily.InterNetworkV6 && hostIP.ScopeId != 0) || e.HostIP.Contains('%') || e.HostIP.Contains('/')
                || (hostIP.AddressFamily == AddressFamily.InterNetwork && e.HostIP.Count(c => c == '.') != 3))
                throw Invalid($"invalid host IP \"{e.HostIP}\" ({field}.hostIP): expected an IPv4 or IPv6 address");
            if (hostIP.IsIPv4MappedToIPv6)
                hostIP = hostIP.MapToIPv4();
        }
        return new PortMapping((int)e.HostPort, (int)e.ContainerPort, protocol, hostIP);
    }

    /// <summary>The reference's choice of container addresses: the first IPv4 and the first IPv6 address of
    /// prevResult, skipping those of a known interface that is not <paramref name="ifName"/> in a sandbox.</summary>
    public static (IPPrefix? V4, IPPrefix? V6) ContainerAddresses(CniResult? prev, string ifName)
    {
        IPPrefix? v4 = null, v6 = null;
        if (prev is null)
            return (null, null);
        foreach (CniIPConfig ip in prev.Ips)
        {
            bool isV4 = ip.Address.Family == AddressFamily.InterNetwork;
            if ((isV4 && v4 is not null) || (!isV4 && v6 is not null))
                continue;
            if (ip.Interface is int idx && idx >= 0 && idx < prev.Interfaces.Count
                && (prev.Interfaces[idx].Name != ifName || string.IsNullOrEmpty(prev.Interfaces[idx].Sandbox)))
                continue;
            if (isV4) v4 = ip.Address;
            else v6 = ip.Address;
        }
        return (v4, v6);
    }

    /// <summary>As the reference: conditions whose first token starts with '-' or '!' are iptables matches, others nftables.</summary>
    internal static PortmapBackend? ConditionsBackend(List<string>? conditions) =>
        conditions is null || conditions.Count == 0 || conditions[0].Length == 0 ? null
        : conditions[0][0] is '-' or '!' ? PortmapBackend.Iptables : PortmapBackend.Nftables;

    private static void RejectNullItems(List<string>? conditions, string field)
    {
        int i = conditions?.IndexOf(null!) ?? -1;
        if (i >= 0)
            throw Invalid($"invalid {field}[{i}]: must be a string, not null");
    }

    private static void ValidateIptablesConditions(List<string>? conditions, string field)
    {
        // Passed as separate arguments, never through a shell; only NUL would be unrepresentable.
        if (conditions is null) return;
        for (int i = 0; i < conditions.Count; i++)
        {
            if (conditions[i].Contains('\0'))
                throw Invalid($"invalid {field}[{i}]: must be a string without NUL");
        }
    }

    /// <summary>nftables conditions become part of an <c>nft -f</c> script: a token that could end the statement, start a
    /// comment or another line, or open a block is refused, so a condition can only ever add matches to our rules.</summary>
    private static void ValidateNftConditions(List<string>? conditions, string field)
    {
        if (conditions is null) return;
        for (int i = 0; i < conditions.Count; i++)
        {
            string c = conditions[i];
            if (c.Any(ch => char.IsControl(ch) || ch is ';' or '#' or '{' or '}' or '"' or '\'' or '\\'))
                throw Invalid($"invalid {field}[{i}] \"{c}\": nftables conditions may not contain control characters, quotes, ';', '#', '{{' or '}}'");
        }
    }

    /// <summary>The nftables backend puts the container id in rule comments (the reference's layout): at most 128
    /// characters (knftables' limit) of the CNI container id alphabet, so that it can never break out of its quotes.</summary>
    internal static void ValidateNftComment(string containerId)
    {
        if (containerId.Length is 0 or > 128 || !containerId.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '_' or '.' or '-'))
            throw new CniException(CniErrorCode.InvalidEnvironmentVariables,
                $"invalid CNI_CONTAINERID \"{containerId}\" for the nftables backend: 1 to 128 letters, digits, '_', '.' or '-'");
    }

    private static bool IsChainName(string name) =>
        name.Length is >= 1 and <= 28 && name[0] != '-' && name[0] != '!' && name.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_' or '.');

    private static CniException Invalid(string message) => new(CniErrorCode.InvalidNetworkConfig, message);

    internal static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);
}
