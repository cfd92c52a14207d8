using System.Text.Json;
using Cni.Spec.Json;
using Cni.Spec.Versions;

namespace Cni.Spec;

/// <summary>
/// Reads and writes results in any spec version: 0.1.0/0.2.0 (<c>ip4</c>/<c>ip6</c>), 0.3.0/0.3.1/0.4.0
/// (<c>ips[].version</c>), 1.0.0/1.1.0. Output matches the Go library's layout: four-space indentation,
/// empty lists and empty optional strings omitted, <c>dns</c> always present.
/// </summary>
public static class CniResultSerializer
{
    /// <summary>
    /// <paramref name="result"/> as JSON in <paramref name="version"/>. Throws <see cref="CniException"/> for an unknown
    /// version, or for 0.1.0/0.2.0 when the result has no IP address.
    /// </summary>
    /// <param name="result">The result to write.</param>
    /// <param name="version">The spec version to write; <c>cniVersion</c> is set to it.</param>
    /// <param name="indented">Four-space indentation like Go's <c>MarshalIndent</c> (default), or a single line.</param>
    public static byte[] SerializeToUtf8Bytes(CniResult result, string version, bool indented = true)
    {
        ArgumentNullException.ThrowIfNull(result);
        EnsureComplete(result, "result");
        JsonSerializerOptions options = indented ? CniJson.Indented : CniJson.CompactOptions;
        return FormatOf(version) switch
        {
            ResultFormat.V020 => JsonSerializer.SerializeToUtf8Bytes(ResultConverter.To020(result, version), CniJson.TypeInfo<Result020>(options)),
            ResultFormat.V040 => JsonSerializer.SerializeToUtf8Bytes(ResultConverter.To040(result, version), CniJson.TypeInfo<Result040>(options)),
            _ => JsonSerializer.SerializeToUtf8Bytes(WithVersion(result, version), CniJson.TypeInfo<CniResult>(options)),
        };
    }

    /// <summary><paramref name="result"/> as indented JSON text in <paramref name="version"/>.</summary>
    public static string Serialize(CniResult result, string version) =>
        System.Text.Encoding.UTF8.GetString(SerializeToUtf8Bytes(result, version));

    /// <summary>
    /// Parses a result written in <paramref name="version"/> (or, when null, in the version its own <c>cniVersion</c>
    /// names; a missing <c>cniVersion</c> means 0.1.0) into the model.
    /// </summary>
    /// <param name="json">The result JSON.</param>
    /// <param name="version">The wire version, or null to read it from the JSON.</param>
    /// <param name="what">What the JSON is, for error messages (e.g. "prevResult").</param>
    public static CniResult Parse(ReadOnlySpan<byte> json, string? version = null, string what = "result") =>
        // Plain 0.3.0-1.1.0 results without serializer metadata (a start-up cost); anything else, errors included,
        // the serializer reads.
        ResultReader.TryRead(json, version) ?? ParseWithSerializer(json, version, what);

    /// <summary><see cref="Parse"/> without the <see cref="ResultReader"/> fast path.</summary>
    internal static CniResult ParseWithSerializer(ReadOnlySpan<byte> json, string? version, string what)
    {
        if (version is null)
        {
            ConfigProbe probe = CniJson.Deserialize(json, CniJsonContext.Default.ConfigProbe, what);
            version = string.IsNullOrEmpty(probe.CniVersion) ? CniVersions.Default : probe.CniVersion;
        }
        CniResult result = FormatOf(version, what) switch
        {
            ResultFormat.V020 => ResultConverter.From020(CniJson.Deserialize(json, CniJsonContext.Default.Result020, what), version),
            ResultFormat.V040 => ResultConverter.From040(CniJson.Deserialize(json, CniJsonContext.Default.Result040, what), version),
            _ => CniJson.Deserialize(json, CniJsonContext.Default.CniResult, what).Normalize(),
        };
        // Before the copy WithVersion makes: a JSON null in a list (ips: [null]) is reported, not dereferenced.
        EnsureComplete(result, what);
        return WithVersion(result, version);
    }

    /// <summary>Every address and route destination must be set: throws <see cref="CniException"/> (7) naming the first that is not.</summary>
    private static void EnsureComplete(CniResult result, string what)
    {
        for (int i = 0; i < result.Ips.Count; i++)
        {
            if (result.Ips[i] is null || result.Ips[i].Address.Address is null)
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid {what}: ips[{i}].address is missing");
        }
        for (int i = 0; i < result.Routes.Count; i++)
        {
            if (result.Routes[i] is null || result.Routes[i].Dst.Address is null)
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid {what}: routes[{i}].dst is missing");
        }
        for (int i = 0; i < result.Interfaces.Count; i++)
        {
            if (result.Interfaces[i] is null)
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid {what}: interfaces[{i}] is null");
        }
    }

    private static CniResult WithVersion(CniResult result, string version)
    {
        if (result.CniVersion == version)
            return result;
        CniResult copy = result.Clone();
        copy.CniVersion = version;
        return copy;
    }

    private enum ResultFormat { V020, V040, V100 }

    private static ResultFormat FormatOf(string version, string what = "result") => version switch
    {
        CniVersions.V010 or CniVersions.V020 => ResultFormat.V020,
        CniVersions.V030 or CniVersions.V031 or CniVersions.V040 => ResultFormat.V040,
        CniVersions.V100 or CniVersions.V110 => ResultFormat.V100,
        _ => throw new CniException(CniErrorCode.IncompatibleCniVersion,
            $"unsupported cniVersion \"{version}\" for {what}",
            $"known versions: {string.Join(", ", CniVersions.All)}"),
    };
}
