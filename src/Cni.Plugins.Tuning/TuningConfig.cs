using System.Text.Json.Serialization;

namespace Cni.Plugins.Tuning;

/// <summary>The tuning plugin's own keys in the network configuration, with the reference's names.</summary>
public sealed class TuningConfig
{
    /// <summary><c>dataDir</c>: where the original interface settings are saved for DEL (default <c>/run/cni/tuning</c>).</summary>
    [JsonPropertyName("dataDir")] public string? DataDir { get; set; }

    /// <summary><c>sysctl</c>: kernel parameters of the container's network namespace to write, key to value.</summary>
    [JsonPropertyName("sysctl")] public Dictionary<string, string>? Sysctl { get; set; }

    /// <summary><c>mac</c>: the MAC address to give the interface.</summary>
    [JsonPropertyName("mac")] public string? Mac { get; set; }

    /// <summary><c>promisc</c>: true switches promiscuous mode on (false leaves it as it is).</summary>
    [JsonPropertyName("promisc")] public bool Promisc { get; set; }

    /// <summary><c>mtu</c>: the interface's MTU; 0 leaves it.</summary>
    [JsonPropertyName("mtu")] public int Mtu { get; set; }

    /// <summary><c>txQLen</c>: the transmit queue length; absent leaves it.</summary>
    [JsonPropertyName("txQLen")] public int? TxQLen { get; set; }

    /// <summary><c>allmulti</c>: all-multicast mode on or off; absent leaves it.</summary>
    [JsonPropertyName("allmulti")] public bool? Allmulti { get; set; }

    /// <summary><c>runtimeConfig</c>: what the runtime passes through capabilities.</summary>
    [JsonPropertyName("runtimeConfig")] public TuningRuntimeConfig? RuntimeConfig { get; set; }

    /// <summary><c>args</c>: per-attachment arguments; <c>args.cni</c> overrides the keys above.</summary>
    [JsonPropertyName("args")] public TuningArgsContainer? Args { get; set; }
}

/// <summary>The <c>runtimeConfig</c> keys the tuning plugin reads (capability <c>mac</c>).</summary>
public sealed class TuningRuntimeConfig
{
    /// <summary><c>runtimeConfig.mac</c>.</summary>
    [JsonPropertyName("mac")] public string? Mac { get; set; }
}

/// <summary>The <c>args</c> object: only <c>args.cni</c> is read.</summary>
public sealed class TuningArgsContainer
{
    /// <summary><c>args.cni</c>.</summary>
    [JsonPropertyName("cni")] public TuningArgs? Cni { get; set; }
}

/// <summary><c>args.cni</c>: each key present overrides the configuration's (sysctl entries are merged).</summary>
public sealed class TuningArgs
{
    /// <summary><c>args.cni.sysctl</c>: merged over <c>sysctl</c>.</summary>
    [JsonPropertyName("sysctl")] public Dictionary<string, string>? Sysctl { get; set; }

    /// <summary><c>args.cni.mac</c>.</summary>
    [JsonPropertyName("mac")] public string? Mac { get; set; }

    /// <summary><c>args.cni.promisc</c>.</summary>
    [JsonPropertyName("promisc")] public bool? Promisc { get; set; }

    /// <summary><c>args.cni.mtu</c>.</summary>
    [JsonPropertyName("mtu")] public int? Mtu { get; set; }

    /// <summary><c>args.cni.txQLen</c>.</summary>
    [JsonPropertyName("txQLen")] public int? TxQLen { get; set; }

    /// <summary><c>args.cni.allmulti</c>.</summary>
    [JsonPropertyName("allmulti")] public bool? Allmulti { get; set; }
}

/// <summary>Source-generated JSON metadata for the tuning configuration (keys case-insensitive, as Go's decoder).</summary>
[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, NumberHandling = JsonNumberHandling.Strict, GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(TuningConfig))]
internal sealed partial class TuningJsonContext : JsonSerializerContext;
