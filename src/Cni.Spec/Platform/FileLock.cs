using System.Runtime.InteropServices;
using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Cni.Spec.Platform;

/// <summary>
/// <c>flock(2)</c> locks, the kind the Go reference plugins take (host-local's store, the bridge's lock files): a
/// lock belongs to the open file description, is released when its last descriptor is closed (also when the process
/// dies), and does not see <c>fcntl</c> locks. One home for the call, shared by every project.
/// </summary>
public sealed unsafe partial class FileLock : IDisposable
{
    private const int LOCK_SH = 1;
    private const int LOCK_EX = 2;

    private int _fd;

    private FileLock(int fd) => _fd = fd;

    /// <summary>
    /// Locks the descriptor <paramref name="fd"/> (blocking; EINTR retried).
    /// </summary>
    /// <param name="fd">An open descriptor of the lock file.</param>
    /// <param name="exclusive">Exclusive (<c>LOCK_EX</c>) or shared (<c>LOCK_SH</c>).</param>
    /// <returns>0, or the errno of the failure.</returns>
    public static int Lock(int fd, bool exclusive)
    {
        while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno != EINTR)
                return errno;
        }
        return 0;
    }

    /// <summary>
    /// Opens (creating it with mode 0600 when missing, never following a symbolic link) and locks
    /// <paramref name="path"/>; null when the file cannot be opened or locked (the caller decides whether to go on
    /// unlocked).
    /// </summary>
    /// <param name="path">The lock file.</param>
    /// <param name="exclusive">Exclusive or shared.</param>
    public static FileLock? TryAcquire(string path, bool exclusive)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes = Encoding.UTF8.GetBytes(path + "\0");
        int fd;
        fixed (byte* p = bytes)
            fd = open(p, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0x180 /* 0600 */);
        if (fd < 0)
            return null;
        if (Lock(fd, exclusive) != 0)
        {
            close(fd);
            return null;
        }
        return new FileLock(fd);
    }

    /// <summary>Releases the lock (closes the descriptor).</summary>
    public void Dispose()
    {
        if (_fd >= 0)
            close(_fd);
        _fd = -1;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int flock(int fd, int operation);
}
