using Cni.Plugins.Ipam.HostLocal.Addressing;

namespace Cni.Plugins.Ipam.HostLocal.Configuration;

/// <summary>
/// One validated range: a subnet, the inclusive first and last address handed out, and the gateway.
/// Defaults as in the reference: <c>rangeStart</c> is the subnet address + 1, <c>rangeEnd</c> the last address
/// (minus one for IPv4, the broadcast), the gateway the subnet address + 1 (skipped when handing out).
/// </summary>
internal sealed class AddressRange
{
    public AddressRange(IpAddr network, int prefixLength, IpAddr rangeStart, IpAddr rangeEnd, IpAddr gateway)
    {
        Network = network;
        PrefixLength = prefixLength;
        RangeStart = rangeStart;
        RangeEnd = rangeEnd;
        Gateway = gateway;
    }

    /// <summary>The subnet address (no host bits).</summary>
    public IpAddr Network { get; }

    public int PrefixLength { get; }

    /// <summary>First address handed out, inclusive.</summary>
    public IpAddr RangeStart { get; }

    /// <summary>Last address handed out, inclusive.</summary>
    public IpAddr RangeEnd { get; }

    /// <summary>The gateway: never handed out.</summary>
    public IpAddr Gateway { get; }

    public bool IsV6 => Network.IsV6;

    /// <summary>"10.1.0.0/24".</summary>
    public string SubnetText => $"{Network}/{PrefixLength}";

    /// <summary>True when <paramref name="address"/> lies in the subnet.</summary>
    public bool InSubnet(IpAddr address) =>
        address.IsV6 == Network.IsV6 && (address.Value & Network.MaskOf(PrefixLength)) == Network.Value;

    /// <summary>True when <paramref name="address"/> is in the subnet and between start and end (the reference's <c>Range.Contains</c>).</summary>
    public bool Contains(IpAddr address) => InSubnet(address) && address >= RangeStart && address <= RangeEnd;

    /// <summary>True when the two ranges share an address (same test as the reference: an end of one lies in the other).</summary>
    public bool Overlaps(AddressRange other) =>
        IsV6 == other.IsV6 &&
        (Contains(other.RangeStart) || Contains(other.RangeEnd) || other.Contains(RangeStart) || other.Contains(RangeEnd));

    /// <summary>"start-end", the reference's text for a range.</summary>
    public override string ToString() => $"{RangeStart}-{RangeEnd}";
}

/// <summary>An ordered set of ranges of one family; each set yields one address per ADD.</summary>
internal sealed class RangeSet
{
    public RangeSet(IReadOnlyList<AddressRange> ranges)
    {
        if (ranges.Count == 0)
            throw new ArgumentException("a range set needs at least one range", nameof(ranges));
        Ranges = ranges;
    }

    public IReadOnlyList<AddressRange> Ranges { get; }

    public bool IsV6 => Ranges[0].IsV6;

    /// <summary>The first range holding <paramref name="address"/> between its start and end, or null.</summary>
    public AddressRange? RangeFor(IpAddr address)
    {
        foreach (AddressRange r in Ranges)
        {
            if (r.Contains(address))
                return r;
        }
        return null;
    }

    public bool Contains(IpAddr address) => RangeFor(address) is not null;

    public bool Overlaps(RangeSet other)
    {
        foreach (AddressRange a in Ranges)
        {
            foreach (AddressRange b in other.Ranges)
            {
                if (a.Overlaps(b))
                    return true;
            }
        }
        return false;
    }

    /// <summary>"a-b,c-d", the reference's text for a range set.</summary>
    public override string ToString() => string.Join(",", Ranges);
}
