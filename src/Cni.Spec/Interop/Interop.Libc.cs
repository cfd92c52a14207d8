using System.Runtime.InteropServices;

namespace Cni.Spec.Interop;

/// <summary>
/// The libc calls Cni.Spec needs and Tmds.LibC 0.5.0 does not carry (<c>poll</c>, <c>waitpid</c>, <c>waitid</c>,
/// <c>kill</c>, the <c>posix_spawn</c> family and three <c>pthread</c> calls), for <see cref="ChildProcess"/>. Everything Tmds.LibC has is
/// called through it.
/// </summary>
internal static unsafe partial class Libc
{
    private const string LibraryName = "libc";

    /// <summary>struct pollfd.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport(LibraryName)]
    internal static partial int pthread_create(nint* thread, nint attr, delegate* unmanaged<nint, nint> start, nint arg);

    [LibraryImport(LibraryName)]
    internal static partial int pthread_detach(nint thread);

    [LibraryImport(LibraryName)]
    internal static partial int pthread_setname_np(nint thread, byte* name);

    [LibraryImport(LibraryName, SetLastError = true)]
    internal static partial int poll(PollFd* fds, nuint count, int timeout);

    [LibraryImport(LibraryName, SetLastError = true)]
    internal static partial int waitpid(int pid, int* status, int options);

    [LibraryImport(LibraryName, SetLastError = true)]
    internal static partial int waitid(int idType, int id, byte* info, int options);

    [LibraryImport(LibraryName, SetLastError = true)]
    internal static partial int kill(int pid, int signal);

    [LibraryImport(LibraryName)]
    internal static partial int posix_spawn(int* pid, byte* path, byte* fileActions, byte* attr, nint* argv, nint* envp);

    [LibraryImport(LibraryName)]
    internal static partial int posix_spawn_file_actions_init(byte* actions);

    [LibraryImport(LibraryName)]
    internal static partial int posix_spawn_file_actions_destroy(byte* actions);

    [LibraryImport(LibraryName)]
    internal static partial int posix_spawn_file_actions_adddup2(byte* actions, int fd, int newFd);

    [LibraryImport(LibraryName)]
    internal static partial int posix_spawn_file_actions_addclosefrom_np(byte* actions, int from);

    [LibraryImport(LibraryName)]
    internal static partial int posix_spawnattr_init(byte* attr);

    [LibraryImport(LibraryName)]
    internal static partial int posix_spawnattr_destroy(byte* attr);

    [LibraryImport(LibraryName)]
    internal static partial int posix_spawnattr_setflags(byte* attr, short flags);

    [LibraryImport(LibraryName)]
    internal static partial int posix_spawnattr_setsigmask(byte* attr, byte* set);

    [LibraryImport(LibraryName)]
    internal static partial int posix_spawnattr_setsigdefault(byte* attr, byte* set);
}
