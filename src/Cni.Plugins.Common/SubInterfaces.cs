using System.Net.Sockets;
using Cni.Netlink;
using Cni.Spec;

namespace Cni.Plugins.Common;

/// <summary>
/// The master of a sub-interface (macvlan, vlan, ipvlan): the link it hangs off, and the namespace that holds it
/// (the host's, or the container's with <c>linkInContainer</c>).
/// </summary>
/// <param name="Link">The master link as found when the configuration was loaded.</param>
/// <param name="InContainer">True when the master lives in the container namespace (<c>linkInContainer</c>).</param>
public sealed record MasterLink(Link Link, bool InContainer)
{
    /// <summary>The master's name.</summary>
    public string Name => Link.Name;
}

/// <summary>
/// What the sub-interface plugins (macvlan, vlan, ipvlan) share outside their command flow (which is
/// <see cref="SubInterfacePlugin{TSettings}"/>): finding the master (by name or from the default route, in the host or
/// in the container), the MTU rule, the fallback name of a link being created, and an idempotent DEL.
/// </summary>
public static class SubInterfaces
{
    /// <summary>
    /// The name of the interface of the first default route (IPv4, then IPv6) of the main table of
    /// <paramref name="netlink"/>'s namespace.
    /// </summary>
    /// <exception cref="CniException">No default route: the message says to set <c>master</c>.</exception>
    public static string DefaultRouteInterface(RtNetlink netlink)
    {
        ArgumentNullException.ThrowIfNull(netlink);
        return DefaultRouteInterface(family => netlink.ListRoutes(family), index => netlink.GetLink(index));
    }

    /// <summary>The name of the interface of the first default route (IPv4, then IPv6) of <paramref name="ns"/>'s main table.</summary>
    /// <exception cref="CniException">No default route: the message says to set <c>master</c>.</exception>
    public static string DefaultRouteInterface(ISubInterfaceNamespace ns)
    {
        ArgumentNullException.ThrowIfNull(ns);
        return DefaultRouteInterface(family => ns.ListRoutes(family),
            index => ns.FindLink(index) ?? throw new NetlinkException(NetlinkException.ENODEV, "get link", "no such device"));
    }

    private static string DefaultRouteInterface(Func<AddressFamily, IReadOnlyList<Route>> listRoutes, Func<int, Link> getLink)
    {
        foreach (AddressFamily family in (ReadOnlySpan<AddressFamily>)[AddressFamily.InterNetwork, AddressFamily.InterNetworkV6])
        {
            IReadOnlyList<Route> routes;
            try
            {
                routes = listRoutes(family);
            }
            catch (NetlinkException ex)
            {
                throw new CniException(CniErrorCode.Internal, $"failed to list routes looking for the default route interface: {ex.Message}");
            }
            foreach (Route r in routes)
            {
                if (r.IsDefault && r.OutputLinkIndex is int index)
                {
                    try
                    {
                        return getLink(index).Name;
                    }
                    catch (NetlinkException ex)
                    {
                        throw new CniException(CniErrorCode.Internal, $"failed to look up the default route interface (index {index}): {ex.Message}");
                    }
                }
            }
        }
        throw new CniException(CniErrorCode.InvalidNetworkConfig, "no default route interface found: set \"master\" (master)");
    }

    /// <summary>
    /// Finds the master: <paramref name="name"/> when given, otherwise the default-route interface, in the host or, with
    /// <paramref name="inContainer"/>, in the container namespace <paramref name="netNs"/>.
    /// </summary>
    /// <exception cref="CniException">The master (or the namespace holding it) does not exist; the message names <c>master</c>.</exception>
    public static MasterLink FindMaster(string? name, bool inContainer, string? netNs) =>
        FindMaster(new NetlinkSubInterfaceKernel(), name, inContainer, netNs);

