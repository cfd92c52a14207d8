using System.Buffers.Binary;
using Cni.Plugins.Ipam.HostLocal.Addressing;
using Cni.Plugins.Ipam.HostLocal.Interop;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Cni.Plugins.Ipam.HostLocal.Store;

/// <summary>
/// Our private index of one network's reservations: <c>&lt;dataDir&gt;/.host-local-cache/&lt;network&gt;</c>, a
/// checksummed binary copy of a <see cref="StoreSnapshot"/> stamped with the directory state (<see cref="DirStamp"/>)
/// it describes. The Go plugin neither reads nor writes it; <see cref="DiskStore"/> decides when it is trusted.
/// </summary>
/// <remarks>
/// Every access is relative to the data directory's descriptor and never follows a symbolic link below it, so
/// whoever can write there cannot make us read or write elsewhere. Failures are never errors: the index is only a
/// shortcut, and without it the files are read.
/// </remarks>
internal sealed unsafe class StoreIndex(int dataFd, string network)
{
    /// <summary>Folder (in the data directory) holding one index file per network.</summary>
    public const string CacheDirectoryName = ".host-local-cache";

    /// <summary>Prefix of a network's delta file in the cache folder (a network name cannot start with it).</summary>
    public const string DeltaPrefix = "_delta_";

    private const string DeltaTempPrefix = "_delta-tmp_";
    private const int UncheckedSize = 1 + 8 + 4;
    private static readonly byte[] Magic = "HLIDX003"u8.ToArray();
    private static readonly byte[] DeltaMagic = "HLDLT001"u8.ToArray();

    /// <summary>The index file's bytes, or null when there is none (the common case on small networks: no exception).</summary>
    public byte[]? ReadBytes() => ReadFile(network);

    /// <summary>The delta file's bytes, or null when there is none.</summary>
    public byte[]? ReadDeltaBytes() => ReadFile(DeltaPrefix + network);

