using System.Net.Sockets;
using System.Security.Cryptography;
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
/// What the sub-interface plugins (macvlan, vlan, ipvlan) share: finding the master (by name or from the default
/// route, in the host or in the container), creating the link under a temporary name straight in the container
/// namespace and renaming it to <c>CNI_IFNAME</c> there, and an idempotent DEL.
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
        foreach (AddressFamily family in (ReadOnlySpan<AddressFamily>)[AddressFamily.InterNetwork, AddressFamily.InterNetworkV6])
        {
            IReadOnlyList<Route> routes;
            try
            {
                routes = netlink.ListRoutes(family);
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
                        return netlink.GetLink(index).Name;
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
    public static MasterLink FindMaster(string? name, bool inContainer, string? netNs)
    {
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
        if (inContainer)
        {
            using ContainerNamespace container = ContainerNamespace.Open(netNs);
            return new MasterLink(Lookup(container.Netlink, name, "in the container namespace"), true);
        }
        using RtNetlink host = RtNetlink.Open();
        return new MasterLink(Lookup(host, name, "in the host namespace"), false);
    }

    private static Link Lookup(RtNetlink netlink, string? name, string where)
    {
        name = string.IsNullOrEmpty(name) ? DefaultRouteInterface(netlink) : name;
        try
        {
            return netlink.GetLink(name);
        }
        catch (NetlinkException ex) when (ex.IsNotFound)
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"failed to lookup master \"{name}\" (master): no such interface {where}");
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

    /// <summary>A random name for a link that is about to be renamed ("cni" and 8 hex digits).</summary>
    public static string TemporaryName() => "cni" + Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();

    /// <summary>
    /// Creates a sub-interface of <paramref name="master"/> directly in the container under a temporary name (so that
    /// it can never collide with a host interface called like <paramref name="ifName"/>), registers its deletion with
    /// <paramref name="tx"/>, renames it to <paramref name="ifName"/> inside the container and returns it as it is then.
    /// </summary>
    /// <param name="container">The container namespace.</param>
    /// <param name="master">The master, in the host or in the container.</param>
    /// <param name="ifName">The final name (<c>CNI_IFNAME</c>).</param>
    /// <param name="kind">The link kind, for messages ("macvlan", "vlan", "ipvlan").</param>
    /// <param name="create">Creates the link: called with the rtnetlink of the master's namespace, the temporary name and
    /// the namespace to create it in (null when the master is in the container already).</param>
    /// <param name="tx">The ADD transaction.</param>
    /// <exception cref="CniException">The kernel refused the link (unsupported kind, bad MAC, ...) or the name is taken.</exception>
    public static Link CreateInContainer(ContainerNamespace container, MasterLink master, string ifName, string kind,
        Action<RtNetlink, string, NetNs?> create, AddTransaction tx)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(master);
        ArgumentNullException.ThrowIfNull(create);
        ArgumentNullException.ThrowIfNull(tx);
        if (container.Netlink.FindLink(ifName) is not null)
            throw new CniException(CniErrorCode.Internal, $"interface \"{ifName}\" already exists in the container (CNI_IFNAME)");

        using RtNetlink? host = master.InContainer ? null : RtNetlink.Open();
        RtNetlink creator = host ?? container.Netlink;
        string tmpName;
        for (int attempt = 0; ; attempt++)
        {
            tmpName = TemporaryName();
            try
            {
                create(creator, tmpName, master.InContainer ? null : container.Handle);
                break;
            }
            catch (NetlinkException ex) when (ex.IsExists && attempt < 5)
            {
                // A temporary-name collision (in the host or the container): draw another name.
            }
            catch (NetlinkException ex) when (ex.IsNotSupported || ex.Errno == NetlinkException.EINVAL && ex.KernelMessage?.Contains("Unknown device type", StringComparison.OrdinalIgnoreCase) == true)
            {
                throw new CniException(CniErrorCode.Internal, $"failed to create {kind}: this kernel does not support {kind} links (module missing?): {ex.Message}");
            }
            catch (NetlinkException ex)
            {
                throw new CniException(CniErrorCode.Internal, $"failed to create {kind}: {ex.Message}");
            }
        }

        Link created = container.Netlink.FindLink(tmpName)
            ?? throw new CniException(CniErrorCode.Internal, $"failed to create {kind}: \"{tmpName}\" did not appear in the container");
        int index = created.Index;
        tx.OnRollback($"delete {kind} {ifName} in the container", () =>
        {
            if (container.Netlink.FindLink(index) is { } link)
                LinkRemoval.Delete(container.Netlink, container.Handle, link);
        });

        try
        {
            container.Netlink.SetName(index, ifName);
        }
        catch (NetlinkException ex)
        {
            throw new CniException(CniErrorCode.Internal, $"failed to rename {kind} to \"{ifName}\": {ex.Message}");
        }
        try
        {
            return container.Netlink.GetLink(index);
        }
        catch (NetlinkException ex)
        {
            throw new CniException(CniErrorCode.Internal, $"failed to refetch {kind} \"{ifName}\": {ex.Message}");
        }
    }

    /// <summary>
    /// The result of a sub-interface ADD, applied: <paramref name="link"/> (now called <c>CNI_IFNAME</c>) as the only
    /// interface, in the container; with <paramref name="addresses"/>, every address on it (<c>interface</c> 0) with the
    /// routes and DNS, configured in the container (which brings the link up); without (L2 only), the link just set up.
    /// The network configuration's <c>dns</c>, when set, replaces the addresses' DNS.
    /// </summary>
    /// <param name="request">The ADD request.</param>
    /// <param name="container">The container namespace.</param>
    /// <param name="link">The link as created and renamed.</param>
    /// <param name="addresses">The IPAM result (or the previous result when chained); null for an L2-only link.</param>
    /// <param name="options">How to configure the interface (see <see cref="InterfaceConfigurator.Configure"/>).</param>
    /// <exception cref="CniException">The kernel refused an address, a route, or setting the link up.</exception>
    public static CniResult ConfigureResult(CniRequest request, ContainerNamespace container, Link link, CniResult? addresses, InterfaceConfigOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(link);
        var result = new CniResult
        {
            Interfaces = [new CniInterface { Name = link.Name, Mac = InterfaceChecks.FormatMac(link.MacAddress), Mtu = link.Mtu, Sandbox = container.Path }],
        };
        if (addresses is not null)
        {
            result.Ips = addresses.Ips;
            foreach (CniIPConfig ip in result.Ips)
                ip.Interface = 0;
            result.Routes = addresses.Routes;
            result.Dns = addresses.Dns;
            InterfaceConfigurator.Configure(container, request.IfName, result, options);
        }
        else
        {
            try
            {
                container.Netlink.SetLinkUp(link.Index);
            }
            catch (NetlinkException ex)
            {
                throw new CniException(CniErrorCode.Internal, $"failed to set \"{request.IfName}\" up: {ex.Message}");
            }
        }
        if (request.Config.Dns is { IsEmpty: false } dns)
            result.Dns = dns;
        return result;
    }

    /// <summary>
    /// The DEL of a sub-interface plugin: deletes <c>CNI_IFNAME</c> in the container (a missing namespace, a path that is
    /// no network namespace any more, or a missing interface is success; an empty <c>CNI_NETNS</c> skips it) and
    /// releases the addresses when <c>ipam</c> names a plugin, in the order <see cref="IpamOrder.DelAsync"/> gives. The
    /// master is never looked at, so DEL works after it was deleted.
    /// </summary>
    public static Task DeleteAsync(IpamInvoker ipam, CniRequest request, CancellationToken cancellationToken) =>
        IpamOrder.DelAsync(ipam, request, () =>
        {
            DeleteLink(request);
            return Task.CompletedTask;
        }, cancellationToken);

    private static void DeleteLink(CniRequest request)
    {
        using ContainerNamespace? container = ContainerNamespace.TryOpen(request.NetNs);
        RtNetlink? netlink = container?.TryConnect();
        if (netlink?.FindLink(request.IfName) is not { } link)
            return;
        try
        {
            LinkRemoval.Delete(netlink, container!.Handle, link);
        }
        catch (NetlinkException ex)
        {
            throw new CniException(CniErrorCode.Internal, $"failed to delete \"{request.IfName}\": {ex.Message}");
        }
    }

    /// <summary>
    /// The CHECK steps every sub-interface plugin shares: the interface of <c>prevResult</c> called <c>CNI_IFNAME</c> in
    /// sandbox <c>CNI_NETNS</c>, the live link of <paramref name="kind"/> with that name, its MAC and MTU, then the
    /// addresses and routes of <c>prevResult</c>. Returns the live link for kind-specific checks.
    /// </summary>
    /// <param name="request">The CHECK request.</param>
    /// <param name="container">The container namespace.</param>
    /// <param name="prev">The previous result.</param>
    /// <param name="kind">The expected link kind.</param>
    /// <param name="mtu">The configured MTU; 0 skips the MTU comparison unless prevResult has one.</param>
    public static Link Check(CniRequest request, ContainerNamespace container, CniResult prev, string kind, int mtu)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(prev);
        int at = InterfaceChecks.FindInterface(prev, request.IfName, request.NetNs);
        if (at < 0)
            throw new CniException(CniErrorCode.Internal, $"Sandbox in prevResult doesn't match configured netns: no interface {request.IfName} in sandbox {request.NetNs}");
        CniInterface expected = prev.Interfaces[at];
        Link link = container.Netlink.FindLink(request.IfName)
            ?? throw new CniException(CniErrorCode.Internal, $"Container Interface name in prevResult: {request.IfName} not found");
        if (link.Kind != kind)
            throw new CniException(CniErrorCode.Internal, $"Error: Container interface {link.Name} not of type {kind} (it is {link.Kind ?? "a device without kind"})");
        InterfaceChecks.ValidateMac("Interface", expected.Mac, link);
        int wantedMtu = mtu > 0 ? mtu : expected.Mtu ?? 0;
        if (wantedMtu > 0 && link.Mtu != wantedMtu)
            throw new CniException(CniErrorCode.Internal, $"Error: configured MTU of {link.Name} is {wantedMtu}, current value is {link.Mtu}");
        InterfaceChecks.ValidateAddresses(container.Netlink, request.IfName, prev, at);
        InterfaceChecks.ValidateRoutes(container.Netlink, prev.Routes);
        return link;
    }
}
