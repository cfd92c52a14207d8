using System.Runtime.ExceptionServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using static Tmds.Linux.LibC;

namespace Cni.Netlink;

/// <summary>
/// A handle on a network namespace (an open <c>/proc/PID/ns/net</c> or <c>/var/run/netns/NAME</c> file).
/// </summary>
/// <remarks>
/// <c>setns</c> changes only the calling thread, and .NET moves work between threads freely, so
/// <see cref="Run{T}(Func{T})"/> enters the namespace on a dedicated, freshly started thread, runs
/// synchronous work there (open a netlink socket, open a <c>/proc/sys</c> file), switches back and lets the
/// thread end. Anything opened there (a socket, a file) stays bound to the namespace and can then be used
/// from any thread: that is how <see cref="RtNetlink.Open(NetNs)"/> and <see cref="Sysctl"/> work.
/// </remarks>
public sealed unsafe class NetNs : IDisposable
{
    /// <summary>Where named namespaces live (as with <c>ip netns add</c>).</summary>
    public const string RunDirectory = "/var/run/netns";

    private readonly SafeFileHandle _handle;

    private NetNs(SafeFileHandle handle, string? path)
    {
        _handle = handle;
        Path = path;
    }

    /// <summary>The path this handle was opened from, when known.</summary>
    public string? Path { get; }

    /// <summary>The file descriptor (valid until <see cref="Dispose"/>); what IFLA_NET_NS_FD and setns take.</summary>
    public int Fd => _handle.IsClosed ? throw new ObjectDisposedException(nameof(NetNs)) : (int)_handle.DangerousGetHandle();

