using System.Text.Json.Serialization;

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

/// <summary>Source-generated JSON metadata for the tap configuration (keys case-insensitive, as Go's decoder).</summary>
[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, NumberHandling = JsonNumberHandling.Strict, GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(TapConfig))]
internal sealed partial class TapJsonContext : JsonSerializerContext;
