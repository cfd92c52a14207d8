using System.Net.NetworkInformation;
using System.Net.Sockets;
using Cni.Netlink;
using Cni.Plugins.Common;
using Cni.Spec;

namespace Cni.Plugins.TestSupport;

/// <summary>
/// An in-memory <see cref="ISubInterfaceKernel"/>: namespaces holding links, addresses and routes, answering the
/// operations of the sub-interface plugins as the kernel does where the plugins depend on it (EEXIST for a taken
/// name, ENODEV for a missing master, EOPNOTSUPP for a kind this "kernel" lacks), so that their decisions run
/// without root. Every operation is logged in <see cref="Log"/>.
/// </summary>
public sealed class FakeSubInterfaceKernel : ISubInterfaceKernel
{
    private readonly Dictionary<string, FakeNamespace> _namespaces = new(StringComparer.Ordinal);
    private int _open;

    /// <summary>Creates a kernel whose host has <c>lo</c> and a master <paramref name="master"/> (MTU 1500).</summary>
    public FakeSubInterfaceKernel(string master = "eth0")
    {
        Host = new FakeNamespace("");
        Host.AddLink("lo", null, 65536);
        Host.AddLink(master, null, 1500);
    }

    /// <summary>The host namespace.</summary>
    public FakeNamespace Host { get; }

    /// <summary>Operations in the order they ran ("create macvlan eth0 in /run/netns/x", ...).</summary>
    public List<string> Log { get; } = [];

    /// <summary>Behave as kernels that check a new link's name in the creating namespace instead of the target one.</summary>
    public bool NamesCheckedInCreatingNamespace { get; set; }

    /// <summary>Link kinds this kernel lacks (creating one fails with EOPNOTSUPP).</summary>
    public HashSet<string> MissingKinds { get; } = [];

    /// <summary>Operations that fail: "create", "rename", "setup", "configure", "delete".</summary>
    public HashSet<string> Failing { get; } = [];

    /// <summary>Fills in the kind-specific fields (mode, VLAN id) of a link created from a spec.</summary>
    public Func<SubInterfaceLinkSpec, Link, Link>? Describe { get; set; }

    /// <summary>Handles opened and not yet disposed.</summary>
    public int OpenHandles => _open;

    /// <summary>Adds a container namespace at <paramref name="path"/> (with <c>lo</c>).</summary>
    public FakeNamespace AddNamespace(string path)
    {
        var ns = new FakeNamespace(path);
        ns.AddLink("lo", null, 65536);
        _namespaces.Add(path, ns);
        return ns;
    }

    /// <summary>Removes a container namespace (the container died).</summary>
    public void RemoveNamespace(string path) => _namespaces.Remove(path);

    /// <inheritdoc/>
    public ISubInterfaceNamespace OpenHost() => Open(Host);

    /// <inheritdoc/>
    public ISubInterfaceNamespace OpenContainer(string? path)
    {
        if (string.IsNullOrEmpty(path))
            throw new CniException(CniErrorCode.InvalidEnvironmentVariables, "missing network namespace (CNI_NETNS)");
        return _namespaces.TryGetValue(path, out FakeNamespace? ns)
            ? Open(ns)
            : throw new CniException(CniErrorCode.IoFailure, $"failed to open netns \"{path}\": no such namespace (CNI_NETNS)");
    }

    /// <inheritdoc/>
    public ISubInterfaceNamespace? TryOpenContainer(string? path) =>
        !string.IsNullOrEmpty(path) && _namespaces.TryGetValue(path, out FakeNamespace? ns) ? Open(ns) : null;

    private Handle Open(FakeNamespace ns)
    {
        _open++;
        return new Handle(this, ns);
    }

    private void Fail(string operation, string what)
    {
        if (Failing.Contains(operation))
            throw new NetlinkException(NetlinkException.EPERM, what, "injected failure");
    }

    /// <summary>One fake namespace.</summary>
    /// <param name="path">Its path; empty for the host.</param>
    public sealed class FakeNamespace(string path)
    {
        private int _nextIndex = 1;

        /// <summary>Its path; empty for the host.</summary>
        public string Path { get; } = path;

