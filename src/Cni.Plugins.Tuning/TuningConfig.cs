using System.Text.Json.Serialization;
using Cni.Spec.Json;

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

/// <summary>
/// Reads <see cref="TuningConfig"/> with <see cref="JsonOptionReader"/> instead of the serializer (whose metadata would
/// cost a short-lived plugin more than the rest of its run): the same values and the same errors as the serializer
/// with case-insensitive keys and strict numbers (checked against it in the tests).
/// </summary>
internal static class TuningConfigReader
{
    public static TuningConfig Read(ReadOnlySpan<byte> json) => JsonOptionReader.ReadObject(json, new TuningConfig(), Options);

    private static bool Options(ref JsonOptionReader r, TuningConfig o, string key)
    {
        switch (key)
        {
            case "datadir": o.DataDir = r.String(); return true;
            case "sysctl": o.Sysctl = Sysctl(ref r); return true;
            case "mac": o.Mac = r.String(); return true;
            case "promisc": o.Promisc = r.Bool(); return true;
            case "mtu": o.Mtu = r.Int32(); return true;
            case "txqlen": o.TxQLen = r.NullableInt32(); return true;
            case "allmulti": o.Allmulti = r.NullableBool(); return true;
            case "runtimeconfig": o.RuntimeConfig = r.Object(new TuningRuntimeConfig(), RuntimeConfig); return true;
            case "args": o.Args = r.Object(new TuningArgsContainer(), ArgsContainer); return true;
            default: return false;
        }
    }

    private static bool RuntimeConfig(ref JsonOptionReader r, TuningRuntimeConfig o, string key)
    {
        if (key != "mac")
            return false;
        o.Mac = r.String();
        return true;
    }

    private static bool ArgsContainer(ref JsonOptionReader r, TuningArgsContainer o, string key)
    {
        if (key != "cni")
            return false;
        o.Cni = r.Object(new TuningArgs(), Args);
        return true;
    }

    private static bool Args(ref JsonOptionReader r, TuningArgs o, string key)
    {
        switch (key)
        {
            case "sysctl": o.Sysctl = Sysctl(ref r); return true;
            case "mac": o.Mac = r.String(); return true;
            case "promisc": o.Promisc = r.NullableBool(); return true;
            case "mtu": o.Mtu = r.NullableInt32(); return true;
            case "txqlen": o.TxQLen = r.NullableInt32(); return true;
            case "allmulti": o.Allmulti = r.NullableBool(); return true;
            default: return false;
        }
    }

    // A null value stays null, refused with the key's name by LoadConf.
    private static Dictionary<string, string>? Sysctl(ref JsonOptionReader r) => r.Dictionary(static (ref JsonOptionReader r) => r.String()!);
}
