using Cni.Spec.Platform;

namespace Cni.Plugins.Bridge;

/// <summary>
/// Orders the one bridge deletion we ever do (the rollback of a failed ADD that created the bridge) against concurrent
/// ADDs attaching to the same bridge: ADDs hold a shared <c>flock</c> on <c>/run/cni/bridge/NAME.lock</c> from
/// looking the bridge up until their port is attached, the rollback holds it exclusively while it checks that the
/// bridge has no port and deletes it. So a rollback never deletes a bridge another ADD has found and is about to
/// join, and an ADD that comes after the deletion creates the bridge anew. Best effort: where the lock file cannot
/// be created (read-only <c>/run</c>) everything proceeds unlocked, as before.
/// </summary>
internal sealed class BridgeLock : IDisposable
{
    /// <summary>Where the lock files live unless the plugin is given another directory.</summary>
    public const string DefaultDirectory = "/run/cni/bridge";

    private FileLock? _lock;

    private BridgeLock(FileLock? held) => _lock = held;

    /// <summary>Held while an ADD finds or creates the bridge and attaches its port.</summary>
    public static BridgeLock Shared(string directory, string bridge) => Take(directory, bridge, exclusive: false);

    /// <summary>Held while a rollback checks that the bridge is unused and deletes it.</summary>
    public static BridgeLock Exclusive(string directory, string bridge) => Take(directory, bridge, exclusive: true);

    private static BridgeLock Take(string directory, string bridge, bool exclusive)
    {
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new BridgeLock(null);
        }
        return new BridgeLock(FileLock.TryAcquire(Path.Combine(directory, bridge + ".lock"), exclusive));
    }

    /// <summary>True when the lock is held (false when it could not be taken and we proceed unlocked).</summary>
    public bool IsHeld => _lock is not null;

    /// <summary>Releases the lock.</summary>
    public void Dispose()
    {
        _lock?.Dispose();
        _lock = null;
    }
}