    private byte[]? ReadFile(string name)
    {
        int cacheFd = OpenCacheDirectory(create: false);
        if (cacheFd < 0)
            return null;
        int fd = Posix.OpenAt(cacheFd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
        close(cacheFd);
        if (fd < 0)
            return null;
        try
        {
            if (!Posix.StatFd(fd, STATX_SIZE, out statx st) || st.stx_size > int.MaxValue / 2)
                return null;
            byte[] data = new byte[(int)st.stx_size];
            int total = 0;
            while (total < data.Length)
            {
                long n = Posix.Read(fd, data, total);
                if (n <= 0)
                    return null; // changed under us: not worth trusting
                total += (int)n;
            }
            return data;
        }
        finally
        {
            close(fd);
        }
    }

    /// <summary>
    /// Writes the index as a temporary file renamed over the old one, all relative to the cache folder's descriptor
    /// and without following a symbolic link anywhere below the data directory. False on any failure.
    /// </summary>
    public bool Write(byte[] data)
    {
        // Network names never start with a dot or an underscore: these names are ours alone.
        if (!WriteFile(data, network, "." + network + ".tmp"))
            return false;
        DeleteDelta(); // it was relative to the old index (its base checksum no longer matches): just tidy
        return true;
    }

    /// <summary>Writes the delta (see <see cref="SerializeDelta"/>) over the previous one. False on any failure.</summary>
    public bool WriteDelta(byte[] data) => WriteFile(data, DeltaPrefix + network, DeltaTempPrefix + network);

    private bool WriteFile(byte[] data, string fileName, string tempName)
    {
        int cacheFd = OpenCacheDirectory(create: true);
        if (cacheFd < 0)
            return false;
        try
        {
            byte[] temp = Posix.NameBytes(tempName);
            byte[] name = Posix.NameBytes(fileName);
            Posix.UnlinkAt(cacheFd, temp); // left by a crash, or planted: O_EXCL below must create it
            int fd = Posix.OpenAt(cacheFd, temp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0x1a4 /* 0644 */);
            if (fd < 0)
                return false;
            bool written;
            try
            {
                written = Posix.TryWriteAll(fd, data, out _);
            }
            finally
            {
                close(fd);
            }
            if (written && Posix.RenameAt(cacheFd, temp, cacheFd, name) == 0)
                return true;
            Posix.UnlinkAt(cacheFd, temp);
            return false;
        }
        finally
        {
            close(cacheFd);
        }
    }

    /// <summary>Removes the index; a missing one is fine (a stale one would be harmless anyway: its stamp no longer matches).</summary>
    public void Delete()
    {
        int cacheFd = OpenCacheDirectory(create: false);
        if (cacheFd < 0)
            return;
        Posix.UnlinkAt(cacheFd, Posix.NameBytes(network));
        Posix.UnlinkAt(cacheFd, Posix.NameBytes(DeltaPrefix + network));
        close(cacheFd);
    }

    /// <summary>Removes the delta alone.</summary>
    public void DeleteDelta()
    {
        int cacheFd = OpenCacheDirectory(create: false);
        if (cacheFd < 0)
            return;
        Posix.UnlinkAt(cacheFd, Posix.NameBytes(DeltaPrefix + network));
        close(cacheFd);
    }

    /// <summary>The cache folder, opened without following a link (created first with <paramref name="create"/>); -1 when missing.</summary>
    private int OpenCacheDirectory(bool create)
    {
        byte[] name = Posix.NameBytes(CacheDirectoryName);
        if (create)
            Posix.MkdirAt(dataFd, name, 0x1ed /* 0755 */); // EEXIST (or a link in its place, refused below) is fine
        return Posix.OpenAt(dataFd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
    }

    /// <summary>
    /// True when the wall clock reads earlier than the directory times the index recorded: it was set back since.
    /// Every comparison of times the index relies on (a change after it carries a later stamp) assumes the clock only
    /// moves forward, so such an index is not used at all: the files are read and a new one is written.
    /// </summary>
    /// <param name="stamp">The directory state the index recorded.</param>
    /// <param name="clock">The clock to read; null: CLOCK_REALTIME (fine-grained: file times may be ahead of the coarse clock).</param>
    public static bool ClockIsBefore(DirStamp stamp, TimeProvider? clock)
    {
        long seconds, nanoseconds;
        if (clock is null)
        {
            Posix.Timespec now = Posix.Now(Posix.CLOCK_REALTIME);
            (seconds, nanoseconds) = (now.Seconds, now.Nanoseconds);
        }
        else
        {
            long ticks = clock.GetUtcNow().UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
            seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out long rest);
            nanoseconds = rest * 100;
        }
        return Posix.IsEarlier(seconds, nanoseconds, stamp.MtimeSeconds, stamp.MtimeNanoseconds)
            || Posix.IsEarlier(seconds, nanoseconds, stamp.CtimeSeconds, stamp.CtimeNanoseconds);
    }

    /// <summary>
    /// Waits (up to about 60 ms) until the coarse clock that stamps file times has moved past the directory's mtime,
    /// so that a later change cannot carry the recorded stamp; false when it does not (the directory's clock is ahead).
    /// </summary>
    public static bool WaitForClockPast(DirStamp stamp)
    {
        for (int i = 0; i < 60; i++)
        {
            Posix.Timespec now = Posix.Now(Posix.CLOCK_REALTIME_COARSE);
            if (now.Seconds > stamp.MtimeSeconds || (now.Seconds == stamp.MtimeSeconds && now.Nanoseconds > stamp.MtimeNanoseconds))
                return true;
            if (stamp.MtimeSeconds - now.Seconds > 1)
                return false; // the directory's clock is ahead of ours
            Thread.Sleep(1);
        }
        return false;
    }

    /// <summary>The whole index: every entry of <paramref name="snapshot"/>, for directory state <paramref name="stamp"/>.</summary>
    public static byte[] Serialize(StoreSnapshot snapshot, DirStamp stamp)
    {
        int size = Magic.Length + DirStamp.Size + UncheckedSize + 4 + 8;
        foreach (KeyValuePair<IpAddr, StoreSnapshot.Slot> e in snapshot.Slots)
            size += EntrySize(e.Key, e.Value);
        byte[] data = new byte[size];
        Span<byte> s = data;
        Magic.CopyTo(s);
        int o = Magic.Length;
        o += WriteHeader(s[o..], snapshot, stamp);
        BinaryPrimitives.WriteInt32LittleEndian(s[o..], snapshot.Count);
        o += 4;
        foreach (KeyValuePair<IpAddr, StoreSnapshot.Slot> e in snapshot.InAddressOrder())
            o += WriteEntry(s[o..], e.Key, e.Value);
        BinaryPrimitives.WriteUInt64LittleEndian(s[o..], Checksum(s[..o]));
        return data;
    }

    /// <summary>
    /// The delta: the changes <paramref name="snapshot"/> tracked (<see cref="StoreSnapshot.Changes"/>, which must not
    /// be null) since the index whose checksum it names, for directory state <paramref name="stamp"/>. A few hundred
    /// bytes where the whole index of a /16 is megabytes: written instead of it while the changes are few.
    /// </summary>
    public static byte[] SerializeDelta(StoreSnapshot snapshot, DirStamp stamp)
    {
        Dictionary<IpAddr, StoreSnapshot.Change> changes = snapshot.Changes
            ?? throw new InvalidOperationException("the snapshot tracks no changes");
        int size = DeltaMagic.Length + 8 + DirStamp.Size + UncheckedSize + 4 + 8;
        foreach (KeyValuePair<IpAddr, StoreSnapshot.Change> e in changes)
            size += 1 + EntrySize(e.Key, e.Value.Slot);
        byte[] data = new byte[size];
        Span<byte> s = data;
        DeltaMagic.CopyTo(s);
        int o = DeltaMagic.Length;
        BinaryPrimitives.WriteUInt64LittleEndian(s[o..], snapshot.BaseChecksum);
        o += 8;
        o += WriteHeader(s[o..], snapshot, stamp);
        BinaryPrimitives.WriteInt32LittleEndian(s[o..], changes.Count);
        o += 4;
        foreach (KeyValuePair<IpAddr, StoreSnapshot.Change> e in changes)
        {
            s[o++] = e.Value.Removed ? (byte)0 : (byte)1;
            o += WriteEntry(s[o..], e.Key, e.Value.Slot);
        }
        BinaryPrimitives.WriteUInt64LittleEndian(s[o..], Checksum(s[..o]));
        return data;
    }

    /// <summary>
    /// Writes the checksum of everything before the last 8 bytes of <paramref name="data"/> into them, so that a test
    /// or a fuzzer can reach the parser with bytes it changed (at least 8 bytes long).
    /// </summary>
    internal static void Reseal(byte[] data) =>
        BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(data.Length - 8), Checksum(data.AsSpan(0, data.Length - 8)));

