using Cni.Plugins.Ipam.HostLocal.Addressing;
using Cni.Spec;

namespace Cni.Plugins.Ipam.HostLocal.Configuration;

/// <summary>The validated configuration of one host-local invocation.</summary>
internal sealed class HostLocalConfig
{
    /// <summary>The reference's default data directory.</summary>
    public const string DefaultDataDir = "/var/lib/cni/networks";

    /// <summary>Network name: the sub-directory of <see cref="DataDir"/>.</summary>
    public required string Name { get; init; }

    public required string CniVersion { get; init; }

    public string DataDir { get; init; } = DefaultDataDir;

    /// <summary>A resolv.conf-style file whose contents become the result's dns, or null.</summary>
    public string? ResolvConf { get; init; }

    /// <summary>Range sets in the reference's order (runtime <c>ipRanges</c>, then the legacy single range, then <c>ranges</c>); index N keeps <c>last_reserved_ip.N</c>.</summary>
    public required IReadOnlyList<RangeSet> RangeSets { get; init; }

    public IReadOnlyList<CniRoute> Routes { get; init; } = [];

    /// <summary>Requested addresses (CNI_ARGS <c>IP</c>, <c>args.cni.ips</c>, <c>runtimeConfig.ips</c>), without duplicates.</summary>
    public IReadOnlyList<IpAddr> RequestedIps { get; init; } = [];

    /// <summary>
    /// The requested address of each range set (null where the set allocates round-robin). Every requested
    /// address belongs to exactly one set and is not a gateway; <see cref="HostLocalConfigParser"/> checked it.
    /// </summary>
    public required IReadOnlyList<IpAddr?> RequestedPerSet { get; init; }
}
