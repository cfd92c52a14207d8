namespace Cni.Netlink;

/// <summary>
/// The kernel refused a netlink request: carries the errno and the kernel's extended-ACK message
/// (for example "Unknown device type"). Use <see cref="IsExists"/>, <see cref="IsNotFound"/>,
/// <see cref="IsBusy"/> and <see cref="IsNotSupported"/> to tell the common cases apart.
/// </summary>
public class NetlinkException : Exception
{
    /// <summary>EPERM.</summary>
    public const int EPERM = 1;
    /// <summary>ENOENT.</summary>
    public const int ENOENT = 2;
    /// <summary>ESRCH.</summary>
    public const int ESRCH = 3;
    /// <summary>EBUSY.</summary>
    public const int EBUSY = 16;
    /// <summary>EEXIST.</summary>
    public const int EEXIST = 17;
    /// <summary>ENODEV.</summary>
    public const int ENODEV = 19;
    /// <summary>EINVAL.</summary>
    public const int EINVAL = 22;
    /// <summary>ERANGE.</summary>
    public const int ERANGE = 34;
    /// <summary>EOPNOTSUPP.</summary>
    public const int EOPNOTSUPP = 95;
    /// <summary>EADDRNOTAVAIL.</summary>
    public const int EADDRNOTAVAIL = 99;
    /// <summary>EPROTONOSUPPORT (some kernels answer this for unknown protocols).</summary>
    public const int EPROTONOSUPPORT = 93;

    /// <summary>Creates the exception for <paramref name="errno"/>, naming <paramref name="operation"/>.</summary>
    public NetlinkException(int errno, string operation, string? kernelMessage = null)
        : base(Format(errno, operation, kernelMessage))
    {
        Errno = errno;
        Operation = operation;
        KernelMessage = kernelMessage;
    }

    /// <summary>The positive errno (e.g. 17 for EEXIST).</summary>
    public int Errno { get; }

    /// <summary>What was being done, e.g. "add link veth0 (veth)".</summary>
    public string Operation { get; }

    /// <summary>The kernel's extended-ACK message (NLMSGERR_ATTR_MSG), when it sent one.</summary>
    public string? KernelMessage { get; }

    /// <summary>The object already exists (EEXIST).</summary>
    public bool IsExists => Errno == EEXIST;

    /// <summary>The object (link, address, route, namespace) does not exist (ENOENT, ENODEV, ESRCH, EADDRNOTAVAIL).</summary>
    public bool IsNotFound => Errno is ENOENT or ENODEV or ESRCH or EADDRNOTAVAIL;

    /// <summary>The object is in use (EBUSY).</summary>
    public bool IsBusy => Errno == EBUSY;

    /// <summary>The kernel lacks the feature, e.g. a link type whose module is missing (EOPNOTSUPP, EPROTONOSUPPORT).</summary>
    public bool IsNotSupported => Errno is EOPNOTSUPP or EPROTONOSUPPORT;

    /// <summary>The symbolic name of <see cref="Errno"/> (e.g. "EEXIST").</summary>
    public string ErrnoName => Name(Errno);

    private static string Format(int errno, string operation, string? kernelMessage)
    {
        string text = $"{operation}: {Name(errno)} ({Describe(errno)})";
        return string.IsNullOrEmpty(kernelMessage) ? text : $"{text}: {kernelMessage}";
    }

    internal static string Name(int errno) => errno switch
    {
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        ESRCH => "ESRCH",
        EBUSY => "EBUSY",
        EEXIST => "EEXIST",
        ENODEV => "ENODEV",
        EINVAL => "EINVAL",
        ERANGE => "ERANGE",
        EOPNOTSUPP => "EOPNOTSUPP",
        EPROTONOSUPPORT => "EPROTONOSUPPORT",
        EADDRNOTAVAIL => "EADDRNOTAVAIL",
        13 => "EACCES",
        11 => "EAGAIN",
        98 => "EADDRINUSE",
        4 => "EINTR",
        24 => "EMFILE",
        12 => "ENOMEM",
        105 => "ENOBUFS",
        101 => "ENETUNREACH",
        _ => "errno " + errno,
    };

    private static string Describe(int errno) => errno switch
    {
        EPERM => "operation not permitted",
        ENOENT => "no such file or directory",
        ESRCH => "no such process",
        EBUSY => "device or resource busy",
        EEXIST => "file exists",
        ENODEV => "no such device",
        EINVAL => "invalid argument",
        ERANGE => "numerical result out of range",
        EOPNOTSUPP => "operation not supported",
        EPROTONOSUPPORT => "protocol not supported",
        EADDRNOTAVAIL => "cannot assign requested address",
        13 => "permission denied",
        _ => "see errno(3)",
    };
}

/// <summary>A reply from the kernel that does not follow the netlink format, or that does not answer our request.</summary>
public sealed class NetlinkProtocolException : Exception
{
    /// <summary>Creates the exception with a description of what was malformed.</summary>
    public NetlinkProtocolException(string message) : base(message) { }
}