    /// <summary>The checksum an index file ends with (what a delta names as its base); the data must be a whole index.</summary>
    public static ulong ChecksumOf(byte[] data) => BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(data.Length - 8));

    /// <summary>The index's snapshot when it was recorded for exactly <paramref name="expected"/>, else null.</summary>
    public static StoreSnapshot? Deserialize(byte[] data, DirStamp expected) =>
        Deserialize(data, out DirStamp recorded) is { } snapshot && recorded.Equals(expected) ? snapshot : null;

    /// <summary>
    /// The index's snapshot and the directory stamp it was recorded for; null when damaged. The snapshot tracks its
    /// changes from this index (<see cref="StoreSnapshot.Changes"/>), so that a delta can be written against it.
    /// </summary>
    public static StoreSnapshot? Deserialize(byte[] data, out DirStamp recorded)
    {
        recorded = default;
        ReadOnlySpan<byte> s = data;
        int headerSize = Magic.Length + DirStamp.Size + UncheckedSize + 4;
        if (s.Length < headerSize + 8 || !s[..Magic.Length].SequenceEqual(Magic))
            return null;
        if (BinaryPrimitives.ReadUInt64LittleEndian(s[^8..]) != Checksum(s[..^8]))
            return null;
        int o = Magic.Length;
        o += ReadHeader(s[o..], out recorded, out (long, uint)? uncheckedSince);
        int count = BinaryPrimitives.ReadInt32LittleEndian(s[o..]);
        o += 4;
        int end = s.Length - 8;
        if (count < 0 || count > end / 17)
            return null;
        var keys = new IpAddr[count];
        var slots = new StoreSnapshot.Slot[count];
        bool sorted = true;
        for (int i = 0; i < count; i++)
        {
            if (!ReadEntry(data, ref o, end, out keys[i], out slots[i]))
                return null;
            if (i > 0 && keys[i - 1].CompareTo(keys[i]) >= 0)
                sorted = false;
        }
        if (o != end || StoreSnapshot.FromBase(keys, slots, sorted) is not { } snapshot)
            return null;
        snapshot.UncheckedSince = uncheckedSince;
        snapshot.TrackChangesFrom(ChecksumOf(data));
        return snapshot;
    }

    /// <summary>
    /// Applies the delta <paramref name="delta"/> to <paramref name="snapshot"/> (just read from the index the delta
    /// names, tracking its changes) and returns the directory stamp the delta was recorded for; null, with the
    /// snapshot untouched, when the delta is damaged or belongs to another index.
    /// </summary>
    public static DirStamp? ApplyDelta(byte[] delta, StoreSnapshot snapshot)
    {
        ReadOnlySpan<byte> s = delta;
        int headerSize = DeltaMagic.Length + 8 + DirStamp.Size + UncheckedSize + 4;
        if (snapshot.Changes is null || s.Length < headerSize + 8 || !s[..DeltaMagic.Length].SequenceEqual(DeltaMagic))
            return null;
        if (BinaryPrimitives.ReadUInt64LittleEndian(s[^8..]) != Checksum(s[..^8]))
            return null;
        int o = DeltaMagic.Length;
        if (BinaryPrimitives.ReadUInt64LittleEndian(s[o..]) != snapshot.BaseChecksum)
            return null; // written against another index
        o += 8;
        o += ReadHeader(s[o..], out DirStamp recorded, out (long, uint)? uncheckedSince);
        int count = BinaryPrimitives.ReadInt32LittleEndian(s[o..]);
        o += 4;
        int end = s.Length - 8;
        if (count < 0 || count > end / 18)
            return null;
        var changes = new List<(IpAddr Address, bool Removed, StoreSnapshot.Slot Slot)>(count);
        for (int i = 0; i < count; i++)
        {
            if (o >= end || s[o] > 1)
                return null;
            bool removed = s[o++] == 0;
            if (!ReadEntry(delta, ref o, end, out IpAddr address, out StoreSnapshot.Slot slot))
                return null;
            changes.Add((address, removed, slot));
        }
        if (o != end)
            return null;
        foreach ((IpAddr address, bool removed, StoreSnapshot.Slot slot) in changes)
        {
            if (removed)
                snapshot.Remove(address);
            else
                snapshot.SetSlot(address, slot);
        }
        snapshot.UncheckedSince = uncheckedSince;
        return recorded;
    }

    private static int WriteHeader(Span<byte> s, StoreSnapshot snapshot, DirStamp stamp)
    {
        stamp.Write(s);
        int o = DirStamp.Size;
        s[o] = snapshot.UncheckedSince is null ? (byte)0 : (byte)1;
        BinaryPrimitives.WriteInt64LittleEndian(s[(o + 1)..], snapshot.UncheckedSince?.Seconds ?? 0);
        BinaryPrimitives.WriteUInt32LittleEndian(s[(o + 9)..], snapshot.UncheckedSince?.Nanoseconds ?? 0);
        return DirStamp.Size + UncheckedSize;
    }

    private static int ReadHeader(ReadOnlySpan<byte> s, out DirStamp stamp, out (long, uint)? uncheckedSince)
    {
        stamp = DirStamp.Read(s);
        int o = DirStamp.Size;
        uncheckedSince = s[o] == 0 ? null
            : (BinaryPrimitives.ReadInt64LittleEndian(s[(o + 1)..]), BinaryPrimitives.ReadUInt32LittleEndian(s[(o + 9)..]));
        return DirStamp.Size + UncheckedSize;
    }

    private static int EntrySize(IpAddr address, StoreSnapshot.Slot slot) => 1 + (address.IsV6 ? 16 : 4) + 8 + 4 + slot.Length;

    private static int WriteEntry(Span<byte> s, IpAddr address, StoreSnapshot.Slot slot)
    {
        int o = 0;
        s[o++] = address.IsV6 ? (byte)6 : (byte)4;
        if (address.IsV6)
        {
            BinaryPrimitives.WriteUInt128BigEndian(s[o..], address.Value);
            o += 16;
        }
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(s[o..], (uint)address.Value);
            o += 4;
        }
        BinaryPrimitives.WriteUInt64LittleEndian(s[o..], slot.Inode);
        o += 8;
        BinaryPrimitives.WriteInt32LittleEndian(s[o..], slot.IsKnown ? slot.Length : -1);
        o += 4;
        if (slot.IsKnown)
        {
            slot.Content.CopyTo(s[o..]);
            o += slot.Length;
        }
        return o;
    }

    private static bool ReadEntry(byte[] data, ref int o, int end, out IpAddr address, out StoreSnapshot.Slot slot)
    {
        ReadOnlySpan<byte> s = data;
        address = default;
        slot = default;
        if (o + 1 > end)
            return false;
        byte family = s[o++];
        if (family == 4 && o + 4 <= end)
        {
            address = IpAddr.V4(BinaryPrimitives.ReadUInt32BigEndian(s[o..]));
            o += 4;
        }
        else if (family == 6 && o + 16 <= end)
        {
            address = IpAddr.V6(BinaryPrimitives.ReadUInt128BigEndian(s[o..]));
            o += 16;
        }
        else
        {
            return false;
        }
        if (o + 12 > end)
            return false;
        ulong inode = BinaryPrimitives.ReadUInt64LittleEndian(s[o..]);
        int length = BinaryPrimitives.ReadInt32LittleEndian(s[(o + 8)..]);
        o += 12;
        if (length < -1 || length > DiskStore.MaxContentBytes || o + Math.Max(length, 0) > end)
            return false;
        slot = length < 0 ? new StoreSnapshot.Slot(null, 0, 0, inode) : new StoreSnapshot.Slot(data, o, length, inode);
        o += Math.Max(length, 0);
        return true;
    }

    /// <summary>
    /// A 64-bit checksum against damage (not against forgery: whoever can write the index can write the files it
    /// describes). Four independent lanes, so that the multiplications of a multi-megabyte index overlap.
    /// </summary>
    private static ulong Checksum(ReadOnlySpan<byte> data)
    {
        const ulong M = 0xff51afd7ed558ccdUL;
        ulong h0 = 0x9E3779B97F4A7C15UL ^ (ulong)data.Length, h1 = h0 ^ 0x1, h2 = h0 ^ 0x2, h3 = h0 ^ 0x3;
        ReadOnlySpan<ulong> words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(data);
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("the index is little-endian");
        int i = 0;
        for (; i + 4 <= words.Length; i += 4)
        {
            h0 = (h0 ^ words[i]) * M;
            h1 = (h1 ^ words[i + 1]) * M;
            h2 = (h2 ^ words[i + 2]) * M;
            h3 = (h3 ^ words[i + 3]) * M;
            h0 ^= h0 >> 29;
            h1 ^= h1 >> 29;
            h2 ^= h2 >> 29;
            h3 ^= h3 >> 29;
        }
        for (; i < words.Length; i++)
        {
            h0 = (h0 ^ words[i]) * M;
            h0 ^= h0 >> 29;
        }
        ulong h = h0 ^ (h1 * 0x9E3779B97F4A7C15UL) ^ (h2 * 0xc2b2ae3d27d4eb4fUL) ^ (h3 * 0x165667b19e3779f9UL);
        for (int j = words.Length * 8; j < data.Length; j++)
            h = (h ^ data[j]) * 0x100000001b3UL;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53UL;
        return h ^ (h >> 33);
    }
}
