using System.Net;
using System.Net.Sockets;
using Cni.Netlink;
using Cni.Plugins.Common;
using Cni.Spec;

namespace Cni.Plugins.Bridge;

/// <summary>
/// The <c>bridge</c> CNI plugin: attaches a container to a Linux bridge on the host through a veth pair, with
/// addresses from the configured IPAM plugin, optionally making the bridge the gateway and masquerading traffic.
/// ADD is a transaction (a failure leaves nothing behind); DEL is idempotent; CHECK names what drifted.
/// </summary>
public class BridgePlugin : CniPlugin
{
    private readonly IpamInvoker _ipam;
    private readonly LinkRemovalPolicy _removal;
    private readonly HostNetwork _host;
    private readonly string _lockDirectory;

    /// <summary>Creates the plugin.</summary>
    /// <param name="ipam">Runs the IPAM plugin (<see cref="IpamInvoker.Default"/>, always a process, when null).</param>
    /// <param name="removal">How veths are deleted (<see cref="LinkRemovalPolicy.InProcess"/> when null).</param>
    /// <param name="host">The namespace treated as the host: where the bridge and the host ends of the veths live, whose
    /// sysctls (forwarding, <c>accept_ra</c>) are written and where nft/iptables run (<see cref="HostNetwork.Current"/>,
    /// the namespace the plugin runs in, when null).</param>
    /// <param name="lockDirectory">Where the per-bridge lock files live (<c>/run/cni/bridge</c> when null): plugins that
    /// share bridges must share it.</param>
    public BridgePlugin(IpamInvoker? ipam = null, LinkRemovalPolicy? removal = null, HostNetwork? host = null, string? lockDirectory = null)
    {
        _lockDirectory = lockDirectory ?? BridgeLock.DefaultDirectory;
        _ipam = ipam ?? IpamInvoker.Default;
        _removal = removal ?? LinkRemovalPolicy.InProcess;
        _host = host ?? HostNetwork.Current;
    }

    private static readonly TimeSpan PortUpTimeout = TimeSpan.FromSeconds(2.5);

    /// <inheritdoc/>
    public override PluginInfo Info { get; } = new()
    {
        About = "CNI bridge plugin (Cni.NET)",
        ArgsKeys = [MacAddressArgs.CniArgsKey],
    };

    // =====================================================================================================
    // ADD
    // =====================================================================================================

