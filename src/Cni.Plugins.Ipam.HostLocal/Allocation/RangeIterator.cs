using Cni.Plugins.Ipam.HostLocal.Addressing;
using Cni.Plugins.Ipam.HostLocal.Configuration;

namespace Cni.Plugins.Ipam.HostLocal.Allocation;

/// <summary>
/// The reference's round-robin walk over a range set: it starts just after the last reserved address
/// (when that address is still inside the set), otherwise at the first range's start; it runs to each
/// range's end, continues with the next range (wrapping to the first), skips each range's gateway, and
/// stops when it comes back to where it started. The order is exactly the reference's, so that both
/// plugins, given the same files, pick the same address.
/// </summary>
internal struct RangeIterator
{
    private readonly RangeSet _set;
    private int _rangeIndex;
    private IpAddr? _current;
    private IpAddr? _start;

    public RangeIterator(RangeSet set, IpAddr? lastReserved)
    {
        _set = set;
        if (lastReserved is { } last && set.Contains(last))
        {
            for (int i = 0; i < set.Ranges.Count; i++)
            {
                if (set.Ranges[i].Contains(last))
                {
                    _rangeIndex = i;
                    break;
                }
            }
            _current = last; // the first Next() yields last + 1
        }
        else
        {
            _rangeIndex = 0;
            _start = set.Ranges[0].RangeStart;
        }
    }

    /// <summary>The next candidate and its range, or false when the walk is complete.</summary>
    public bool MoveNext(out IpAddr address, out AddressRange range)
    {
        while (true)
        {
            AddressRange r = _set.Ranges[_rangeIndex];
            if (_current is null)
            {
                _current = r.RangeStart;
                _start = _current;
                if (_current.Value == r.Gateway)
                    continue;
                address = _current.Value;
                range = r;
                return true;
            }

            if (_current.Value == r.RangeEnd)
            {
                _rangeIndex = (_rangeIndex + 1) % _set.Ranges.Count;
                r = _set.Ranges[_rangeIndex];
                _current = r.RangeStart;
            }
            else
            {
                _current = _current.Value.Next();
            }

            if (_start is null)
            {
                _start = _current;
            }
            else if (_current.Value == _start.Value)
            {
                address = default;
                range = null!;
                return false;
            }

            if (_current.Value == r.Gateway)
                continue;
            address = _current.Value;
            range = r;
            return true;
        }
    }
}
