using System.Runtime.InteropServices;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Cni.Plugins.Bridge;

/// <summary>
/// Orders the one bridge deletion we ever do (the rollback of a failed ADD that created the bridge) against concurrent
/// ADDs attaching to the same bridge: ADDs hold a shared <c>flock</c> on <c>/run/cni/bridge/NAME.lock</c> from
/// looking the bridge up until their port is attached, the rollback holds it exclusively while it checks that the
/// bridge has no port and deletes it. So a rollback never deletes a bridge another ADD has found and is about to
/// join, and an ADD that comes after the deletion creates the bridge anew. Best effort: where the lock file cannot
/// be created (read-only <c>/run</c>) everything proceeds unlocked, as before.
/// </summary>
internal sealed partial class BridgeLock : IDisposable
{
    private const int LOCK_SH = 1;
    private const int LOCK_EX = 2;

    /// <summary>Where the lock files live (tests point it elsewhere).</summary>
    internal static string Directory { get; set; } = "/run/cni/bridge";

    private int _fd;

    private BridgeLock(int fd) => _fd = fd;

    /// <summary>Held while an ADD finds or creates the bridge and attaches its port.</summary>
    public static BridgeLock Shared(string bridge) => Take(bridge, LOCK_SH);

    /// <summary>Held while a rollback checks that the bridge is unused and deletes it.</summary>
    public static BridgeLock Exclusive(string bridge) => Take(bridge, LOCK_EX);

    private static unsafe BridgeLock Take(string bridge, int operation)
    {
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new BridgeLock(-1);
        }
        byte[] path = System.Text.Encoding.UTF8.GetBytes(Path.Combine(Directory, bridge + ".lock") + "\0");
        int fd;
        fixed (byte* p = path)
            fd = open(p, O_RDONLY | O_CREAT | O_CLOEXEC, 0x180 /* 0600 */);
        if (fd < 0)
            return new BridgeLock(-1);
        while (Flock(fd, operation) != 0)
        {
            if (Marshal.GetLastPInvokeError() != EINTR)
            {
                close(fd);
                return new BridgeLock(-1);
            }
        }
        return new BridgeLock(fd);
    }

    /// <summary>True when the lock is held (false when it could not be taken and we proceed unlocked).</summary>
    public bool IsHeld => _fd >= 0;

    /// <summary>Releases the lock (closing the only descriptor of the lock file releases the flock).</summary>
    public void Dispose()
    {
        if (_fd >= 0)
            close(_fd);
        _fd = -1;
    }

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(int fd, int operation);
}
