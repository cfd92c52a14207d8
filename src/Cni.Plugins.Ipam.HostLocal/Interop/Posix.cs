using System.Runtime.InteropServices;
using System.Text;
using Cni.Spec;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Cni.Plugins.Ipam.HostLocal.Interop;

/// <summary>
/// The store's small POSIX layer: the few libc calls Tmds.LibC does not expose (<c>clock_gettime(2)</c>, <c>getdents64(2)</c>, <c>renameat(2)</c>),
/// and wrappers over the openat family that retry EINTR, take names as NUL-terminated bytes and turn errno into a
/// <see cref="CniException"/> (<see cref="CniErrorCode.IoFailure"/>). No knowledge of the store's layout.
/// </summary>
internal static unsafe partial class Posix
{
    private const string LibraryName = "libc";

    public const int CLOCK_REALTIME = 0;

    public const int CLOCK_REALTIME_COARSE = 5;

    public const byte DT_UNKNOWN = 0;
    public const byte DT_REG = 8;

    /// <summary>struct timespec on 64-bit Linux.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport(LibraryName, EntryPoint = "clock_gettime", SetLastError = true)]
    public static partial int ClockGetTime(int clock, Timespec* time);

    [LibraryImport(LibraryName, EntryPoint = "getdents64", SetLastError = true)]
    public static partial nint GetDents64(int fd, byte* buffer, nuint count);

    [LibraryImport(LibraryName, EntryPoint = "renameat", SetLastError = true)]
    public static partial int RenameAt(int oldDirFd, byte* oldPath, int newDirFd, byte* newPath);

    /// <summary><paramref name="text"/> as UTF-8 with the terminating NUL.</summary>
    public static byte[] NameBytes(string text) => Encoding.UTF8.GetBytes(text + "\0");

    /// <summary>The clock's time now.</summary>
    public static Timespec Now(int clock)
    {
        Timespec now;
        ClockGetTime(clock, &now);
        return now;
    }

    /// <summary>True when the first time is earlier than the second.</summary>
    public static bool IsEarlier(long seconds, long nanoseconds, long thanSeconds, long thanNanoseconds) =>
        seconds < thanSeconds || (seconds == thanSeconds && nanoseconds < thanNanoseconds);

    /// <summary><c>open(2)</c> of an absolute path; -1 with errno set on failure.</summary>
    public static int OpenPath(string path, int flags)
    {
        byte[] bytes = NameBytes(path);
        fixed (byte* p = bytes)
            return open(p, flags, 0);
    }

    /// <summary><c>openat(2)</c> retried on EINTR; -1 with errno set on failure.</summary>
    public static int OpenAt(int dirFd, string name, int flags, int mode) => OpenAt(dirFd, NameBytes(name), flags, mode);

    /// <summary><c>openat(2)</c> retried on EINTR (a NUL is appended when <paramref name="name"/> lacks one); -1 with errno set on failure.</summary>
    public static int OpenAt(int dirFd, byte[] name, int flags, int mode)
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

    /// <summary><c>openat(2)</c> of a NUL-terminated name, retried on EINTR; -1 with errno set on failure.</summary>
    public static int OpenAt(int dirFd, byte* name, int flags, int mode)
    {
        while (true)
        {
            int fd = openat(dirFd, name, flags, (mode_t)(uint)mode);
            if (fd >= 0 || LibC.errno != EINTR)
                return fd;
        }
    }

    /// <summary><c>statx(2)</c> of a NUL-terminated name under <paramref name="dirFd"/>, not following a link; false on failure.</summary>
    public static bool StatAt(int dirFd, byte* name, uint mask, out statx st)
    {
        st = default;
        fixed (statx* s = &st)
            return statx(dirFd, name, AT_SYMLINK_NOFOLLOW, mask, s) == 0;
    }

    /// <summary><c>unlinkat(2)</c> of a NUL-terminated name: 0, or the errno.</summary>
    public static int UnlinkAt(int dirFd, byte[] name)
    {
        fixed (byte* p = name)
            return unlinkat(dirFd, p, 0) == 0 ? 0 : LibC.errno;
    }