        /// <summary>The links.</summary>
        public List<Link> Links { get; } = [];

        /// <summary>The addresses, by link index.</summary>
        public Dictionary<int, List<IPPrefix>> Addresses { get; } = [];

        /// <summary>The routes (main table).</summary>
        public List<Route> Routes { get; } = [];

        /// <summary>The names of the links.</summary>
        public string[] Names => Links.Select(l => l.Name).ToArray();

        /// <summary>The link called <paramref name="name"/>, or null.</summary>
        public Link? this[string name] => Links.FirstOrDefault(l => l.Name == name);

        /// <summary>Adds a link (a master, a squatter, or the leftover of an interrupted ADD).</summary>
        public Link AddLink(string name, string? kind, int mtu, PhysicalAddress? mac = null, int? parent = null)
        {
            var link = new Link
            {
                Index = _nextIndex++,
                Name = name,
                Kind = kind,
                Mtu = mtu,
                MacAddress = mac ?? new PhysicalAddress([0x02, 0, 0, 0, 0, (byte)_nextIndex]),
                ParentIndex = parent,
            };
            Links.Add(link);
            return link;
        }

        internal int NextIndex() => _nextIndex++;

        internal void Replace(Link old, Link updated) => Links[Links.IndexOf(old)] = updated;
    }

    private sealed class Handle(FakeSubInterfaceKernel kernel, FakeNamespace ns) : ISubInterfaceNamespace
    {
        private bool _disposed;

        public string Path => ns.Path;

        private string Where => ns.Path.Length == 0 ? "host" : ns.Path;

        public Link? FindLink(string name) => ns[name];

        public Link? FindLink(int index) => ns.Links.FirstOrDefault(l => l.Index == index);

        public IReadOnlyList<Route> ListRoutes(AddressFamily family) => ns.Routes.Where(r => r.Family == family).ToList();

        public void CreateLink(SubInterfaceLinkSpec spec, string name, ISubInterfaceNamespace? target)
        {
            FakeNamespace dest = target is null ? ns : ((Handle)target).Namespace;
            kernel.Log.Add($"create {spec.Kind} {name} in {(dest.Path.Length == 0 ? "host" : dest.Path)}");
            kernel.Fail("create", "add link");
            if (kernel.MissingKinds.Contains(spec.Kind))
                throw new NetlinkException(NetlinkException.EOPNOTSUPP, "add link", "Unknown device type");
            // MasterIndex 0: a link without a master (dummy), which the kernel gives MTU 1500.
            Link? master = spec.MasterIndex == 0 ? null : FindLink(spec.MasterIndex) ?? throw new NetlinkException(NetlinkException.ENODEV, "add link", "no such device");
            if (dest[name] is not null || kernel.NamesCheckedInCreatingNamespace && ns[name] is not null)
                throw new NetlinkException(NetlinkException.EEXIST, "add link", "File exists");
            var link = new Link
            {
                Index = dest.NextIndex(),
                Name = name,
                Kind = spec.Kind,
                Mtu = spec.Mtu ?? master?.Mtu ?? 1500,
                MacAddress = spec.Mac ?? (spec.Kind == "ipvlan" ? master!.MacAddress : new PhysicalAddress([0x0a, 0x58, 0, 0, 0, (byte)(master?.Index ?? 0)])),
                ParentIndex = master?.Index,
            };
            dest.Links.Add(kernel.Describe?.Invoke(spec, link) ?? link);
        }

        private FakeNamespace Namespace => ns;

        public void SetName(int index, string name)
        {
            kernel.Log.Add($"rename {index} to {name} in {Where}");
            kernel.Fail("rename", "set name");
            Link link = FindLink(index) ?? throw new NetlinkException(NetlinkException.ENODEV, "set name", "no such device");
            if (ns[name] is not null)
                throw new NetlinkException(NetlinkException.EEXIST, "set name", "File exists");
            ns.Replace(link, Copy(link, name: name));
        }

        public void SetLinkUp(int index)
        {
            kernel.Log.Add($"up {index} in {Where}");
            kernel.Fail("setup", "set up");
            Link link = FindLink(index) ?? throw new NetlinkException(NetlinkException.ENODEV, "set up", "no such device");
            ns.Replace(link, Copy(link, flags: link.Flags | LinkFlags.Up));
        }

