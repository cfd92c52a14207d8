using System.Collections;
using System.Diagnostics.CodeAnalysis;
using Cni.Plugins.Ipam.HostLocal.Addressing;

namespace Cni.Plugins.Ipam.HostLocal.Store;

/// <summary>
/// Every reservation of one network as read under the lock: the address each file is named after and its
/// trimmed content (unknown when it is not a readable regular file, so it never matches an owner).
/// </summary>
/// <remarks>
/// <para>Contents are slices of shared buffers (for a snapshot read from the index, the index file's bytes), so that
/// loading 65,000 reservations allocates nothing per entry.</para>
/// <para>The entries are a base, two arrays sorted by address (as the index stores them, or as a full scan sorted
/// them), and an overlay of the changes made since: building a hash table of 65,000 entries cost more than reading
/// the index, and a run changes a handful. When the base is the index file's content the overlay is exactly what
/// the index's delta must hold (<see cref="Changes"/>).</para>
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

    /// <summary>One change from the base: the file's new slot, or its removal.</summary>
    internal readonly record struct Change(bool Removed, Slot Slot);

    private readonly IpAddr[] _keys;
    private readonly uint[] _v4; // the IPv4 keys (sorted first) as numbers: what the binary search compares
    private readonly Slot[] _slots;
    private int[]? _dense; // _v4 index by (address - _denseMin), -1 for none: built on the first look-up of a dense base
    private uint _denseMin;
    private bool _denseBuilt;
    private readonly Dictionary<IpAddr, Change> _overlay;
    private int _count;
    private bool _baseIsIndex;

    /// <summary>An empty snapshot; entries go to the overlay.</summary>
    public StoreSnapshot(int capacity = 0)
        : this([], [], new Dictionary<IpAddr, Change>(capacity))
    {
    }

    private StoreSnapshot(IpAddr[] sortedKeys, Slot[] slots, Dictionary<IpAddr, Change> overlay)
    {
        _keys = sortedKeys;
        _slots = slots;
        int v4 = 0;
        while (v4 < sortedKeys.Length && !sortedKeys[v4].IsV6)
            v4++;
        _v4 = new uint[v4];
        for (int i = 0; i < v4; i++)
            _v4[i] = (uint)sortedKeys[i].Value;
        _overlay = overlay;
        _count = sortedKeys.Length;
        Slots = new SlotView(this);
    }

    /// <summary>
    /// A snapshot whose base is <paramref name="keys"/> and <paramref name="slots"/> (taken over, sorted here when
    /// <paramref name="sorted"/> is false); null when an address appears twice.
    /// </summary>
    internal static StoreSnapshot? FromBase(IpAddr[] keys, Slot[] slots, bool sorted)
    {
        if (!sorted)
        {
            if (keys.All(k => !k.IsV6))
            {
                // Sorting by a primitive key is several times faster than through IComparable<IpAddr>.
                uint[] values = new uint[keys.Length];
                for (int i = 0; i < keys.Length; i++)
                    values[i] = (uint)keys[i].Value;
                Array.Sort(values, slots);
                for (int i = 0; i < keys.Length; i++)
                    keys[i] = IpAddr.V4(values[i]);
            }
            else
            {
                Array.Sort(keys, slots);
            }
        }
        for (int i = 1; i < keys.Length; i++)
        {
            if (keys[i - 1].CompareTo(keys[i]) >= 0)
                return null;
        }
        return new StoreSnapshot(keys, slots, []);
    }

    /// <summary>A snapshot with the same base and a copy of this one's overlay, tracking as this one does.</summary>
    internal StoreSnapshot Derive() => new(_keys, _slots, new Dictionary<IpAddr, Change>(_overlay))
    {
        _count = _count,
        _baseIsIndex = _baseIsIndex,
        BaseChecksum = BaseChecksum,
        UncheckedSince = UncheckedSince,
    };

    public int Count => _count;

    /// <summary>
    /// Null when every content is known to be the file's current one. Otherwise the contents were taken from an
    /// index for files whose inode had not changed, unchecked since this time (a directory mtime): a file created
    /// again since then under the same name with a reused inode number would carry other content and a later ctime.
    /// Good enough to allocate (names are exact); <see cref="DiskStore.Load"/> checks them before DEL, CHECK or GC.
    /// </summary>
    public (long Seconds, uint Nanoseconds)? UncheckedSince { get; set; }

    /// <summary>
    /// Every change made since the snapshot was loaded from the index file whose checksum is <see cref="BaseChecksum"/>
    /// (null: the base is not that file; the whole index is then written). <see cref="DiskStore.SaveIndex"/> writes
    /// only these, as the index's delta, while they are few.
    /// </summary>
    internal Dictionary<IpAddr, Change>? Changes => _baseIsIndex ? _overlay : null;

    /// <summary>The checksum of the index file <see cref="Changes"/> are relative to.</summary>
    internal ulong BaseChecksum { get; private set; }

    /// <summary>Declares the base (with no change yet) to be the index file with <paramref name="baseChecksum"/>.</summary>
    internal void TrackChangesFrom(ulong baseChecksum)
    {
        if (_overlay.Count != 0)
            throw new InvalidOperationException("only an unchanged base can be the index's content");
        BaseChecksum = baseChecksum;
        _baseIsIndex = true;
    }

    /// <summary>Stops tracking: the next save writes the whole index.</summary>
    internal void StopTracking() => _baseIsIndex = false;

    /// <summary>All addresses and where their contents are (the base's in address order, then the overlay's).</summary>
    public IReadOnlyDictionary<IpAddr, Slot> Slots { get; }

    /// <summary>Number of entries in the base.</summary>
    internal int BaseCount => _keys.Length;

    /// <summary>The base's address at <paramref name="index"/>.</summary>
    internal IpAddr BaseKey(int index) => _keys[index];

    /// <summary>The base's index of <paramref name="address"/>, or -1.</summary>
    internal int BaseIndexOf(IpAddr address)
    {
        if (!address.IsV6)
        {
            if (!Volatile.Read(ref _denseBuilt))
                BuildDenseTable();
            if (Volatile.Read(ref _dense) is { } dense)
            {
                uint offset = (uint)address.Value - _denseMin;
                return offset < (uint)dense.Length ? dense[offset] : -1;
            }
            int found = Array.BinarySearch(_v4, (uint)address.Value);
            return found >= 0 ? found : -1;
        }
        int lo = _v4.Length, hi = _keys.Length - 1;
        while (lo <= hi)
        {
            int mid = (int)((uint)(lo + hi) >> 1);
            int c = _keys[mid].CompareTo(address);
            if (c == 0)
                return mid;
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid - 1;
        }
        return -1;
    }

    /// <summary>The addresses set (not removed) since the base.</summary>
    internal List<IpAddr> AddedSinceBase() => [.. _overlay.Where(e => !e.Value.Removed).Select(e => e.Key)];

    /// <summary>
    /// A direct table from address to base index when the IPv4 base is large and dense (spans at most four times as
    /// many addresses as it holds, as a nearly full subnet does): a stale load looks up every listed name, and 65,000
    /// binary searches cost several times the table. Racing builders build the same table.
    /// </summary>
    private void BuildDenseTable()
    {
        if (_v4.Length >= 1024)
        {
            ulong span = (ulong)_v4[^1] - _v4[0] + 1;
            if (span <= 4UL * (ulong)_v4.Length)
            {
                var dense = new int[(int)span];
                Array.Fill(dense, -1);
                uint min = _v4[0];
                for (int i = 0; i < _v4.Length; i++)
                    dense[_v4[i] - min] = i;
                _denseMin = min;
                Volatile.Write(ref _dense, dense);
            }
        }
        Volatile.Write(ref _denseBuilt, true);
    }

    /// <summary>True when <paramref name="address"/> was changed (set or removed) since the base.</summary>
    internal bool IsInOverlay(IpAddr address) => _overlay.ContainsKey(address);

    public bool TryGetSlot(IpAddr address, out Slot slot) => TryGetSlot(address, out slot, out _);

    /// <summary>
    /// The slot of <paramref name="address"/>; <paramref name="baseIndex"/> is its index in the base when the base
    /// entry is the current one (not changed since), else -1.
    /// </summary>
    internal bool TryGetSlot(IpAddr address, out Slot slot, out int baseIndex)
    {
        baseIndex = -1;
        if (_overlay.Count != 0 && _overlay.TryGetValue(address, out Change change))
        {
            slot = change.Slot;
            return !change.Removed;
        }
        baseIndex = BaseIndexOf(address);
        slot = baseIndex >= 0 ? _slots[baseIndex] : default;
        return baseIndex >= 0;
    }

    public bool Contains(IpAddr address) => TryGetSlot(address, out _);

    /// <summary>The trimmed content of <paramref name="address"/>'s file, or null when missing or unknown.</summary>
    public byte[]? ContentOf(IpAddr address) =>
        TryGetSlot(address, out Slot slot) && slot.IsKnown ? slot.Content.ToArray() : null;

    /// <summary>Records a file and its trimmed content (null: unknown, e.g. not a regular file).</summary>
    public void Set(IpAddr address, byte[]? trimmedContent, ulong inode = 0) =>
        SetSlot(address, trimmedContent is null ? new Slot(null, 0, 0, inode) : new Slot(trimmedContent, 0, trimmedContent.Length, inode));

    /// <summary>Records a file with the given slot.</summary>
    internal void SetSlot(IpAddr address, Slot slot)
    {
        if (!Contains(address))
            _count++;
        _overlay[address] = new Change(false, slot);
    }

    public bool Remove(IpAddr address)
    {
        if (!Contains(address))
            return false;
        _count--;
        if (BaseIndexOf(address) >= 0)
            _overlay[address] = new Change(true, default);
        else
            _overlay.Remove(address);
        return true;
    }

    /// <summary>Addresses whose trimmed content equals <paramref name="content"/>, in address order.</summary>
    public List<IpAddr> Find(ReadOnlySpan<byte> content)
    {
        var found = new List<IpAddr>();
        bool overlay = _overlay.Count != 0;
        for (int i = 0; i < _slots.Length; i++)
        {
            Slot slot = _slots[i];
            if (slot.Length == content.Length && slot.IsKnown && slot.Content.SequenceEqual(content) && !(overlay && _overlay.ContainsKey(_keys[i])))
                found.Add(_keys[i]);
        }
        foreach (KeyValuePair<IpAddr, Change> entry in _overlay)
        {
            Slot slot = entry.Value.Slot;
            if (!entry.Value.Removed && slot.IsKnown && slot.Length == content.Length && slot.Content.SequenceEqual(content))
                found.Add(entry.Key);
        }
        found.Sort();
        return found;
    }

    /// <summary>Every entry in address order (what the index stores, so that loading it needs no sort).</summary>
    internal IEnumerable<KeyValuePair<IpAddr, Slot>> InAddressOrder()
    {
        var added = new List<KeyValuePair<IpAddr, Slot>>();
        foreach (KeyValuePair<IpAddr, Change> entry in _overlay)
        {
            if (!entry.Value.Removed)
                added.Add(new(entry.Key, entry.Value.Slot));
        }
        added.Sort((a, b) => a.Key.CompareTo(b.Key));
        bool overlay = _overlay.Count != 0;
        int j = 0;
        for (int i = 0; i < _keys.Length; i++)
        {
            while (j < added.Count && added[j].Key.CompareTo(_keys[i]) < 0)
                yield return added[j++];
            if (!(overlay && _overlay.ContainsKey(_keys[i])))
                yield return new(_keys[i], _slots[i]);
        }
        while (j < added.Count)
            yield return added[j++];
    }

    /// <summary>The dictionary face of a snapshot: base entries not changed since, then the overlay's.</summary>
    private sealed class SlotView(StoreSnapshot owner) : IReadOnlyDictionary<IpAddr, Slot>
    {
        public Slot this[IpAddr key] => owner.TryGetSlot(key, out Slot slot) ? slot : throw new KeyNotFoundException(key.ToString());

        public IEnumerable<IpAddr> Keys => this.Select(e => e.Key);

        public IEnumerable<Slot> Values => this.Select(e => e.Value);

        public int Count => owner._count;

        public bool ContainsKey(IpAddr key) => owner.Contains(key);

        public bool TryGetValue(IpAddr key, [MaybeNullWhen(false)] out Slot value) => owner.TryGetSlot(key, out value);

        public IEnumerator<KeyValuePair<IpAddr, Slot>> GetEnumerator()
        {
            bool overlay = owner._overlay.Count != 0;
            for (int i = 0; i < owner._keys.Length; i++)
            {
                if (!(overlay && owner._overlay.ContainsKey(owner._keys[i])))
                    yield return new(owner._keys[i], owner._slots[i]);
            }
            foreach (KeyValuePair<IpAddr, Change> entry in owner._overlay)
            {
                if (!entry.Value.Removed)
                    yield return new(entry.Key, entry.Value.Slot);
            }
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
