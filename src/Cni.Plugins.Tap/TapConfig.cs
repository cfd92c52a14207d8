using System.Text.Json;
using System.Text.Json.Serialization;
using Cni.Spec.Json;

namespace Cni.Plugins.Tap;

/// <summary>The tap plugin's own keys in the network configuration, with the reference's names.</summary>
public sealed class TapConfig
{
    /// <summary><c>mac</c>: the tap's MAC (overridden by <c>CNI_ARGS</c> MAC and <c>runtimeConfig.mac</c>).</summary>
    [JsonPropertyName("mac")] public string? Mac { get; set; }

    /// <summary><c>mtu</c>: 0 (the kernel's default, 1500) or 68..65535.</summary>
    [JsonPropertyName("mtu")] public int Mtu { get; set; }

    /// <summary><c>selinuxContext</c>: the SELinux label to create the tap with; ignored where SELinux is absent.</summary>
    [JsonPropertyName("selinuxContext")] public string? SelinuxContext { get; set; }

    /// <summary><c>multiQueue</c>: create a multi-queue tap.</summary>
    [JsonPropertyName("multiQueue")] public bool MultiQueue { get; set; }

    /// <summary><c>owner</c>: the uid allowed to attach to the tap (a u32).</summary>
    [JsonPropertyName("owner")] public long? Owner { get; set; }

    /// <summary><c>group</c>: the gid allowed to attach to the tap (a u32).</summary>
    [JsonPropertyName("group")] public long? Group { get; set; }

    /// <summary><c>bridge</c>: a bridge in the container namespace to enslave the tap to.</summary>
    [JsonPropertyName("bridge")] public string? Bridge { get; set; }
}

/// <summary>
/// Reads <see cref="TapConfig"/> with <see cref="JsonOptionReader"/> instead of the serializer, whose metadata for
/// the options type cost each run more than the rest of the plugin's configuration handling: keys case-insensitive
/// (as Go's decoder), numbers strict, unknown keys ignored, a repeated key keeps its last value.
/// </summary>
internal static class TapConfigReader
{
    public static TapConfig Read(ReadOnlySpan<byte> json) => JsonOptionReader.ReadObject(json, new TapConfig(), Options);

    private static bool Options(ref JsonOptionReader r, TapConfig o, string key)
    {
        switch (key)
        {
            case "mac": o.Mac = r.String(); return true;
            case "mtu": o.Mtu = r.Int32(); return true;
            case "selinuxcontext": o.SelinuxContext = r.String(); return true;
            case "multiqueue": o.MultiQueue = r.Bool(); return true;
            case "owner": o.Owner = r.TokenType == JsonTokenType.Null ? null : r.Int64(); return true;
            case "group": o.Group = r.TokenType == JsonTokenType.Null ? null : r.Int64(); return true;
            case "bridge": o.Bridge = r.String(); return true;
            default: return false;
        }
    }
}