    /// <summary>Opens the namespace file at <paramref name="path"/> (<c>/var/run/netns/NAME</c>, <c>/proc/PID/ns/net</c>, ...).</summary>
    /// <exception cref="NetlinkException">The file does not exist (<see cref="NetlinkException.IsNotFound"/>) or cannot be opened.</exception>
    public static NetNs Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        int fd = OpenFd(path, O_RDONLY | O_CLOEXEC, $"open network namespace {path}");
        var ns = new NetNs(new SafeFileHandle(fd, ownsHandle: true), path);
        try
        {
            // NS_GET_NSTYPE: refuse files that are not network namespaces (a plain file, a mount namespace ...).
            int type = ioctl(fd, NsGetNsType);
            if (type != CLONE_NEWNET)
                throw new NetlinkException(NetlinkException.EINVAL, $"open network namespace {path}", "not a network namespace file");
        }
        catch
        {
            ns.Dispose();
            throw;
        }
        return ns;
    }

    private const int NsGetNsType = 0xb703; // _IO(0xb7, 0x3)

    /// <summary>Identity of the namespace: device and inode of its nsfs file. Equal for every handle on the same namespace.</summary>
    public (ulong Device, ulong Inode) Id
    {
        get
        {
            Tmds.Linux.stat st;
            if (fstat(Fd, &st) != 0) throw new NetlinkException(errno, $"stat network namespace {this}");
            return ((ulong)st.st_dev, (ulong)st.st_ino);
        }
    }

    /// <summary>True when both handles refer to the same network namespace.</summary>
    public bool IsSameAs(NetNs other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Id == other.Id;
    }

    /// <summary>Opens the named namespace <c>/var/run/netns/<paramref name="name"/></c>.</summary>
    public static NetNs OpenNamed(string name) => Open(NamedPath(name));

    /// <summary>Opens the namespace of process <paramref name="pid"/>.</summary>
    public static NetNs OpenByPid(int pid) => Open($"/proc/{pid}/ns/net");

    /// <summary>Opens the namespace the calling thread is in.</summary>
    public static NetNs OpenCurrent() => Open("/proc/thread-self/ns/net");

    /// <summary>Wraps an already open namespace file descriptor (e.g. inherited from a runtime).</summary>
    /// <param name="fd">The descriptor.</param>
    /// <param name="ownsFd">Close <paramref name="fd"/> on <see cref="Dispose"/>.</param>
    public static NetNs FromFd(int fd, bool ownsFd) => new(new SafeFileHandle(fd, ownsFd), null);

    /// <summary>The path of a named namespace, after checking that <paramref name="name"/> is a plain file name.</summary>
    public static string NamedPath(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Contains('/') || name is "." or ".." || name.Contains('\0'))
            throw new ArgumentException($"invalid network namespace name '{name}'", nameof(name));
        return RunDirectory + "/" + name;
    }

    /// <summary>True when <c>/var/run/netns/<paramref name="name"/></c> exists.</summary>
    public static bool Exists(string name) => File.Exists(NamedPath(name));

    /// <summary>
    /// Creates a named network namespace the way <c>ip netns add</c> does: makes <c>/var/run/netns</c> a shared
    /// mount, creates the file, unshares a new namespace on a dedicated thread and bind-mounts it onto the file.
    /// </summary>
    /// <returns>An open handle on the new namespace.</returns>
    /// <exception cref="NetlinkException">The name is taken (<see cref="NetlinkException.IsExists"/>) or a syscall failed.</exception>
    public static NetNs Create(string name)
    {
        string path = NamedPath(name);
        PrepareRunDirectory();
        int fd = OpenFd(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, $"create network namespace {name}");
        close(fd);
        try
        {
            RunOnDedicatedThread(() =>
            {
                if (unshare(CLONE_NEWNET) != 0)
                    throw new NetlinkException(errno, $"unshare network namespace for {name}");
                string self = "/proc/thread-self/ns/net";
                if (Mount(self, path, null, MS_BIND) != 0)
                    throw new NetlinkException(errno, $"bind-mount {self} onto {path}");
                return 0;
            });
        }
        catch
        {
            Unlink(path);
            throw;
        }
        return Open(path);
    }

    /// <summary>Deletes a named namespace as <c>ip netns delete</c> does: lazy unmount, then unlink. The namespace itself
    /// lives on while anything still holds it (processes, open handles, sockets).</summary>
    /// <exception cref="NetlinkException">No such namespace (<see cref="NetlinkException.IsNotFound"/>).</exception>
    public static void Delete(string name)
    {
        string path = NamedPath(name);
        byte[] p = Utf8(path);
        fixed (byte* pp = p)
        {
            umount2(pp, MNT_DETACH); // may fail if not mounted; unlink decides
            if (unlink(pp) != 0)
                throw new NetlinkException(errno, $"delete network namespace {name}");
        }
    }

    /// <summary>
    /// Runs synchronous <paramref name="work"/> inside this namespace and returns its result: the calling thread enters
    /// the namespace, runs it and comes back (what the Go plugins do on a locked OS thread). Only this thread is in the
    /// namespace meanwhile, so do not start tasks, threads or await in <paramref name="work"/>; sockets it opens stay
    /// bound to the namespace. Starting a thread for each visit cost a plugin more than the visit itself.
    /// </summary>
    /// <exception cref="NetlinkException">The namespace could not be entered (nothing ran), or what
    /// <paramref name="work"/> throws (after the thread is back).</exception>
    public T Run<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        int original = OpenFd("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC, "open current network namespace");
        try
        {
            if (setns(Fd, CLONE_NEWNET) != 0)
                throw new NetlinkException(errno, $"enter network namespace {Path ?? "fd " + Fd}");
            try
            {
                return work();
            }
            finally
            {
                // A thread left in the container's namespace would go on with the host's work there: better no process.
                if (setns(original, CLONE_NEWNET) != 0)
                    Environment.FailFast($"could not return to the original network namespace (errno {errno})");
            }
        }
        finally
        {
            close(original);
        }
    }

    /// <summary>Runs synchronous <paramref name="work"/> inside this namespace, as <see cref="Run{T}(Func{T})"/>.</summary>
    public void Run(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        Run(() => { work(); return 0; });
    }

    /// <summary>Runs <paramref name="work"/> on a new thread that ends when done (for <c>unshare</c>, which cannot be undone).
    /// The thread records its namespace first and switches back afterwards; if that fails it ends anyway, so no code
    /// ever runs on it in the wrong namespace.</summary>
    private static T RunOnDedicatedThread<T>(Func<T> work)
    {
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                int original = OpenFd("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC, "open current network namespace");
                try
                {
                    result = work();
                }
                finally
                {
                    // Best effort: the thread ends right after this, whether or not we got back.
                    setns(original, CLONE_NEWNET);
                    close(original);
                }
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        }, maxStackSize: 256 * 1024)
        {
            IsBackground = true,
            Name = "netns",
        };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }

    private static void PrepareRunDirectory()
    {
        Directory.CreateDirectory(RunDirectory);
        // Make the directory a shared mount point so that namespaces mounted here appear in every mount
        // namespace (iproute2 does the same); bind it onto itself first when it is not yet a mount point.
        if (Mount("", RunDirectory, "none", MS_SHARED | MS_REC) == 0) return;
        int e = errno;
        if (e != EINVAL) throw new NetlinkException(e, $"make {RunDirectory} a shared mount");
        if (Mount(RunDirectory, RunDirectory, "none", MS_BIND | MS_REC) != 0)
            throw new NetlinkException(errno, $"bind-mount {RunDirectory} onto itself");
        if (Mount("", RunDirectory, "none", MS_SHARED | MS_REC) != 0)
            throw new NetlinkException(errno, $"make {RunDirectory} a shared mount");
    }

    private static int Mount(string source, string target, string? fsType, ulong flags)
    {
        byte[] s = Utf8(source), t = Utf8(target);
        byte[]? f = fsType is null ? null : Utf8(fsType);
        fixed (byte* ps = s)
        fixed (byte* pt = t)
        fixed (byte* pf = f)
        {
            return mount(ps, pt, pf, (Tmds.Linux.ulong_t)flags, null);
        }
    }

    private static void Unlink(string path)
    {
        byte[] p = Utf8(path);
        fixed (byte* pp = p) unlink(pp);
    }

    internal static int OpenFd(string path, int flags, string operation)
    {
        byte[] p = Utf8(path);
        fixed (byte* pp = p)
        {
            int fd = open(pp, flags, 0);
            if (fd < 0) throw new NetlinkException(errno, operation);
            return fd;
        }
    }

    private static byte[] Utf8(string s)
    {
        byte[] bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }

    /// <inheritdoc/>
    public override string ToString() => Path ?? $"netns fd {(int)_handle.DangerousGetHandle()}";

    /// <summary>Closes the handle (the namespace lives on while mounted or used).</summary>
    public void Dispose() => _handle.Dispose();
}
