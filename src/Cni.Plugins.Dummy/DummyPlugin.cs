using Cni.Netlink;
using Cni.Plugins.Common;
using Cni.Spec;

namespace Cni.Plugins.Dummy;

/// <summary>
/// The <c>dummy</c> CNI plugin: a dummy link in the container under <c>CNI_IFNAME</c> carrying the addresses of the
/// IPAM plugin (which is required, as in the reference), e.g. to give a pod an address that is routed to it by other
/// means. The link is created inside the container namespace, so the host is never touched.
/// </summary>
/// <remarks>
/// ADD is a transaction (a failure deletes the link and releases the addresses); DEL is idempotent (a namespace or link
/// that is gone is success, and the addresses are released also without <c>CNI_NETNS</c>); CHECK names what drifted.
/// On a kernel without the dummy module ADD fails with a CNI error saying so, and leaves nothing behind.
/// </remarks>
public class DummyPlugin : CniPlugin
{
    private readonly IpamInvoker _ipam;
    private readonly ISubInterfaceKernel _kernel;

    /// <summary>Creates the plugin.</summary>
    /// <param name="ipam">Runs the IPAM plugin (<see cref="IpamInvoker.Default"/> when null).</param>
    /// <param name="kernel">The container's namespace (<see cref="NetlinkSubInterfaceKernel"/> when null).</param>
    public DummyPlugin(IpamInvoker? ipam = null, ISubInterfaceKernel? kernel = null)
    {
        _ipam = ipam ?? IpamInvoker.Default;
        _kernel = kernel ?? new NetlinkSubInterfaceKernel();
    }

    /// <inheritdoc/>
    public override PluginInfo Info { get; } = new() { About = "CNI dummy plugin (Cni.NET)" };

    /// <summary>Validates the configuration of <paramref name="request"/>: <c>ipam</c> must name a plugin.</summary>
    /// <exception cref="CniException">Code 7 naming <c>ipam</c>.</exception>
    public static void LoadConf(CniRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!Ipam.IsConfigured(request))
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "dummy interface requires an IPAM configuration (ipam)");
    }

    /// <inheritdoc/>
    public override async Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
    {
        LoadConf(request);
        using ISubInterfaceNamespace container = _kernel.OpenContainer(request.NetNs);
        string ifName = request.IfName;
        if (container.FindLink(ifName) is not null)
            throw new CniException(CniErrorCode.Internal, $"interface \"{ifName}\" already exists in the container (CNI_IFNAME)");
        await using var tx = new AddTransaction(request.Environment.Stderr, _ipam);
        (Link link, CniResult? ipam) = await tx.MakeLinksWithIpamAsync(request, true, () =>
        {
            try
            {
                container.CreateLink(new DummyLinkSpec(), ifName, null);
            }
            catch (NetlinkException ex)
            {
                throw ex.IsNotSupported || ex.Errno == NetlinkException.EINVAL && ex.KernelMessage?.Contains("Unknown device type", StringComparison.OrdinalIgnoreCase) == true
                    ? new CniException(CniErrorCode.Internal, $"failed to create dummy: this kernel does not support dummy links (module missing?): {ex.Message}")
                    : new CniException(CniErrorCode.Internal, $"failed to create dummy: {ex.Message}");
            }
            Link created = container.FindLink(ifName) ?? throw new CniException(CniErrorCode.Internal, $"failed to create dummy: \"{ifName}\" did not appear in the container");
            int index = created.Index;
            tx.OnRollback($"delete dummy {ifName} in the container", () =>
            {
                if (container.FindLink(index) is { } l)
                    container.DeleteLink(l);
            });
            return created;
        }, cancellationToken).ConfigureAwait(false);

        var result = new CniResult
        {
            Interfaces = [new CniInterface { Name = ifName, Mac = InterfaceChecks.FormatMac(link.MacAddress), Sandbox = container.Path }],
            Ips = ipam!.Ips,
            Routes = ipam.Routes,
            Dns = ipam.Dns,
        };
        foreach (CniIPConfig ip in result.Ips)
            ip.Interface = 0;
        container.Configure(ifName, result, null);
        if (request.Config.Dns is { IsEmpty: false } dns)
            result.Dns = dns;
        tx.Commit();
        return result;
    }

    /// <inheritdoc/>
    public override Task DelAsync(CniRequest request, CancellationToken cancellationToken)
    {
        LoadConf(request);
        return SubInterfaces.DeleteAsync(_kernel, _ipam, request, null, cancellationToken);
    }

    /// <inheritdoc/>
    public override async Task CheckAsync(CniRequest request, CancellationToken cancellationToken)
    {
        LoadConf(request);
        using ISubInterfaceNamespace container = _kernel.OpenContainer(request.NetNs);
        await _ipam.CheckAsync(request, cancellationToken).ConfigureAwait(false);
        CniResult prev = InterfaceChecks.RequirePrevResult(request);
        string ifName = request.IfName;
        int at = InterfaceChecks.FindInterface(prev, ifName, request.NetNs);
        if (at < 0)
            throw new CniException(CniErrorCode.Internal, $"Sandbox in prevResult doesn't match configured netns: no interface {ifName} in sandbox {request.NetNs}");
        Link link = container.FindLink(ifName) ?? throw new CniException(CniErrorCode.Internal, $"Container Interface name in prevResult: {ifName} not found");
        if (link.Kind != "dummy")
            throw new CniException(CniErrorCode.Internal, $"Error: Container interface {ifName} not of type dummy (it is {link.Kind ?? "a device without kind"})");
        InterfaceChecks.ValidateMac("Interface", prev.Interfaces[at].Mac, link);
        if (!link.IsUp)
            throw new CniException(CniErrorCode.Internal, $"Interface {ifName} is down");
        container.ValidateAddresses(ifName, prev, at);
        container.ValidateRoutes(prev.Routes);
    }

    /// <inheritdoc/>
    public override Task GcAsync(CniRequest request, CancellationToken cancellationToken) =>
        !Ipam.IsConfigured(request) ? Task.CompletedTask : _ipam.GcAsync(request, cancellationToken);

    /// <inheritdoc/>
    public override Task StatusAsync(CniRequest request, CancellationToken cancellationToken) =>
        !Ipam.IsConfigured(request) ? Task.CompletedTask : _ipam.StatusAsync(request, cancellationToken);
}

/// <summary>A dummy link to create: no master (<see cref="SubInterfaceLinkSpec.MasterIndex"/> 0).</summary>
public sealed record DummyLinkSpec() : SubInterfaceLinkSpec("dummy", 0)
{
    /// <inheritdoc/>
    public override void Create(RtNetlink netlink, string name, NetNs? ns)
    {
        ArgumentNullException.ThrowIfNull(netlink);
        netlink.AddDummy(name, new LinkOptions { Mtu = Mtu, MacAddress = Mac, Namespace = ns });
    }
}
