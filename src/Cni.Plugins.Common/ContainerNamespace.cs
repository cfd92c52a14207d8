using Cni.Netlink;
using Cni.Spec;

namespace Cni.Plugins.Common;

/// <summary>
/// The container's network namespace, opened for one command: the namespace handle plus an rtnetlink socket bound
/// to it (created inside the namespace once, then usable from any thread).
/// </summary>
public sealed class ContainerNamespace : IDisposable
{
    private RtNetlink? _netlink;

    private ContainerNamespace(NetNs ns) => Handle = ns;

    /// <summary>The namespace path (<c>CNI_NETNS</c>).</summary>
    public string Path => Handle.Path ?? "";

    /// <summary>The namespace handle (for <see cref="VethOptions.PeerNamespace"/>); usable without entering the namespace.</summary>
    public NetNs Handle { get; }

    /// <summary>rtnetlink inside the namespace, opened on first use (one visit to the namespace on a dedicated thread).</summary>
    public RtNetlink Netlink => _netlink ?? Connect([]);

    /// <summary>
    /// Opens the rtnetlink socket inside the namespace and writes <paramref name="sysctls"/> in the same visit (each
    /// visit is two <c>setns</c> calls and an open). Returns the socket; when already connected, only writes the
    /// sysctls.
    /// </summary>
    public RtNetlink Connect(IEnumerable<SysctlSetting> sysctls)
    {
        SysctlSetting[] list = sysctls.ToArray();
        if (_netlink is not null)
        {
            SetSysctls(list);
            return _netlink;
        }
        try
        {
            // One visit: the socket opened inside stays bound to the namespace.
            _netlink = Handle.Run(() =>
            {
                RtNetlink netlink = RtNetlink.Open();
                try
                {
                    ApplySysctls(null, list);
                }
                catch
                {
                    netlink.Dispose();
                    throw;
                }
                return netlink;
            });
        }
        catch (NetlinkException ex)
        {
            throw new CniException(CniErrorCode.IoFailure, $"failed to enter netns \"{Path}\": {ex.Message}");
        }
        return _netlink;
    }

    /// <summary>
    /// rtnetlink inside the namespace, or null when the path is not a network namespace any more (a leftover file
    /// after the container died: <c>setns</c> answers EINVAL). For DEL, which must treat that as "gone".
    /// </summary>
    public RtNetlink? TryConnect()
    {
        if (_netlink is not null)
            return _netlink;
        try
        {
            _netlink = Handle.Run(() => RtNetlink.Open());
        }
        catch (NetlinkException ex) when (ex.Errno == NetlinkException.EINVAL)
        {
            return null;
        }
        catch (NetlinkException ex)
        {
            throw new CniException(CniErrorCode.IoFailure, $"failed to enter netns \"{Path}\": {ex.Message}");
        }
        return _netlink;
    }

    /// <summary>
    /// Opens <paramref name="path"/>; a missing or unusable namespace is a CNI error naming <c>CNI_NETNS</c>
    /// (code 5, I/O failure, as the reference's "failed to open netns"); an empty path is code 4.
    /// </summary>
    public static ContainerNamespace Open(string? path)
    {
        if (string.IsNullOrEmpty(path))
            throw new CniException(CniErrorCode.InvalidEnvironmentVariables, "missing network namespace (CNI_NETNS)");
        try
        {
            return new ContainerNamespace(NetNs.Open(path));
        }
        catch (NetlinkException ex) when (ex.IsNotFound)
        {
            throw new CniException(CniErrorCode.IoFailure, $"failed to open netns \"{path}\": no such namespace (CNI_NETNS)");
        }
        catch (NetlinkException ex)
        {
            throw new CniException(CniErrorCode.IoFailure, $"failed to open netns \"{path}\" (CNI_NETNS): {ex.Message}");
        }
    }

    /// <summary>
    /// Opens <paramref name="path"/> for DEL, which must treat a namespace that is gone as success: returns null for an
    /// empty path, a missing file, or a file that is no network namespace any more (a leftover mount point after the
    /// container died).
    /// </summary>
    public static ContainerNamespace? TryOpen(string? path)
    {
        if (string.IsNullOrEmpty(path))
            return null;
        try
        {
            return new ContainerNamespace(NetNs.Open(path));
        }
        catch (NetlinkException ex) when (ex.IsNotFound || ex.Errno == NetlinkException.EINVAL)
        {
            return null;
        }
        catch (NetlinkException ex)
        {
            throw new CniException(CniErrorCode.IoFailure, $"failed to open netns \"{path}\" (CNI_NETNS): {ex.Message}");
        }
    }

    /// <summary>
    /// <see cref="TryOpen"/> with rtnetlink already connected inside (<see cref="TryConnect"/>): null as well when the
    /// file is there but is no network namespace any more. For DEL.
    /// </summary>
    public static ContainerNamespace? TryOpenConnected(string? path)
    {
        ContainerNamespace? container = TryOpen(path);
        if (container is null)
            return null;
        try
        {
            if (container.TryConnect() is not null)
                return container;
        }
        catch
        {
            container.Dispose();
            throw;
        }
        container.Dispose();
        return null;
    }

    /// <summary>
    /// Writes kernel parameters inside the namespace in one visit (one dedicated thread). Keys are paths below
    /// <c>/proc/sys</c> with '/' separators (so interface names may contain dots), e.g. <c>net/ipv4/conf/eth0/arp_notify</c>.
    /// Entries marked optional are skipped when they fail (missing IPv6, read-only); a required failure throws.
    /// </summary>
    public void SetSysctls(IEnumerable<SysctlSetting> settings) => ApplySysctls(Handle, settings);

    /// <summary>Writes kernel parameters in <paramref name="ns"/> (the calling thread's namespace when null).</summary>
    public static void ApplySysctls(NetNs? ns, IEnumerable<SysctlSetting> settings)
    {
        SysctlSetting[] list = settings.ToArray();
        if (list.Length == 0)
            return;
        void Apply()
        {
            foreach (SysctlSetting s in list)
            {
                try
                {
                    if (s.OnlyIfDifferent && Sysctl.Get(s.Key) == s.Value)
                        continue;
                    Sysctl.Set(s.Key, s.Value);
                }
                catch (NetlinkException ex) when (s.Optional)
                {
                    _ = ex;
                }
                catch (NetlinkException ex)
                {
                    throw new CniException(CniErrorCode.Internal, $"failed to set sysctl {s.Key}={s.Value}: {ex.Message}");
                }
            }
        }
        if (ns is null)
            Apply();
        else
            ns.Run(Apply);
    }

    /// <summary>Closes the socket and the namespace handle.</summary>
    public void Dispose()
    {
        _netlink?.Dispose();
        Handle.Dispose();
    }
}

/// <summary>One kernel parameter to write.</summary>
/// <param name="Key">Path below <c>/proc/sys</c> with '/' separators, e.g. <c>net/ipv6/conf/eth0/accept_dad</c>.</param>
/// <param name="Value">The value to write.</param>
/// <param name="Optional">Ignore failures (the reference ignores most of them).</param>
/// <param name="OnlyIfDifferent">Read first and write only when the value differs.</param>
public readonly record struct SysctlSetting(string Key, string Value, bool Optional = true, bool OnlyIfDifferent = false);
