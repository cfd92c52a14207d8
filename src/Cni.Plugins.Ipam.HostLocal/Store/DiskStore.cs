using System.Buffers.Binary;
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
/// and addresses formatted here, so nothing can reach outside the network directory.</para>
/// <para>A reservation is written to an unnamed (O_TMPFILE) or temporary file, its data synced (fdatasync), and then
/// hard-linked to its name: <c>linkat</c> fails atomically with EEXIST when the name exists, as the reference's
/// O_EXCL create does, and the file appears complete or not at all, also after a crash: the name can only reach the
/// disk after the content it points to. The directory itself is not synced (the reference syncs nothing): a crash
/// may forget a reservation made just before it, together with the containers that held it, but never leaves an
/// empty file naming nobody.</para>
/// <para>Reading 65,000 small files costs far more than anything else, so on large networks the contents are also
/// kept in an index (<c>&lt;dataDir&gt;/.host-local-cache/&lt;network&gt;</c>). The index is trusted only while the
/// directory's device, inode, mtime and ctime equal the ones it recorded: any file created or removed (by us, by the
/// Go plugin, by hand) changes them. Before releasing the lock after writing the index we wait until the clock that
/// stamps file times has moved past the recorded mtime, so a later change cannot carry the same stamp; where the
/// file system's timestamps look coarse the index is not written. Files are never rewritten in place by either
/// plugin (<c>last_reserved_ip.N</c> aside, which the index does not hold).</para>
/// <para>After another writer the index is stale. ADD needs the names (one directory listing) and owners only to
/// refuse a second ADD of one attachment, so it takes the index's owner for every name whose inode number (from
/// the listing, recorded in the index) is unchanged and reads only the new files; owners it would refuse on are
/// read again first. A file removed and created again with a reused inode number escapes it, so the snapshot and
/// the index written from it are marked unchecked, and DEL, CHECK and GC, which act on owners, first compare each
/// such file's ctime with the time the index last checked it (one statx each), reading the ones that changed.</para>
/// <para>On small networks (fewer than <see cref="IndexMinEntries"/> reservations) the index costs more than it
/// saves: writing it and waiting for the clock (up to one scheduler tick) costs about as much as reading a thousand
/// small files (measured with benchmarks/host-local/bench-small.sh). There no index is written, and an index left
/// from when the network was larger is removed once it holds fewer than half that many.</para>
/// </remarks>
internal sealed unsafe class DiskStore : IDisposable
{
    /// <summary>Name of the lock file inside the network directory.</summary>
    public const string LockFileName = "lock";

    /// <summary>Prefix of the round-robin files: <c>last_reserved_ip.N</c>.</summary>
    public const string LastReservedPrefix = "last_reserved_ip.";

    /// <summary>Folder (in the data directory) holding one index file per network.</summary>
    public const string CacheDirectoryName = ".host-local-cache";

    /// <summary>
    /// Reservation count from which the index is written. Below it a run reads the files, which on the small
    /// networks of typical pod churn is cheaper than keeping the index up to date (an ADD+DEL pair measured about
    /// even at 1,000 reservations, the files clearly cheaper at 600).
    /// </summary>
    public const int DefaultIndexMinEntries = 1024;

    private const int MaxContentBytes = 64 * 1024;
    private const int SmallReadBytes = 4096;
    private const int DirectoryReadBytes = 64 * 1024;
    private const int UncheckedSize = 1 + 8 + 4;
    private static readonly byte[] IndexMagic = "HLIDX002"u8.ToArray();

    /// <summary>Tests only: skip O_TMPFILE to exercise the named temporary file used where it is unsupported.</summary>
    internal static bool DisableUnnamedTempFiles { get; set; }

    /// <summary>
    /// Reservation count from which the index is written (<see cref="DefaultIndexMinEntries"/>; tests lower it). An
    /// existing index is kept up to date down to half of it, so that a network hovering around the threshold does
    /// not create and delete its index on every run.
    /// </summary>
    internal static int IndexMinEntries { get; set; } = DefaultIndexMinEntries;

    /// <summary>Tests only: the wall clock as <see cref="Load"/> sees it (null: CLOCK_REALTIME).</summary>
    internal static Func<Libc.Timespec>? ClockForTests { get; set; }

