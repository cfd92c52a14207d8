using System.Net;
using System.Net.Sockets;
using Cni.Spec;

namespace Cni.Plugins.Ipam.Static;

/// <summary>
/// What the static plugin hands out, worked out from the configuration and <c>CNI_ARGS</c> in the reference
/// plugin's order: configured addresses plus <c>CNI_ARGS IP=</c> (with <c>GATEWAY=</c>), replaced entirely by
/// <c>args.cni.ips</c>, then by <c>runtimeConfig.ips</c> when those are given.
/// </summary>
internal sealed class StaticAllocation
{
    /// <summary>One address to hand out, with its gateway and where it came from (for messages).</summary>
    internal readonly record struct Entry(IPPrefix Address, IPAddress? Gateway, string Source);

    public required List<Entry> Addresses { get; init; }

    public required List<CniRoute> Routes { get; init; }

    public required CniDns Dns { get; init; }

    /// <summary>Reads and validates the static configuration of <paramref name="request"/>; throws <see cref="CniException"/> naming the field.</summary>
    public static StaticAllocation Load(CniRequest request)
    {
        StaticNetConf conf = request.GetOptions<StaticNetConf>(StaticJsonContext.Default);
        StaticIpamConfig ipam = conf.Ipam
            ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "IPAM config missing 'ipam' key (ipam)");

        // (text, gateway, source): configured first, then CNI_ARGS.
        var candidates = new List<(string? Text, IPAddress? Gateway, string Source)>();
        List<StaticAddress> configured = ipam.Addresses ?? [];
        for (int i = 0; i < configured.Count; i++)
            candidates.Add((configured[i]?.Address, configured[i]?.Gateway, $"ipam.addresses[{i}].address"));

        AddFromCniArgs(request.Args, candidates);

        List<string>? argsIps = conf.Args?.Cni?.Ips;
        if (argsIps is { Count: > 0 })
            candidates = argsIps.Select((ip, i) => ((string?)ip, (IPAddress?)null, $"args.cni.ips[{i}]")).ToList();
        List<string>? runtimeIps = conf.RuntimeConfig?.Ips;
        if (runtimeIps is { Count: > 0 })
            candidates = runtimeIps.Select((ip, i) => ((string?)ip, (IPAddress?)null, $"runtimeConfig.ips[{i}]")).ToList();

        var addresses = new List<Entry>(candidates.Count);
        foreach ((string? text, IPAddress? gateway, string source) in candidates)
        {
            if (!IPPrefix.TryParse(text, out IPPrefix prefix))
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid CIDR {text} ({source})", "expected an address with a prefix length, e.g. 10.10.0.1/24");
            addresses.Add(new Entry(prefix, gateway, source));
        }

        int v4 = addresses.Count(a => a.Address.Family == AddressFamily.InterNetwork);
        int v6 = addresses.Count - v4;
        string version = string.IsNullOrEmpty(conf.CniVersion) ? CniVersions.Default : conf.CniVersion;
        if ((v4 > 1 || v6 > 1) && !(CniVersions.TryParse(version, out Version? parsed) && parsed >= new Version(0, 3, 0)))
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig,
                $"CNI version {version} does not support more than 1 address per family (cniVersion, ipam.addresses)");
        }

        List<CniRoute> routes = ipam.Routes ?? [];
        for (int i = 0; i < routes.Count; i++)
        {
            if (routes[i]?.Dst.Address is null)
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"route without destination (ipam.routes[{i}].dst)");
        }

        return new StaticAllocation
        {
            Addresses = addresses,
            Routes = routes.Select(r => r.Clone()).ToList(),
            Dns = ipam.Dns?.Clone() ?? new CniDns(),
        };
    }

    /// <summary><c>IP=a/n,b/m</c> appends addresses; <c>GATEWAY=g,h</c> sets the gateway of the <c>IP=</c> addresses containing it.</summary>
    private static void AddFromCniArgs(CniArgs args, List<(string? Text, IPAddress? Gateway, string Source)> candidates)
    {
        int firstFromArgs = candidates.Count;
        string? ips = args.Get("IP");
        if (!string.IsNullOrEmpty(ips))
        {
            foreach (string item in ips.Split(','))
            {
                string text = item.Trim();
                if (!IPPrefix.TryParse(text, out _))
                    throw new CniException(CniErrorCode.InvalidEnvironmentVariables, $"invalid CIDR {text} (CNI_ARGS IP)", "expected an address with a prefix length, e.g. 10.10.0.1/24");
                candidates.Add((text, null, "CNI_ARGS IP"));
            }
        }

        string? gateways = args.Get("GATEWAY");
        if (string.IsNullOrEmpty(gateways))
            return;
        foreach (string item in gateways.Split(','))
        {
            IPAddress gateway = IPText.ParseAddressOrNull(item.Trim())
                ?? throw new CniException(CniErrorCode.InvalidEnvironmentVariables, $"invalid gateway address: {item} (CNI_ARGS GATEWAY)");
            for (int i = firstFromArgs; i < candidates.Count; i++)
            {
                if (IPPrefix.Parse(candidates[i].Text!).Contains(gateway))
                    candidates[i] = candidates[i] with { Gateway = gateway };
            }
        }
    }
}
