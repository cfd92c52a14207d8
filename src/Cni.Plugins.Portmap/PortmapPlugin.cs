using System.Net;
using System.Net.Sockets;
using Cni.Netlink;
using Cni.Netlink.Netfilter;
using Cni.Plugins.Common;
using Cni.Spec;

namespace Cni.Plugins.Portmap;

/// <summary>
/// The <c>portmap</c> CNI plugin: a chained plugin that forwards host ports to the container addresses of the previous
/// result (capability <c>portMappings</c>), with iptables (the reference's CNI-HOSTPORT-* layout) or nftables (table
/// <c>cni_hostport</c>). ADD is a transaction; DEL removes exactly this container's rules and is idempotent; CHECK
/// verifies the rules of each address family the container has.
/// </summary>
/// <remarks>
/// After the rules are in place, UDP conntrack entries to the mapped host ports are deleted over ctnetlink (stale
/// entries would keep sending new datagrams elsewhere), and with SNAT, <c>route_localnet</c> is set on the host
/// interface that routes to the container's IPv4 address so that connections to 127.0.0.1:hostPort can be forwarded.
/// </remarks>
public class PortmapPlugin : CniPlugin
{
    private readonly ICommandRunner _commands;
    private readonly string? _hostNetNs;

    /// <summary>Creates the plugin.</summary>
    /// <param name="commands">Runs iptables, ip6tables and nft (<see cref="ICommandRunner.System"/> when null).</param>
    /// <param name="hostNetNs">The path of the network namespace the rules live in, used for the netlink work (conntrack,
    /// routes, sysctl); null for the plugin's own namespace. The runner must run the tools in the same namespace.</param>
    public PortmapPlugin(ICommandRunner? commands = null, string? hostNetNs = null)
    {
        _commands = commands ?? ICommandRunner.System;
        _hostNetNs = hostNetNs;
    }

    /// <inheritdoc/>
    public override PluginInfo Info { get; } = new() { About = "CNI portmap plugin (Cni.NET)" };

    /// <summary>Reads and validates the configuration of <paramref name="request"/>.</summary>
    public PortmapSettings LoadConf(CniRequest request, bool forAdd = true) =>
        PortmapSettings.Load(request, _commands.Find("iptables") is not null, _commands.Find("nft") is not null, forAdd);

    /// <summary>The backend for <paramref name="backend"/>.</summary>
    public IPortMapper Mapper(PortmapBackend backend) =>
        backend == PortmapBackend.Nftables ? new NftablesPortMapper(_commands) : new IptablesPortMapper(_commands);

    // =====================================================================================================
    // ADD
    // =====================================================================================================

