using System.Text.Json;
using System.Text.Json.Serialization;
using Cni.Spec;
using Cni.Spec.Json;

namespace Cni.Plugins.Bandwidth;

/// <summary>
/// The bandwidth keys as they appear in the configuration, at the top level or in <c>runtimeConfig.bandwidth</c>
/// (capability <c>bandwidth</c>). Numbers are kept as JSON so that a negative or fractional value fails with a message
/// naming the key instead of a generic decoding error.
/// </summary>
public sealed class BandwidthKeys
{
    /// <summary><c>ingressRate</c>: bits per second into the container; 0 for no limit.</summary>
    [JsonPropertyName("ingressRate")] public JsonElement? IngressRate { get; set; }

    /// <summary><c>ingressBurst</c>: bucket size in bits for traffic into the container.</summary>
    [JsonPropertyName("ingressBurst")] public JsonElement? IngressBurst { get; set; }

    /// <summary><c>egressRate</c>: bits per second out of the container; 0 for no limit.</summary>
    [JsonPropertyName("egressRate")] public JsonElement? EgressRate { get; set; }

    /// <summary><c>egressBurst</c>: bucket size in bits for traffic out of the container.</summary>
    [JsonPropertyName("egressBurst")] public JsonElement? EgressBurst { get; set; }

    /// <summary><c>unshapedSubnets</c>: destinations left unshaped (exclusive with <see cref="ShapedSubnets"/>).</summary>
    [JsonPropertyName("unshapedSubnets")] public List<string>? UnshapedSubnets { get; set; }

    /// <summary><c>shapedSubnets</c>: the only destinations shaped (exclusive with <see cref="UnshapedSubnets"/>).</summary>
    [JsonPropertyName("shapedSubnets")] public List<string>? ShapedSubnets { get; set; }

    /// <summary>True when any of the keys is present (Go allocates its embedded entry then).</summary>
    [JsonIgnore]
    public bool AnyPresent => IngressRate is not null || IngressBurst is not null || EgressRate is not null || EgressBurst is not null
        || UnshapedSubnets is not null || ShapedSubnets is not null;
}

/// <summary>The bandwidth plugin's configuration: the keys at the top level, and <c>runtimeConfig.bandwidth</c>.</summary>
public sealed class BandwidthConfig
{
    /// <summary><c>ingressRate</c>.</summary>
    [JsonPropertyName("ingressRate")] public JsonElement? IngressRate { get; set; }

    /// <summary><c>ingressBurst</c>.</summary>
    [JsonPropertyName("ingressBurst")] public JsonElement? IngressBurst { get; set; }

    /// <summary><c>egressRate</c>.</summary>
    [JsonPropertyName("egressRate")] public JsonElement? EgressRate { get; set; }

    /// <summary><c>egressBurst</c>.</summary>
    [JsonPropertyName("egressBurst")] public JsonElement? EgressBurst { get; set; }

    /// <summary><c>unshapedSubnets</c>.</summary>
    [JsonPropertyName("unshapedSubnets")] public List<string>? UnshapedSubnets { get; set; }

    /// <summary><c>shapedSubnets</c>.</summary>
    [JsonPropertyName("shapedSubnets")] public List<string>? ShapedSubnets { get; set; }

    /// <summary><c>runtimeConfig</c>: what the runtime passes for the <c>bandwidth</c> capability.</summary>
    [JsonPropertyName("runtimeConfig")] public BandwidthRuntimeConfig? RuntimeConfig { get; set; }

    /// <summary>The top-level keys as one entry.</summary>
    internal BandwidthKeys TopLevel => new()
    {
        IngressRate = IngressRate, IngressBurst = IngressBurst, EgressRate = EgressRate, EgressBurst = EgressBurst,
        UnshapedSubnets = UnshapedSubnets, ShapedSubnets = ShapedSubnets,
    };
}

/// <summary>The part of <c>runtimeConfig</c> the plugin reads.</summary>
public sealed class BandwidthRuntimeConfig
{
    /// <summary><c>runtimeConfig.bandwidth</c>.</summary>
    [JsonPropertyName("bandwidth")] public BandwidthKeys? Bandwidth { get; set; }
}

