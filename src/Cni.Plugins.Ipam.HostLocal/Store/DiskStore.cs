using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using Cni.Plugins.Ipam.HostLocal.Addressing;
using Cni.Plugins.Ipam.HostLocal.Interop;
using Cni.Spec;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Cni.Plugins.Ipam.HostLocal.Store;

/// <summary>
/// The reference's on-disk store: <c>&lt;dataDir&gt;/&lt;network&gt;/&lt;ip&gt;</c> holding <c>containerId\r\nifname</c>,
/// <c>last_reserved_ip.N</c> holding the last address handed out from range set N, and <c>lock</c>, held with
/// <c>flock(2)</c> for every read and write, exactly as the Go plugin holds it, so both can share a directory.
/// </summary>
/// <remarks>
/// <para>All file operations are relative to one directory descriptor, and the only names used are the fixed ones
/// and addresses formatted here, so nothing can reach outside the network directory. The system calls themselves
/// are in <see cref="Posix"/>; the private index in <see cref="StoreIndex"/>.</para>
/// <para>A reservation is written to an unnamed (O_TMPFILE) or temporary file, its data synced (fdatasync), and then
/// hard-linked to its name: <c>linkat</c> fails atomically with EEXIST when the name exists, as the reference's
/// O_EXCL create does, and the file appears complete or not at all, also after a crash: the name can only reach the
/// disk after the content it points to. The directory itself is not synced (the reference syncs nothing): a crash
/// may forget a reservation made just before it, together with the containers that held it, but never leaves an
/// empty file naming nobody. ADD writes and syncs that file before it takes the lock (<see cref="Prepare"/>), since
/// its content does not depend on the address: concurrent ADDs wait for the disk together, not one after another.</para>
/// <para>Reading 65,000 small files costs far more than anything else, so on large networks the contents are also
/// kept in an index (<see cref="StoreIndex"/>). The index is trusted only while the directory's device, inode, mtime
/// and ctime equal the ones it recorded: any file created or removed (by us, by the Go plugin, by hand) changes
/// them. Before releasing the lock after writing the index we wait until the clock that stamps file times has moved
/// past the recorded mtime, so a later change cannot carry the same stamp; where the file system's timestamps look
/// coarse the index is not written. Files are never rewritten in place by either plugin (<c>last_reserved_ip.N</c>
/// aside, which the index does not hold).</para>
/// <para>The index of a /16 is megabytes, and an ADD or DEL changes one entry: rewriting it whole (and freeing the
/// old copy's blocks) cost more than the rest of a warm run. So a run that loaded the index, or a stale one, records its
/// changes (<see cref="StoreSnapshot.Changes"/>) and writes only those, with the new directory stamp, as a small delta
/// file beside the index, naming the checksum of the index it applies to; loading applies it, and a delta that is
/// damaged or names another index is ignored (the index alone is then merely stale). Past
/// <see cref="MaxDeltaEntries"/> changes the index is written whole again and the delta removed. New reservations
/// record their inode number (<see cref="TryReserve(IpAddr, ReadOnlySpan{byte}, out ulong)"/>), so a load after
/// another writer reads none of our own files again.</para>
/// <para>After another writer the index is stale. ADD needs the names (one directory listing) and owners only to
/// refuse a second ADD of one attachment, so it takes the index's owner for every name whose inode number (from
/// the listing, recorded in the index) is unchanged and reads only the new files; owners it would refuse on are
/// read again first. A file removed and created again with a reused inode number escapes it, so the snapshot and
/// the index written from it are marked unchecked, and DEL, CHECK and GC, which act on owners, first compare each
/// such file's ctime with the time the index last checked it (one statx each), reading the ones that changed.
/// The listing is matched against the old snapshot while it is read, so an unchanged name costs one table look-up;
/// the directory listing itself (about 20 ms of kernel time for 65,000 names on ext4) is what a stale ADD costs.</para>
/// <para>With no usable index at all (first run on a large network, an index of an older format, a directory that
/// was replaced, an index deleted) every file is read, by two to four threads: nothing else can tell which file
/// names the attachment an ADD must refuse. That costs what opening, reading and closing 65,000 files costs the
/// kernel (about 4 µs each on the 2-core test VM, so no less than a third of the reference's whole ADD there); the
/// user-space side of it allocates per 256 KB of contents, not per file. It happens once: the index it writes makes
/// the next run warm.</para>
/// <para>On small networks (fewer than <see cref="HostLocalStoreOptions.IndexMinEntries"/> reservations) the index
/// costs more than it saves: writing it and waiting for the clock (up to one scheduler tick) costs about as much as
/// reading a thousand small files (measured with benchmarks/host-local/bench-small.sh). There no index is written,
/// and an index left from when the network was larger is removed once it holds fewer than half that many.</para>
/// </remarks>
internal sealed unsafe class DiskStore : IDisposable
{
    /// <summary>Name of the lock file inside the network directory.</summary>
    public const string LockFileName = "lock";