    private readonly string _dataDir;
    private readonly string _network;
    private int _dataFd;
    private int _dirFd;
    private int _lockFd = -1;
    private DirStamp _loadedStamp;
    private bool _indexWasValid;
    private bool _indexExisted;
    private bool _readEveryFile;
    private byte[] _readBuffer = new byte[SmallReadBytes];

    private DiskStore(string dataDir, string network, int dataFd, int dirFd)
    {
        _dataDir = dataDir;
        _network = network;
        _dataFd = dataFd;
        _dirFd = dirFd;
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
    public static DiskStore? Open(string dataDir, string network, bool create)
    {
        if (!CniValidation.IsValidName(network))
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid network name \"{network}\": it must match ^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$");
        if (dataDir.Length == 0 || dataDir.Contains('\0'))
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "ipam.dataDir is not a usable path");
        string fullDataDir = Path.GetFullPath(dataDir);
        string dir = Path.Combine(fullDataDir, network);
        if (create)
            MakeDirectories(dir);
        // The data directory stays open too: the index is reached from it by name, never by a path.
        int dataFd = OpenPath(fullDataDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int fd = dataFd < 0 ? -1 : OpenAt(dataFd, network, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (fd < 0)
        {
            int errno = LibC.errno;
            if (dataFd >= 0)
                close(dataFd);
            if (!create && errno == ENOENT)
                return null;
            throw IoError($"cannot open data directory {dir}", errno);
        }
        return new DiskStore(fullDataDir, network, dataFd, fd);
    }

    /// <summary>Takes the exclusive flock on <c>lock</c> (created with mode 0750, like the reference's).</summary>
    public void Lock()
    {
        int fd = OpenAt(_dirFd, LockFileName, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0x1e8 /* 0750 */);
        if (fd < 0)
            throw IoError($"cannot open lock file {Path.Combine(DirectoryPath, LockFileName)}", LibC.errno);
        while (Libc.Flock(fd, Libc.LOCK_EX) != 0)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno != EINTR)
            {
                close(fd);
                throw IoError("cannot lock the data directory", errno);
            }
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
        byte[]? data = ReadIndexBytes();
        _indexExisted = data is not null;
        if (data is not null && DeserializeIndex(data, out DirStamp recorded) is { } fromIndex && !ClockIsBefore(recorded))
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
        // Only what a listed name becomes: its bytes are made again (NameOf) for the few files opened or statx'd.
        var names = new List<(IpAddr Address, byte Type, ulong Inode)>();
        int fd = OpenAt(_dirFd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (fd < 0)
            throw IoError($"cannot read {DirectoryPath}", LibC.errno);
        try
        {
            // Small first (a small network's names fit in a few KB, and a fresh large array costs more to allocate
            // than the whole read), large once the directory turns out to be big.
            byte[] buffer = new byte[8 * 1024];
            while (true)
            {
                nint n;
                fixed (byte* p = buffer)
                    n = Libc.GetDents64(fd, p, (nuint)buffer.Length);
                if (n < 0)
                    throw IoError($"cannot read {DirectoryPath}", System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
                if (n == 0)
                    break;
                for (int offset = 0; offset < n;)
                {
                    ulong inode = BinaryPrimitives.ReadUInt64LittleEndian(buffer.AsSpan(offset));
                    ushort recordLength = BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(offset + 16));
                    byte type = buffer[offset + 18];
                    ReadOnlySpan<byte> name = buffer.AsSpan(offset + 19, recordLength - 19);
                    name = name[..name.IndexOf((byte)0)];
                    if (IpAddr.TryParseUtf8(name, out IpAddr address) && IsCanonicalName(address, name))
                        names.Add((address, type, inode));
                    offset += recordLength;
                }
                if (n > buffer.Length / 2 && buffer.Length < DirectoryReadBytes)
                    buffer = GC.AllocateUninitializedArray<byte>(DirectoryReadBytes);
            }
        }
        finally
        {
            close(fd);
        }

        var contents = new byte[]?[names.Count];
        var reused = new StoreSnapshot.Slot?[names.Count];
        int filesRead = 0;
        // Trusting inode numbers, nearly every name is a dictionary look-up: not worth starting the thread pool.
        int workers = names.Count < 256 || trustInodes ? 1 : Math.Clamp(Environment.ProcessorCount, 1, 4);
        void ScanShare(int worker)
        {
            byte[] buffer = new byte[SmallReadBytes];
            int read = 0;
            for (int i = worker; i < names.Count; i += workers)
            {
                (IpAddr address, byte type, ulong inode) = names[i];
                if (stale is not null && stale.Slots.TryGetValue(address, out StoreSnapshot.Slot slot)
                    && (trustInodes
                        ? slot.Inode != 0 && slot.Inode == inode
                        : (slot.Inode == 0 || slot.Inode == inode) && UnchangedSince(NameOf(address), since)))
                {
                    reused[i] = slot with { Inode = inode };
                    continue;
                }
                if (type is Libc.DT_REG or Libc.DT_UNKNOWN)
                {
                    contents[i] = ReadTrimmed(NameOf(address), ref buffer);
                    read++;
                }
            }
            Interlocked.Add(ref filesRead, read);
        }
        if (workers == 1)
            ScanShare(0); // a few files: no thread pool to start
        else
            Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, ScanShare);
        LastScanFilesRead = filesRead;

        var snapshot = new StoreSnapshot(names.Count);
        for (int i = 0; i < names.Count; i++)
        {
            if (reused[i] is { } slot)
                snapshot.SetSlot(names[i].Address, slot);
            else
                snapshot.Set(names[i].Address, contents[i], names[i].Inode);
        }
        return snapshot;
    }