/// <summary>
/// Reads <see cref="BandwidthConfig"/> with <see cref="JsonOptionReader"/> instead of the serializer (whose metadata
/// would cost a short-lived plugin more than the rest of its run): the same values and the same errors as the
/// serializer with case-insensitive keys and strict numbers (checked against it in the tests).
/// </summary>
internal static class BandwidthConfigReader
{
    public static BandwidthConfig Read(ReadOnlySpan<byte> json) => JsonOptionReader.ReadObject(json, new BandwidthConfig(), Options);

    private static bool Options(ref JsonOptionReader r, BandwidthConfig o, string key)
    {
        switch (key)
        {
            case "ingressrate": o.IngressRate = Number(ref r); return true;
            case "ingressburst": o.IngressBurst = Number(ref r); return true;
            case "egressrate": o.EgressRate = Number(ref r); return true;
            case "egressburst": o.EgressBurst = Number(ref r); return true;
            case "unshapedsubnets": o.UnshapedSubnets = Strings(ref r); return true;
            case "shapedsubnets": o.ShapedSubnets = Strings(ref r); return true;
            case "runtimeconfig": o.RuntimeConfig = r.Object(new BandwidthRuntimeConfig(), RuntimeConfig); return true;
            default: return false;
        }
    }

    private static bool RuntimeConfig(ref JsonOptionReader r, BandwidthRuntimeConfig o, string key)
    {
        if (key != "bandwidth")
            return false;
        o.Bandwidth = r.Object(new BandwidthKeys(), Keys);
        return true;
    }

    private static bool Keys(ref JsonOptionReader r, BandwidthKeys o, string key)
    {
        switch (key)
        {
            case "ingressrate": o.IngressRate = Number(ref r); return true;
            case "ingressburst": o.IngressBurst = Number(ref r); return true;
            case "egressrate": o.EgressRate = Number(ref r); return true;
            case "egressburst": o.EgressBurst = Number(ref r); return true;
            case "unshapedsubnets": o.UnshapedSubnets = Strings(ref r); return true;
            case "shapedsubnets": o.ShapedSubnets = Strings(ref r); return true;
            default: return false;
        }
    }

    // Any JSON value, kept for LoadConf to judge (as the serializer's JsonElement? property: JSON null is no value).
    private static JsonElement? Number(ref JsonOptionReader r) => r.TokenType == JsonTokenType.Null ? null : r.Element();

    private static List<string>? Strings(ref JsonOptionReader r) => r.List(static (ref JsonOptionReader r) => r.String()!);
}

/// <summary>
/// A validated bandwidth entry: rates in bits per second, bursts in bits, as configured (0 means no limit), and the
/// subnets, already parsed.
/// </summary>
/// <param name="IngressRate">Bits per second into the container.</param>
/// <param name="IngressBurst">Bits of burst into the container.</param>
/// <param name="EgressRate">Bits per second out of the container.</param>
/// <param name="EgressBurst">Bits of burst out of the container.</param>
/// <param name="UnshapedSubnets">Destinations left unshaped.</param>
/// <param name="ShapedSubnets">The only destinations shaped.</param>
/// <param name="Source">Where the entry came from, for messages: "" (top level) or "runtimeConfig.bandwidth.".</param>
public sealed record BandwidthEntry(ulong IngressRate, ulong IngressBurst, ulong EgressRate, ulong EgressBurst,
    IReadOnlyList<IPPrefix> UnshapedSubnets, IReadOnlyList<IPPrefix> ShapedSubnets, string Source)
{
    /// <summary>No rate and no burst in either direction: nothing to shape.</summary>
    public bool IsZero => IngressRate == 0 && IngressBurst == 0 && EgressRate == 0 && EgressBurst == 0;

    /// <summary>Traffic into the container is shaped.</summary>
    public bool ShapesIngress => IngressRate > 0 && IngressBurst > 0;

    /// <summary>Traffic out of the container is shaped.</summary>
    public bool ShapesEgress => EgressRate > 0 && EgressBurst > 0;
}