    /// <summary>Prefix of the round-robin files: <c>last_reserved_ip.N</c>.</summary>
    public const string LastReservedPrefix = "last_reserved_ip.";

    /// <summary>Largest content taken as a reservation (larger files are nobody's).</summary>
    internal const int MaxContentBytes = 64 * 1024;

    private const int SmallReadBytes = 4096;
    private const int DirectoryReadBytes = 256 * 1024;

    private readonly string _dataDir;
    private readonly string _network;
    private readonly HostLocalStoreOptions _options;
    private readonly StoreIndex _index;
    private int _dataFd;
    private int _dirFd;
    private int _lockFd = -1;
    private DirStamp _loadedStamp;
    private bool _indexWasValid;
    private bool _indexExisted;
    private bool _readEveryFile;
    private byte[] _readBuffer = new byte[SmallReadBytes];

    private DiskStore(string dataDir, string network, int dataFd, int dirFd, HostLocalStoreOptions options)
    {
        _dataDir = dataDir;
        _network = network;
        _dataFd = dataFd;
        _dirFd = dirFd;
        _options = options;
        // The data directory stays open: the index is reached from it by name, never by a path.
        _index = new StoreIndex(dataFd, network);
    }

    /// <summary>The network directory.</summary>
    public string DirectoryPath => Path.Combine(_dataDir, _network);

    /// <summary>How the last <see cref="Load"/> got its data: true from the index, false by reading every file.</summary>
    public bool LoadedFromIndex => _indexWasValid;

    /// <summary>
    /// True when the last <see cref="Load"/> read every file itself, under the lock still held: its contents are
    /// current, and need not be read again before acting on them.
    /// </summary>
    public bool ContentsAreCurrent => _readEveryFile;

