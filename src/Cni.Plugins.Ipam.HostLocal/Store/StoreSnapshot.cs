using Cni.Plugins.Ipam.HostLocal.Addressing;

namespace Cni.Plugins.Ipam.HostLocal.Store;

/// <summary>
/// Every reservation of one network as read under the lock: the address each file is named after and its
/// trimmed content (unknown when it is not a readable regular file, so it never matches an owner).
/// </summary>
/// <remarks>
/// Contents are slices of shared buffers (for a snapshot read from the index, the index file's bytes), so that
/// loading 65,000 reservations allocates a dictionary and nothing per entry.
/// </remarks>
internal sealed class StoreSnapshot
{
    /// <summary>
    /// Where the trimmed content of one file lives; <see cref="Buffer"/> is null when the content is unknown.
    /// <see cref="Inode"/> is the file's inode number as the directory listed it (0: not known).
    /// </summary>
    internal readonly record struct Slot(byte[]? Buffer, int Offset, int Length, ulong Inode = 0)
    {
        public bool IsKnown => Buffer is not null;

        public ReadOnlySpan<byte> Content => Buffer is null ? default : Buffer.AsSpan(Offset, Length);
    }

    /// <summary>One change since the index file a snapshot was loaded from: the file's new slot, or its removal.</summary>
    internal readonly record struct Change(bool Removed, Slot Slot);

    private readonly Dictionary<IpAddr, Slot> _entries;

    public StoreSnapshot(int capacity = 0) => _entries = new Dictionary<IpAddr, Slot>(capacity);

    public int Count => _entries.Count;

    /// <summary>
    /// Null when every content is known to be the file's current one. Otherwise the contents were taken from an
    /// index for files whose inode had not changed, unchecked since this time (a directory mtime): a file created
    /// again since then under the same name with a reused inode number would carry other content and a later ctime.
    /// Good enough to allocate (names are exact); <see cref="DiskStore.Load"/> checks them before DEL, CHECK or GC.
    /// </summary>
    public (long Seconds, uint Nanoseconds)? UncheckedSince { get; set; }

    /// <summary>
    /// Every change made since the snapshot was loaded from the index file whose checksum is <see cref="BaseChecksum"/>
    /// (null: not tracked; the whole index is then written). <see cref="DiskStore.SaveIndex"/> writes only these, as
    /// the index's delta, while they are few.
    /// </summary>
    internal Dictionary<IpAddr, Change>? Changes { get; private set; }

    /// <summary>The checksum of the index file <see cref="Changes"/> are relative to.</summary>
    internal ulong BaseChecksum { get; private set; }

    /// <summary>From now on records every change relative to the index file with <paramref name="baseChecksum"/>.</summary>
    internal void TrackChangesFrom(ulong baseChecksum, Dictionary<IpAddr, Change> changes)
    {
        BaseChecksum = baseChecksum;
        Changes = changes;
    }

    /// <summary>Stops tracking: the next save writes the whole index.</summary>
    internal void StopTracking() => Changes = null;

    /// <summary>All addresses and where their contents are.</summary>
    public IReadOnlyDictionary<IpAddr, Slot> Slots => _entries;

    public bool Contains(IpAddr address) => _entries.ContainsKey(address);

    /// <summary>The trimmed content of <paramref name="address"/>'s file, or null when missing or unknown.</summary>
    public byte[]? ContentOf(IpAddr address) =>
        _entries.TryGetValue(address, out Slot slot) && slot.IsKnown ? slot.Content.ToArray() : null;

    /// <summary>Records a file and its trimmed content (null: unknown, e.g. not a regular file).</summary>
    public void Set(IpAddr address, byte[]? trimmedContent, ulong inode = 0) =>
        SetSlot(address, trimmedContent is null ? new Slot(null, 0, 0, inode) : new Slot(trimmedContent, 0, trimmedContent.Length, inode));

    /// <summary>Records a file whose content is a slice of a shared buffer.</summary>
    internal void SetSlice(IpAddr address, byte[] buffer, int offset, int length, ulong inode = 0) => SetSlot(address, new Slot(buffer, offset, length, inode));

    /// <summary>Records a file with a slot taken from another snapshot.</summary>
    internal void SetSlot(IpAddr address, Slot slot)
    {
        _entries[address] = slot;
        if (Changes is not null)
            Changes[address] = new Change(false, slot);
    }

    public bool Remove(IpAddr address)
    {
        if (!_entries.Remove(address))
            return false;
        if (Changes is not null)
            Changes[address] = new Change(true, default);
        return true;
    }

    /// <summary>Addresses whose trimmed content equals <paramref name="content"/>, in address order.</summary>
    public List<IpAddr> Find(ReadOnlySpan<byte> content)
    {
        var found = new List<IpAddr>();
        foreach (KeyValuePair<IpAddr, Slot> entry in _entries)
        {
            Slot slot = entry.Value;
            if (slot.IsKnown && slot.Length == content.Length && slot.Content.SequenceEqual(content))
                found.Add(entry.Key);
        }
        found.Sort();
        return found;
    }
}