    /// <summary><c>linkat(2)</c> of NUL-terminated names: 0, or the errno.</summary>
    public static int LinkAt(int fromDirFd, byte[] from, int toDirFd, byte[] to, int flags)
    {
        fixed (byte* f = from)
        fixed (byte* t = to)
            return linkat(fromDirFd, f, toDirFd, t, flags) == 0 ? 0 : LibC.errno;
    }

    /// <summary><c>renameat(2)</c> of NUL-terminated names: 0, or the errno.</summary>
    public static int RenameAt(int fromDirFd, byte[] from, int toDirFd, byte[] to)
    {
        fixed (byte* f = from)
        fixed (byte* t = to)
            return RenameAt(fromDirFd, f, toDirFd, t) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary><c>mkdirat(2)</c> of a NUL-terminated name: 0, or the errno.</summary>
    public static int MkdirAt(int dirFd, byte[] name, int mode)
    {
        fixed (byte* p = name)
            return mkdirat(dirFd, p, (mode_t)(uint)mode) == 0 ? 0 : LibC.errno;
    }

    /// <summary><c>statx(2)</c> of the descriptor itself (AT_EMPTY_PATH); false on failure (errno set).</summary>
    public static bool StatFd(int fd, uint mask, out statx st)
    {
        st = default;
        byte empty = 0;
        fixed (statx* s = &st)
            return statx(fd, &empty, AT_EMPTY_PATH, mask, s) == 0;
    }

    /// <summary><c>statx(2)</c> of a NUL-terminated name under <paramref name="dirFd"/>, not following a link; false on failure.</summary>
    public static bool StatAt(int dirFd, byte[] name, uint mask, out statx st)
    {
        st = default;
        fixed (byte* p = name)
        fixed (statx* s = &st)
            return statx(dirFd, p, AT_SYMLINK_NOFOLLOW, mask, s) == 0;
    }

    /// <summary><c>fdatasync(2)</c> retried on EINTR: 0, or the errno.</summary>
    public static int SyncData(int fd)
    {
        while (fdatasync(fd) != 0)
        {
            if (LibC.errno != EINTR)
                return LibC.errno;
        }
        return 0;
    }

    /// <summary><c>ftruncate(2)</c> retried on EINTR: 0, or the errno.</summary>
    public static int Truncate(int fd, long length)
    {
        while (ftruncate(fd, length) != 0)
        {
            if (LibC.errno != EINTR)
                return LibC.errno;
        }
        return 0;
    }

    /// <summary>Writes all of <paramref name="content"/>; false with the errno on failure.</summary>
    public static bool TryWriteAll(int fd, ReadOnlySpan<byte> content, out int errno)
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

    /// <summary>
    /// Reads into <paramref name="buffer"/> from <paramref name="offset"/>: the byte count (0 at the end of the file),
    /// or -1 on failure; EINTR is retried.
    /// </summary>
    public static long Read(int fd, byte[] buffer, int offset)
    {
        while (true)
        {
            long n;
            fixed (byte* p = buffer)
                n = read(fd, p + offset, buffer.Length - offset);
            if (n >= 0 || LibC.errno != EINTR)
                return n;
        }
    }

    /// <summary>Creates <paramref name="path"/> and its missing parents with <paramref name="mode"/>.</summary>
    public static void MakeDirectories(string path, int mode)
    {
        string full = Path.GetFullPath(path);
        var missing = new Stack<string>();
        for (string? p = full; p is not null && !Directory.Exists(p); p = Path.GetDirectoryName(p))
            missing.Push(p);
        while (missing.Count > 0)
        {
            string dir = missing.Pop();
            byte[] bytes = NameBytes(dir);
            fixed (byte* p = bytes)
            {
                if (mkdir(p, (mode_t)(uint)mode) != 0 && LibC.errno != EEXIST)
                    throw IoError($"cannot create directory {dir}", LibC.errno);
            }
        }
    }

    /// <summary>A <see cref="CniErrorCode.IoFailure"/> naming what failed and the errno.</summary>
    public static CniException IoError(string message, int errno) =>
        new(CniErrorCode.IoFailure, $"{message}: {new System.ComponentModel.Win32Exception(errno).Message} (errno {errno})");
}
