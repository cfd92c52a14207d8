using System.Net;
using System.Net.Sockets;
using Cni.Netlink;
using Cni.Plugins.Common;
using Cni.Spec;

namespace Cni.Plugins.Loopback;

/// <summary>
/// The <c>loopback</c> CNI plugin: sets the container's <c>lo</c> up, whereupon the kernel gives it 127.0.0.1/8 and
/// (with IPv6) ::1/128. <c>CNI_IFNAME</c> is ignored: this plugin only ever touches <c>lo</c>, as the reference.
/// ADD reports <c>lo</c> with those addresses as the reference does (or passes a <c>prevResult</c> through unchanged
/// when chained), in the layout of the configuration's version: the reference prints its 1.0.0 layout under every
/// version label (no <c>ips[].version</c> for 0.3.x/0.4.0, <c>interfaces</c>/<c>ips</c> instead of
/// <c>ip4</c>/<c>ip6</c> for 0.1.0/0.2.0, which a 0.2.0 runtime reads as no address), this plugin the spec's. DEL sets <c>lo</c> down and succeeds when the namespace is gone or not given; CHECK
/// verifies that <c>lo</c> is up.
/// </summary>
public class LoopbackPlugin : CniPlugin
{
    /// <summary>The only interface this plugin manages.</summary>
    public const string InterfaceName = "lo";

    /// <summary>The MAC the reference reports for <c>lo</c>.</summary>
    public const string LoopbackMac = "00:00:00:00:00:00";

    /// <inheritdoc/>
    public override PluginInfo Info { get; } = new() { About = "CNI loopback plugin (Cni.NET)" };

    /// <inheritdoc/>
    public override async Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        // A prevResult that cannot be read fails before anything changes, as in the reference.
        CniResult? prev = request.Config.PrevResult;
        using ContainerNamespace container = ContainerNamespace.Open(request.NetNs);
        await using var tx = new AddTransaction(request.Environment.Stderr);
        RtNetlink netlink = container.Netlink;
        Link lo = FindLoopback(netlink);
        if (!lo.IsUp)
        {
            try
            {
                netlink.SetLinkUp(lo.Index);
            }
            catch (NetlinkException ex)
            {
                throw new CniException(CniErrorCode.Internal, $"failed to set {InterfaceName} up: {ex.Message}");
            }
            int index = lo.Index;
            tx.OnRollback($"set {InterfaceName} down again", () => netlink.SetLinkDown(index));
        }

        // The first address of each family, as the reference reports them; every address must be a loopback one.
        IPPrefix? v4 = FirstLoopbackAddress(netlink, lo.Index, AddressFamily.InterNetwork);
        IPPrefix? v6 = FirstLoopbackAddress(netlink, lo.Index, AddressFamily.InterNetworkV6);

        CniResult result;
        if (prev is not null)
        {
            // Chained after another plugin: pass its result on untouched (the host prints it in the configuration's version).
            result = prev;
        }
        else
        {
            result = new CniResult
            {
                Interfaces = [new CniInterface { Name = InterfaceName, Mac = LoopbackMac, Sandbox = request.NetNs }],
            };
            foreach (IPPrefix? a in (ReadOnlySpan<IPPrefix?>)[v4, v6])
            {
                if (a is { } address)
                    result.Ips.Add(new CniIPConfig { Interface = 0, Address = address });
            }
        }
        tx.Commit();
        return result;
    }

    /// <inheritdoc/>
    public override Task DelAsync(CniRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        // No namespace given, or it is gone (or no longer a network namespace): nothing to set down.
        using ContainerNamespace? container = ContainerNamespace.TryOpen(request.NetNs);
        RtNetlink? netlink = container?.TryConnect();
        if (netlink?.FindLink(InterfaceName) is not { } lo)
            return Task.CompletedTask;
        try
        {
            netlink.SetLinkDown(lo.Index);
        }
        catch (NetlinkException ex) when (ex.IsNotFound)
        {
            // Vanished meanwhile: nothing left to do.
        }
        catch (NetlinkException ex)
        {
            throw new CniException(CniErrorCode.Internal, $"failed to set {InterfaceName} down: {ex.Message}");
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public override Task CheckAsync(CniRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        using ContainerNamespace container = ContainerNamespace.Open(request.NetNs);
        Link lo = FindLoopback(container.Netlink);
        if (!lo.IsUp)
            throw new CniException(CniErrorCode.Internal, "loopback interface is down");
        return Task.CompletedTask;
    }

    private static Link FindLoopback(RtNetlink netlink)
    {
        try
        {
            return netlink.FindLink(InterfaceName)
                ?? throw new CniException(CniErrorCode.Internal, $"failed to find {InterfaceName}: no such interface in the container namespace");
        }
        catch (NetlinkException ex)
        {
            throw new CniException(CniErrorCode.Internal, $"failed to find {InterfaceName}: {ex.Message}");
        }
    }

    private static IPPrefix? FirstLoopbackAddress(RtNetlink netlink, int index, AddressFamily family)
    {
        IReadOnlyList<Address> addresses;
        try
        {
            addresses = netlink.ListAddresses(index, family);
        }
        catch (NetlinkException ex)
        {
            throw new CniException(CniErrorCode.Internal, $"failed to list the addresses of {InterfaceName}: {ex.Message}");
        }
        foreach (Address a in addresses)
        {
            if (!IPAddress.IsLoopback(a.IPAddress))
                throw new CniException(CniErrorCode.Internal, $"loopback interface found with non-loopback address \"{a.IPAddress}\"");
        }
        return addresses.Count == 0 ? null : new IPPrefix(addresses[0].IPAddress, addresses[0].PrefixLength);
    }
}
