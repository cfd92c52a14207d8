using System.Net;
using System.Net.Sockets;
using Cni.Netlink;
using Cni.Plugins.Common;
using Cni.Spec;

namespace Cni.Plugins.Vrf;

/// <summary>
/// The container namespaces as the vrf plugin sees them. The real one is <see cref="NetlinkVrfKernel"/>; tests
/// substitute an in-memory fake, so that what the plugin decides runs without root and without the vrf module.
/// </summary>
public interface IVrfKernel
{
    /// <summary>The container namespace <paramref name="path"/> (<c>CNI_NETNS</c>), as <see cref="ContainerNamespace.Open"/>.</summary>
    /// <exception cref="CniException">Empty path (code 4), missing or unusable namespace (code 5).</exception>
    IVrfNamespace Open(string? path);

    /// <summary>The container namespace for DEL: null when the path is empty or the namespace is gone.</summary>
    IVrfNamespace? TryOpen(string? path);
}

/// <summary>One container namespace, with the operations the vrf plugin uses; refusals are <see cref="NetlinkException"/>s.</summary>
public interface IVrfNamespace : IDisposable
{
    /// <summary>The link called <paramref name="name"/>, or null.</summary>
    Link? FindLink(string name);

    /// <summary>The link with index <paramref name="index"/>, or null.</summary>
    Link? FindLink(int index);

    /// <summary>Every link.</summary>
    IReadOnlyList<Link> ListLinks();

    /// <summary>The routing table of VRF <paramref name="index"/>; null when it is no VRF.</summary>
    uint? VrfTable(int index);

    /// <summary>Creates VRF <paramref name="name"/> on <paramref name="table"/> (<c>ip link add NAME type vrf table T</c>).</summary>
    void AddVrf(string name, uint table);

    /// <summary>Sets link <paramref name="index"/> up.</summary>
    void SetUp(int index);

    /// <summary>Enslaves link <paramref name="index"/> to <paramref name="master"/>.</summary>
    void SetMaster(int index, int master);

    /// <summary>Releases link <paramref name="index"/> from its master.</summary>
    void SetNoMaster(int index);

    /// <summary>Deletes link <paramref name="index"/>; a link already gone is success.</summary>
    void DeleteLink(int index);

    /// <summary>The IPv6 addresses of link <paramref name="index"/>.</summary>
    IReadOnlyList<(IPAddress Address, int PrefixLength)> Ipv6Addresses(int index);

    /// <summary>Adds an address to link <paramref name="index"/> (without DAD, as the plugins add IPv6 addresses).</summary>
    void AddAddress(int index, IPAddress address, int prefixLength);
}

/// <summary>The real <see cref="IVrfKernel"/>: rtnetlink inside the container namespace.</summary>
public sealed class NetlinkVrfKernel : IVrfKernel
{
    /// <inheritdoc/>
    public IVrfNamespace Open(string? path) => new Namespace(ContainerNamespace.Open(path));

    /// <inheritdoc/>
    public IVrfNamespace? TryOpen(string? path)
    {
        ContainerNamespace? container = ContainerNamespace.TryOpenConnected(path);
        return container is null ? null : new Namespace(container);
    }

    private sealed class Namespace(ContainerNamespace container) : IVrfNamespace
    {
        private RtNetlink Nl => container.Netlink;

        public Link? FindLink(string name) => Nl.FindLink(name);

        public Link? FindLink(int index) => Nl.FindLink(index);

        public IReadOnlyList<Link> ListLinks() => Nl.ListLinks();

        public uint? VrfTable(int index) => Nl.GetVrfTable(index);

        public void AddVrf(string name, uint table) => Nl.AddVrf(name, table);

        public void SetUp(int index) => Nl.SetLinkUp(index);

        public void SetMaster(int index, int master) => Nl.SetMaster(index, master);

        public void SetNoMaster(int index) => Nl.SetNoMaster(index);

        public void DeleteLink(int index)
        {
            try
            {
                Nl.DeleteLink(index);
            }
            catch (NetlinkException ex) when (ex.IsNotFound)
            {
            }
        }

        public IReadOnlyList<(IPAddress Address, int PrefixLength)> Ipv6Addresses(int index) =>
            Nl.ListAddresses(index, AddressFamily.InterNetworkV6).Select(a => (a.IPAddress, a.PrefixLength)).ToList();

        public void AddAddress(int index, IPAddress address, int prefixLength) =>
            Nl.AddAddress(index, address, prefixLength, new AddressOptions { Flags = AddressFlags.NoDad });

        public void Dispose() => container.Dispose();
    }
}