    /// <inheritdoc/>
    public override async Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        PortmapSettings s = LoadConf(request);
        CniResult prev = request.Config.PrevResult
            ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "portmap must be called as a chained plugin: prevResult is missing");
        if (s.Mappings.Count == 0)
            return prev;

        IPortMapper mapper = Mapper(s.Backend);
        TextWriter log = request.Environment.Stderr;
        await using var tx = new AddTransaction(log);
        foreach (IPPrefix? address in new[] { s.ContainerV4, s.ContainerV6 })
        {
            if (address is not { } container)
                continue;
            // Registered first: a failure half-way through the rules of this family removes them all (idempotent).
            tx.OnRollback($"remove {container.Family} port mappings", () => mapper.UnforwardFamilyAsync(s, container.Family, CancellationToken.None));
            await mapper.ForwardAsync(s, container, cancellationToken).ConfigureAwait(false);

            // Informative only, as the reference: stale UDP entries would keep new datagrams away from the container.
            FlushUdpConntrack(s, container.Family, log);

            if (s.Snat && container.Family == AddressFamily.InterNetwork)
                EnableLocalnetRouting(container.Address, tx);
        }
        tx.Commit();
        return prev;
    }

    private void FlushUdpConntrack(PortmapSettings s, AddressFamily family, TextWriter log)
    {
        ushort[] ports = s.Mappings.Where(m => m.Protocol == "udp" && m.AppliesTo(family)).Select(m => (ushort)m.HostPort).Distinct().ToArray();
        if (ports.Length == 0)
            return;
        try
        {
            using Conntrack ct = OpenConntrack();
            foreach (ushort port in ports)
                ct.DeleteByDestinationPort(family, 17, port);
        }
        catch (Exception e) when (e is NetlinkException or IOException or UnauthorizedAccessException)
        {
            log.WriteLine($"portmap: failed to delete stale UDP conntrack entries ({family}): {e.Message}");
        }
    }

    private Conntrack OpenConntrack()
    {
        if (_hostNetNs is null)
            return Conntrack.Open();
        using NetNs ns = NetNs.Open(_hostNetNs);
        return Conntrack.Open(ns);
    }

    private RtNetlink OpenRtNetlink()
    {
        if (_hostNetNs is null)
            return RtNetlink.Open();
        using NetNs ns = NetNs.Open(_hostNetNs);
        return RtNetlink.Open(ns);
    }

    /// <summary>The name of the host interface whose route reaches <paramref name="address"/> (longest prefix of the main
    /// table), or null; the reference asks the kernel the same (<c>ip route get</c>).</summary>
    public string? RoutableHostInterface(IPAddress address)
    {
        using RtNetlink nl = OpenRtNetlink();
        Cni.Netlink.Route? best = null;
        foreach (Cni.Netlink.Route r in nl.ListRoutes(address.AddressFamily))
        {
            if (r.OutputLinkIndex is null)
                continue;
            IPAddress dst = r.Destination ?? (address.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any);
            if (!new IPPrefix(dst, r.PrefixLength).Contains(address))
                continue;
            if (best is null || r.PrefixLength > best.PrefixLength || (r.PrefixLength == best.PrefixLength && (r.Priority ?? 0) < (best.Priority ?? 0)))
                best = r;
        }
        return best is null ? null : nl.GetLink(best.OutputLinkIndex!.Value).Name;
    }

    /// <summary>Sets route_localnet on the interface routing to the container, so that 127.0.0.1:hostPort can be DNATed
    /// across it; the old value is restored if the ADD fails later (DEL leaves it, as the reference: the interface is shared).</summary>
    private void EnableLocalnetRouting(IPAddress container, AddTransaction tx)
    {
        string? ifName = RoutableHostInterface(container);
        if (ifName is null)
            return;
        string key = $"net/ipv4/conf/{ifName}/route_localnet";
        using NetNs? ns = _hostNetNs is null ? null : NetNs.Open(_hostNetNs);
        try
        {
            string old = Sysctl.Get(key, ns);
            if (old == "1")
                return;
            Sysctl.Set(key, "1", ns);
            tx.OnRollback($"restore {key}", () =>
            {
                using NetNs? again = _hostNetNs is null ? null : NetNs.Open(_hostNetNs);
                Sysctl.Set(key, old, again);
            });
        }
        catch (NetlinkException e)
        {
            throw new CniException(CniErrorCode.Internal, $"unable to enable route_localnet on {ifName}: {e.Message}");
        }
    }

    // =====================================================================================================
    // DEL
    // =====================================================================================================

    /// <inheritdoc/>
    public override Task DelAsync(CniRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        PortmapSettings s = LoadConf(request, forAdd: false);
        // As the reference: without mappings there is nothing to remove (the runtime passes the same capability
        // arguments to DEL as to ADD). Neither CNI_NETNS nor prevResult is needed.
        if (s.Mappings.Count == 0)
            return Task.CompletedTask;
        return Mapper(s.Backend).UnforwardAsync(s, cancellationToken);
    }

    // =====================================================================================================
    // CHECK
    // =====================================================================================================

    /// <inheritdoc/>
    public override async Task CheckAsync(CniRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        PortmapSettings s = LoadConf(request);
        if (request.Config.PrevResult is null)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "required prevResult missing");
        if (s.Mappings.Count == 0)
            return;
        IPortMapper mapper = Mapper(s.Backend);
        foreach (IPPrefix? address in new[] { s.ContainerV4, s.ContainerV6 })
        {
            if (address is { } container)
                await mapper.CheckAsync(s, container, cancellationToken).ConfigureAwait(false);
        }
    }

    // =====================================================================================================
    // STATUS
    // =====================================================================================================

    /// <inheritdoc/>
    public override Task StatusAsync(CniRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        PortmapSettings s = LoadConf(request, forAdd: false);
        string tool = s.Backend == PortmapBackend.Nftables ? "nft" : "iptables";
        if (_commands.Find(tool) is null)
            throw new CniException(CniErrorCode.PluginNotAvailable, $"portmap cannot work: {tool} is not installed");
        return Task.CompletedTask;
    }
}
