using System.Runtime.InteropServices;

namespace Cni.Runtime;

/// <summary>Makes a rename durable: fsync of the directory holding it (.NET opens no directory handles).</summary>
internal static partial class DirectorySync
{
    private const int O_RDONLY = 0;
    private const int O_DIRECTORY = 0x10000;
    private const int O_CLOEXEC = 0x80000;
    private const int EINTR = 4;
    private const int EINVAL = 22;

    /// <summary>Flushes <paramref name="directory"/>'s entries to disk; a file system that cannot sync directories (EINVAL) is no error.</summary>
    /// <exception cref="IOException">The directory could not be opened or synced.</exception>
    public static void Sync(string directory)
    {
        if (OperatingSystem.IsWindows())
            return;
        int fd;
        while ((fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 && Marshal.GetLastPInvokeError() == EINTR)
        {
        }
        if (fd < 0)
            throw new IOException($"cannot open directory {directory} to sync it: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        try
        {
            if (fsync(fd) != 0 && Marshal.GetLastPInvokeError() is int error && error != EINVAL)
                throw new IOException($"cannot sync directory {directory}: {Marshal.GetPInvokeErrorMessage(error)}");
        }
        finally
        {
            _ = close(fd);
        }
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fsync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
