using Cni.Netlink;
using Cni.Spec;

namespace Cni.Plugins.Common;

/// <summary>What <see cref="SubInterfacePlugin{TSettings}"/> needs of a plugin's validated configuration.</summary>
public interface ISubInterfaceSettings
{
    /// <summary>The master; null when not looked up (DEL).</summary>
    MasterLink? Master { get; }

    /// <summary>The configured MTU; 0 inherits the master's.</summary>
    int Mtu { get; }

    /// <summary>True when <c>ipam</c> names a plugin that provides the addresses.</summary>
    bool UsesIpam { get; }
}

/// <summary>
/// The command flow of a sub-interface plugin (macvlan, vlan, ipvlan, ...): a link of the plugin's kind on a master
/// (in the host, or in the container with <c>linkInContainer</c>), created directly in the container namespace under
/// <c>CNI_IFNAME</c>, with the addresses of the IPAM plugin. A plugin supplies its options and their validation
/// (<see cref="LoadConf"/>), the link to create (<see cref="LinkSpec"/>) and its own CHECK comparisons
/// (<see cref="CheckLink"/>).
/// </summary>
/// <remarks>
/// <para>ADD is a transaction: a failure deletes the link and releases the addresses. The link is created under its
/// final name, so an ADD killed midway leaves a link that DEL finds. Only when the kernel refuses the final name
/// because the host has a link of that name (kernels that check the name in the creating namespace) is it created
/// under <see cref="SubInterfaces.TemporaryName"/>, derived from the container id and <c>CNI_IFNAME</c>, and renamed;
/// DEL deletes a link of the plugin's kind left under that name too.</para>
/// <para>DEL is idempotent and never looks at the master. CHECK compares the link with <c>prevResult</c>. GC and
/// STATUS delegate to the IPAM plugin, the only state outside the container.</para>
/// </remarks>
/// <typeparam name="TSettings">The plugin's validated configuration.</typeparam>
public abstract class SubInterfacePlugin<TSettings> : CniPlugin where TSettings : ISubInterfaceSettings
{
    /// <summary>Creates the plugin.</summary>
    /// <param name="ipam">Runs the IPAM plugin (<see cref="IpamInvoker.Default"/>, always a process, when null).</param>
    /// <param name="kernel">The host's and the container's namespaces (<see cref="NetlinkSubInterfaceKernel"/> when null).</param>
    protected SubInterfacePlugin(IpamInvoker? ipam, ISubInterfaceKernel? kernel)
    {
        IpamInvoker = ipam ?? IpamInvoker.Default;
        Kernel = kernel ?? new NetlinkSubInterfaceKernel();
    }

    /// <summary>Runs the IPAM plugin.</summary>
    protected IpamInvoker IpamInvoker { get; }

    /// <summary>The host's and the container's namespaces.</summary>
    protected ISubInterfaceKernel Kernel { get; }

    /// <summary>The link kind ("macvlan", ...), as the kernel reports it and as messages name it.</summary>
    protected abstract string Kind { get; }

    /// <summary>How the container interface is configured once it has addresses (null: the defaults).</summary>
    protected virtual InterfaceConfigOptions? InterfaceOptions => null;

    /// <summary>
    /// Reads and validates the configuration of <paramref name="request"/>; unless <paramref name="lookupMaster"/> is
    /// false (DEL: the keys only), also the master (see <see cref="FindMaster"/>) and everything ADD needs.
    /// </summary>
    /// <exception cref="CniException">Invalid configuration, naming the field.</exception>
    public abstract TSettings LoadConf(CniRequest request, bool lookupMaster = true);

    /// <summary>The configuration CHECK compares against; by default <see cref="LoadConf"/> with the master.</summary>
    protected virtual TSettings LoadConfForCheck(CniRequest request) => LoadConf(request);

    /// <summary>The link ADD creates on <paramref name="master"/>.</summary>
    protected abstract SubInterfaceLinkSpec LinkSpec(TSettings settings, MasterLink master);

    /// <summary>The addresses to configure: by default what IPAM returned (null: an L2-only link that is just set up).</summary>
    protected virtual CniResult? Addresses(CniRequest request, TSettings settings, CniResult? ipam) => ipam;

