using System.Text;

namespace Cni.Netlink;

/// <summary>
/// Reads and writes kernel parameters under <c>/proc/sys</c>, optionally in another network namespace
/// (the file is opened inside the namespace on a dedicated thread, then read or written from the calling thread).
/// </summary>
public static class Sysctl
{
    /// <summary>
    /// The <c>/proc/sys</c> path of <paramref name="key"/>: dotted (<c>net.ipv4.ip_forward</c>) or, when the key
    /// contains a slash, a path below /proc/sys (<c>net/ipv4/conf/eth0.5/arp_notify</c>, for names with dots).
    /// </summary>
    public static string PathOf(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        string relative = key.Contains('/') ? key.TrimStart('/') : key.Replace('.', '/');
        if (relative.Split('/').Any(s => s is "" or "." or ".."))
            throw new ArgumentException($"invalid sysctl key '{key}'", nameof(key));
        return "/proc/sys/" + relative;
    }

    /// <summary>Reads a value (trailing newline removed), in <paramref name="ns"/> when given.</summary>
    /// <exception cref="NetlinkException">The key does not exist (<see cref="NetlinkException.IsNotFound"/>) or cannot be read.</exception>
    public static unsafe string Get(string key, NetNs? ns = null)
    {
        int fd = OpenIn(PathOf(key), write: false, ns);
        try
        {
            byte[] buffer = new byte[4096];
            int total = 0;
            while (true)
            {
                long n;
                fixed (byte* p = &buffer[total])
                    n = Tmds.Linux.LibC.read(fd, p, buffer.Length - total);
                if (n < 0)
                {
                    int e = Tmds.Linux.LibC.errno;
                    if (e == Tmds.Linux.LibC.EINTR) continue;
                    throw new NetlinkException(e, $"read sysctl {key}");
                }
                if (n == 0) break;
                total += (int)n;
                if (total == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
            }
            return Encoding.UTF8.GetString(buffer, 0, total).TrimEnd('\n');
        }
        finally
        {
            Tmds.Linux.LibC.close(fd);
        }
    }

    /// <summary>Writes a value, in <paramref name="ns"/> when given.</summary>
    /// <exception cref="NetlinkException">The key does not exist or the kernel refused the value (EINVAL, EPERM ...).</exception>
    public static unsafe void Set(string key, string value, NetNs? ns = null)
    {
        ArgumentNullException.ThrowIfNull(value);
        int fd = OpenIn(PathOf(key), write: true, ns);
        try
        {
            byte[] bytes = Encoding.UTF8.GetBytes(value);
            fixed (byte* p = bytes)
            {
                while (true)
                {
                    long n = Tmds.Linux.LibC.write(fd, p, bytes.Length);
                    if (n >= 0) return;
                    int e = Tmds.Linux.LibC.errno;
                    if (e != Tmds.Linux.LibC.EINTR) throw new NetlinkException(e, $"write sysctl {key}={value}");
                }
            }
        }
        finally
        {
            Tmds.Linux.LibC.close(fd);
        }
    }

    private static int OpenIn(string path, bool write, NetNs? ns)
    {
        int flags = (write ? Tmds.Linux.LibC.O_WRONLY : Tmds.Linux.LibC.O_RDONLY) | Tmds.Linux.LibC.O_CLOEXEC;
        string op = (write ? "open for writing " : "open ") + path;
        return ns is null
            ? NetNs.OpenFd(path, flags, op)
            : ns.Run(() => NetNs.OpenFd(path, flags, op));
    }
}
