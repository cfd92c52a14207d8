using Cni.Plugins.Ipam.HostLocal.Addressing;
using Cni.Plugins.Ipam.HostLocal.Configuration;
using Cni.Spec;

namespace Cni.Plugins.Ipam.HostLocal.Allocation;

/// <summary>What the allocator needs to know about the store: which addresses are taken and where round-robin stopped.</summary>
internal interface IAllocationView
{
    /// <summary>True when a file named after <paramref name="address"/> exists (whoever owns it).</summary>
    bool IsTaken(IpAddr address);

    /// <summary>The content of <c>last_reserved_ip.N</c> as an address, or null.</summary>
    IpAddr? LastReserved(int rangeSetIndex);

    /// <summary>Addresses held by this attachment: files reading <c>id\r\nifname</c>, or the legacy <c>id</c> alone.</summary>
    IEnumerable<IpAddr> HeldBy(string containerId, string ifName);
}

/// <summary>
/// A plan that failed at one range set. <see cref="Completed"/> holds what the sets before it chose: the reference
/// allocates set by set and moves <c>last_reserved_ip.N</c> of those sets before it fails (releasing their files),
/// and doing the same keeps both plugins' round-robin in step.
/// </summary>
internal sealed class AllocationFailedException(uint code, string message, IReadOnlyList<AddressPick> completed)
    : CniException(code, message)
{
    public IReadOnlyList<AddressPick> Completed { get; } = completed;
}

/// <summary>One address chosen for one range set, with the range it belongs to.</summary>
internal readonly record struct AddressPick(int RangeSetIndex, IpAddr Address, AddressRange Range);

/// <summary>Plugin-specific CNI error codes (100 and up, as the spec allows).</summary>
internal static class HostLocalErrors
{
    /// <summary>No free address is left in a range set.</summary>
    public const uint RangeExhausted = 100;

    /// <summary>A requested address is already reserved.</summary>
    public const uint AddressInUse = 101;

    /// <summary>The attachment already holds an address in a range set.</summary>
    public const uint AlreadyAllocated = 102;

    /// <summary>CHECK found no reservation for the attachment.</summary>
    public const uint ReservationMissing = 103;
}

/// <summary>
/// Picks the addresses of one ADD without touching anything: every decision is made on a view of the
/// store read under the lock, so that either all addresses are found or nothing is written.
/// </summary>
internal static class Allocator
{
    /// <summary>The address the reference would pick for <paramref name="set"/>: the first free one in round-robin order.</summary>
    public static AddressPick? PickNext(RangeSet set, int rangeSetIndex, IAllocationView view, ISet<IpAddr>? alsoTaken = null)
    {
        var iterator = new RangeIterator(set, view.LastReserved(rangeSetIndex));
        while (iterator.MoveNext(out IpAddr address, out AddressRange range))
        {
            if (!view.IsTaken(address) && (alsoTaken is null || !alsoTaken.Contains(address)))
                return new AddressPick(rangeSetIndex, address, range);
        }
        return null;
    }

    /// <summary>Plans an ADD: one address per range set, requested ones where given.</summary>
    /// <exception cref="AllocationFailedException">The attachment already holds an address, a requested address is taken, or a set is full.</exception>
    public static List<AddressPick> Plan(HostLocalConfig config, IAllocationView view, string containerId, string ifName)
    {
        var held = view.HeldBy(containerId, ifName).ToList();
        var plan = new List<AddressPick>(config.RangeSets.Count);
        var chosen = new HashSet<IpAddr>();
        for (int i = 0; i < config.RangeSets.Count; i++)
        {
            RangeSet set = config.RangeSets[i];
            foreach (IpAddr ip in held)
            {
                if (set.Contains(ip))
                {
                    throw new AllocationFailedException(HostLocalErrors.AlreadyAllocated,
                        $"failed to allocate for range {i}: {ip} has been allocated to {containerId}, duplicate allocation is not allowed", plan);
                }
            }

            AddressPick allocation;
            if (config.RequestedPerSet[i] is { } requested)
            {
                if (view.IsTaken(requested) || chosen.Contains(requested))
                {
                    throw new AllocationFailedException(HostLocalErrors.AddressInUse,
                        $"failed to allocate for range {i}: requested IP address {requested} is not available in range set {set}", plan);
                }
                allocation = new AddressPick(i, requested, set.RangeFor(requested)!);
            }
            else
            {
                allocation = PickNext(set, i, view, chosen)
                    ?? throw new AllocationFailedException(HostLocalErrors.RangeExhausted, $"failed to allocate for range {i}: no IP addresses available in range set: {set}", plan);
            }
            chosen.Add(allocation.Address);
            plan.Add(allocation);
        }
        return plan;
    }
}