    /// <inheritdoc/>
    public override async Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
    {
        var trace = new Trace(request);
        BridgeSettings conf = BridgeSettings.Load(request);
        using ContainerNamespace container = ContainerNamespace.Open(request.NetNs);
        using RtNetlink host = _host.OpenNetlink();
        await using var tx = new AddTransaction(request.Environment.Stderr, _ipam);
        trace.Mark("configuration loaded, namespace opened");

        // Ensure the bridge, create a veth pair with one end in the container namespace, attach the host end to the
        // bridge, and get the addresses from IPAM: host-local and static run while the links are made, any other IPAM
        // plugin (dhcp uses the interface) once the container end exists and is up, as in the reference (IpamOrder).
        ((Link bridge, Link hostVeth), CniResult? ipam) = await tx.MakeLinksWithIpamAsync(request, conf.IsLayer3, () =>
        {
            Link br, veth;
            using (BridgeLock.Shared(_lockDirectory, conf.BridgeName)) // a failed ADD's rollback must not delete the bridge under us
            {
                br = EnsureBridge(host, conf, tx);
                trace.Mark("bridge");
                veth = CreateVethPair(host, container, conf, request, tx);
                AttachToBridge(host, veth, br, conf);
            }
            if (conf.IsLayer3 && !IpamOrder.RunsAlongsideLinks(request))
            {
                RtNetlink nl = container.Connect([]);
                Kernel(() => nl.SetLinkUp(nl.GetLink(request.IfName).Index), $"failed to set \"{request.IfName}\" up");
            }
            trace.Mark("veth pair attached");
            return (br, veth);
        }, cancellationToken).ConfigureAwait(false);
        trace.Mark("IPAM ADD");

        // Set up NAT: it needs only the addresses, so the nft/iptables run overlaps the rest of the link work.
        Task nat = Task.CompletedTask;
        if (ipam is not null && conf.Options.IpMasq)
        {
            tx.OnRollback("remove the masquerade rules", () => IpMasquerade.TeardownAsync(conf.Network, request.IfName, request.ContainerId, null, CancellationToken.None, _host.Commands));
            IPPrefix[] addresses = ipam.Ips.Select(ip => ip.Address).ToArray();
            nat = IpMasquerade.SetupAsync(conf.MasqBackend!.Value, addresses, conf.Network, request.IfName, request.ContainerId, cancellationToken, _host.Commands);
        }
        CniResult result;
        try
        {
            // Configure the container end from the IPAM result, make the bridge the gateway, bring everything up.
            result = await ConfigureAsync(request, conf, ipam, container, host, bridge, hostVeth, tx, trace, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            try { await nat.ConfigureAwait(false); } catch (Exception) { } // let it finish before the rollback removes it
            throw;
        }
        await nat.ConfigureAwait(false);
        trace.Mark("NAT");

        tx.Commit();
        return result;
    }

    /// <summary>
    /// The link work of ADD after IPAM, in order: configure the container end from the IPAM result, make the bridge
    /// the gateway, bring everything up. Each change registers its undo in <paramref name="tx"/>.
    /// </summary>
    private async Task<CniResult> ConfigureAsync(CniRequest request, BridgeSettings conf, CniResult? ipam, ContainerNamespace container,
        RtNetlink host, Link bridge, Link hostVeth, AddTransaction tx, Trace trace, CancellationToken cancellationToken)
    {
        var result = new CniResult();
        List<IPPrefix> gateways = [];
        if (ipam is not null)
        {
            // Configure the addresses, with routes, in the container (this brings its interface up).
            result.Ips = ipam.Ips;
            result.Routes = ipam.Routes;
            result.Dns = ipam.Dns;
            gateways = CalculateGateways(result, conf);
            result.Interfaces = [new CniInterface { Name = bridge.Name }, new CniInterface { Name = hostVeth.Name }, new CniInterface { Name = request.IfName, Sandbox = container.Path }];
            InterfaceConfigurator.Configure(container, request.IfName, result, new InterfaceConfigOptions { EnableDad = conf.Options.EnableDad });
        }
        else if (!conf.Options.DisableContainerInterface)
        {
            // L2 only: bring the container end up.
            RtNetlink nl = container.Connect([]);
            Kernel(() => nl.SetLinkUp(nl.GetLink(request.IfName).Index), $"failed to set \"{request.IfName}\" up");
        }
        trace.Mark("container interface configured");
        Link containerVeth = container.Netlink.GetLink(request.IfName);
        result.Interfaces =
        [
            new CniInterface { Name = bridge.Name, Mac = InterfaceChecks.FormatMac(bridge.MacAddress) },
            new CniInterface { Name = hostVeth.Name, Mac = InterfaceChecks.FormatMac(hostVeth.MacAddress) },
            new CniInterface { Name = containerVeth.Name, Mac = InterfaceChecks.FormatMac(containerVeth.MacAddress), Sandbox = container.Path },
        ];

        if (conf.Options.MacSpoofCheck)
        {
            string refId = SpoofCheckId(request);
            // Registered first: a cancelled setup may still have applied its rules, and missing rules are no error to remove.
            tx.OnRollback("remove the MAC spoof check", () => MacSpoofCheck.TeardownAsync(refId, CancellationToken.None, _host.Commands));
            await MacSpoofCheck.SetupAsync(hostVeth.Name, result.Interfaces[2].Mac!, refId, cancellationToken, _host.Commands).ConfigureAwait(false);
        }

        if (ipam is not null)
        {
            // Make the bridge (or its VLAN interface) the gateway, and let the host forward.
            if (conf.IsGateway)
                EnsureGateways(host, bridge, hostVeth, gateways, conf, result, tx);
        }

        trace.Mark("gateway");
        // Bring everything up: wait until the bridge port forwards (the container end is up now).
        if (!conf.Options.DisableContainerInterface)
        {
            try
            {
                hostVeth = host.WaitForOperState(hostVeth.Index, OperState.Up, PortUpTimeout, cancellationToken);
            }
            catch (TimeoutException)
            {
                throw new CniException(CniErrorCode.Internal, $"bridge port in error state: {host.GetLink(hostVeth.Index).OperState}");
            }
        }

        // The host end's and the bridge's MACs may change as ports come and go: report them as they are now.
        result.Interfaces[1].Mac = InterfaceChecks.FormatMac(host.GetLink(hostVeth.Index).MacAddress);
        result.Interfaces[0].Mac = InterfaceChecks.FormatMac(host.GetLink(bridge.Index).MacAddress);
        if (request.Config.Dns is { } dns && (dns.Nameservers.Count > 0 || dns.Search.Count > 0 || dns.Options.Count > 0 || !string.IsNullOrEmpty(dns.Domain)))
            result.Dns = dns;

        trace.Mark("port up");
        return result;
    }

    /// <summary>Creates the bridge unless it exists (it must then be a bridge), sets promiscuous mode, and brings it up.</summary>
    private Link EnsureBridge(RtNetlink host, BridgeSettings conf, AddTransaction tx)
    {
        string name = conf.BridgeName;
        Link? bridge = host.FindLink(name);
        if (bridge is null)
        {
            try
            {
                host.AddBridge(name, new BridgeOptions
                {
                    Mtu = conf.Options.Mtu > 0 ? conf.Options.Mtu : null,
                    VlanFiltering = conf.VlanFiltering ? true : null,
                });
                tx.OnRollback($"delete bridge {name} (created by this ADD) unless another port joined it", () => DeleteBridgeIfUnused(host, name, _lockDirectory));
            }
            catch (NetlinkException ex) when (ex.IsExists)
            {
                // Created concurrently by another ADD: use it.
            }
            catch (NetlinkException ex) when (ex.IsNotSupported && conf.VlanFiltering)
            {
                throw new CniException(CniErrorCode.Internal, $"failed to create bridge \"{name}\": this kernel has no bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING), needed by vlan/vlanTrunk: {ex.Message}");
            }
            catch (NetlinkException ex)
            {
                throw new CniException(CniErrorCode.Internal, $"failed to create bridge \"{name}\": could not add \"{name}\": {ex.Message}");
            }
            bridge = host.FindLink(name) ?? throw new CniException(CniErrorCode.Internal, $"failed to create bridge \"{name}\": it vanished");
        }
        if (bridge.Kind != "bridge")
            throw new CniException(CniErrorCode.Internal, $"failed to create bridge \"{name}\": \"{name}\" already exists but is not a bridge");
        if (conf.Options.PromiscMode && !bridge.IsPromiscuous)
            Kernel(() => host.SetPromiscuous(bridge.Index, true), $"could not set promiscuous mode on \"{name}\"");
        // We own the routes of this interface.
        _host.ApplySysctls([new SysctlSetting($"net/ipv6/conf/{name}/accept_ra", "0", OnlyIfDifferent: true)]);
        if (!bridge.IsUp)
            Kernel(() => host.SetLinkUp(bridge.Index), $"failed to set bridge \"{name}\" up");
        return host.GetLink(bridge.Index);
    }

    internal static void DeleteBridgeIfUnused(RtNetlink host, string name, string lockDirectory)
    {
        using BridgeLock exclusive = BridgeLock.Exclusive(lockDirectory, name); // waits for ADDs that found the bridge and are attaching
        Link? bridge = host.FindLink(name);
        if (bridge is null || bridge.Kind != "bridge")
            return;
        if (host.ListLinks().Any(l => l.MasterIndex == bridge.Index))
            return;
        host.DeleteLink(bridge.Index);
    }

    /// <summary>
    /// Creates the veth pair from the host: the host end gets a name derived from the attachment (so DEL finds it
    /// even without <c>CNI_NETNS</c>), the peer is created directly inside the container under <c>CNI_IFNAME</c>.
    /// </summary>
    private Link CreateVethPair(RtNetlink host, ContainerNamespace container, BridgeSettings conf, CniRequest request, AddTransaction tx)
    {
        string ifName = request.IfName;
        int? mtu = conf.Options.Mtu > 0 ? conf.Options.Mtu : null;
        string hostName = HostVethName(conf.Network, request.ContainerId, ifName);
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                host.AddVeth(hostName, ifName, new VethOptions
                {
                    Mtu = mtu,
                    PeerMtu = mtu,
                    PeerMacAddress = conf.Mac,
                    PeerNamespace = container.Handle,
                    Queues = 1, // what the kernel cuts a veth to anyway, without its RCU wait under RTNL
                });
                break;
            }
            catch (NetlinkException ex) when (ex.IsExists)
            {
                // Either name may be taken: a host name collision gets a random name, a container one is an error.
                if (host.FindLink(hostName) is null || attempt >= 10)
                    throw new CniException(CniErrorCode.Internal, $"container veth name \"{ifName}\" already exists in the container (CNI_IFNAME)");
                hostName = RandomVethName();
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
                _removal.Delete(host, _host.Namespace, veth);
        });