    /// <summary>The plugin's own CHECK comparisons of the live <paramref name="link"/> (kind, name, MAC, MTU, addresses
    /// and routes are compared already).</summary>
    /// <exception cref="CniException">Something drifted; the message names it.</exception>
    protected abstract void CheckLink(TSettings settings, Link link);

    /// <summary>Finds the master through <see cref="Kernel"/> (see <see cref="SubInterfaces.FindMaster(ISubInterfaceKernel, string?, bool, string?)"/>).</summary>
    protected MasterLink FindMaster(string? name, bool inContainer, string? netNs) => SubInterfaces.FindMaster(Kernel, name, inContainer, netNs);

    // =====================================================================================================
    // ADD
    // =====================================================================================================

    /// <inheritdoc/>
    public override async Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
    {
        TSettings conf = LoadConf(request);
        MasterLink master = conf.Master ?? throw new InvalidOperationException($"{GetType().Name}.LoadConf returned no master");
        SubInterfaceLinkSpec spec = LinkSpec(conf, master);
        using ISubInterfaceNamespace container = Kernel.OpenContainer(request.NetNs);
        await using var tx = new AddTransaction(request.Environment.Stderr, IpamInvoker);

        // The link, created in the container under CNI_IFNAME; the addresses from IPAM alongside or after it (see IpamOrder).
        (Link link, CniResult? ipam) = await tx.MakeLinksWithIpamAsync(request, conf.UsesIpam,
            () => CreateInContainer(request, container, master, spec, tx), cancellationToken).ConfigureAwait(false);

        CniResult result = ConfigureResult(request, container, link, Addresses(request, conf, ipam));
        tx.Commit();
        return result;
    }

    /// <summary>
    /// Creates the link in the container as <c>CNI_IFNAME</c> (see the remarks of the class for the fallback name),
    /// registers its deletion with <paramref name="tx"/>, and returns it.
    /// </summary>
    private Link CreateInContainer(CniRequest request, ISubInterfaceNamespace container, MasterLink master, SubInterfaceLinkSpec spec, AddTransaction tx)
    {
        string ifName = request.IfName;
        if (container.FindLink(ifName) is not null)
            throw new CniException(CniErrorCode.Internal, $"interface \"{ifName}\" already exists in the container (CNI_IFNAME)");

        using ISubInterfaceNamespace? host = master.InContainer ? null : Kernel.OpenHost();
        ISubInterfaceNamespace creator = host ?? container;
        ISubInterfaceNamespace? target = host is null ? null : container;
        string name = ifName;
        try
        {
            creator.CreateLink(spec, name, target);
        }
        catch (NetlinkException ex) when (ex.IsExists && host is not null && container.FindLink(ifName) is null)
        {
            // This kernel checked the name in the host, which has a link called CNI_IFNAME: create the link under a name
            // DEL also recognises, then rename it in the container.
            name = SubInterfaces.TemporaryName(request.ContainerId, ifName);
            if (container.FindLink(name) is { } stale && stale.Kind == Kind)
                container.DeleteLink(stale); // left by an ADD of this container and interface killed before the rename
            Create(creator, spec, name, target);
        }
        catch (NetlinkException ex)
        {
            throw CreateError(ex);
        }

        Link created = container.FindLink(name)
            ?? throw new CniException(CniErrorCode.Internal, $"failed to create {Kind}: \"{name}\" did not appear in the container");
        int index = created.Index;
        tx.OnRollback($"delete {Kind} {ifName} in the container", () =>
        {
            if (container.FindLink(index) is { } link)
                container.DeleteLink(link);
        });
        if (name == ifName)
            return created;

        try
        {
            container.SetName(index, ifName);
            return container.FindLink(index) ?? throw new NetlinkException(NetlinkException.ENODEV, "get link", "no such device");
        }
        catch (NetlinkException ex)
        {
            throw new CniException(CniErrorCode.Internal, $"failed to rename {Kind} \"{name}\" to \"{ifName}\": {ex.Message}");
        }
    }

    private void Create(ISubInterfaceNamespace creator, SubInterfaceLinkSpec spec, string name, ISubInterfaceNamespace? target)
    {
        try
        {
            creator.CreateLink(spec, name, target);
        }
        catch (NetlinkException ex)
        {
            throw CreateError(ex);
        }
    }

