using System.Text.Json.Serialization;
using Cni.Spec;

namespace Cni.Samples.CustomPlugin;

/// <summary>The plugin's own configuration keys (the common ones — name, cniVersion, prevResult — come from Cni.Spec).</summary>
public sealed class DnsOverrideOptions
{
    [JsonPropertyName("nameservers")] public List<string> Nameservers { get; set; } = [];
    [JsonPropertyName("search")] public List<string> Search { get; set; } = [];
    [JsonPropertyName("domain")] public string? Domain { get; set; }
}

// Metadata-only: GetOptions builds the reader from it far more cheaply than the full generated serializer.
[JsonSourceGenerationOptions(GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(DnsOverrideOptions))]
internal sealed partial class DnsOverrideJson : JsonSerializerContext;

/// <summary>
/// A chained plugin: it passes the previous plugin's result on with its DNS settings replaced by the configured ones.
/// ADD needs a prevResult; DEL has nothing to undo; CHECK verifies the DNS settings the runtime cached.
/// </summary>
public sealed class DnsOverridePlugin : CniPlugin
{
    public override PluginInfo Info { get; } = new() { About = "CNI dns-override sample plugin", SupportedVersions = ["0.4.0", "1.0.0", "1.1.0"] };

    public override Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
    {
        CniResult result = request.Config.PrevResult?.Clone()
            ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "dns-override must be chained after a plugin that returns a result (missing prevResult)");
        DnsOverrideOptions options = Read(request);
        result.Dns = new CniDns { Nameservers = options.Nameservers, Search = options.Search, Domain = options.Domain };
        return Task.FromResult(result);
    }

    public override Task DelAsync(CniRequest request, CancellationToken cancellationToken) => Task.CompletedTask;

    public override Task CheckAsync(CniRequest request, CancellationToken cancellationToken)
    {
        DnsOverrideOptions options = Read(request);
        List<string> cached = request.Config.PrevResult?.Dns.Nameservers ?? [];
        if (!cached.SequenceEqual(options.Nameservers))
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"dns.nameservers drifted: result has [{string.Join(", ", cached)}], configuration says [{string.Join(", ", options.Nameservers)}]");
        return Task.CompletedTask;
    }

    private static DnsOverrideOptions Read(CniRequest request)
    {
        DnsOverrideOptions options = request.GetOptions<DnsOverrideOptions>(DnsOverrideJson.Default);
        if (options.Nameservers.Count == 0)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "nameservers: at least one name server is required");
        return options;
    }
}