        Link hostVeth = host.GetLink(hostName);
        _host.ApplySysctls([new SysctlSetting($"net/ipv6/conf/{hostName}/accept_ra", "0")]);
        Kernel(() => host.SetLinkUp(hostVeth.Index), $"failed to set \"{hostName}\" up");
        return hostVeth;
    }

    /// <summary>Enslaves the host end to the bridge and sets its port options: hairpin, isolation, VLANs.</summary>
    private static void AttachToBridge(RtNetlink host, Link hostVeth, Link bridge, BridgeSettings conf)
    {
        Kernel(() => host.SetMaster(hostVeth.Index, bridge.Index), $"failed to connect \"{hostVeth.Name}\" to bridge {bridge.Name}");
        Kernel(() => host.SetBridgePort(hostVeth.Index, new BridgePortOptions
        {
            Hairpin = conf.Options.HairpinMode,
            Isolated = conf.Options.PortIsolation ? true : null,
        }), $"failed to setup hairpin mode / port isolation for {hostVeth.Name}");
        ConfigurePortVlans(host, hostVeth, conf.Options.Vlan, conf.TrunkVlans, conf.PreserveDefaultVlan);
    }

    private static void ConfigurePortVlans(RtNetlink host, Link port, int vlan, IReadOnlyList<int> trunk, bool preserveDefaultVlan)
    {
        if ((vlan != 0 || trunk.Count > 0) && !preserveDefaultVlan)
        {
            foreach (BridgeVlan existing in host.ListBridgeVlans(port.Index))
                Kernel(() => host.DeleteBridgeVlan(port.Index, existing.VlanId), $"failed to remove default vlan on interface \"{port.Name}\"");
        }
        if (vlan != 0)
            Kernel(() => host.AddBridgeVlan(port.Index, vlan, pvid: true, untagged: true), $"failed to setup vlan tag on interface \"{port.Name}\"");
        foreach (int v in trunk)
            Kernel(() => host.AddBridgeVlan(port.Index, v), $"failed to setup vlan tag on interface \"{port.Name}\"");
    }

    /// <summary>
    /// Points every address at the container interface (index 2), fills in missing gateways (first address of the
    /// subnet) when the bridge is the gateway, adds a default route per family for isDefaultGateway, and returns the
    /// gateway addresses (with the subnet's prefix length) for the bridge.
    /// </summary>
    internal static List<IPPrefix> CalculateGateways(CniResult result, BridgeSettings conf)
    {
        var gateways = new List<IPPrefix>();
        var defaultRouteFound = new HashSet<AddressFamily>();
        foreach (CniIPConfig ip in result.Ips)
        {
            AddressFamily family = ip.Address.Family;
            ip.Interface = 2;
            if (ip.Gateway is null && conf.IsGateway)
                ip.Gateway = NextAddress(ip.Address.Network.Address);
            if (conf.Options.IsDefaultGateway && !defaultRouteFound.Contains(family))
            {
                IPPrefix any = new(family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0);
                if (!result.Routes.Any(r => r.Gw is not null && r.Dst.Network == any))
                    result.Routes.Add(new CniRoute { Dst = any, Gw = ip.Gateway });
                defaultRouteFound.Add(family);
            }
            if (conf.IsGateway && ip.Gateway is not null)
                gateways.Add(new IPPrefix(ip.Gateway, ip.Address.PrefixLength));
        }
        return gateways;
    }

    /// <summary>The address after <paramref name="address"/> (the conventional gateway of a subnet).</summary>
    internal static IPAddress NextAddress(IPAddress address) => IPArithmetic.Next(address);

    /// <summary>Puts the gateway addresses on the bridge (or on its VLAN gateway interface) and enables forwarding.</summary>
    /// <remarks>The VLAN gateway interface and the gateway addresses are shared by every attachment of the bridge (or of
    /// the VLAN): a failed ADD removes one only when it created it and, decided under the bridge's exclusive lock, no
    /// other port of the bridge (of the VLAN) is there to use it (see <see cref="UsedByOtherPorts"/>).</remarks>
    private void EnsureGateways(RtNetlink host, Link bridge, Link ownPort, List<IPPrefix> gateways, BridgeSettings conf, CniResult result, AddTransaction tx)
    {
        Link target = bridge;
        int vlan = conf.Options.Vlan;
        if (vlan != 0 && gateways.Count > 0)
        {
            target = EnsureVlanGateway(host, bridge, ownPort, conf, tx);
            result.Interfaces.Add(new CniInterface { Name = target.Name, Mac = InterfaceChecks.FormatMac(target.MacAddress) });
        }
        foreach (IPPrefix gw in gateways)
        {
            if (!EnsureAddress(host, target, gw, conf.Options.ForceAddress))
                continue;
            string bridgeName = bridge.Name, targetName = target.Name;
            tx.OnRollback($"remove gateway address {gw} from {targetName} unless another port uses it", () =>
            {
                using BridgeLock exclusive = BridgeLock.Exclusive(_lockDirectory, bridgeName);
                if (host.FindLink(targetName) is { } link && !UsedByOtherPorts(host, bridgeName, ownPort.Index, vlan))
                {
                    try
                    {
                        host.DeleteAddress(link.Index, gw.Address, gw.PrefixLength);
                    }
                    catch (NetlinkException ex) when (ex.IsNotFound || ex.Errno == NetlinkException.EADDRNOTAVAIL)
                    {
                        // Already gone.
                    }
                }
            });
        }
        var forwarding = new List<SysctlSetting>();
        if (gateways.Any(g => g.Family == AddressFamily.InterNetwork))
            forwarding.Add(new("net/ipv4/ip_forward", "1", Optional: false, OnlyIfDifferent: true));
        if (gateways.Any(g => g.Family == AddressFamily.InterNetworkV6))
            forwarding.Add(new("net/ipv6/conf/all/forwarding", "1", Optional: false, OnlyIfDifferent: true));
        try
        {
            _host.ApplySysctls(forwarding);
        }
        catch (CniException ex)
        {
            throw new CniException(CniErrorCode.Internal, $"failed to enable forwarding: {ex.Message}");
        }
    }

    /// <summary>
    /// Adds <paramref name="gw"/> to <paramref name="link"/> unless present. Another IPv4 address (or an overlapping
    /// IPv6 one) is an error, or is replaced with <c>forceAddress</c>.
    /// </summary>
    /// <returns>True when this call added the address; false when it was there (or was added concurrently).</returns>
    private static bool EnsureAddress(RtNetlink host, Link link, IPPrefix gw, bool forceAddress)
    {
        foreach (Address a in host.ListAddresses(link.Index, gw.Family))
        {
            if (a.IPAddress.Equals(gw.Address) && a.PrefixLength == gw.PrefixLength)
                return false;
            if (a.Family == AddressFamily.InterNetworkV6 && a.Scope == RouteScope.Link)
                continue; // fe80::/64 never conflicts
            var existing = new IPPrefix(a.IPAddress, a.PrefixLength);
            if (gw.Family == AddressFamily.InterNetwork || existing.Contains(gw.Address) || gw.Contains(a.IPAddress))
            {
                if (!forceAddress)
                    throw new CniException(CniErrorCode.Internal, $"failed to set bridge addr: \"{link.Name}\" already has an IP address different from {gw} (forceAddress)");
                Kernel(() => host.DeleteAddress(link.Index, a.IPAddress, a.PrefixLength), $"could not remove IP address {existing} from \"{link.Name}\"");
            }
        }
        try
        {
            host.AddAddress(link.Index, gw.Address, gw.PrefixLength, new AddressOptions
            {
                Broadcast = gw.Family == AddressFamily.InterNetwork && gw.PrefixLength < 31 ? InterfaceConfigurator.Broadcast(gw) : null,
                Flags = gw.Family == AddressFamily.InterNetworkV6 ? AddressFlags.NoDad : AddressFlags.None,
            });
        }
        catch (NetlinkException ex) when (ex.IsExists)
        {
            // Added concurrently by another ADD: theirs to keep.
            return false;
        }
        catch (NetlinkException ex)
        {
            throw new CniException(CniErrorCode.Internal, $"failed to set bridge addr: could not add IP address to \"{link.Name}\": {ex.Message}");
        }
        // Pin the bridge's MAC to itself: otherwise it follows the lowest port MAC and changes as ports come and go.
        if (link.Kind == "bridge" && link.MacAddress is not null)
            Kernel(() => host.SetMacAddress(link.Index, link.MacAddress), $"could not set bridge's mac on \"{link.Name}\"");
        return true;
    }

    /// <summary>
    /// Whether a port of bridge <paramref name="bridgeName"/> other than <paramref name="ownPort"/> (the failing ADD's,
    /// about to go) and the VLAN gateways' own bridge ends is attached — in VLAN <paramref name="vlan"/> when not 0.
    /// Call it under the bridge's exclusive lock: an ADD attaches its port under the shared lock before it uses the
    /// gateway, so a port not seen here belongs to an ADD that will create again whatever it needs.
    /// </summary>
    internal static bool UsedByOtherPorts(RtNetlink host, string bridgeName, int ownPort, int vlan)
    {
        if (host.FindLink(bridgeName) is not { Kind: "bridge" } bridge)
            return false;
        IReadOnlyList<Link> links = host.ListLinks();
        // A VLAN gateway BRIDGE.N is one end of a veth pair whose other end is a port of the bridge: not a user.
        var gatewayEnds = links.Where(l => l.Name.StartsWith(bridgeName + ".", StringComparison.Ordinal) && l.ParentIndex is not null)
            .Select(l => l.ParentIndex!.Value).ToHashSet();
        foreach (Link port in links)
        {
            if (port.MasterIndex != bridge.Index || port.Index == ownPort || gatewayEnds.Contains(port.Index))
                continue;
            if (vlan == 0 || host.ListBridgeVlans(port.Index).Any(v => v.VlanId == vlan))
                return true;
        }
        return false;
    }

    /// <summary>
    /// The gateway interface of a VLAN: a veth pair in the host named <c>BRIDGE.VLAN</c> whose other end is an access
    /// port of the VLAN on the bridge. Created once per bridge and VLAN, shared by every attachment.
    /// </summary>
    private Link EnsureVlanGateway(RtNetlink host, Link bridge, Link ownPort, BridgeSettings conf, AddTransaction tx)
    {
        string name = $"{bridge.Name}.{conf.Options.Vlan}";
        Link? existing = host.FindLink(name);
        if (existing is not null)
            return existing;
        string peer = RandomVethName();
        try
        {
            host.AddVeth(name, peer, new VethOptions { Mtu = bridge.Mtu, PeerMtu = bridge.Mtu, Queues = 1 });
        }
        catch (NetlinkException ex) when (ex.IsExists)
        {
            return host.FindLink(name) ?? throw new CniException(CniErrorCode.Internal, $"failed to create vlan interface \"{name}\": {ex.Message}");
        }
        catch (NetlinkException ex)
        {
            throw new CniException(CniErrorCode.Internal, $"failed to create vlan interface \"{name}\": {ex.Message}");
        }
        string bridgeName = bridge.Name;
        int vlan = conf.Options.Vlan;
        tx.OnRollback($"delete vlan gateway {name} (created by this ADD) unless another port of VLAN {vlan} uses it", () =>
        {
            using BridgeLock exclusive = BridgeLock.Exclusive(_lockDirectory, bridgeName);
            if (host.FindLink(name) is { } gateway && !UsedByOtherPorts(host, bridgeName, ownPort.Index, vlan))
                host.DeleteLink(gateway.Index);
        });
        Link peerLink = host.GetLink(peer);
        Kernel(() => host.SetMaster(peerLink.Index, bridge.Index), $"failed to connect \"{peer}\" to bridge {bridge.Name}");
        ConfigurePortVlans(host, peerLink, conf.Options.Vlan, [], conf.PreserveDefaultVlan);
        Kernel(() => host.SetLinkUp(peerLink.Index), $"failed to set \"{peer}\" up");
        Link gateway = host.GetLink(name);
        Kernel(() => host.SetLinkUp(gateway.Index), $"failed to set \"{name}\" up");
        return host.GetLink(name);
    }

    // =====================================================================================================
    // DEL
    // =====================================================================================================

    /// <inheritdoc/>
    public override Task DelAsync(CniRequest request, CancellationToken cancellationToken)
    {
        var trace = new Trace(request);
        // The addresses are released in IpamOrder's order: host-local and static start first and run while the
        // configuration loads and the links and rules go; any other IPAM plugin runs before the links go.
        return IpamOrder.DelAsync(_ipam, request, async () =>
        {
            BridgeSettings conf = BridgeSettings.Load(request);
            trace.Mark("configuration loaded");
            await RemoveAttachmentAsync(request, conf, cancellationToken).ConfigureAwait(false);
            trace.Mark("links and rules removed");
        }, cancellationToken);
    }

    /// <summary>DEL without IPAM: the veth pair, the MAC spoof check and the masquerade rules of the attachment.</summary>
    private async Task RemoveAttachmentAsync(CniRequest request, BridgeSettings conf, CancellationToken cancellationToken)
    {
        // The masquerade rules go while the links do (nft/iptables runs, independent of the links); they need no
        // addresses, so this works without CNI_NETNS too, but the address families narrow the iptables teardown.
        bool masq = conf.IsLayer3 && conf.Options.IpMasq;
        Task rules = Task.CompletedTask;
        // The MAC spoof check goes alongside too (its nft runs need nothing from the links); a failure is only logged.
        Task spoofCheck = conf.Options.MacSpoofCheck ? TeardownSpoofCheckAsync(request, cancellationToken) : Task.CompletedTask;
        try
        {
            // Delete the container end (which takes the host end with it). A missing namespace or interface is success.
            bool containerEndDeleted = false;
            using (ContainerNamespace? container = ContainerNamespace.TryOpen(request.NetNs))
            {
                RtNetlink? netlink = container?.TryConnect();
                if (netlink is not null && netlink.FindLink(request.IfName) is { } link)
                {
                    if (masq)
                    {
                        HashSet<AddressFamily> families = netlink.ListAddresses(link.Index)
                            .Where(a => InterfaceChecks.IsGlobalUnicast(a.IPAddress)).Select(a => a.Family).ToHashSet();
                        rules = IpMasquerade.TeardownAsync(conf.Network, request.IfName, request.ContainerId, families, cancellationToken, _host.Commands);
                    }
                    try
                    {
                        _removal.Delete(netlink, container!.Handle, link);
                    }
                    catch (NetlinkException ex)
                    {
                        throw new CniException(CniErrorCode.Internal, $"failed to delete \"{request.IfName}\": {ex.Message}");
                    }
                    containerEndDeleted = true;
                }
            }

            // Without the container end (no CNI_NETNS, or the namespace is still held elsewhere), delete the host end.
            if (!containerEndDeleted)
            {
                if (masq)
                    rules = IpMasquerade.TeardownAsync(conf.Network, request.IfName, request.ContainerId, null, cancellationToken, _host.Commands);
                DeleteHostVeth(request, conf);
            }

        }
        catch
        {
            try { await rules.ConfigureAwait(false); } catch (Exception) { } // the first error is the one to report
            await spoofCheck.ConfigureAwait(false);
            throw;
        }
        await spoofCheck.ConfigureAwait(false);
        await rules.ConfigureAwait(false);
    }

    private async Task TeardownSpoofCheckAsync(CniRequest request, CancellationToken cancellationToken)
    {
        try
        {
            await MacSpoofCheck.TeardownAsync(SpoofCheckId(request), cancellationToken, _host.Commands).ConfigureAwait(false);
        }
        catch (CniException ex)
        {
            request.Environment.Stderr.WriteLine(ex.Message);
        }
    }

    /// <summary>
    /// Deletes the host end of this attachment when the container end could not be deleted (no <c>CNI_NETNS</c>, the
    /// namespace unreachable, or <c>CNI_IFNAME</c> missing in it). The candidate is the host interface prevResult names
    /// (what ADD created, whatever name it got) or, without prevResult, the name derived from the attachment; it is
    /// deleted only when it is a veth enslaved to this network's bridge and, when the container namespace can be
    /// opened, its peer is in that namespace: a name shared by chance with another attachment never disconnects that
    /// other pod.
    /// </summary>
    private void DeleteHostVeth(CniRequest request, BridgeSettings conf)
    {
        using RtNetlink host = _host.OpenNetlink();
        Link? bridge = host.FindLink(conf.BridgeName);
        if (bridge is null)
            return;
        List<string> candidates = request.Config.PrevResult is { } prev
            ? prev.Interfaces.Where(i => string.IsNullOrEmpty(i.Sandbox) && i.Name != conf.BridgeName && !string.IsNullOrEmpty(i.Name))
                .Select(i => i.Name).Distinct().ToList()
            : [];
        if (candidates.Count == 0)
            candidates.Add(HostVethName(conf.Network, request.ContainerId, request.IfName));

        using ContainerNamespace? container = ContainerNamespace.TryOpen(request.NetNs);
        RtNetlink? inContainer = container?.TryConnect();
        foreach (string name in candidates)
        {
            Link? veth = host.FindLink(name);
            if (veth is null || veth.Kind != "veth" || veth.MasterIndex != bridge.Index)
                continue;
            if (inContainer is not null && !PeerIsIn(inContainer, veth))
            {
                request.Environment.Stderr.WriteLine($"bridge: not deleting \"{name}\": its peer is not in {request.NetNs}");
                continue;
            }
            try
            {
                _removal.Delete(host, _host.Namespace, veth);
            }
            catch (NetlinkException ex)
            {
                throw new CniException(CniErrorCode.Internal, $"failed to delete \"{veth.Name}\": {ex.Message}");
            }
        }
    }

    /// <summary>Whether the peer of host veth <paramref name="hostVeth"/> is a link of the namespace <paramref name="container"/>
    /// is bound to: a veth there whose peer index is the host end's, and whose index is the host end's peer index.</summary>
    internal static bool PeerIsIn(RtNetlink container, Link hostVeth) =>
        hostVeth.ParentIndex is int peerIndex
        && container.FindLink(peerIndex) is { Kind: "veth" } peer
        && peer.ParentIndex == hostVeth.Index;

    // =====================================================================================================
    // CHECK
    // =====================================================================================================

    /// <inheritdoc/>
    public override async Task CheckAsync(CniRequest request, CancellationToken cancellationToken)
    {
        var trace = new Trace(request);
        // The IPAM plugin checks its reservation while we load the configuration and check the links (both read-only
        // and independent). It takes longest (a process of its own), so it starts first.
        Task ipamCheck = !Ipam.IsConfigured(request) ? Task.CompletedTask : _ipam.CheckAsync(request, cancellationToken);
        try
        {
            BridgeSettings conf = BridgeSettings.Load(request);
            CniResult prev = InterfaceChecks.RequirePrevResult(request);
            using ContainerNamespace container = ContainerNamespace.Open(request.NetNs);
            trace.Mark("configuration loaded, namespace opened");
            CheckLinks(request, conf, prev, container);
            trace.Mark("links checked");
        }
        catch
        {
            try { await ipamCheck.ConfigureAwait(false); } catch (Exception) { } // report the error found here
            throw;
        }
        await ipamCheck.ConfigureAwait(false);
        trace.Mark("IPAM CHECK");
    }

    private void CheckLinks(CniRequest request, BridgeSettings conf, CniResult prev, ContainerNamespace container)
    {
        using RtNetlink host = _host.OpenNetlink();

        int bridgeIndexInResult = InterfaceChecks.FindInterface(prev, conf.BridgeName, null);
        int containerIndexInResult = InterfaceChecks.FindInterface(prev, request.IfName, request.NetNs);
        if (bridgeIndexInResult < 0)
            throw new CniException(CniErrorCode.Internal, $"CNI created bridge {conf.BridgeName} in host namespace was not found in prevResult");
        if (containerIndexInResult < 0)
            throw new CniException(CniErrorCode.Internal, $"Sandbox in prevResult doesn't match configured netns: no interface {request.IfName} in sandbox {request.NetNs}");

        // The bridge.
        CniInterface brExpected = prev.Interfaces[bridgeIndexInResult];
        Link bridge = host.FindLink(conf.BridgeName) ?? throw new CniException(CniErrorCode.Internal, $"CNI created bridge {conf.BridgeName} in host namespace was not found");
        if (bridge.Kind != "bridge")
            throw new CniException(CniErrorCode.Internal, $"Interface {bridge.Name} does not have link type of bridge");
        InterfaceChecks.ValidateMac("Bridge interface", brExpected.Mac, bridge);
        if (bridge.IsPromiscuous != conf.Options.PromiscMode)
            throw new CniException(CniErrorCode.Internal, $"Bridge interface {bridge.Name} configured Promisc Mode {conf.Options.PromiscMode} doesn't match current state: {bridge.IsPromiscuous}");

        // The container end.
        CniInterface contExpected = prev.Interfaces[containerIndexInResult];
        Link contLink = container.Netlink.FindLink(request.IfName) ?? throw new CniException(CniErrorCode.Internal, $"CNI created interface in container {request.IfName} not found");
        if (contLink.Kind != "veth")
            throw new CniException(CniErrorCode.Internal, $"Error: Container interface {contLink.Name} not of type veth");
        InterfaceChecks.ValidateMac("Interface", contExpected.Mac, contLink);

        // The host end: a veth in prevResult whose peer is the container end and whose master is the bridge.
        bool vethFound = false;
        for (int i = 0; i < prev.Interfaces.Count && !vethFound; i++)
        {
            if (i == bridgeIndexInResult || i == containerIndexInResult || !string.IsNullOrEmpty(prev.Interfaces[i].Sandbox))
                continue;
            Link? veth = host.FindLink(prev.Interfaces[i].Name);
            if (veth is null || veth.Kind != "veth")
                continue;
            if (veth.Index != contLink.ParentIndex || veth.ParentIndex != contLink.Index)
                continue;
            if (veth.MasterIndex != bridge.Index)
                throw new CniException(CniErrorCode.Internal, $"CNI veth {veth.Name} is not attached to bridge {bridge.Name}");
            InterfaceChecks.ValidateMac("Interface", prev.Interfaces[i].Mac, veth);
            vethFound = true;
        }
        if (!vethFound)
            throw new CniException(CniErrorCode.Internal, $"CNI veth created for bridge {conf.BridgeName} was not found");

        // Addresses and routes in the container.
        InterfaceChecks.ValidateAddresses(container.Netlink, request.IfName, prev, containerIndexInResult);
        InterfaceChecks.ValidateRoutes(container.Netlink, prev.Routes);
    }

    // =====================================================================================================
    // GC and STATUS
    // =====================================================================================================

    /// <inheritdoc/>
    public override async Task GcAsync(CniRequest request, CancellationToken cancellationToken)
    {
        BridgeSettings conf = BridgeSettings.Load(request);
        if (conf.IsLayer3)
            await _ipam.GcAsync(request, cancellationToken).ConfigureAwait(false);
        IEnumerable<Attachment> valid = (conf.Options.ValidAttachments ?? []).Select(a => new Attachment(a.ContainerId, a.IfName));
        await IpMasquerade.GcAsync(conf.Network, valid, cancellationToken, _host.Commands).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override async Task StatusAsync(CniRequest request, CancellationToken cancellationToken)
    {
        BridgeSettings conf = BridgeSettings.Load(request);
        if (conf.IsLayer3)
            await _ipam.StatusAsync(request, cancellationToken).ConfigureAwait(false);
    }

    // =====================================================================================================
    // Helpers
    // =====================================================================================================

    /// <summary>The host-side veth name of an attachment (see <see cref="HostVeth.Name"/>).</summary>
    public static string HostVethName(string network, string containerId, string ifName) => HostVeth.Name(network, containerId, ifName);

    /// <summary>A random host-side veth name, for when the derived one is taken (see <see cref="HostVeth.Random"/>).</summary>
    private static string RandomVethName() => HostVeth.Random();

    /// <summary>Phase timings on stderr when <c>CNI_BRIDGE_TRACE=1</c> (for profiling; stdout stays the result).</summary>
    private sealed class Trace(CniRequest request)
    {
        private readonly bool _on = request.Environment.GetVariable("CNI_BRIDGE_TRACE") == "1";
        private readonly long _start = System.Diagnostics.Stopwatch.GetTimestamp();

        public void Mark(string phase)
        {
            if (_on)
                request.Environment.Stderr.WriteLine($"bridge trace: {System.Diagnostics.Stopwatch.GetElapsedTime(_start).TotalMilliseconds,8:0.00} ms {phase}");
        }
    }

    private static string SpoofCheckId(CniRequest request) => request.ContainerId + "-" + request.IfName;

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