    private CniException CreateError(NetlinkException ex) =>
        ex.IsNotSupported || ex.Errno == NetlinkException.EINVAL && ex.KernelMessage?.Contains("Unknown device type", StringComparison.OrdinalIgnoreCase) == true
            ? new CniException(CniErrorCode.Internal, $"failed to create {Kind}: this kernel does not support {Kind} links (module missing?): {ex.Message}")
            : new CniException(CniErrorCode.Internal, $"failed to create {Kind}: {ex.Message}");

    /// <summary>
    /// The result of ADD, applied: <paramref name="link"/> as the only interface, in the container; with
    /// <paramref name="addresses"/>, every address on it (<c>interface</c> 0) with the routes and DNS, configured in the
    /// container (which brings the link up); without (L2 only), the link just set up. The network configuration's
    /// <c>dns</c>, when set, replaces the addresses' DNS.
    /// </summary>
    private CniResult ConfigureResult(CniRequest request, ISubInterfaceNamespace container, Link link, CniResult? addresses)
    {
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
            container.Configure(request.IfName, result, InterfaceOptions);
        }
        else
        {
            try
            {
                container.SetLinkUp(link.Index);
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

    // =====================================================================================================
    // DEL
    // =====================================================================================================

    /// <inheritdoc/>
    public override Task DelAsync(CniRequest request, CancellationToken cancellationToken)
    {
        // Only the keys are read: the master may be gone, and DEL must still succeed and release the addresses.
        LoadConf(request, lookupMaster: false);
        return SubInterfaces.DeleteAsync(Kernel, IpamInvoker, request, Kind, cancellationToken);
    }

    // =====================================================================================================
    // CHECK
    // =====================================================================================================

    /// <inheritdoc/>
    public override async Task CheckAsync(CniRequest request, CancellationToken cancellationToken)
    {
        TSettings conf = LoadConfForCheck(request);
        using ISubInterfaceNamespace container = Kernel.OpenContainer(request.NetNs);
        if (conf.UsesIpam)
            await IpamInvoker.CheckAsync(request, cancellationToken).ConfigureAwait(false);
        CniResult prev = InterfaceChecks.RequirePrevResult(request);

        int at = InterfaceChecks.FindInterface(prev, request.IfName, request.NetNs);
        if (at < 0)
            throw new CniException(CniErrorCode.Internal, $"Sandbox in prevResult doesn't match configured netns: no interface {request.IfName} in sandbox {request.NetNs}");
        CniInterface expected = prev.Interfaces[at];
        Link link = container.FindLink(request.IfName)
            ?? throw new CniException(CniErrorCode.Internal, $"Container Interface name in prevResult: {request.IfName} not found");
        if (link.Kind != Kind)
            throw new CniException(CniErrorCode.Internal, $"Error: Container interface {link.Name} not of type {Kind} (it is {link.Kind ?? "a device without kind"})");
        InterfaceChecks.ValidateMac("Interface", expected.Mac, link);
        int wantedMtu = conf.Mtu > 0 ? conf.Mtu : expected.Mtu ?? 0;
        if (wantedMtu > 0 && link.Mtu != wantedMtu)
            throw new CniException(CniErrorCode.Internal, $"Error: configured MTU of {link.Name} is {wantedMtu}, current value is {link.Mtu}");
        container.ValidateAddresses(request.IfName, prev, at);
        container.ValidateRoutes(prev.Routes);
        CheckLink(conf, link);
    }

    // =====================================================================================================
    // GC and STATUS (1.1.0): the only state outside the container is the IPAM plugin's, so both delegate to it.
    // =====================================================================================================

    /// <inheritdoc/>
    public override Task GcAsync(CniRequest request, CancellationToken cancellationToken) =>
        !Ipam.IsConfigured(request) ? Task.CompletedTask : IpamInvoker.GcAsync(request, cancellationToken);

    /// <inheritdoc/>
    public override Task StatusAsync(CniRequest request, CancellationToken cancellationToken) =>
        !Ipam.IsConfigured(request) ? Task.CompletedTask : IpamInvoker.StatusAsync(request, cancellationToken);
}