    /// <summary>As <see cref="FindMaster(string?, bool, string?)"/>, through <paramref name="kernel"/>.</summary>
    /// <exception cref="CniException">The master (or the namespace holding it) does not exist; the message names <c>master</c>.</exception>
    public static MasterLink FindMaster(ISubInterfaceKernel kernel, string? name, bool inContainer, string? netNs)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        if (!string.IsNullOrEmpty(name))
        {
            try
            {
                RtNetlink.ValidateName(name);
            }
            catch (ArgumentException)
            {
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid master name \"{name}\" (master): 1-15 characters, no '/', ':' or whitespace");
            }
        }
        using ISubInterfaceNamespace ns = inContainer ? kernel.OpenContainer(netNs) : kernel.OpenHost();
        return new MasterLink(Lookup(ns, name, inContainer ? "in the container namespace" : "in the host namespace"), inContainer);
    }

    private static Link Lookup(ISubInterfaceNamespace ns, string? name, string where)
    {
        name = string.IsNullOrEmpty(name) ? DefaultRouteInterface(ns) : name;
        try
        {
            return ns.FindLink(name)
                ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, $"failed to lookup master \"{name}\" (master): no such interface {where}");
        }
        catch (NetlinkException ex)
        {
            throw new CniException(CniErrorCode.Internal, $"failed to lookup master \"{name}\" (master): {ex.Message}");
        }
    }

    /// <summary>Checks <c>mtu</c> against the master's: 0 (inherit) up to the master's MTU.</summary>
    /// <exception cref="CniException">Out of range (invalid configuration, naming <c>mtu</c>).</exception>
    public static void ValidateMtu(int mtu, MasterLink master)
    {
        ArgumentNullException.ThrowIfNull(master);
        if (mtu < 0 || mtu > master.Link.Mtu)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid MTU {mtu}, must be [0, master MTU({master.Link.Mtu})] (mtu)");
    }

    /// <summary>
    /// The name a sub-interface is created under when the kernel refuses <c>CNI_IFNAME</c> because the creating (host)
    /// namespace has a link of that name: "cni" and 12 hex digits of the SHA-512 of the container id and
    /// <paramref name="ifName"/>. Deterministic, so that DEL finds a link an interrupted ADD left under it.
    /// </summary>
    public static string TemporaryName(string containerId, string ifName) =>
        "cni" + ManagedSha512.HexOf(containerId + "\0" + ifName)[..12];

    /// <summary>
    /// The DEL of a sub-interface plugin: deletes <c>CNI_IFNAME</c> in the container (a missing namespace, a path that is
    /// no network namespace any more, or a missing interface is success; an empty <c>CNI_NETNS</c> skips it) and
    /// releases the addresses when <c>ipam</c> names a plugin, in the order <see cref="IpamOrder.DelAsync"/> gives. The
    /// master is never looked at, so DEL works after it was deleted.
    /// </summary>
    public static Task DeleteAsync(IpamInvoker ipam, CniRequest request, CancellationToken cancellationToken) =>
        DeleteAsync(new NetlinkSubInterfaceKernel(), ipam, request, null, cancellationToken);

    /// <summary>
    /// As <see cref="DeleteAsync(IpamInvoker, CniRequest, CancellationToken)"/> through <paramref name="kernel"/>; with
    /// <paramref name="kind"/>, a link of that kind left under <see cref="TemporaryName"/> by an interrupted ADD is
    /// deleted too.
    /// </summary>
    public static Task DeleteAsync(ISubInterfaceKernel kernel, IpamInvoker ipam, CniRequest request, string? kind, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(request);
        return IpamOrder.DelAsync(ipam, request, () =>
        {
            DeleteLinks(kernel, request, kind);
            return Task.CompletedTask;
        }, cancellationToken);
    }

    private static void DeleteLinks(ISubInterfaceKernel kernel, CniRequest request, string? kind)
    {
        using ISubInterfaceNamespace? container = kernel.TryOpenContainer(request.NetNs);
        if (container is null)
            return;
        DeleteIfPresent(container, request.IfName, null);
        if (kind is not null && !string.IsNullOrEmpty(request.ContainerId))
            DeleteIfPresent(container, TemporaryName(request.ContainerId, request.IfName), kind);
    }

    private static void DeleteIfPresent(ISubInterfaceNamespace container, string name, string? kind)
    {
        try
        {
            if (container.FindLink(name) is { } link && (kind is null || link.Kind == kind))
                container.DeleteLink(link);
        }
        catch (NetlinkException ex)
        {
            throw new CniException(CniErrorCode.Internal, $"failed to delete \"{name}\": {ex.Message}");
        }
    }
}
