using System.Net;
using System.Net.Sockets;
using Cni.Netlink;
using Cni.Plugins.Common;
using Cni.Spec;

namespace Cni.Plugins.Ptp;

/// <summary>
/// The <c>ptp</c> CNI plugin: a point-to-point link between the container and the host over a veth pair. The
/// container end gets the addresses from IPAM; the host end gets each gateway as a /32 (/128) address (the same gateway
/// on every host end of the network), and the host routes each container address to its host end. Inside the
/// container all traffic, the container's own subnet included, goes via the gateway, which is reached on the link.
/// ADD is a transaction (a failure leaves no veth, no reservation, no rule); DEL is idempotent and works without
/// <c>CNI_NETNS</c>; CHECK names what drifted.
/// </summary>
public class PtpPlugin : CniPlugin
{
    private readonly IpamInvoker _ipam;
    private readonly LinkRemovalPolicy _removal;

    /// <summary>Creates the plugin.</summary>
    /// <param name="ipam">Runs the IPAM plugin (<see cref="IpamInvoker.Default"/>, always a process, when null).</param>
    /// <param name="removal">How veth pairs are deleted (<see cref="LinkRemovalPolicy.InProcess"/> when null).</param>
    public PtpPlugin(IpamInvoker? ipam = null, LinkRemovalPolicy? removal = null)
    {
        _ipam = ipam ?? IpamInvoker.Default;
        _removal = removal ?? LinkRemovalPolicy.InProcess;
    }

    /// <inheritdoc/>
    public override PluginInfo Info { get; } = new() { About = "CNI ptp plugin (Cni.NET)" };

    // =====================================================================================================
    // ADD
    // =====================================================================================================

    /// <inheritdoc/>
    public override async Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
    {
        PtpSettings conf = PtpSettings.Load(request);
        using ContainerNamespace container = ContainerNamespace.Open(request.NetNs);
        using RtNetlink host = RtNetlink.Open();
        await using var tx = new AddTransaction(request.Environment.Stderr, _ipam);

        // The veth pair, and the addresses from IPAM: host-local and static run while the pair is made, any other
        // IPAM plugin (dhcp uses the interface) once the container end exists and is up (IpamOrder).
        (Link hostVeth, CniResult? ipam) = await tx.MakeLinksWithIpamAsync(request, true, () =>
        {
            Link veth = CreateVethPair(host, container, conf, request, tx);
            if (!IpamOrder.RunsAlongsideLinks(request))
            {
                RtNetlink nl = container.Connect([]);
                Kernel(() => nl.SetLinkUp(nl.GetLink(request.IfName).Index), $"failed to set \"{request.IfName}\" up");
            }
            return veth;
        }, cancellationToken).ConfigureAwait(false);
        CniResult result = ResultFromIpam(ipam!, request, container.Path, hostVeth.Name);

        // Masquerading needs only the addresses: the nft/iptables run overlaps the link work.
        Task nat = Task.CompletedTask;
        if (conf.Options.IpMasq)
        {
            tx.OnRollback("remove the masquerade rules", () => IpMasquerade.TeardownAsync(conf.Network, request.IfName, request.ContainerId, null, CancellationToken.None));
            IPPrefix[] addresses = result.Ips.Select(ip => ip.Address).ToArray();
            nat = IpMasquerade.SetupAsync(conf.MasqBackend!.Value, addresses, conf.Network, request.IfName, request.ContainerId, cancellationToken);
        }
        try
        {
            EnableForwarding(result.Ips);
            // The container end: addresses and IPAM routes, then the point-to-point routes via the gateway.
            InterfaceConfigurator.Configure(container, request.IfName, result, new InterfaceConfigOptions());
            Link containerVeth = container.Netlink.GetLink(request.IfName);
            ConfigureContainerRoutes(container.Netlink, containerVeth, result.Ips);
            // The host end: the gateways, and a route to each container address.
            ConfigureHostVeth(host, hostVeth, result.Ips);
            result.Interfaces[0].Mac = InterfaceChecks.FormatMac(host.GetLink(hostVeth.Index).MacAddress);
            result.Interfaces[1].Mac = InterfaceChecks.FormatMac(containerVeth.MacAddress);
        }
        catch
        {
            try { await nat.ConfigureAwait(false); } catch (Exception) { } // let it finish before the rollback removes it
            throw;
        }
        await nat.ConfigureAwait(false);

        // As the reference: the configuration's DNS replaces the IPAM plugin's only when it sets something.
        if (request.Config.Dns is { } dns && (dns.Nameservers.Count > 0 || dns.Search.Count > 0 || dns.Options.Count > 0 || !string.IsNullOrEmpty(dns.Domain)))
            result.Dns = dns;
        tx.Commit();
        return result;
    }