        public void DeleteLink(Link link)
        {
            kernel.Log.Add($"delete {link.Name} in {Where}");
            kernel.Fail("delete", "delete link");
            if (FindLink(link.Index) is { } live)
            {
                ns.Links.Remove(live);
                ns.Addresses.Remove(live.Index);
                ns.Routes.RemoveAll(r => r.OutputLinkIndex == live.Index);
            }
        }

        public void Configure(string ifName, CniResult result, InterfaceConfigOptions? options)
        {
            kernel.Log.Add($"configure {ifName} in {Where}");
            if (kernel.Failing.Contains("configure"))
                throw new CniException(CniErrorCode.Internal, $"failed to add address to {ifName}: injected failure");
            Link link = ns[ifName] ?? throw new CniException(CniErrorCode.Internal, $"failed to look up {ifName}");
            List<IPPrefix> addresses = ns.Addresses.TryGetValue(link.Index, out List<IPPrefix>? list) ? list : ns.Addresses[link.Index] = [];
            foreach (CniIPConfig ip in result.Ips)
            {
                addresses.Add(ip.Address);
                IPPrefix net = ip.Address.Network;
                ns.Routes.Add(new Route { Destination = net.Address, PrefixLength = net.PrefixLength, Family = net.Family, OutputLinkIndex = link.Index });
            }
            foreach (CniRoute r in result.Routes)
            {
                IPPrefix dst = r.Dst.Network;
                ns.Routes.Add(new Route { Destination = dst.Address, PrefixLength = dst.PrefixLength, Family = dst.Family, Gateway = r.Gw, OutputLinkIndex = link.Index });
            }
            ns.Replace(link, Copy(link, flags: link.Flags | LinkFlags.Up));
        }

        public void ValidateAddresses(string ifName, CniResult result, int interfaceIndex)
        {
            Link link = ns[ifName] ?? throw new CniException(CniErrorCode.Internal, $"Cannot find container link {ifName}");
            List<IPPrefix> live = ns.Addresses.GetValueOrDefault(link.Index) ?? [];
            foreach (CniIPConfig ip in result.Ips.Where(ip => ip.Interface is not int i || i == interfaceIndex))
            {
                if (!live.Contains(ip.Address))
                    throw new CniException(CniErrorCode.Internal, $"Failed to match addr {ip.Address} on interface {ifName}: the address is missing");
            }
        }

        public void ValidateRoutes(IEnumerable<CniRoute> routes)
        {
            foreach (CniRoute r in routes)
            {
                IPPrefix dst = r.Dst.Network;
                if (!ns.Routes.Any(l => dst.Address.Equals(l.Destination) && l.PrefixLength == dst.PrefixLength && (r.Gw is null || r.Gw.Equals(l.Gateway))))
                    throw new CniException(CniErrorCode.Internal, $"Expected Route {{Dst:{r.Dst} GW:{r.Gw?.ToString() ?? "<nil>"}}} not found in routing table");
            }
        }

        public void Dispose()
        {
            if (!_disposed)
                kernel._open--;
            _disposed = true;
        }
    }

    /// <summary>A copy of <paramref name="link"/> with another name or flags (the fields the fake and the plugins use).</summary>
    public static Link Copy(Link link, string? name = null, LinkFlags? flags = null, int? mtu = null, PhysicalAddress? mac = null,
        MacvlanMode? macvlanMode = null, IpvlanMode? ipvlanMode = null, int? vlanId = null, string? kind = null)
    {
        ArgumentNullException.ThrowIfNull(link);
        return new Link
        {
            Index = link.Index,
            Name = name ?? link.Name,
            Kind = kind ?? link.Kind,
            Flags = flags ?? link.Flags,
            Mtu = mtu ?? link.Mtu,
            MacAddress = mac ?? link.MacAddress,
            ParentIndex = link.ParentIndex,
            MacvlanMode = macvlanMode ?? link.MacvlanMode,
            IpvlanMode = ipvlanMode ?? link.IpvlanMode,
            VlanId = vlanId ?? link.VlanId,
        };
    }
}
