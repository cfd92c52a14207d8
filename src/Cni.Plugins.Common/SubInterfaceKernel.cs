using System.Net.NetworkInformation;
using System.Net.Sockets;
using Cni.Netlink;
using Cni.Spec;

namespace Cni.Plugins.Common;

/// <summary>
/// The kernel as the sub-interface plugins (<see cref="SubInterfacePlugin{TSettings}"/>) see it: the host's and the
/// container's network namespaces. The real one is <see cref="NetlinkSubInterfaceKernel"/>; tests substitute an
/// in-memory fake, so that what the plugins decide (what to create, under which name, what to roll back, what DEL
/// removes, what CHECK compares) runs without root and without the kernel modules.
/// </summary>
public interface ISubInterfaceKernel
{
    /// <summary>The namespace the plugin runs in (the host's).</summary>
    /// <exception cref="CniException">It cannot be opened.</exception>
    ISubInterfaceNamespace OpenHost();

    /// <summary>The container namespace <paramref name="path"/> (<c>CNI_NETNS</c>), as <see cref="ContainerNamespace.Open"/>.</summary>
    /// <exception cref="CniException">Empty path (code 4), missing or unusable namespace (code 5).</exception>
    ISubInterfaceNamespace OpenContainer(string? path);

    /// <summary>
    /// The container namespace for DEL: null for an empty path, a missing file, or a file that is no network namespace
    /// any more (see <see cref="ContainerNamespace.TryOpen"/>).
    /// </summary>
    ISubInterfaceNamespace? TryOpenContainer(string? path);
}

/// <summary>One network namespace, opened for one command, with the operations the sub-interface plugins use.</summary>
/// <remarks>Operations report the kernel's refusals as <see cref="NetlinkException"/>, as <see cref="RtNetlink"/> does.</remarks>
public interface ISubInterfaceNamespace : IDisposable
{
    /// <summary>The namespace path (<c>CNI_NETNS</c>); empty for the host.</summary>
    string Path { get; }

    /// <summary>The link called <paramref name="name"/>, or null.</summary>
    Link? FindLink(string name);

    /// <summary>The link with index <paramref name="index"/>, or null.</summary>
    Link? FindLink(int index);

    /// <summary>The routes of the main table for <paramref name="family"/>.</summary>
    IReadOnlyList<Route> ListRoutes(AddressFamily family);

    /// <summary>
    /// Creates the link <paramref name="spec"/> describes, called <paramref name="name"/>, with its master in this
    /// namespace, directly in <paramref name="target"/> (null: in this namespace).
    /// </summary>
    void CreateLink(SubInterfaceLinkSpec spec, string name, ISubInterfaceNamespace? target);

    /// <summary>Renames link <paramref name="index"/>.</summary>
    void SetName(int index, string name);

    /// <summary>Sets link <paramref name="index"/> up.</summary>
    void SetLinkUp(int index);

    /// <summary>Deletes <paramref name="link"/>; a link already gone is success.</summary>
    void DeleteLink(Link link);

    /// <summary>Configures addresses, routes and the interface's sysctls (see <see cref="InterfaceConfigurator.Configure"/>).</summary>
    /// <exception cref="CniException">The kernel refused an address or a route.</exception>
    void Configure(string ifName, CniResult result, InterfaceConfigOptions? options);

    /// <summary>Checks the addresses of <paramref name="result"/> for interface <paramref name="interfaceIndex"/> are on
    /// <paramref name="ifName"/> (see <see cref="InterfaceChecks.ValidateAddresses"/>).</summary>
    void ValidateAddresses(string ifName, CniResult result, int interfaceIndex);

    /// <summary>Checks <paramref name="routes"/> are present (see <see cref="InterfaceChecks.ValidateRoutes"/>).</summary>
    void ValidateRoutes(IEnumerable<CniRoute> routes);
}

/// <summary>
/// A sub-interface to create: its kind, its master, and what the plugin sets at creation. Each plugin derives one
/// with its kind-specific fields and how to send it to the kernel.
/// </summary>
/// <param name="Kind">The link kind ("macvlan", "vlan", "ipvlan").</param>
/// <param name="MasterIndex">The index of the master, in the namespace that creates the link.</param>
public abstract record SubInterfaceLinkSpec(string Kind, int MasterIndex)
{
    /// <summary>The MTU; null inherits the master's.</summary>
    public int? Mtu { get; init; }

