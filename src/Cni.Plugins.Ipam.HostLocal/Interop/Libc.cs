using System.Runtime.InteropServices;

namespace Cni.Plugins.Ipam.HostLocal.Interop;

/// <summary>
/// The few libc calls Tmds.LibC does not expose: <c>flock(2)</c> (the reference locks with flock, which does not
/// see fcntl locks), <c>clock_gettime(2)</c>, <c>getdents64(2)</c> and <c>renameat(2)</c>.
/// </summary>
internal static unsafe partial class Libc
{
    private const string LibraryName = "libc";

    public const int LOCK_EX = 2;

    public const int CLOCK_REALTIME = 0;

    public const int CLOCK_REALTIME_COARSE = 5;

    public const byte DT_UNKNOWN = 0;
    public const byte DT_REG = 8;

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport(LibraryName, EntryPoint = "flock", SetLastError = true)]
    public static partial int Flock(int fd, int operation);

    [LibraryImport(LibraryName, EntryPoint = "clock_gettime", SetLastError = true)]
    public static partial int ClockGetTime(int clock, Timespec* time);

    [LibraryImport(LibraryName, EntryPoint = "getdents64", SetLastError = true)]
    public static partial nint GetDents64(int fd, byte* buffer, nuint count);

    [LibraryImport(LibraryName, EntryPoint = "renameat", SetLastError = true)]
    public static partial int RenameAt(int oldDirFd, byte* oldPath, int newDirFd, byte* newPath);
}
