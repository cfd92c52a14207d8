using System.Net;
using Cni.Spec;

namespace Cni.Plugins.Ipam.Dhcp.Protocol;

/// <summary>
/// What a DHCPACK grants, read from the message: the address with its mask, the router, routes, DNS, the server and
/// the lease times (T1 and T2 default to 50% and 85% of the lease, the lease to an hour, as RFC 2131 4.4.5 and the
/// reference say).
/// </summary>
public sealed class DhcpLease
{
    /// <summary>The lease time assumed when the ACK has none.</summary>
    public static readonly TimeSpan DefaultLeaseTime = TimeSpan.FromMinutes(60);

    /// <summary>The ACK the lease was read from.</summary>
    public required DhcpMessage Ack { get; init; }

    /// <summary>The assigned address (<c>yiaddr</c>).</summary>
    public required IPAddress Address { get; init; }

    /// <summary>The prefix length from the subnet mask (option 1); null when the server sent none.</summary>
    public int? PrefixLength { get; init; }

    /// <summary>The first router (option 3), or null.</summary>
    public IPAddress? Router { get; init; }

    /// <summary>The DNS servers (option 6).</summary>
    public IReadOnlyList<IPAddress> DnsServers { get; init; } = [];

    /// <summary>The server identifier (option 54), to address RENEW and RELEASE to.</summary>
    public IPAddress? ServerIdentifier { get; init; }

    /// <summary>Classless static routes (option 121).</summary>
    public IReadOnlyList<ClasslessRoute> ClasslessRoutes { get; init; } = [];

    /// <summary>Static routes (option 33).</summary>
    public IReadOnlyList<ClasslessRoute> StaticRoutes { get; init; } = [];

    /// <summary>The lease time (option 51).</summary>
    public TimeSpan LeaseTime { get; init; }

    /// <summary>T1: when to renew with the server that granted the lease (option 58).</summary>
    public TimeSpan RenewalTime { get; init; }

    /// <summary>T2: when to rebind with any server (option 59).</summary>
    public TimeSpan RebindingTime { get; init; }

    /// <summary>Reads a lease from a DHCPACK; throws <see cref="FormatException"/> when an option is malformed.</summary>
    public static DhcpLease FromAck(DhcpMessage ack)
    {
        ArgumentNullException.ThrowIfNull(ack);
        TimeSpan lease = ack.GetOption(DhcpOptionCode.LeaseTime) is { } l
            ? TimeSpan.FromSeconds(DhcpOptionValues.ParseSeconds(l, DhcpOptionCode.LeaseTime))
            : DefaultLeaseTime;
        TimeSpan rebind = ack.GetOption(DhcpOptionCode.RebindingTime) is { } t2
            ? TimeSpan.FromSeconds(DhcpOptionValues.ParseSeconds(t2, DhcpOptionCode.RebindingTime))
            : lease * 85 / 100;
        TimeSpan renew = ack.GetOption(DhcpOptionCode.RenewalTime) is { } t1
            ? TimeSpan.FromSeconds(DhcpOptionValues.ParseSeconds(t1, DhcpOptionCode.RenewalTime))
            : lease / 2;
        return new DhcpLease
        {
            Ack = ack,
            Address = ack.YourAddress,
            PrefixLength = ack.GetOption(DhcpOptionCode.SubnetMask) is { } mask ? DhcpOptionValues.ParsePrefixLength(mask) : null,
            Router = ack.GetOption(DhcpOptionCode.Router) is { } routers ? DhcpOptionValues.ParseAddresses(routers, DhcpOptionCode.Router)[0] : null,
            DnsServers = ack.GetOption(DhcpOptionCode.DomainNameServer) is { } dns ? DhcpOptionValues.ParseAddresses(dns, DhcpOptionCode.DomainNameServer) : [],
            ServerIdentifier = ack.GetOption(DhcpOptionCode.ServerIdentifier) is { } id ? DhcpOptionValues.ParseAddress(id, DhcpOptionCode.ServerIdentifier) : null,
            ClasslessRoutes = ack.GetOption(DhcpOptionCode.ClasslessStaticRoute) is { } csr ? DhcpOptionValues.ParseClasslessRoutes(csr) : [],
            StaticRoutes = ack.GetOption(DhcpOptionCode.StaticRoutes) is { } sr ? DhcpOptionValues.ParseStaticRoutes(sr) : [],
            LeaseTime = lease,
            RebindingTime = rebind,
            RenewalTime = renew,
        };
    }

    /// <summary>
    /// The IPAM result, as the reference builds it: one address with its mask and the router as gateway; the classless
    /// routes when there are any (RFC 3442: then option 33 and the router are ignored; an on-link route gets link
    /// scope), otherwise the static routes and a default route through the router. No DNS, as the reference.
    /// Throws <see cref="CniException"/> when the ACK had no subnet mask.
    /// </summary>
    public CniResult ToResult()
    {
        if (PrefixLength is not { } prefixLength)
            throw new CniException(CniErrorCode.Internal, "DHCP option Subnet Mask not found in DHCPACK");
        var result = new CniResult
        {
            Ips = [new CniIPConfig { Address = new IPPrefix(Address, prefixLength), Gateway = Router }],
        };
        if (ClasslessRoutes.Count > 0)
        {
            foreach (ClasslessRoute route in ClasslessRoutes)
            {
                bool onLink = route.Router.Equals(IPAddress.Any);
                result.Routes.Add(new CniRoute { Dst = route.Destination, Gw = route.Router, Scope = onLink ? 253 : null });
            }
            return result;
        }
        foreach (ClasslessRoute route in StaticRoutes)
            result.Routes.Add(new CniRoute { Dst = route.Destination, Gw = route.Router });
        if (Router is not null)
            result.Routes.Add(new CniRoute { Dst = new IPPrefix(IPAddress.Any, 0), Gw = Router });
        return result;
    }
}