    /// <summary>
    /// Opens the store of <paramref name="network"/>. With <paramref name="create"/>, creates the directories
    /// (mode 0755, as the reference does); without, returns null when the network directory does not exist.
    /// </summary>
    public static DiskStore? Open(string dataDir, string network, bool create, HostLocalStoreOptions? options = null)
    {
        if (!CniValidation.IsValidName(network))
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid network name \"{network}\": it must match ^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$");
        if (dataDir.Length == 0 || dataDir.Contains('\0'))
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "ipam.dataDir is not a usable path");
        string fullDataDir = Path.GetFullPath(dataDir);
        string dir = Path.Combine(fullDataDir, network);
        if (create)
            Posix.MakeDirectories(dir, 0x1ed /* 0755 */);
        int dataFd = Posix.OpenPath(fullDataDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int fd = dataFd < 0 ? -1 : Posix.OpenAt(dataFd, network, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (fd < 0)
        {
            int errno = LibC.errno;
            if (dataFd >= 0)
                close(dataFd);
            if (!create && errno == ENOENT)
                return null;
            throw Posix.IoError($"cannot open data directory {dir}", errno);
        }
        return new DiskStore(fullDataDir, network, dataFd, fd, options ?? HostLocalStoreOptions.Default);
    }

    /// <summary>Takes the exclusive flock on <c>lock</c> (created with mode 0750, like the reference's).</summary>
    public void Lock()
    {
        int fd = Posix.OpenAt(_dirFd, LockFileName, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0x1e8 /* 0750 */);
        if (fd < 0)
            throw Posix.IoError($"cannot open lock file {Path.Combine(DirectoryPath, LockFileName)}", LibC.errno);
        int errno = Cni.Spec.Platform.FileLock.Lock(fd, exclusive: true);
        if (errno != 0)
        {
            close(fd);
            throw Posix.IoError("cannot lock the data directory", errno);
        }
        _lockFd = fd;
    }

    /// <summary>
    /// Reads every reservation: from the index when it still describes the directory; otherwise from the files,
    /// reusing what a stale index knows about each file that has not changed since (see <see cref="Scan"/>).
    /// </summary>
    /// <param name="exact">
    /// True (DEL, CHECK, GC: they act on owners): every content is the file's current one. False (ADD: it needs the
    /// names, and owners only to refuse a second ADD of one attachment): after another writer, the directory is
    /// listed once and the index's content is taken for every name whose inode number is unchanged, reading only
    /// new files; the snapshot is then marked <see cref="StoreSnapshot.UncheckedSince"/>, and so is the index
    /// written from it, until an exact load checks those files' ctimes.
    /// </param>
    public StoreSnapshot Load(bool exact = true)
    {
        EnsureLocked();
        _indexWasValid = false;
        _readEveryFile = false;
        DirStamp recorded = default;
        byte[]? data = _index.ReadBytes();
        _indexExisted = data is not null;
        StoreSnapshot? fromIndex = data is null ? null : StoreIndex.Deserialize(data, out recorded);
        if (fromIndex is not null && _index.ReadDeltaBytes() is { } delta && StoreIndex.ApplyDelta(delta, fromIndex) is { } current)
            recorded = current;
        if (fromIndex is not null && !StoreIndex.ClockIsBefore(recorded, _options.Clock))
        {
            _loadedStamp = StatDirectory();
            (long Seconds, uint Nanoseconds)? uncheckedSince = fromIndex.UncheckedSince;
            if (recorded.Equals(_loadedStamp) && (uncheckedSince is null || !exact))
            {
                _indexWasValid = true;
                return fromIndex;
            }
            if (recorded.Device == _loadedStamp.Device && recorded.Inode == _loadedStamp.Inode)
            {
                // Contents are as of the older of the times they were last checked: the index's own mtime, or
                // the earlier time an inode-trusting load left unchecked.
                (long Seconds, uint Nanoseconds) since = uncheckedSince ?? (recorded.MtimeSeconds, recorded.MtimeNanoseconds);
                StoreSnapshot refreshed = Scan(fromIndex, since, trustInodes: !exact);
                refreshed.UncheckedSince = exact ? null : since;
                return refreshed;
            }
        }
        StoreSnapshot snapshot = Scan();
        _readEveryFile = true;
        return snapshot;
    }

    /// <summary>How many reservation files the last scan had to open and read.</summary>
    internal int LastScanFilesRead { get; private set; }

    /// <summary>
    /// Reads every file named after an address (the slow path the index avoids). With a stale index, a file whose
    /// ctime is not later than <paramref name="since"/> (the directory mtime the index recorded) is the one the
    /// index saw, with the same content: creating, linking, renaming or writing a file sets its ctime to the
    /// current time, and every change made after the index was written is later than that mtime (the writer waited
    /// for the clock to pass it). Such files cost one statx instead of open, read and close; with
    /// <paramref name="trustInodes"/> not even that: an unchanged inode number in the listing is taken as the same
    /// file (see <see cref="Load"/>). A changed inode number always means a new file.
    /// </summary>
    public StoreSnapshot Scan(StoreSnapshot? stale = null, (long Seconds, uint Nanoseconds) since = default, bool trustInodes = false)
    {
        // The listing is matched against the stale snapshot as it is read: a name whose inode number is unchanged
        // (when trusted) costs a look-up and leaves nothing behind. The rest, every name when there is no stale
        // snapshot, go to the work list, with their NUL-terminated bytes kept in one arena for the open or statx.
        var work = new List<Pending>();
        byte[] nameArena = new byte[8 * 1024];
        int nameBytes = 0;
        bool[]? seenInBase = stale is null ? null : new bool[stale.BaseCount];
        HashSet<IpAddr>? seenElsewhere = stale is null ? null : [];
        int fd = Posix.OpenAt(_dirFd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (fd < 0)
            throw Posix.IoError($"cannot read {DirectoryPath}", LibC.errno);
        try
        {
            // Small first (a small network's names fit in a few KB, and a fresh large array costs more to allocate
            // than the whole read), large once the directory turns out to be big.
            byte[] buffer = new byte[8 * 1024];
            while (true)
            {
                nint n;
                fixed (byte* p = buffer)
                    n = Posix.GetDents64(fd, p, (nuint)buffer.Length);
                if (n < 0)
                    throw Posix.IoError($"cannot read {DirectoryPath}", System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
                if (n == 0)
                    break;
                for (int offset = 0; offset < n;)
                {
                    ulong inode = BinaryPrimitives.ReadUInt64LittleEndian(buffer.AsSpan(offset));
                    ushort recordLength = BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(offset + 16));
                    byte type = buffer[offset + 18];
                    ReadOnlySpan<byte> name = buffer.AsSpan(offset + 19, recordLength - 19);
                    offset += recordLength;
                    name = name[..name.IndexOf((byte)0)];
                    if (!IpAddr.TryParseUtf8(name, out IpAddr address) || !IsCanonicalName(address, name))
                        continue;
                    StoreSnapshot.Slot known = default;
                    bool check = false;
                    if (stale is not null)
                    {
                        bool found = stale.TryGetSlot(address, out known, out int baseIndex);
                        if (baseIndex >= 0)
                            seenInBase![baseIndex] = true;
                        else
                            seenElsewhere!.Add(address);
                        if (found && trustInodes && known.Inode != 0 && known.Inode == inode)
                            continue; // the same file as the stale snapshot's (see Load)
                        check = found && !trustInodes && (known.Inode == 0 || known.Inode == inode);
                    }
                    if (nameBytes + name.Length + 1 > nameArena.Length)
                        Array.Resize(ref nameArena, Math.Max(nameArena.Length * 2, nameBytes + name.Length + 1));
                    name.CopyTo(nameArena.AsSpan(nameBytes));
                    nameArena[nameBytes + name.Length] = 0;
                    work.Add(new Pending(address, type, inode, nameBytes, check, known));
                    nameBytes += name.Length + 1;
                }
                if (n > buffer.Length / 2 && buffer.Length < DirectoryReadBytes)
                    buffer = GC.AllocateUninitializedArray<byte>(DirectoryReadBytes);
            }
        }
        finally
        {
            close(fd);
        }

        // Each pending name's slot: the stale one where its ctime shows it unchanged, else the content read, copied
        // into per-worker chunks (one allocation per 256 KB, not one per file).
        var slots = new StoreSnapshot.Slot[work.Count];
        int filesRead = 0;
        int workers = work.Count < 256 ? 1 : Math.Clamp(Environment.ProcessorCount, 1, 4);
        void ScanShare(int worker)
        {
            byte[] buffer = new byte[SmallReadBytes];
            byte[] chunk = [];
            int used = 0;
            int read = 0;
            fixed (byte* arena = nameArena)
            {
                for (int i = worker; i < work.Count; i += workers)
                {
                    Pending item = work[i];
                    byte* name = arena + item.NameOffset;
                    if (item.CheckCtime && UnchangedSince(name, since))
                    {
                        slots[i] = item.Known with { Inode = item.Inode };
                        continue;
                    }
                    if (item.Type is not (Posix.DT_REG or Posix.DT_UNKNOWN))
                    {
                        slots[i] = new StoreSnapshot.Slot(null, 0, 0, item.Inode);
                        continue;
                    }
                    read++;
                    if (!TryReadTrimmed(name, ref buffer, out int start, out int length))
                    {
                        slots[i] = new StoreSnapshot.Slot(null, 0, 0, item.Inode);
                        continue;
                    }
                    if (used + length > chunk.Length)
                    {
                        chunk = GC.AllocateUninitializedArray<byte>(Math.Max(256 * 1024, length));
                        used = 0;
                    }
                    buffer.AsSpan(start, length).CopyTo(chunk.AsSpan(used));
                    slots[i] = new StoreSnapshot.Slot(chunk, used, length, item.Inode);
                    used += length;
                }
            }
            Interlocked.Add(ref filesRead, read);
        }
        if (workers == 1)
            ScanShare(0); // a few files: no thread pool to start
        else
            Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, ScanShare);
        LastScanFilesRead = filesRead;

        if (stale is null)
        {
            var keys = new IpAddr[work.Count];
            for (int i = 0; i < work.Count; i++)
                keys[i] = work[i].Address;
            return StoreSnapshot.FromBase(keys, slots, sorted: false)
                ?? throw new InvalidOperationException("a directory listed one name twice");
        }

        // The stale snapshot, changed where the directory differs from it: what changed is all its overlay holds,
        // so a snapshot from the index still knows its changes from it (the next save writes a delta).
        StoreSnapshot snapshot = stale.Derive();
        for (int i = 0; i < work.Count; i++)
        {
            if (!(work[i].CheckCtime && slots[i] == work[i].Known))
                snapshot.SetSlot(work[i].Address, slots[i]);
        }
        for (int i = 0; i < seenInBase!.Length; i++)
        {
            if (!seenInBase[i] && !stale.IsInOverlay(stale.BaseKey(i)))
                snapshot.Remove(stale.BaseKey(i));
        }
        foreach (IpAddr address in stale.AddedSinceBase())
        {
            if (!seenElsewhere!.Contains(address))
                snapshot.Remove(address);
        }
        return snapshot;
    }

    /// <summary>A listed name that needs a system call: its content read, or (<see cref="CheckCtime"/>) its ctime compared first.</summary>
    private readonly record struct Pending(IpAddr Address, byte Type, ulong Inode, int NameOffset, bool CheckCtime, StoreSnapshot.Slot Known);

    private bool UnchangedSince(byte* name, (long Seconds, uint Nanoseconds) since)
    {
        if (!Posix.StatAt(_dirFd, name, STATX_CTIME, out statx st))
            return false;
        return !Posix.IsEarlier(since.Seconds, since.Nanoseconds, st.stx_ctime.tv_sec, st.stx_ctime.tv_nsec);
    }

    /// <summary>The trimmed content of the file for <paramref name="address"/>, or null when missing or not a regular file.</summary>
    public byte[]? ReadEntry(IpAddr address) => ReadTrimmed(NameOf(address), ref _readBuffer);

    private byte[]? ReadTrimmed(byte[] name, ref byte[] buffer)
    {
        fixed (byte* p = name)
            return TryReadTrimmed(p, ref buffer, out int start, out int length) ? buffer.AsSpan(start, length).ToArray() : null;
    }

    /// <summary>
    /// Reads a small file (NUL-terminated <paramref name="name"/>) into <paramref name="buffer"/> (replaced by a larger
    /// one, up to <see cref="MaxContentBytes"/> and one byte, only when the file fills it); false when it is missing,
    /// unreadable or too large, else where its trimmed content is in the buffer.
    /// </summary>
    private bool TryReadTrimmed(byte* name, ref byte[] buffer, out int start, out int length)
    {
        start = length = 0;
        int fd = Posix.OpenAt(_dirFd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0);
        if (fd < 0)
            return false;
        try
        {
            int total = 0;
            while (true)
            {
                if (total == buffer.Length)
                {
                    if (buffer.Length > MaxContentBytes)
                        break;
                    byte[] larger = GC.AllocateUninitializedArray<byte>(MaxContentBytes + 1);
                    buffer.AsSpan(0, total).CopyTo(larger);
                    buffer = larger;
                }
                long n = Posix.Read(fd, buffer, total);
                if (n < 0)
                    return false;
                if (n == 0)
                    break;
                total += (int)n;
                if (total < SmallReadBytes)
                    break; // a short read of a small regular file on Linux is the whole file: skip the read that returns 0
            }
            if (total > MaxContentBytes)
                return false; // too large to be anyone's reservation
            ReadOnlySpan<byte> all = buffer.AsSpan(0, total);
            ReadOnlySpan<byte> trimmed = ReservationKey.TrimSpace(all);
            length = trimmed.Length;
            start = length == 0 ? 0 : (int)Unsafe.ByteOffset(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(all), ref System.Runtime.InteropServices.MemoryMarshal.GetReference(trimmed));
            return true;
        }
        finally
        {
            close(fd);
        }
    }

    /// <summary>
    /// Creates the reservation file for <paramref name="address"/> holding <paramref name="content"/>, complete or not
    /// at all. Returns false when the name already exists.
    /// </summary>
    public bool TryReserve(IpAddr address, ReadOnlySpan<byte> content) => TryReserve(address, content, out _);

    /// <summary>
    /// Creates the reservation file for <paramref name="address"/> holding <paramref name="content"/>, complete or not
    /// at all, and gives its inode number (0 when it could not be read), which the index records so that a later
    /// load after another writer knows the file without reading it. Returns false when the name already exists.
    /// </summary>
    public bool TryReserve(IpAddr address, ReadOnlySpan<byte> content, out ulong inode)
    {
        EnsureLocked();
        using PreparedReservation? prepared = Prepare(content);
        return prepared is null ? TryReserveNamed(address, content, out inode) : TryReserve(address, prepared, out inode);
    }

    /// <summary>Writes the reservation to a named temporary file and links that to its name: where no unnamed file can
    /// be made or named (no O_TMPFILE, no /proc).</summary>
    private bool TryReserveNamed(IpAddr address, ReadOnlySpan<byte> content, out ulong inode)
    {
        byte[] temp = Encoding.ASCII.GetBytes($".host-local-tmp-{Environment.ProcessId}-{Random.Shared.Next():x8}\0");
        int fd = Posix.OpenAt(_dirFd, temp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0x1a4);
        if (fd < 0)
            throw Posix.IoError($"cannot create a temporary file in {DirectoryPath}", LibC.errno);
        try
        {
            try
            {
                WriteAll(fd, content, address);
                SyncData(fd, address);
                inode = InodeOf(fd);
            }
            finally
            {
                close(fd);
            }
            int errno = Posix.LinkAt(_dirFd, temp, _dirFd, NameOf(address), 0);
            if (errno == 0)
                return true;
            if (errno == EEXIST)
                return false;
            throw Posix.IoError($"cannot create the reservation of {address}", errno);
        }
        finally
        {
            Posix.UnlinkAt(_dirFd, temp);
        }
    }

    /// <summary>
    /// Writes <paramref name="content"/> to an unnamed (O_TMPFILE) file of the network directory and syncs it, before
    /// the lock is taken, for <see cref="TryReserve(IpAddr, PreparedReservation, out ulong)"/> to name under the lock.
    /// Returns null where unnamed files cannot be made; the reservation is then written under the lock.
    /// </summary>
    /// <remarks>
    /// The sync waits for the disk. Under the lock, concurrent ADDs (a node starting many pods at once) waited for
    /// each other's disk writes one after another: eight parallel bridge ADDs spent most of their time with both CPUs
    /// idle. Prepared here, the writes of concurrent ADDs overlap, and the lock is held only for the name. Nothing is
    /// visible in the directory until the file is named: the content is identical whichever address it gets.
    /// </remarks>
    public PreparedReservation? Prepare(ReadOnlySpan<byte> content)
    {
        if (!_options.UseUnnamedTempFiles)
            return null;
        int fd = Posix.OpenAt(_dirFd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0x1a4 /* 0644 */);
        if (fd < 0)
            return null;
        try
        {
            if (!Posix.TryWriteAll(fd, content, out int errno))
                throw Posix.IoError("cannot write a reservation", errno);
            errno = Posix.SyncData(fd);
            if (errno != 0)
                throw Posix.IoError("cannot sync a reservation", errno);
            return new PreparedReservation(fd, InodeOf(fd), content.ToArray());
        }
        catch
        {
            close(fd);
            throw;
        }
    }

    /// <summary>
    /// Names the file <paramref name="prepared"/> holds as the reservation of <paramref name="address"/> (a
    /// <c>linkat</c>, failing atomically with EEXIST when the name exists, when it returns false and the file can be
    /// named again). Without /proc to name an unnamed file by, the content is written under the lock as by
    /// <see cref="TryReserve(IpAddr, ReadOnlySpan{byte}, out ulong)"/>.
    /// </summary>
    public bool TryReserve(IpAddr address, PreparedReservation prepared, out ulong inode)
    {
        ArgumentNullException.ThrowIfNull(prepared);
        EnsureLocked();
        if (prepared.Named)
            throw new InvalidOperationException("a prepared reservation is named once");
        int errno = Posix.LinkAt(AT_FDCWD, Encoding.ASCII.GetBytes($"/proc/self/fd/{prepared.Descriptor}\0"), _dirFd, NameOf(address), AT_SYMLINK_FOLLOW);
        if (errno == 0)
        {
            prepared.Named = true;
            inode = prepared.Inode;
            return true;
        }
        if (errno == EEXIST)
        {
            inode = 0;
            return false;
        }
        if (errno != ENOENT)
            throw Posix.IoError($"cannot create the reservation of {address}", errno);
        bool reserved = TryReserveNamed(address, prepared.Content, out inode); // no /proc
        prepared.Named = reserved;
        return reserved;
    }

    private static ulong InodeOf(int fd) => Posix.StatFd(fd, STATX_INO, out statx st) ? st.stx_ino : 0;

    /// <summary>
    /// Puts the content of a reservation on disk before its name can get there: without it a crash could leave the
    /// name with an empty file (delayed allocation), an address taken by nobody that DEL never releases.
    /// </summary>
    private static void SyncData(int fd, IpAddr address)
    {
        int errno = Posix.SyncData(fd);
        if (errno != 0)
            throw Posix.IoError($"cannot sync the reservation of {address}", errno);
    }

    /// <summary>Removes the reservation file of <paramref name="address"/>; false when it did not exist.</summary>
    public bool Remove(IpAddr address)
    {
        EnsureLocked();
        int errno = Posix.UnlinkAt(_dirFd, NameOf(address));
        if (errno == 0)
            return true;
        if (errno == ENOENT)
            return false;
        throw Posix.IoError($"cannot release {address}", errno);
    }

    /// <summary>
    /// Releases <paramref name="address"/> if its file still names <paramref name="owner"/>, keeping
    /// <paramref name="snapshot"/> in step: the one release path of DEL and GC. A content that came from the index
    /// is checked against the file first (unless <see cref="ContentsAreCurrent"/>): a file that is gone is dropped
    /// from the snapshot, one that names someone else now is recorded with its new owner and kept.
    /// </summary>
    /// <returns>True when the file was removed.</returns>
    public bool ReleaseIfOwnedBy(StoreSnapshot snapshot, IpAddr address, ReadOnlySpan<byte> owner)
    {
        if (!ContentsAreCurrent)
        {
            byte[]? current = ReadEntry(address);
            if (current is null)
            {
                snapshot.Remove(address);
                return false;
            }
            if (!current.AsSpan().SequenceEqual(owner))
            {
                snapshot.Set(address, current);
                return false;
            }
        }
        Remove(address);
        snapshot.Remove(address);
        return true;
    }

    /// <summary>The address in <c>last_reserved_ip.N</c>, or null when missing or unreadable (as the reference treats it).</summary>
    public IpAddr? ReadLastReserved(int rangeSetIndex)
    {
        byte[] name = Encoding.ASCII.GetBytes($"{LastReservedPrefix}{rangeSetIndex}\0");
        byte[]? content = ReadTrimmed(name, ref _readBuffer);
        if (content is null)
            return null;
        return IpAddr.TryParseUtf8(content, out IpAddr address) ? address : null;
    }

    /// <summary>
    /// Writes <c>last_reserved_ip.N</c> (the address text, no newline, mode 0644) in place, as the reference does:
    /// it is only read under the lock, and a file torn by a crash reads as no address, which makes both plugins
    /// start again from the beginning of the range, as they do on a new network. Not renaming a temporary file over
    /// it spares a directory change on every ADD. The text is written over the old one and the file then cut to
    /// its length, rather than opened with O_TRUNC: on ext4 a file truncated to zero and rewritten is flushed to disk
    /// when closed (auto_da_alloc), which would cost a disk write on every ADD.
    /// </summary>
    public void WriteLastReserved(int rangeSetIndex, IpAddr address)
    {
        EnsureLocked();
        string what = $"{LastReservedPrefix}{rangeSetIndex}";
        byte[] name = Encoding.ASCII.GetBytes(what + "\0");
        int fd = Posix.OpenAt(_dirFd, name, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0x1a4 /* 0644 */);
        if (fd < 0)
            throw Posix.IoError($"cannot write {what}", LibC.errno);
        try
        {
            byte[] text = Encoding.ASCII.GetBytes(address.ToString());
            WriteAll(fd, text, what);
            int errno = Posix.Truncate(fd, text.Length);
            if (errno != 0)
                throw Posix.IoError($"cannot write {what}", errno);
        }
        finally
        {
            close(fd);
        }
    }

    /// <summary>
    /// Records <paramref name="snapshot"/> (which must describe the directory as it is now) in the index, then waits,
    /// still holding the lock, until a later change to the directory cannot carry the same timestamp. Best effort:
    /// any failure just removes the index, and the next run reads the files.
    /// </summary>
    public void SaveIndex(StoreSnapshot snapshot, bool changed)
    {
        EnsureLocked();
        int threshold = _options.IndexMinEntries;
        if (snapshot.Count < threshold && (!_indexExisted || snapshot.Count < threshold / 2))
        {
            // A small network: reading its files is cheaper than the index. Remove one left from larger days (its
            // stamp can no longer match, but reading it would be wasted time).
            if (_indexExisted)
            {
                _index.Delete();
                _indexExisted = false;
            }
            return;
        }
        DirStamp stamp = StatDirectory();
        if (!changed && _indexWasValid && stamp.Equals(_loadedStamp))
            return; // still valid as it is
        if (stamp.MtimeNanoseconds % 1000 == 0 || !StoreIndex.WaitForClockPast(stamp) || !WriteIndex(snapshot, stamp))
        {
            _index.Delete();
            return;
        }
        _indexExisted = true;
    }

    /// <summary>
    /// Writes the delta when the snapshot tracked its changes from the index file on disk and they are few (at most
    /// <see cref="MaxDeltaEntries"/>); otherwise the whole index, which also drops the delta.
    /// </summary>
    private bool WriteIndex(StoreSnapshot snapshot, DirStamp stamp)
    {
        if (snapshot.Changes is { } changes && changes.Count <= MaxDeltaEntries(snapshot.Count))
            return _index.WriteDelta(StoreIndex.SerializeDelta(snapshot, stamp));
        byte[] data = StoreIndex.Serialize(snapshot, stamp);
        if (!_index.Write(data))
            return false;
        snapshot.StopTracking(); // its changes are from the old index: a later save in this run writes it whole
        return true;
    }

    /// <summary>
    /// How many changes the delta may hold before the whole index is written again: a sixteenth of the entries
    /// (every load reads and applies the delta, every save rewrites it), between 64 and 4096.
    /// </summary>
    internal static int MaxDeltaEntries(int count) => Math.Clamp(count / 16, 64, 4096);

    /// <summary>The network directory's device, inode, mtime and ctime now.</summary>
    internal DirStamp StatDirectory()
    {
        if (!Posix.StatFd(_dirFd, STATX_BASIC_STATS, out statx st))
            throw Posix.IoError($"cannot stat {DirectoryPath}", LibC.errno);
        return new DirStamp(((ulong)st.stx_dev_major << 32) | st.stx_dev_minor, st.stx_ino,
            st.stx_mtime.tv_sec, st.stx_mtime.tv_nsec, st.stx_ctime.tv_sec, st.stx_ctime.tv_nsec);
    }

    private static bool IsCanonicalName(IpAddr address, ReadOnlySpan<byte> name)
    {
        if (!address.IsV6 && !name.Contains((byte)':'))
            return true; // the dotted-quad parser takes only the canonical form (four parts, no leading zeros)
        string text = address.ToString();
        if (text.Length != name.Length)
            return false;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] != name[i])
                return false;
        }
        return true;
    }

    private static byte[] NameOf(IpAddr address) => Encoding.ASCII.GetBytes(address + "\0");

    /// <summary>Writes a reservation's content. The file is named in the message only on failure: formatting an address
    /// into a message on every ADD was the one nested string formatting left on the success path, and it made the
    /// runtime calibrate its processor-id cache (about 0.1 ms) when the nested buffers went back to the pool.</summary>
    private static void WriteAll(int fd, ReadOnlySpan<byte> content, IpAddr address)
    {
        if (!Posix.TryWriteAll(fd, content, out int errno))
            throw Posix.IoError($"cannot write the reservation of {address}", errno);
    }

    private static void WriteAll(int fd, ReadOnlySpan<byte> content, string what)
    {
        if (!Posix.TryWriteAll(fd, content, out int errno))
            throw Posix.IoError($"cannot write {what}", errno);
    }

    private void EnsureLocked()
    {
        if (_lockFd < 0)
            throw new InvalidOperationException("the store must be locked first");
    }

    /// <summary>Releases the lock and closes the directory.</summary>
    public void Dispose()
    {
        if (_lockFd >= 0)
        {
            close(_lockFd); // closing the only descriptor releases the flock
            _lockFd = -1;
        }
        if (_dirFd >= 0)
        {
            close(_dirFd);
            _dirFd = -1;
        }
        if (_dataFd >= 0)
        {
            close(_dataFd);
            _dataFd = -1;
        }
    }
}

/// <summary>
/// A reservation's content in an unnamed file of the network directory, written and synced before the lock was taken
/// (<see cref="DiskStore.Prepare"/>); named at most once, by <see cref="DiskStore.TryReserve(IpAddr, PreparedReservation, out ulong)"/>.
/// Disposing closes it: a file that was never named disappears with it.
/// </summary>
internal sealed class PreparedReservation : IDisposable
{
    internal PreparedReservation(int descriptor, ulong inode, byte[] content)
    {
        Descriptor = descriptor;
        Inode = inode;
        Content = content;
    }

    /// <summary>The unnamed file (-1 once disposed).</summary>
    public int Descriptor { get; private set; }

    /// <summary>Its inode number (0 when it could not be read).</summary>
    public ulong Inode { get; }

    /// <summary>What it holds.</summary>
    public byte[] Content { get; }

    /// <summary>Whether it has been named (it cannot be named twice).</summary>
    public bool Named { get; set; }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Descriptor >= 0)
        {
            LibC.close(Descriptor);
            Descriptor = -1;
        }
    }
}
