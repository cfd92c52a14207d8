using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Cni.Netlink.Protocol;

namespace Cni.Netlink;

/// <summary>Neighbour cache entry states (NUD_*).</summary>
[Flags]
public enum NeighborState : ushort
{
    /// <summary>NUD_NONE.</summary>
    None = 0,
    /// <summary>NUD_INCOMPLETE: resolution in progress.</summary>
    Incomplete = 0x01,
    /// <summary>NUD_REACHABLE.</summary>
    Reachable = 0x02,
    /// <summary>NUD_STALE.</summary>
    Stale = 0x04,
    /// <summary>NUD_DELAY.</summary>
    Delay = 0x08,
    /// <summary>NUD_PROBE.</summary>
    Probe = 0x10,
    /// <summary>NUD_FAILED.</summary>
    Failed = 0x20,
    /// <summary>NUD_NOARP: no resolution needed.</summary>
    NoArp = 0x40,
    /// <summary>NUD_PERMANENT: static entry.</summary>
    Permanent = 0x80,
}

/// <summary>An ARP (IPv4) or NDP (IPv6) neighbour cache entry (RTM_NEWNEIGH).</summary>
public sealed class Neighbor
{
    /// <summary>The link the entry belongs to.</summary>
    public int LinkIndex { get; init; }
    /// <summary>The neighbour's IP address (NDA_DST).</summary>
    public required IPAddress IPAddress { get; init; }
    /// <summary>Its link-layer address (NDA_LLADDR), when resolved.</summary>
    public PhysicalAddress? MacAddress { get; init; }
    /// <summary>State.</summary>
    public NeighborState State { get; init; }
    /// <summary>ndm_flags (NTF_*).</summary>
    public byte Flags { get; init; }
    /// <summary>Address family.</summary>
    public AddressFamily Family => IPAddress.AddressFamily;
    /// <summary>Attributes this library does not interpret.</summary>
    public IReadOnlyList<NetlinkAttribute> OtherAttributes { get; init; } = [];

    /// <inheritdoc/>
    public override string ToString() => $"{IPAddress} dev {LinkIndex} lladdr {MacAddress} {State}";

    internal static Neighbor? Parse(ReadOnlySpan<byte> message)
    {
        ReadOnlySpan<byte> payload = NetlinkMessageReader.Payload(message);
        NdMsg ndm = NetlinkMessageReader.ReadStruct<NdMsg>(payload);
        IPAddress? dst = null;
        PhysicalAddress? mac = null;
        List<NetlinkAttribute>? other = null;
        var attrs = new AttributeReader(payload[NdMsg.Size..]);
        while (attrs.TryRead(out ushort type, out ReadOnlySpan<byte> value))
        {
            switch (type)
            {
                case Nda.Dst: dst = AttributeReader.Address(value); break;
                case Nda.LlAddr: mac = new PhysicalAddress(value.ToArray()); break;
                default: (other ??= []).Add(new NetlinkAttribute(type, value.ToArray())); break;
            }
        }
        if (dst is null) return null;
        return new Neighbor
        {
            LinkIndex = ndm.Index,
            IPAddress = dst,
            MacAddress = mac,
            State = (NeighborState)ndm.State,
            Flags = ndm.Flags,
            OtherAttributes = (IReadOnlyList<NetlinkAttribute>?)other ?? [],
        };
    }
}
