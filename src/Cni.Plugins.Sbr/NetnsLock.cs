using Cni.Spec.Platform;
using static Tmds.Linux.LibC;

namespace Cni.Plugins.Sbr;

/// <summary>
/// An exclusive <c>flock</c> on the network namespace file itself, as the reference takes it: two sbr runs for the same
/// container (two interfaces added at once) would otherwise pick the same free table. The Go plugin locks the same
/// file, so ours and theirs exclude each other too. Best effort: a file that cannot be opened or locked is not locked.
/// </summary>
/// <remarks>Not <see cref="FileLock.TryAcquire"/>: that never follows a symbolic link, and <c>CNI_NETNS</c> may be
/// <c>/proc/PID/ns/net</c>, which is one; the lock itself is <see cref="FileLock.Lock"/>'s.</remarks>
internal sealed class NetnsLock : IDisposable
{
    private int _fd;

    private NetnsLock(int fd) => _fd = fd;

    /// <summary>Waits for the lock on <paramref name="path"/>.</summary>
    public static unsafe NetnsLock Take(string path)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        int fd;
        fixed (byte* p = bytes)
            fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd >= 0 && FileLock.Lock(fd, exclusive: true) != 0)
        {
            close(fd);
            fd = -1;
        }
        return new NetnsLock(fd);
    }

    /// <summary>True when the lock is held.</summary>
    public bool IsHeld => _fd >= 0;

    /// <summary>Releases the lock.</summary>
    public void Dispose()
    {
        if (_fd >= 0)
            close(_fd);
        _fd = -1;
    }
}