    private bool UnchangedSince(byte[] name, (long Seconds, uint Nanoseconds) since)
    {
        statx st;
        byte[] terminated = name.Length > 0 && name[^1] == 0 ? name : [.. name, 0];
        fixed (byte* p = terminated)
        {
            if (statx(_dirFd, p, AT_SYMLINK_NOFOLLOW, STATX_CTIME, &st) != 0)
                return false;
        }
        return !IsEarlier(since.Seconds, since.Nanoseconds, st.stx_ctime.tv_sec, st.stx_ctime.tv_nsec);
    }

    /// <summary>The trimmed content of the file for <paramref name="address"/>, or null when missing or not a regular file.</summary>
    public byte[]? ReadEntry(IpAddr address) => ReadTrimmed(Encoding.ASCII.GetBytes(address.ToString()), ref _readBuffer);

    /// <summary>
    /// Reads a small file into <paramref name="buffer"/> (replaced by a larger one, up to <see cref="MaxContentBytes"/>
    /// and one byte, only when the file fills it) and returns its trimmed content.
    /// </summary>
    private byte[]? ReadTrimmed(byte[] name, ref byte[] buffer)
    {
        int fd = OpenAt(_dirFd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0);
        if (fd < 0)
            return null;
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
                long n;
                fixed (byte* p = buffer)
                    n = read(fd, p + total, buffer.Length - total);
                if (n < 0)
                {
                    if (LibC.errno == EINTR)
                        continue;
                    return null;
                }
                if (n == 0)
                    break;
                total += (int)n;
                if (total < SmallReadBytes)
                    break; // a short read of a small regular file on Linux is the whole file: skip the read that returns 0
            }
            if (total > MaxContentBytes)
                return null; // too large to be anyone's reservation
            return ReservationKey.TrimSpace(buffer.AsSpan(0, total)).ToArray();
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
    public bool TryReserve(IpAddr address, ReadOnlySpan<byte> content)
    {
        EnsureLocked();
        byte[] name = NameOf(address);
        int fd = DisableUnnamedTempFiles ? -1 : OpenAt(_dirFd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0x1a4 /* 0644 */);
        if (fd >= 0)
        {
            try
            {
                WriteAll(fd, content, address);
                SyncData(fd, address);
                int errno = LinkUnnamed(fd, name);
                if (errno == 0)
                    return true;
                if (errno == EEXIST)
                    return false;
                if (errno != ENOENT)
                    throw IoError($"cannot create the reservation of {address}", errno);
                // No /proc: fall through to a named temporary file.
            }
            finally
            {
                close(fd);
            }
        }

        byte[] temp = Encoding.ASCII.GetBytes($".host-local-tmp-{Environment.ProcessId}-{Random.Shared.Next():x8}\0");
        fd = OpenAt(_dirFd, temp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0x1a4);
        if (fd < 0)
            throw IoError($"cannot create a temporary file in {DirectoryPath}", LibC.errno);
        try
        {
            try
            {
                WriteAll(fd, content, address);
                SyncData(fd, address);
            }
            finally
            {
                close(fd);
            }
            fixed (byte* from = temp)
            fixed (byte* to = name)
            {
                if (linkat(_dirFd, from, _dirFd, to, 0) == 0)
                    return true;
                int errno = LibC.errno;
                if (errno == EEXIST)
                    return false;
                throw IoError($"cannot create the reservation of {address}", errno);
            }
        }
        finally
        {
            fixed (byte* t = temp)
                unlinkat(_dirFd, t, 0);
        }
    }