    /// <summary>The MAC address; null lets the kernel choose (or inherit, for ipvlan).</summary>
    public PhysicalAddress? Mac { get; init; }

    /// <summary>Sends the creation request through <paramref name="netlink"/>, creating the link in <paramref name="ns"/>
    /// (null: <paramref name="netlink"/>'s namespace).</summary>
    /// <exception cref="NetlinkException">The kernel refused it.</exception>
    public abstract void Create(RtNetlink netlink, string name, NetNs? ns);
}

/// <summary>The real <see cref="ISubInterfaceKernel"/>: rtnetlink in the host's and the container's namespaces.</summary>
public sealed class NetlinkSubInterfaceKernel : ISubInterfaceKernel
{
    private readonly LinkRemovalPolicy _removal;

    /// <summary>Creates the kernel access.</summary>
    /// <param name="removal">How links are deleted (<see cref="LinkRemovalPolicy.InProcess"/> when null).</param>
    public NetlinkSubInterfaceKernel(LinkRemovalPolicy? removal = null) => _removal = removal ?? LinkRemovalPolicy.InProcess;

    /// <inheritdoc/>
    public ISubInterfaceNamespace OpenHost()
    {
        try
        {
            return new NetlinkNamespace(RtNetlink.Open(), null, _removal);
        }
        catch (NetlinkException ex)
        {
            throw new CniException(CniErrorCode.Internal, $"failed to open rtnetlink in the host namespace: {ex.Message}");
        }
    }

    /// <inheritdoc/>
    public ISubInterfaceNamespace OpenContainer(string? path) => new NetlinkNamespace(null, ContainerNamespace.Open(path), _removal);

    /// <inheritdoc/>
    public ISubInterfaceNamespace? TryOpenContainer(string? path)
    {
        ContainerNamespace? container = ContainerNamespace.TryOpenConnected(path);
        return container is null ? null : new NetlinkNamespace(null, container, _removal);
    }

    /// <summary>A namespace through rtnetlink: the host's (own socket) or a container's.</summary>
    private sealed class NetlinkNamespace(RtNetlink? host, ContainerNamespace? container, LinkRemovalPolicy removal) : ISubInterfaceNamespace
    {
        private RtNetlink Netlink => host ?? container!.Netlink;

        public string Path => container?.Path ?? "";

        public Link? FindLink(string name) => Netlink.FindLink(name);

        public Link? FindLink(int index) => Netlink.FindLink(index);

        public IReadOnlyList<Route> ListRoutes(AddressFamily family) => Netlink.ListRoutes(family);

        public void CreateLink(SubInterfaceLinkSpec spec, string name, ISubInterfaceNamespace? target)
        {
            ArgumentNullException.ThrowIfNull(spec);
            NetNs? ns = target switch
            {
                null => null,
                NetlinkNamespace { Container: { } c } => c.Handle,
                _ => throw new ArgumentException("the target is no container namespace of this kernel", nameof(target)),
            };
            spec.Create(Netlink, name, ns);
        }

        private ContainerNamespace? Container => container;

        public void SetName(int index, string name) => Netlink.SetName(index, name);

        public void SetLinkUp(int index) => Netlink.SetLinkUp(index);

        public void DeleteLink(Link link) => removal.Delete(Netlink, container?.Handle, link);

        public void Configure(string ifName, CniResult result, InterfaceConfigOptions? options) =>
            InterfaceConfigurator.Configure(container ?? throw new InvalidOperationException("addresses are configured in a container"), ifName, result, options);

        public void ValidateAddresses(string ifName, CniResult result, int interfaceIndex) =>
            InterfaceChecks.ValidateAddresses(Netlink, ifName, result, interfaceIndex);

        public void ValidateRoutes(IEnumerable<CniRoute> routes) => InterfaceChecks.ValidateRoutes(Netlink, routes);

        public void Dispose()
        {
            host?.Dispose();
            container?.Dispose();
        }
    }
}
