using System.Net;
using System.Net.Sockets;
using Cni.Netlink;
using Cni.Spec;

namespace Cni.Plugins.Common;

/// <summary>How <see cref="InterfaceConfigurator.Configure"/> treats the container interface.</summary>
public sealed class InterfaceConfigOptions
{
    /// <summary>Run IPv6 duplicate address detection (<c>enabledad</c>): sets accept_dad/enhanced_dad and waits for the
    /// addresses to leave the tentative state. Off (the default): addresses are added with IFA_F_NODAD and accept_dad=0.</summary>
    public bool EnableDad { get; init; }

    /// <summary>Set <c>arp_notify=1</c> so that the interface announces its addresses when it comes up (default true).</summary>
    public bool ArpNotify { get; init; } = true;

    /// <summary>Set IPv6 <c>ndisc_notify=1</c> so that the interface sends unsolicited neighbour advertisements when it
    /// comes up or its MAC changes (default false; the reference macvlan and ipvlan plugins set it). Best effort: ignored
    /// where IPv6 is disabled.</summary>
    public bool NdiscNotify { get; init; }

    /// <summary>How long to wait for IPv6 DAD when <see cref="EnableDad"/> is set.</summary>
    public TimeSpan DadTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// Applies an IPAM result to an interface inside the container (what Go's <c>ipam.ConfigureIface</c> does): kernel
/// settings, link up, the addresses whose <c>interface</c> index names this interface, then the routes, whose missing
/// gateways default to the first gateway of their family. Nothing here needs an undo of its own: the caller's undo
/// deletes the interface, which takes its addresses and routes with it.
/// </summary>
public static class InterfaceConfigurator
{
    /// <summary>Configures <paramref name="ifName"/> in <paramref name="container"/> from <paramref name="result"/>.</summary>
    /// <exception cref="CniException">The interface is missing, an <c>interface</c> index is invalid, or the kernel refused
    /// an address or a route (the message names it).</exception>
    public static void Configure(ContainerNamespace container, string ifName, CniResult result, InterfaceConfigOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(result);
        options ??= new InterfaceConfigOptions();
        List<CniIPConfig> mine = [];
        foreach (CniIPConfig ip in result.Ips)
        {
            if (ip.Interface is not int index)
                continue;
            if (index < 0 || index >= result.Interfaces.Count || result.Interfaces[index].Name != ifName)
                throw new CniException(CniErrorCode.Internal, $"failed to add IP addr {ip.Address} to \"{ifName}\": invalid interface index {index}");
            mine.Add(ip);
        }
        bool hasV6 = mine.Any(ip => ip.Address.Family == AddressFamily.InterNetworkV6);

        // Kernel settings first, in the same namespace visit that opens the socket when not connected yet.
        RtNetlink nl = container.Connect(Sysctls(ifName, hasV6, options));
        Link link = nl.FindLink(ifName) ?? throw new CniException(CniErrorCode.Internal, $"failed to lookup \"{ifName}\": no such interface in the container");

        Netlink(() => nl.SetLinkUp(link.Index), $"failed to set \"{ifName}\" up");

        IPAddress? v4gw = null, v6gw = null;
        foreach (CniIPConfig ip in mine)
        {
            IPPrefix a = ip.Address;
            var addressOptions = new AddressOptions
            {
                Flags = options.EnableDad || a.Family == AddressFamily.InterNetwork ? AddressFlags.None : AddressFlags.NoDad,
                Broadcast = a.Family == AddressFamily.InterNetwork && a.PrefixLength < 31 ? Broadcast(a) : null,
            };
            Netlink(() => nl.AddAddress(link.Index, a.Address, a.PrefixLength, addressOptions), $"failed to add IP addr {a} to \"{ifName}\"");
            if (ip.Gateway is { } gw)
            {
                if (gw.AddressFamily == AddressFamily.InterNetwork) v4gw ??= gw;
                else v6gw ??= gw;
            }
        }

        if (options.EnableDad && hasV6)
            WaitForDad(nl, link.Index, ifName, options.DadTimeout);

        foreach (CniRoute r in result.Routes)
        {
            bool isV4 = r.Dst.Family == AddressFamily.InterNetwork;
            IPAddress? gw = r.Gw ?? (isV4 ? v4gw : v6gw);
            var route = new Route
            {
                Family = r.Dst.Family,
                Destination = r.Dst.Network.Address,
                PrefixLength = r.Dst.PrefixLength,
                Gateway = gw,
                OutputLinkIndex = link.Index,
                Mtu = (uint?)r.Mtu,
                AdvMss = (uint?)r.AdvMss,
                Priority = (uint?)r.Priority,
                Table = (uint?)r.Table,
                Scope = r.Scope is int scope ? (RouteScope)scope : null,
            };
            try
            {
                nl.AddRoute(route);
            }
            catch (NetlinkException ex) when (ex.IsExists)
            {
                // Already there (e.g. the same route from two IPAM ranges): what Go's RouteAddEcmp tolerates.
            }
            catch (NetlinkException ex)
            {
                throw new CniException(CniErrorCode.Internal, $"failed to add route '{r.Dst} via {gw?.ToString() ?? "<nil>"} dev {ifName}': {ex.Message}");
            }
        }
    }

    /// <summary>
    /// The kernel settings <see cref="Configure"/> applies to <paramref name="ifName"/>: IPv6 enabled on lo and the
    /// interface when it gets an IPv6 address, DAD as configured, arp_notify and ndisc_notify as configured.
    /// </summary>
    public static List<SysctlSetting> Sysctls(string ifName, bool hasIPv6, InterfaceConfigOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var sysctls = new List<SysctlSetting>();
        string v6 = $"net/ipv6/conf/{ifName}/";
        if (hasIPv6)
        {
            // IPv6 must be enabled on lo and the interface before an IPv6 address can be added.
            sysctls.Add(new("net/ipv6/conf/lo/disable_ipv6", "0", OnlyIfDifferent: true));
            sysctls.Add(new(v6 + "disable_ipv6", "0", OnlyIfDifferent: true));
        }
        if (options.EnableDad)
        {
            sysctls.Add(new(v6 + "enhanced_dad", "1"));
            sysctls.Add(new(v6 + "accept_dad", "1"));
        }
        else
        {
            sysctls.Add(new(v6 + "accept_dad", "0"));
        }
        if (options.ArpNotify)
            sysctls.Add(new($"net/ipv4/conf/{ifName}/arp_notify", "1"));
        if (options.NdiscNotify)
            sysctls.Add(new(v6 + "ndisc_notify", "1"));
        return sysctls;
    }

    /// <summary>The IPv4 broadcast address of <paramref name="prefix"/> (all host bits set).</summary>
    public static IPAddress Broadcast(IPPrefix prefix) => IPArithmetic.LastAddress(prefix.Address, prefix.PrefixLength);

    private static void WaitForDad(RtNetlink nl, int index, string ifName, TimeSpan timeout)
    {
        try
        {
            nl.WaitForAddressesSettled(index, timeout);
        }
        catch (NetlinkException ex)
        {
            throw new CniException(CniErrorCode.Internal, $"duplicate address detection failed on \"{ifName}\": the address is in use on the link ({ex.Message})");
        }
        catch (TimeoutException ex)
        {
            throw new CniException(CniErrorCode.Internal, $"IPv6 addresses on \"{ifName}\" still tentative: {ex.Message}");
        }
    }

    private static void Netlink(Action action, string what)
    {
        try
        {
            action();
        }
        catch (NetlinkException ex)
        {
            throw new CniException(CniErrorCode.Internal, $"{what}: {ex.Message}");
        }
    }
}