    /// <summary>
    /// The result of ADD from the IPAM result: interfaces [host end, container end], every address on the container
    /// end (index 1). Every address needs a gateway of its own family: it is the host end's address.
    /// </summary>
    /// <exception cref="CniException">An address has no gateway, or one of another family.</exception>
    internal static CniResult ResultFromIpam(CniResult ipam, CniRequest request, string sandbox, string hostVethName)
    {
        foreach (CniIPConfig ip in ipam.Ips)
        {
            if (ip.Gateway is null)
                throw new CniException(CniErrorCode.Internal, $"IPAM result has no gateway for {ip.Address}: ptp needs one per address, it becomes the host end's address (ipam)");
            if (ip.Gateway.AddressFamily != ip.Address.Family)
                throw new CniException(CniErrorCode.Internal, $"IPAM result gateway {ip.Gateway} is not of the family of {ip.Address} (ipam)");
            if (ip.Gateway.Equals(ip.Address.Address))
                throw new CniException(CniErrorCode.Internal, $"IPAM result gateway {ip.Gateway} is the container's own address (ipam)");
            ip.Interface = 1;
        }
        return new CniResult
        {
            Interfaces =
            [
                new CniInterface { Name = hostVethName },
                new CniInterface { Name = request.IfName, Sandbox = sandbox },
            ],
            Ips = ipam.Ips,
            Routes = ipam.Routes,
            Dns = ipam.Dns,
        };
    }

