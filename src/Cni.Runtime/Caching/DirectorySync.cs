using System.Text;
using static Tmds.Linux.LibC;

namespace Cni.Runtime;

/// <summary>Makes a rename durable: fsync of the directory holding it (.NET opens no directory handles).</summary>
internal static class DirectorySync
{
    /// <summary>Flushes <paramref name="directory"/>'s entries to disk; a file system that cannot sync directories (EINVAL) is no error.</summary>
    /// <exception cref="IOException">The directory could not be opened or synced.</exception>
    public static unsafe void Sync(string directory)
    {
        if (OperatingSystem.IsWindows())
            return;
        byte[] path = Encoding.UTF8.GetBytes(directory + "\0");
        int fd;
        fixed (byte* p = path)
        {
            while ((fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)) < 0 && errno == EINTR)
            {
            }
        }
        if (fd < 0)
            throw new IOException($"cannot open directory {directory} to sync it: {new System.ComponentModel.Win32Exception(errno).Message}");
        try
        {
            if (fsync(fd) != 0 && errno is int error && error != EINVAL)
                throw new IOException($"cannot sync directory {directory}: {new System.ComponentModel.Win32Exception(error).Message}");
        }
        finally
        {
            _ = close(fd);
        }
    }
}
