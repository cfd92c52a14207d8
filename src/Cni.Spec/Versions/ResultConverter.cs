using System.Net.Sockets;

namespace Cni.Spec.Versions;

/// <summary>Converts between the in-memory model (1.1.0) and the older wire formats, as the Go library's converters do.</summary>
internal static class ResultConverter
{
    /// <summary>The model as a 0.1.0/0.2.0 result: the first address of each family, routes split by destination family.</summary>
    public static Result020 To020(CniResult result, string version)
    {
        var wire = new Result020 { CniVersion = version, Dns = result.Dns.Clone() };
        foreach (CniIPConfig ip in result.Ips)
        {
            if (ip.Address.Family == AddressFamily.InterNetwork)
                wire.IP4 ??= new IPConfig020 { IP = ip.Address, Gateway = ip.Gateway };
            else
                wire.IP6 ??= new IPConfig020 { IP = ip.Address, Gateway = ip.Gateway };
        }
        if (wire.IP4 is null && wire.IP6 is null)
        {
            throw new CniException(CniErrorCode.IncompatibleCniVersion,
                $"cannot convert result to cniVersion {version}: it has no IP address (ips is empty) and {version} results need ip4 or ip6");
        }
        foreach (CniRoute route in result.Routes)
        {
            IPConfig020? target = route.Dst.Family == AddressFamily.InterNetwork ? wire.IP4 : wire.IP6;
            target?.Routes.Add(new CniRoute { Dst = route.Dst, Gw = route.Gw });
        }
        return wire;
    }

    /// <summary>A 0.1.0/0.2.0 result as the model: ip4 then ip6, their routes in that order, no interfaces.</summary>
    public static CniResult From020(Result020 wire, string version)
    {
        var result = new CniResult { CniVersion = version, Dns = (wire.Dns ?? new()).Normalize().Clone() };
        foreach (IPConfig020? ip in (IPConfig020?[])[wire.IP4, wire.IP6])
        {
            if (ip is null)
                continue;
            result.Ips.Add(new CniIPConfig { Address = ip.IP, Gateway = ip.Gateway });
            result.Routes.AddRange((ip.Routes ?? []).Select(r => r?.Clone()!)); // a null route is reported by the caller
        }
        return result;
    }

    /// <summary>The model as a 0.3.x/0.4.0 result: interfaces lose the 1.1.0 fields, addresses gain their version.</summary>
    public static Result040 To040(CniResult result, string version) => new()
    {
        CniVersion = version,
        Interfaces = result.Interfaces.Select(i => new Interface040 { Name = i.Name, Mac = i.Mac, Sandbox = i.Sandbox }).ToList(),
        Ips = result.Ips.Select(ip => new IPConfig040
        {
            Version = ip.Address.Family == AddressFamily.InterNetwork ? "4" : "6",
            Interface = ip.Interface,
            Address = ip.Address,
            Gateway = ip.Gateway,
        }).ToList(),
        Routes = result.Routes.Select(r => r.Clone()).ToList(),
        Dns = result.Dns.Clone(),
    };

    /// <summary>A 0.3.x/0.4.0 result as the model (the address family comes from the address, not <c>version</c>).</summary>
    public static CniResult From040(Result040 wire, string version) => new CniResult
    {
        CniVersion = version,
        // JSON nulls in the lists stay null, for the caller to report (CniResultSerializer.EnsureComplete).
        Interfaces = (wire.Interfaces ?? []).Select(i => i is null ? null! : new CniInterface { Name = i.Name, Mac = i.Mac, Sandbox = i.Sandbox }).ToList(),
        Ips = (wire.Ips ?? []).Select(ip => ip is null ? null! : new CniIPConfig { Address = ip.Address, Gateway = ip.Gateway, Interface = ip.Interface }).ToList(),
        Routes = (wire.Routes ?? []).Select(r => r?.Clone()!).ToList(),
        Dns = (wire.Dns ?? new()).Clone(),
    }.Normalize();
}