    /// <summary>Gives the unnamed file <paramref name="fd"/> the name <paramref name="name"/>: 0, or the errno.</summary>
    private int LinkUnnamed(int fd, byte[] name)
    {
        byte[] procPath = Encoding.ASCII.GetBytes($"/proc/self/fd/{fd}\0");
        fixed (byte* from = procPath)
        fixed (byte* to = name)
        {
            return linkat(AT_FDCWD, from, _dirFd, to, AT_SYMLINK_FOLLOW) == 0 ? 0 : LibC.errno;
        }
    }

    /// <summary>
    /// Puts the content of a reservation on disk before its name can get there: without it a crash could leave the
    /// name with an empty file (delayed allocation), an address taken by nobody that DEL never releases.
    /// </summary>
    private static void SyncData(int fd, IpAddr address)
    {
        while (fdatasync(fd) != 0)
        {
            if (LibC.errno != EINTR)
                throw IoError($"cannot sync the reservation of {address}", LibC.errno);
        }
    }

    /// <summary>Removes the reservation file of <paramref name="address"/>; false when it did not exist.</summary>
    public bool Remove(IpAddr address)
    {
        EnsureLocked();
        byte[] name = NameOf(address);
        fixed (byte* p = name)
        {
            if (unlinkat(_dirFd, p, 0) == 0)
                return true;
        }
        int errno = LibC.errno;
        if (errno == ENOENT)
            return false;
        throw IoError($"cannot release {address}", errno);
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
        int fd = OpenAt(_dirFd, name, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0x1a4 /* 0644 */);
        if (fd < 0)
            throw IoError($"cannot write {what}", LibC.errno);
        try
        {
            byte[] text = Encoding.ASCII.GetBytes(address.ToString());
            WriteAll(fd, text, what);
            while (ftruncate(fd, text.Length) != 0)
            {
                if (LibC.errno != EINTR)
                    throw IoError($"cannot write {what}", LibC.errno);
            }
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
        if (snapshot.Count < IndexMinEntries && (!_indexExisted || snapshot.Count < IndexMinEntries / 2))
        {
            // A small network: reading its files is cheaper than the index. Remove one left from larger days (its
            // stamp can no longer match, but reading it would be wasted time).
            if (_indexExisted)
            {
                DeleteIndex();
                _indexExisted = false;
            }
            return;
        }
        DirStamp stamp = StatDirectory();
        if (!changed && _indexWasValid && stamp.Equals(_loadedStamp))
            return; // still valid as it is
        if (stamp.MtimeNanoseconds % 1000 == 0 || !WaitForClockPast(stamp) || !WriteIndex(SerializeIndex(snapshot, stamp)))
        {
            DeleteIndex();
            return;
        }
        _indexExisted = true;
    }

    /// <summary>
    /// Writes the index as a temporary file renamed over the old one, all relative to the cache folder's descriptor
    /// and without following a symbolic link anywhere below the data directory: whoever can write there cannot make
    /// us write elsewhere. False on any failure.
    /// </summary>
    private bool WriteIndex(byte[] data)
    {
        int cacheFd = OpenCacheDirectory(create: true);
        if (cacheFd < 0)
            return false;
        try
        {
            byte[] temp = Encoding.UTF8.GetBytes("." + _network + ".tmp\0"); // network names never start with a dot
            byte[] name = Encoding.UTF8.GetBytes(_network + "\0");
            fixed (byte* t = temp)
                unlinkat(cacheFd, t, 0); // left by a crash, or planted: O_EXCL below must create it
            int fd = OpenAt(cacheFd, temp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0x1a4 /* 0644 */);
            if (fd < 0)
                return false;
            bool written;
            try
            {
                written = TryWriteAll(fd, data, out _);
            }
            finally
            {
                close(fd);
            }
            fixed (byte* t = temp)
            fixed (byte* n = name)
            {
                if (written && Libc.RenameAt(cacheFd, t, cacheFd, n) == 0)
                    return true;
                unlinkat(cacheFd, t, 0);
                return false;
            }
        }
        finally
        {
            close(cacheFd);
        }
    }

    /// <summary>The cache folder, opened without following a link (created first with <paramref name="create"/>); -1 when missing.</summary>
    private int OpenCacheDirectory(bool create)
    {
        byte[] name = Encoding.UTF8.GetBytes(CacheDirectoryName + "\0");
        if (create)
        {
            fixed (byte* p = name)
                mkdirat(_dataFd, p, 0x1ed /* 0755 */); // EEXIST (or a link in its place, refused below) is fine
        }
        return OpenAt(_dataFd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
    }

    private void DeleteIndex()
    {
        int cacheFd = OpenCacheDirectory(create: false);
        if (cacheFd < 0)
            return; // no index; a stale one would be harmless anyway: its stamp no longer matches the directory
        byte[] name = Encoding.UTF8.GetBytes(_network + "\0");
        fixed (byte* n = name)
            unlinkat(cacheFd, n, 0);
        close(cacheFd);
    }

    /// <summary>
    /// True when the wall clock reads earlier than the directory times the index recorded: it was set back since.
    /// Every comparison of times the index relies on (a change after it carries a later stamp) assumes the clock only
    /// moves forward, so such an index is not used at all: the files are read and a new one is written.
    /// </summary>
    private static bool ClockIsBefore(DirStamp stamp)
    {
        Libc.Timespec now;
        if (ClockForTests is { } clock)
            now = clock();
        else
            Libc.ClockGetTime(Libc.CLOCK_REALTIME, &now); // fine-grained: file times may be ahead of the coarse clock
        return IsEarlier(now.Seconds, now.Nanoseconds, stamp.MtimeSeconds, stamp.MtimeNanoseconds)
            || IsEarlier(now.Seconds, now.Nanoseconds, stamp.CtimeSeconds, stamp.CtimeNanoseconds);
    }

    private static bool IsEarlier(long seconds, long nanoseconds, long thanSeconds, long thanNanoseconds) =>
        seconds < thanSeconds || (seconds == thanSeconds && nanoseconds < thanNanoseconds);

    private static bool WaitForClockPast(DirStamp stamp)
    {
        for (int i = 0; i < 60; i++)
        {
            Libc.Timespec now;
            Libc.ClockGetTime(Libc.CLOCK_REALTIME_COARSE, &now);
            if (now.Seconds > stamp.MtimeSeconds || (now.Seconds == stamp.MtimeSeconds && now.Nanoseconds > stamp.MtimeNanoseconds))
                return true;
            if (stamp.MtimeSeconds - now.Seconds > 1)
                return false; // the directory's clock is ahead of ours
            Thread.Sleep(1);
        }
        return false;
    }

    /// <summary>The index file's bytes, or null when there is none (the common case on small networks: no exception).</summary>
    private byte[]? ReadIndexBytes()
    {
        int cacheFd = OpenCacheDirectory(create: false);
        if (cacheFd < 0)
            return null;
        int fd = OpenAt(cacheFd, _network, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
        close(cacheFd);
        if (fd < 0)
            return null;
        try
        {
            statx st;
            byte empty = 0;
            if (statx(fd, &empty, AT_EMPTY_PATH, STATX_SIZE, &st) != 0 || st.stx_size > int.MaxValue / 2)
                return null;
            byte[] data = new byte[(int)st.stx_size];
            int total = 0;
            fixed (byte* p = data)
            {
                while (total < data.Length)
                {
                    long n = read(fd, p + total, data.Length - total);
                    if (n < 0 && LibC.errno == EINTR)
                        continue;
                    if (n <= 0)
                        return null; // changed under us: not worth trusting
                    total += (int)n;
                }
            }
            return data;
        }
        finally
        {
            close(fd);
        }
    }

    internal static byte[] SerializeIndex(StoreSnapshot snapshot, DirStamp stamp)
    {
        int size = IndexMagic.Length + DirStamp.Size + UncheckedSize + 4 + 8;
        foreach (KeyValuePair<IpAddr, StoreSnapshot.Slot> e in snapshot.Slots)
            size += 1 + (e.Key.IsV6 ? 16 : 4) + 8 + 4 + e.Value.Length;
        byte[] data = new byte[size];
        Span<byte> s = data;
        IndexMagic.CopyTo(s);
        int o = IndexMagic.Length;
        stamp.Write(s[o..]);
        o += DirStamp.Size;
        s[o] = snapshot.UncheckedSince is null ? (byte)0 : (byte)1;
        BinaryPrimitives.WriteInt64LittleEndian(s[(o + 1)..], snapshot.UncheckedSince?.Seconds ?? 0);
        BinaryPrimitives.WriteUInt32LittleEndian(s[(o + 9)..], snapshot.UncheckedSince?.Nanoseconds ?? 0);
        o += UncheckedSize;
        BinaryPrimitives.WriteInt32LittleEndian(s[o..], snapshot.Count);
        o += 4;
        foreach (KeyValuePair<IpAddr, StoreSnapshot.Slot> e in snapshot.Slots)
        {
            s[o++] = e.Key.IsV6 ? (byte)6 : (byte)4;
            if (e.Key.IsV6)
            {
                BinaryPrimitives.WriteUInt128BigEndian(s[o..], e.Key.Value);
                o += 16;
            }
            else
            {
                BinaryPrimitives.WriteUInt32BigEndian(s[o..], (uint)e.Key.Value);
                o += 4;
            }
            StoreSnapshot.Slot slot = e.Value;
            BinaryPrimitives.WriteUInt64LittleEndian(s[o..], slot.Inode);
            o += 8;
            BinaryPrimitives.WriteInt32LittleEndian(s[o..], slot.IsKnown ? slot.Length : -1);
            o += 4;
            if (slot.IsKnown)
            {
                slot.Content.CopyTo(s[o..]);
                o += slot.Length;
            }
        }
        BinaryPrimitives.WriteUInt64LittleEndian(s[o..], Checksum(s[..o]));
        return data;
    }

    /// <summary>The index's snapshot when it was recorded for exactly <paramref name="expected"/>, else null.</summary>
    internal static StoreSnapshot? DeserializeIndex(byte[] data, DirStamp expected) =>
        DeserializeIndex(data, out DirStamp recorded) is { } snapshot && recorded.Equals(expected) ? snapshot : null;

    /// <summary>The index's snapshot and the directory stamp it was recorded for; null when damaged.</summary>
    internal static StoreSnapshot? DeserializeIndex(byte[] data, out DirStamp recorded)
    {
        recorded = default;
        ReadOnlySpan<byte> s = data;
        int headerSize = IndexMagic.Length + DirStamp.Size + UncheckedSize + 4;
        if (s.Length < headerSize + 8 || !s[..IndexMagic.Length].SequenceEqual(IndexMagic))
            return null;
        if (BinaryPrimitives.ReadUInt64LittleEndian(s[^8..]) != Checksum(s[..^8]))
            return null;
        recorded = DirStamp.Read(s[IndexMagic.Length..]);
        int o = IndexMagic.Length + DirStamp.Size;
        (long, uint)? uncheckedSince = s[o] == 0 ? null
            : (BinaryPrimitives.ReadInt64LittleEndian(s[(o + 1)..]), BinaryPrimitives.ReadUInt32LittleEndian(s[(o + 9)..]));
        o += UncheckedSize;
        int count = BinaryPrimitives.ReadInt32LittleEndian(s[o..]);
        o += 4;
        int end = s.Length - 8;
        if (count < 0 || count > end / 17)
            return null;
        var snapshot = new StoreSnapshot(count) { UncheckedSince = uncheckedSince };
        for (int i = 0; i < count; i++)
        {
            if (o + 1 > end)
                return null;
            byte family = s[o++];
            IpAddr address;
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
                return null;
            }
            if (o + 12 > end)
                return null;
            ulong inode = BinaryPrimitives.ReadUInt64LittleEndian(s[o..]);
            int length = BinaryPrimitives.ReadInt32LittleEndian(s[(o + 8)..]);
            o += 12;
            if (length < -1 || length > MaxContentBytes || o + Math.Max(length, 0) > end)
                return null;
            if (length < 0)
                snapshot.Set(address, null, inode);
            else
                snapshot.SetSlice(address, data, o, length, inode);
            o += Math.Max(length, 0);
        }
        return o == end ? snapshot : null;
    }

    private static ulong Checksum(ReadOnlySpan<byte> data)
    {
        ulong h = 0x9E3779B97F4A7C15UL ^ (ulong)data.Length;
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            h = (h ^ BinaryPrimitives.ReadUInt64LittleEndian(data[i..])) * 0xff51afd7ed558ccdUL;
            h ^= h >> 29;
        }
        for (; i < data.Length; i++)
            h = (h ^ data[i]) * 0x100000001b3UL;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53UL;
        return h ^ (h >> 33);
    }

    /// <summary>The network directory's device, inode, mtime and ctime now.</summary>
    internal DirStamp StatDirectory()
    {
        statx st;
        byte empty = 0;
        if (statx(_dirFd, &empty, AT_EMPTY_PATH, STATX_BASIC_STATS, &st) != 0)
            throw IoError($"cannot stat {DirectoryPath}", LibC.errno);
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
        if (!TryWriteAll(fd, content, out int errno))
            throw IoError($"cannot write the reservation of {address}", errno);
    }

    private static void WriteAll(int fd, ReadOnlySpan<byte> content, string what)
    {
        if (!TryWriteAll(fd, content, out int errno))
            throw IoError($"cannot write {what}", errno);
    }

    private static bool TryWriteAll(int fd, ReadOnlySpan<byte> content, out int errno)
    {
        errno = 0;
        fixed (byte* p = content)
        {
            int written = 0;
            while (written < content.Length)
            {
                long n = write(fd, p + written, content.Length - written);
                if (n < 0)
                {
                    errno = LibC.errno;
                    if (errno == EINTR)
                        continue;
                    return false;
                }
                written += (int)n;
            }
        }
        return true;
    }

    private static void MakeDirectories(string path)
    {
        string full = Path.GetFullPath(path);
        var missing = new Stack<string>();
        for (string? p = full; p is not null && !Directory.Exists(p); p = Path.GetDirectoryName(p))
            missing.Push(p);
        while (missing.Count > 0)
        {
            string dir = missing.Pop();
            byte[] bytes = Encoding.UTF8.GetBytes(dir + "\0");
            fixed (byte* p = bytes)
            {
                if (mkdir(p, 0x1ed /* 0755 */) != 0 && LibC.errno != EEXIST)
                    throw IoError($"cannot create directory {dir}", LibC.errno);
            }
        }
    }

    private static int OpenPath(string path, int flags)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
            return open(p, flags, 0);
    }