    /// <summary>
    /// Creates the veth pair from the host: the host end named after the attachment (<see cref="HostVeth.Name"/>, so
    /// DEL finds it without <c>CNI_NETNS</c>), the peer created directly inside the container under <c>CNI_IFNAME</c>.
    /// </summary>
    private Link CreateVethPair(RtNetlink host, ContainerNamespace container, PtpSettings conf, CniRequest request, AddTransaction tx)
    {
        string ifName = request.IfName;
        string hostName = HostVeth.Name(conf.Network, request.ContainerId, ifName);
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                host.AddVeth(hostName, ifName, new VethOptions { Mtu = conf.Mtu, PeerMtu = conf.Mtu, PeerNamespace = container.Handle, Queues = 1 });
                break;
            }
            catch (NetlinkException ex) when (ex.IsExists)
            {
                // Either name may be taken: a host name collision gets a random name, a container one is an error.
                if (host.FindLink(hostName) is null || attempt >= 10)
                    throw new CniException(CniErrorCode.Internal, $"container veth name \"{ifName}\" already exists in the container (CNI_IFNAME)");
                hostName = "veth" + Random.Shared.Next().ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (NetlinkException ex)
            {
                throw new CniException(CniErrorCode.Internal, $"failed to make veth pair {hostName}/{ifName}: {ex.Message}");
            }
        }
        string created = hostName;
        tx.OnRollback($"delete veth pair {created}/{ifName}", () =>
        {
            if (host.FindLink(created) is { } veth)
                _removal.Delete(host, null, veth);
        });
        Link hostVeth = host.GetLink(hostName);
        // No DAD on the host end (better than the reference, whose host end is unusable for IPv6 until DAD ends): with
        // its link-local address tentative the host sends no neighbour solicitation on it, so IPv6 traffic forwarded to
        // the container is dropped for the first second or two. Each host end leads to one container: no duplicates.
        ContainerNamespace.ApplySysctls(null, [new SysctlSetting($"net/ipv6/conf/{hostName}/accept_dad", "0")]);
        Kernel(() => host.SetLinkUp(hostVeth.Index), $"failed to set \"{hostName}\" up");
        return host.GetLink(hostVeth.Index);
    }

    /// <summary>Turns on forwarding in the host for the families of the addresses (never turned off again, as the reference).</summary>
    private static void EnableForwarding(IEnumerable<CniIPConfig> ips)
    {
        var forwarding = new List<SysctlSetting>();
        if (ips.Any(ip => ip.Address.Family == AddressFamily.InterNetwork))
            forwarding.Add(new("net/ipv4/ip_forward", "1", Optional: false, OnlyIfDifferent: true));
        if (ips.Any(ip => ip.Address.Family == AddressFamily.InterNetworkV6))
            forwarding.Add(new("net/ipv6/conf/all/forwarding", "1", Optional: false, OnlyIfDifferent: true));
        try
        {
            ContainerNamespace.ApplySysctls(null, forwarding);
        }
        catch (CniException ex)
        {
            throw new CniException(CniErrorCode.Internal, $"could not enable IP forwarding: {ex.Message}");
        }
    }

    /// <summary>
    /// The routes of the container end, per address, as the reference lays them out: the subnet route the kernel added
    /// with the address goes, the gateway is reached on the link (<c>GW/32 dev IF scope link src IP</c>) and the
    /// subnet via the gateway (<c>SUBNET via GW dev IF src IP</c>), so that everything, neighbours included, goes
    /// through the host.
    /// </summary>
    internal static void ConfigureContainerRoutes(RtNetlink nl, Link link, IEnumerable<CniIPConfig> ips)
    {
        foreach (CniIPConfig ip in ips)
        {
            IPPrefix subnet = ip.Address.Network;
            string ifName = link.Name;
            try
            {
                nl.DeleteRoute(new Route { Family = subnet.Family, Destination = subnet.Address, PrefixLength = subnet.PrefixLength, OutputLinkIndex = link.Index });
            }
            catch (NetlinkException ex) when (ex.IsNotFound)
            {
                // Two addresses of one subnet: the first already took it (or /32, /128: there is none).
            }
            catch (NetlinkException ex)
            {
                throw new CniException(CniErrorCode.Internal, $"failed to delete route {subnet} dev {ifName}: {ex.Message}");
            }
            foreach (Route r in ContainerRoutes(ip, link.Index))
            {
                try
                {
                    nl.AddRoute(r);
                }
                catch (NetlinkException ex) when (ex.IsExists && r.Gateway is null)
                {
                    // The gateway route of a second address with the same gateway.
                }
                catch (NetlinkException ex)
                {
                    throw new CniException(CniErrorCode.Internal, $"failed to add route '{r.Destination}/{r.PrefixLength}{(r.Gateway is null ? "" : " via " + r.Gateway)} dev {ifName} src {ip.Address.Address}': {ex.Message}");
                }
            }
        }
    }

    /// <summary>The two routes the container gets for one address (pure, for tests).</summary>
    internal static Route[] ContainerRoutes(CniIPConfig ip, int linkIndex)
    {
        IPPrefix subnet = ip.Address.Network;
        AddressFamily family = subnet.Family;
        int bits = family == AddressFamily.InterNetwork ? 32 : 128;
        return
        [
            new Route { Family = family, Destination = ip.Gateway!, PrefixLength = bits, OutputLinkIndex = linkIndex, Scope = RouteScope.Link, PreferredSource = ip.Address.Address },
            new Route { Family = family, Destination = subnet.Address, PrefixLength = subnet.PrefixLength, Gateway = ip.Gateway, OutputLinkIndex = linkIndex, Scope = RouteScope.Universe, PreferredSource = ip.Address.Address },
        ];
    }

    /// <summary>
    /// The host end: each gateway as a /32 (/128) address (no DAD: the same gateway sits on every host end of the
    /// network, and each link leads to one container), and a host route to each container address over it. Both go
    /// with the link, so the veth pair's undo covers them.
    /// </summary>
    private static void ConfigureHostVeth(RtNetlink host, Link veth, IEnumerable<CniIPConfig> ips)
    {
        foreach (CniIPConfig ip in ips)
        {
            AddressFamily family = ip.Address.Family;
            int bits = family == AddressFamily.InterNetwork ? 32 : 128;
            IPAddress gw = ip.Gateway!;
            try
            {
                host.AddAddress(veth.Index, gw, bits, new AddressOptions { Flags = family == AddressFamily.InterNetworkV6 ? AddressFlags.NoDad : AddressFlags.None });
            }
            catch (NetlinkException ex) when (ex.IsExists)
            {
                // Two addresses with the same gateway.
            }
            catch (NetlinkException ex)
            {
                throw new CniException(CniErrorCode.Internal, $"failed to add IP addr {gw}/{bits} to veth {veth.Name}: {ex.Message}");
            }
            try
            {
                host.AddRoute(HostRoute(ip, veth.Index));
            }
            catch (NetlinkException ex) when (ex.IsExists)
            {
                // As the reference: a route to the address is there already.
            }
            catch (NetlinkException ex)
            {
                throw new CniException(CniErrorCode.Internal, $"failed to add route on host to {ip.Address.Address} dev {veth.Name}: {ex.Message}");
            }
        }
    }

    /// <summary>The host route to one container address (pure, for tests): <c>IP dev VETH scope host</c>, as the reference.</summary>
    internal static Route HostRoute(CniIPConfig ip, int linkIndex)
    {
        AddressFamily family = ip.Address.Family;
        return new Route
        {
            Family = family,
            Destination = ip.Address.Address,
            PrefixLength = family == AddressFamily.InterNetwork ? 32 : 128,
            OutputLinkIndex = linkIndex,
            Scope = RouteScope.Host,
        };
    }

    // =====================================================================================================
    // DEL
    // =====================================================================================================

    /// <inheritdoc/>
    public override Task DelAsync(CniRequest request, CancellationToken cancellationToken) =>
        IpamOrder.DelAsync(_ipam, request, () => RemoveAttachmentAsync(request, PtpSettings.Load(request), cancellationToken), cancellationToken);

    /// <summary>DEL without IPAM: the veth pair (through the container end, or the host end without one) and the masquerade rules.</summary>
    private async Task RemoveAttachmentAsync(CniRequest request, PtpSettings conf, CancellationToken cancellationToken)
    {
        // The rules need no addresses (they are found by the attachment), so they go also without CNI_NETNS.
        Task rules = conf.Options.IpMasq
            ? IpMasquerade.TeardownAsync(conf.Network, request.IfName, request.ContainerId, null, cancellationToken)
            : Task.CompletedTask;
        try
        {
            bool deleted = false;
            using (ContainerNamespace? container = ContainerNamespace.TryOpen(request.NetNs))
            {
                RtNetlink? netlink = container?.TryConnect();
                if (netlink is not null && netlink.FindLink(request.IfName) is { Kind: "veth" } link)
                {
                    try
                    {
                        _removal.Delete(netlink, container!.Handle, link);
                    }
                    catch (NetlinkException ex)
                    {
                        throw new CniException(CniErrorCode.Internal, $"failed to delete \"{request.IfName}\": {ex.Message}");
                    }
                    deleted = true;
                }
            }
            // No container end (no CNI_NETNS, or the namespace is held elsewhere): delete the host end.
            if (!deleted)
                DeleteHostVeth(request, conf);
        }
        catch
        {
            try { await rules.ConfigureAwait(false); } catch (Exception) { } // the first error is the one to report
            throw;
        }
        await rules.ConfigureAwait(false);
    }

    /// <summary>Deletes the host end of this attachment: the one named after it, or the one named in prevResult, when
    /// it is a veth not enslaved to anything (a ptp host end never is).</summary>
    private void DeleteHostVeth(CniRequest request, PtpSettings conf)
    {
        using RtNetlink host = RtNetlink.Open();
        var candidates = new List<string> { HostVeth.Name(conf.Network, request.ContainerId, request.IfName) };
        if (request.Config.PrevResult is { } prev)
            candidates.AddRange(prev.Interfaces.Where(i => string.IsNullOrEmpty(i.Sandbox) && !string.IsNullOrEmpty(i.Name)).Select(i => i.Name));
        foreach (string name in candidates.Distinct())
        {
            if (host.FindLink(name) is not { Kind: "veth", MasterIndex: null } veth)
                continue;
            try
            {
                _removal.Delete(host, null, veth);
            }
            catch (NetlinkException ex)
            {
                throw new CniException(CniErrorCode.Internal, $"failed to delete \"{veth.Name}\": {ex.Message}");
            }
        }
    }

    // =====================================================================================================
    // CHECK
    // =====================================================================================================

    /// <inheritdoc/>
    public override async Task CheckAsync(CniRequest request, CancellationToken cancellationToken)
    {
        PtpSettings.Load(request);
        using ContainerNamespace container = ContainerNamespace.Open(request.NetNs);
        await _ipam.CheckAsync(request, cancellationToken).ConfigureAwait(false);
        CniResult prev = InterfaceChecks.RequirePrevResult(request);
        using RtNetlink host = RtNetlink.Open();
        CheckLinks(request, prev, container.Netlink, host);
    }

    /// <summary>Compares the container end, its addresses and routes, and the host end with <paramref name="prev"/>.</summary>
    internal static void CheckLinks(CniRequest request, CniResult prev, RtNetlink container, RtNetlink host)
    {
        int index = InterfaceChecks.FindInterface(prev, request.IfName, request.NetNs);
        if (index < 0)
            throw new CniException(CniErrorCode.Internal, $"Sandbox in prevResult doesn't match configured netns: no interface {request.IfName} in sandbox {request.NetNs}");

        // The container end.
        Link link = container.FindLink(request.IfName) ?? throw new CniException(CniErrorCode.Internal, $"ptp: Container Interface name in prevResult: {request.IfName} not found");
        if (link.Kind != "veth")
            throw new CniException(CniErrorCode.Internal, $"Error: Container interface {link.Name} not of type veth/p2p");
        InterfaceChecks.ValidateMac("Interface", prev.Interfaces[index].Mac, link);
        InterfaceChecks.ValidateAddresses(container, request.IfName, prev, index);
        InterfaceChecks.ValidateRoutes(container, prev.Routes);
        IReadOnlyList<CniIPConfig> mine = prev.Ips.Where(ip => ip.Interface is null || ip.Interface == index).ToList();
        foreach (CniIPConfig ip in mine.Where(ip => ip.Gateway is not null))
        {
            foreach (Route r in ContainerRoutes(ip, link.Index))
            {
                var filter = new RouteFilter { Table = RouteTable.Unspecified, OutputLinkIndex = link.Index, Destination = r.Destination, PrefixLength = r.PrefixLength, Gateway = r.Gateway };
                if (container.ListRoutes(r.EffectiveFamily, filter).Count == 0)
                    throw new CniException(CniErrorCode.Internal, $"ptp: route {r.Destination}/{r.PrefixLength}{(r.Gateway is null ? "" : " via " + r.Gateway)} dev {link.Name} is missing in the container");
            }
        }

        // The host end: the peer of the container end, named in prevResult, with the gateways and the host routes.
        CniInterface? hostIntf = prev.Interfaces.FirstOrDefault(i => string.IsNullOrEmpty(i.Sandbox) && !string.IsNullOrEmpty(i.Name));
        if (hostIntf is null)
            return; // a result from elsewhere names no host end: nothing more to compare
        Link veth = host.FindLink(hostIntf.Name) ?? throw new CniException(CniErrorCode.Internal, $"ptp: host veth {hostIntf.Name} in prevResult not found");
        if (veth.Kind != "veth" || veth.Index != link.ParentIndex)
            throw new CniException(CniErrorCode.Internal, $"ptp: host interface {veth.Name} is not the peer of container interface {link.Name}");
        InterfaceChecks.ValidateMac("Host interface", hostIntf.Mac, veth);
        IReadOnlyList<Address> addresses = host.ListAddresses(veth.Index);
        foreach (CniIPConfig ip in mine.Where(ip => ip.Gateway is not null))
        {
            int bits = ip.Address.Family == AddressFamily.InterNetwork ? 32 : 128;
            if (!addresses.Any(a => a.IPAddress.Equals(ip.Gateway) && a.PrefixLength == bits))
                throw new CniException(CniErrorCode.Internal, $"ptp: gateway address {ip.Gateway}/{bits} is missing on host veth {veth.Name}");
            Route r = HostRoute(ip, veth.Index);
            var filter = new RouteFilter { Table = RouteTable.Unspecified, OutputLinkIndex = veth.Index, Destination = r.Destination, PrefixLength = r.PrefixLength };
            if (host.ListRoutes(r.EffectiveFamily, filter).Count == 0)
                throw new CniException(CniErrorCode.Internal, $"ptp: host route to {ip.Address.Address} dev {veth.Name} is missing");
        }
    }

    // =====================================================================================================
    // GC and STATUS
    // =====================================================================================================

    /// <inheritdoc/>
    public override async Task GcAsync(CniRequest request, CancellationToken cancellationToken)
    {
        PtpSettings conf = PtpSettings.Load(request);
        await _ipam.GcAsync(request, cancellationToken).ConfigureAwait(false);
        IEnumerable<Attachment> valid = (conf.Options.ValidAttachments ?? []).Select(a => new Attachment(a.ContainerId, a.IfName));
        await IpMasquerade.GcAsync(conf.Network, valid, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override Task StatusAsync(CniRequest request, CancellationToken cancellationToken)
    {
        PtpSettings.Load(request);
        return _ipam.StatusAsync(request, cancellationToken);
    }

    private static void Kernel(Action action, string what)
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
