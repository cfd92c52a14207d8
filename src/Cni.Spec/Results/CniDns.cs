using System.Text.Json.Serialization;

namespace Cni.Spec;

/// <summary>DNS settings for resolvers in the container: name servers, domain, search list and options.</summary>
public sealed class CniDns
{
    /// <summary>Name server addresses, in priority order.</summary>
    [JsonPropertyName("nameservers")]
    public List<string> Nameservers { get => _nameservers; set => _nameservers = value ?? []; } // a JSON null reads as empty

    /// <summary>The local domain for short host name lookups.</summary>
    [JsonPropertyName("domain")]
    public string? Domain { get; set; }

    /// <summary>Search domains, in priority order.</summary>
    [JsonPropertyName("search")]
    public List<string> Search { get => _search; set => _search = value ?? []; } // a JSON null reads as empty

    /// <summary>Resolver options.</summary>
    [JsonPropertyName("options")]
    public List<string> Options { get => _options; set => _options = value ?? []; } // a JSON null reads as empty

    private List<string> _nameservers = [], _search = [], _options = [];

    /// <summary>True when nothing is set.</summary>
    [JsonIgnore]
    public bool IsEmpty => Nameservers.Count == 0 && string.IsNullOrEmpty(Domain) && Search.Count == 0 && Options.Count == 0;

    /// <summary>A deep copy.</summary>
    public CniDns Clone() => new() { Nameservers = [.. Nameservers], Domain = Domain, Search = [.. Search], Options = [.. Options] };

    /// <summary>Replaces JSON nulls with empty lists.</summary>
    internal CniDns Normalize()
    {
        Nameservers ??= [];
        Search ??= [];
        Options ??= [];
        return this;
    }
}