    private static int OpenAt(int dirFd, string name, int flags, int mode) =>
        OpenAt(dirFd, Encoding.UTF8.GetBytes(name + "\0"), flags, mode);

    private static int OpenAt(int dirFd, byte[] name, int flags, int mode)
    {
        byte[] terminated = name.Length > 0 && name[^1] == 0 ? name : [.. name, 0];
        fixed (byte* p = terminated)
        {
            while (true)
            {
                int fd = openat(dirFd, p, flags, (mode_t)(uint)mode);
                if (fd >= 0 || LibC.errno != EINTR)
                    return fd;
            }
        }
    }

    private void EnsureLocked()
    {
        if (_lockFd < 0)
            throw new InvalidOperationException("the store must be locked first");
    }

    private static CniException IoError(string message, int errno) =>
        new(CniErrorCode.IoFailure, $"{message}: {new System.ComponentModel.Win32Exception(errno).Message} (errno {errno})");

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

/// <summary>What identifies one state of a directory: device, inode, mtime and ctime.</summary>
internal readonly record struct DirStamp(ulong Device, ulong Inode, long MtimeSeconds, uint MtimeNanoseconds, long CtimeSeconds, uint CtimeNanoseconds)
{
    public const int Size = 8 + 8 + 8 + 4 + 8 + 4;

    public void Write(Span<byte> s)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(s, Device);
        BinaryPrimitives.WriteUInt64LittleEndian(s[8..], Inode);
        BinaryPrimitives.WriteInt64LittleEndian(s[16..], MtimeSeconds);
        BinaryPrimitives.WriteUInt32LittleEndian(s[24..], MtimeNanoseconds);
        BinaryPrimitives.WriteInt64LittleEndian(s[28..], CtimeSeconds);
        BinaryPrimitives.WriteUInt32LittleEndian(s[36..], CtimeNanoseconds);
    }

    public static DirStamp Read(ReadOnlySpan<byte> s) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(s),
        BinaryPrimitives.ReadUInt64LittleEndian(s[8..]),
        BinaryPrimitives.ReadInt64LittleEndian(s[16..]),
        BinaryPrimitives.ReadUInt32LittleEndian(s[24..]),
        BinaryPrimitives.ReadInt64LittleEndian(s[28..]),
        BinaryPrimitives.ReadUInt32LittleEndian(s[36..]));
}
