using System.Net;
using System.Net.Sockets;
using Cni.Netlink.Protocol;

namespace Cni.Netlink;

/// <summary>An IP address on a link (RTM_NEWADDR).</summary>
public sealed class Address
{
    /// <summary>Index of the link the address is on.</summary>
    public int LinkIndex { get; init; }
    /// <summary>The address (IFA_LOCAL when present, else IFA_ADDRESS).</summary>
    public required IPAddress IPAddress { get; init; }
    /// <summary>Prefix length.</summary>
    public int PrefixLength { get; init; }
    /// <summary>IFA_ADDRESS: the peer address on point-to-point links, otherwise the same as <see cref="IPAddress"/>.</summary>
    public IPAddress? PeerAddress { get; init; }
    /// <summary>IPv4 broadcast address (IFA_BROADCAST).</summary>
    public IPAddress? Broadcast { get; init; }
    /// <summary>Scope.</summary>
    public RouteScope Scope { get; init; }
    /// <summary>Flags (IFA_FLAGS, or ifa_flags on old kernels).</summary>
    public AddressFlags Flags { get; init; }
    /// <summary>IPv4 label (IFA_LABEL).</summary>
    public string? Label { get; init; }
    /// <summary>Address family.</summary>
    public AddressFamily Family => IPAddress.AddressFamily;
    /// <summary>Attributes this library does not interpret.</summary>
    public IReadOnlyList<NetlinkAttribute> OtherAttributes { get; init; } = [];

    /// <inheritdoc/>
    public override string ToString() => $"{IPAddress}/{PrefixLength} dev {LinkIndex} scope {Scope}";

    internal static Address? Parse(ReadOnlySpan<byte> message)
    {
        ReadOnlySpan<byte> payload = NetlinkMessageReader.Payload(message);
        IfAddrMsg ifa = NetlinkMessageReader.ReadStruct<IfAddrMsg>(payload);
        IPAddress? local = null, address = null, broadcast = null;
        string? label = null;
        uint flags = ifa.Flags;
        List<NetlinkAttribute>? other = null;
        var attrs = new AttributeReader(payload[IfAddrMsg.Size..]);
        while (attrs.TryRead(out ushort type, out ReadOnlySpan<byte> value))
        {
            switch (type)
            {
                case Ifa.Local: local = AttributeReader.Address(value); break;
                case Ifa.Address: address = AttributeReader.Address(value); break;
                case Ifa.Broadcast: broadcast = AttributeReader.Address(value); break;
                case Ifa.Label: label = AttributeReader.String(value); break;
                case Ifa.Flags: flags = AttributeReader.U32(value); break;
                default: (other ??= []).Add(new NetlinkAttribute(type, value.ToArray())); break;
            }
        }
        IPAddress? ip = local ?? address;
        if (ip is null) return null;
        return new Address
        {
            LinkIndex = ifa.Index,
            IPAddress = ip,
            PrefixLength = ifa.PrefixLen,
            PeerAddress = address,
            Broadcast = broadcast,
            Scope = (RouteScope)ifa.Scope,
            Flags = (AddressFlags)flags,
            Label = label,
            OtherAttributes = (IReadOnlyList<NetlinkAttribute>?)other ?? [],
        };
    }
}

/// <summary>Optional settings for a new address.</summary>
public sealed class AddressOptions
{
    /// <summary>IPv4 broadcast address (IFA_BROADCAST).</summary>
    public IPAddress? Broadcast { get; init; }
    /// <summary>Flags such as <see cref="AddressFlags.NoDad"/>.</summary>
    public AddressFlags Flags { get; init; }
    /// <summary>Scope; universe (global) when null.</summary>
    public RouteScope? Scope { get; init; }
}
