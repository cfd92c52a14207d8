using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Cni.Netlink;
using Cni.Spec;

namespace Cni.Plugins.Common;

/// <summary>
/// CHECK helpers: compare live interfaces, addresses and routes with <c>prevResult</c> and throw a
/// <see cref="CniException"/> that names what drifted (code 999 with a precise message, as the reference's errors).
/// </summary>
public static class InterfaceChecks
{
    /// <summary>The previous result, or a CNI error when CHECK was called without one.</summary>
    public static CniResult RequirePrevResult(CniRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.Config.PrevResult ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "Required prevResult missing (prevResult)");
    }

    /// <summary>The index of the interface called <paramref name="name"/> in <paramref name="result"/> whose sandbox is
    /// <paramref name="sandbox"/> (any sandbox when null), or -1.</summary>
    public static int FindInterface(CniResult result, string name, string? sandbox)
    {
        ArgumentNullException.ThrowIfNull(result);
        for (int i = 0; i < result.Interfaces.Count; i++)
        {
            CniInterface intf = result.Interfaces[i];
            if (intf.Name == name && (sandbox is null || intf.Sandbox == sandbox))
                return i;
        }
        return -1;
    }

    /// <summary>Formats a MAC the way results carry it: lower case, colon separated.</summary>
    public static string FormatMac(PhysicalAddress? mac)
    {
        if (mac is null)
            return "";
        byte[] b = mac.GetAddressBytes();
        return string.Join(':', b.Select(x => x.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
    }

    /// <summary>Throws when <paramref name="expected"/> (from a result) is set and differs from the live MAC.</summary>
    public static void ValidateMac(string what, string? expected, Link link)
    {
        ArgumentNullException.ThrowIfNull(link);
        if (string.IsNullOrEmpty(expected))
            return;
        string live = FormatMac(link.MacAddress);
        if (!string.Equals(expected, live, StringComparison.OrdinalIgnoreCase))
            throw new CniException(CniErrorCode.Internal, $"{what} {link.Name} MAC {expected} doesn't match the live MAC {live}");
    }

    /// <summary>
    /// Every address of <paramref name="result"/> that belongs to <paramref name="ifName"/> (by <c>interface</c> index,
    /// or every address when <paramref name="interfaceIndex"/> is null) must be on the live link with the same prefix
    /// length, and its subnet must be routed.
    /// </summary>
    public static void ValidateAddresses(RtNetlink netlink, string ifName, CniResult result, int? interfaceIndex)
    {
        ArgumentNullException.ThrowIfNull(netlink);
        ArgumentNullException.ThrowIfNull(result);
        Link link = netlink.FindLink(ifName) ?? throw new CniException(CniErrorCode.Internal, $"Cannot find container link {ifName}");
        IReadOnlyList<Address> live = netlink.ListAddresses(link.Index);
        foreach (CniIPConfig ip in result.Ips)
        {
            if (interfaceIndex is int wanted && ip.Interface is int index && index != wanted)
                continue;
            IPPrefix a = ip.Address;
            if (!live.Any(l => l.IPAddress.Equals(a.Address) && l.PrefixLength == a.PrefixLength))
                throw new CniException(CniErrorCode.Internal, $"Failed to match addr {a} on interface {ifName}: the address is missing");
            IPPrefix network = a.Network;
            IReadOnlyList<Route> routes = netlink.ListRoutes(a.Family, new RouteFilter { Table = RouteTable.Unspecified, Destination = network.Address, PrefixLength = network.PrefixLength });
            if (routes.Count == 0)
                throw new CniException(CniErrorCode.Internal, $"Failed to find the route to {network} for addr {a} on interface {ifName}");
        }
    }

    /// <summary>Every route of <paramref name="routes"/> must be in the live routing table (same destination, and gateway when given).</summary>
    public static void ValidateRoutes(RtNetlink netlink, IEnumerable<CniRoute> routes)
    {
        ArgumentNullException.ThrowIfNull(netlink);
        ArgumentNullException.ThrowIfNull(routes);
        foreach (CniRoute r in routes)
        {
            IPPrefix dst = r.Dst.Network;
            var filter = new RouteFilter
            {
                Table = r.Table is int t ? (uint)t : RouteTable.Unspecified,
                Destination = dst.Address,
                PrefixLength = dst.PrefixLength,
                Gateway = r.Gw,
            };
            if (netlink.ListRoutes(dst.Family, filter).Count == 0)
                throw new CniException(CniErrorCode.Internal, $"Expected Route {{Dst:{r.Dst} GW:{r.Gw?.ToString() ?? "<nil>"}}} not found in routing table");
        }
    }

    /// <summary>True when <paramref name="address"/> is a global unicast address (what DEL reports and masquerade rules use).</summary>
    public static bool IsGlobalUnicast(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
            return false;
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
            return !address.IsIPv6LinkLocal && !address.IsIPv6Multicast;
        byte first = address.GetAddressBytes()[0];
        byte second = address.GetAddressBytes()[1];
        return first is not (>= 224) && !(first == 169 && second == 254);
    }
}
