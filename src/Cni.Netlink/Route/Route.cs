using System.Net;
using System.Net.Sockets;
using Cni.Netlink.Protocol;

namespace Cni.Netlink;

/// <summary>
/// A route: what to add, replace or delete, and what a dump returns. Only <see cref="Destination"/> (or
/// <see cref="Family"/> for a default route) is required; unset values are left to the kernel's defaults,
/// the way <c>ip route</c> does.
/// </summary>
public sealed class Route
{
    /// <summary>Destination network; null means the default route (0.0.0.0/0 or ::/0, then <see cref="Family"/> says which).</summary>
    public IPAddress? Destination { get; init; }
    /// <summary>Prefix length of <see cref="Destination"/> (0 for a default route).</summary>
    public int PrefixLength { get; init; }
    /// <summary>Address family; taken from <see cref="Destination"/> or <see cref="Gateway"/> when not set.</summary>
    public AddressFamily? Family { get; init; }
    /// <summary>Next hop (RTA_GATEWAY).</summary>
    public IPAddress? Gateway { get; init; }
    /// <summary>Output link index (RTA_OIF).</summary>
    public int? OutputLinkIndex { get; init; }
    /// <summary>Scope. When null on add: link for IPv4 routes without a gateway, universe otherwise (as <c>ip route</c>).</summary>
    public RouteScope? Scope { get; init; }
    /// <summary>Routing table; main when null.</summary>
    public uint? Table { get; init; }
    /// <summary>Metric (RTA_PRIORITY).</summary>
    public uint? Priority { get; init; }
    /// <summary>Preferred source address (RTA_PREFSRC).</summary>
    public IPAddress? PreferredSource { get; init; }
    /// <summary>Path MTU metric (RTAX_MTU).</summary>
    public uint? Mtu { get; init; }
    /// <summary>Advertised MSS metric (RTAX_ADVMSS).</summary>
    public uint? AdvMss { get; init; }
    /// <summary>Routing protocol (RTPROT_*: 2 kernel, 3 boot, 4 static); on add, boot when null (as <c>ip route</c>).</summary>
    public byte? Protocol { get; init; }
    /// <summary>Route type (RTN_*: 1 unicast, 2 local, 3 broadcast, ...); unicast when null.</summary>
    public byte? Type { get; init; }
    /// <summary>Attributes this library does not interpret (on dumped routes).</summary>
    public IReadOnlyList<NetlinkAttribute> OtherAttributes { get; init; } = [];

    /// <summary>The family this route belongs to.</summary>
    public AddressFamily EffectiveFamily =>
        Family ?? Destination?.AddressFamily ?? Gateway?.AddressFamily ?? PreferredSource?.AddressFamily
        ?? throw new ArgumentException("a route needs Destination, Gateway or Family to know its address family", nameof(Family));

    /// <summary>True for 0.0.0.0/0 or ::/0.</summary>
    public bool IsDefault => PrefixLength == 0;

    /// <inheritdoc/>
    public override string ToString()
    {
        string dst = Destination is null || IsDefault ? "default" : $"{Destination}/{PrefixLength}";
        return $"{dst}{(Gateway is null ? "" : " via " + Gateway)}{(OutputLinkIndex is null ? "" : " dev " + OutputLinkIndex)} table {Table ?? RouteTable.Main}{(Priority is null ? "" : " metric " + Priority)}";
    }

    internal static Route? Parse(ReadOnlySpan<byte> message)
    {
        ReadOnlySpan<byte> payload = NetlinkMessageReader.Payload(message);
        RtMsg rtm = NetlinkMessageReader.ReadStruct<RtMsg>(payload);
        IPAddress? dst = null, gw = null, src = null;
        int? oif = null;
        uint table = rtm.Table;
        uint? priority = null, mtu = null, advmss = null;
        List<NetlinkAttribute>? other = null;
        var attrs = new AttributeReader(payload[RtMsg.Size..]);
        while (attrs.TryRead(out ushort type, out ReadOnlySpan<byte> value))
        {
            switch (type)
            {
                case Rta.Dst: dst = AttributeReader.Address(value); break;
                case Rta.Gateway: gw = AttributeReader.Address(value); break;
                case Rta.PrefSrc: src = AttributeReader.Address(value); break;
                case Rta.Oif: oif = (int)AttributeReader.U32(value); break;
                case Rta.Table: table = AttributeReader.U32(value); break;
                case Rta.Priority: priority = AttributeReader.U32(value); break;
                case Rta.Metrics:
                    var metrics = new AttributeReader(value);
                    while (metrics.TryRead(out ushort mt, out ReadOnlySpan<byte> mv))
                    {
                        if (mt == Rtax.Mtu) mtu = AttributeReader.U32(mv);
                        else if (mt == Rtax.AdvMss) advmss = AttributeReader.U32(mv);
                    }
                    break;
                default: (other ??= []).Add(new NetlinkAttribute(type, value.ToArray())); break;
            }
        }
        AddressFamily family = rtm.Family switch
        {
            AddressFamilies.Inet => AddressFamily.InterNetwork,
            AddressFamilies.Inet6 => AddressFamily.InterNetworkV6,
            _ => AddressFamily.Unspecified,
        };
        if (family == AddressFamily.Unspecified) return null;
        dst ??= family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any;
        return new Route
        {
            Family = family,
            Destination = dst,
            PrefixLength = rtm.DstLen,
            Gateway = gw,
            OutputLinkIndex = oif,
            Scope = (RouteScope)rtm.Scope,
            Table = table,
            Priority = priority,
            PreferredSource = src,
            Mtu = mtu,
            AdvMss = advmss,
            Protocol = rtm.Protocol,
            Type = rtm.Type,
            OtherAttributes = (IReadOnlyList<NetlinkAttribute>?)other ?? [],
        };
    }
}

/// <summary>Which routes <see cref="RtNetlink.ListRoutes"/> returns; every null property matches anything.</summary>
public sealed class RouteFilter
{
    /// <summary>Only this table. Null means main; use <see cref="RouteTable.Unspecified"/> for every table.</summary>
    public uint? Table { get; init; }
    /// <summary>Only routes through this output link.</summary>
    public int? OutputLinkIndex { get; init; }
    /// <summary>Only routes to exactly this destination network (with <see cref="PrefixLength"/>).</summary>
    public IPAddress? Destination { get; init; }
    /// <summary>Prefix length that goes with <see cref="Destination"/>.</summary>
    public int PrefixLength { get; init; }
    /// <summary>Only routes via this gateway.</summary>
    public IPAddress? Gateway { get; init; }

    internal bool Matches(Route r)
    {
        uint table = Table ?? RouteTable.Main;
        if (table != RouteTable.Unspecified && r.Table != table) return false;
        if (OutputLinkIndex is int oif && r.OutputLinkIndex != oif) return false;
        if (Destination is not null && (!Destination.Equals(r.Destination) || PrefixLength != r.PrefixLength)) return false;
        if (Gateway is not null && !Gateway.Equals(r.Gateway)) return false;
        return true;
    }
}
