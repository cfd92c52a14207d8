using System.Net;
using System.Net.NetworkInformation;
using Cni.Netlink;
using Cni.Plugins.Vrf;
using Cni.Spec;

namespace Cni.Plugins.Vrf.Tests;

/// <summary>An in-memory <see cref="IVrfKernel"/>: namespaces of links with masters, VRF tables and IPv6 addresses; a
/// log of every change; a switch for a kernel without the vrf module; IPv6 addresses dropped on a master change unless
/// <see cref="KeepAddressesOnMasterChange"/>, as Linux does without keep_addr_on_down.</summary>
public sealed class FakeVrfKernel : IVrfKernel
{
    private readonly Dictionary<string, FakeNs> _namespaces = [];

    /// <summary>Every change, in order ("add vrf red 1", "master eth0 red", ...).</summary>
    public List<string> Log { get; } = [];

    /// <summary>AddVrf fails as on a kernel without the module.</summary>
    public bool NoVrfModule { get; set; }

    /// <summary>Keep IPv6 addresses when an interface changes master.</summary>
    public bool KeepAddressesOnMasterChange { get; set; }

    /// <summary>Adds a namespace with <c>lo</c> and a veth <paramref name="ifName"/> holding fd00::5/64.</summary>
    public FakeNs AddNamespace(string path, string ifName = "eth0")
    {
        var ns = new FakeNs(this);
        ns.Add(new Link { Name = "lo", Kind = null, Mtu = 65536 });
        Link eth = ns.Add(new Link { Name = ifName, Kind = "veth", Mtu = 1500, MacAddress = PhysicalAddress.Parse("02-00-00-00-00-05"), Flags = LinkFlags.Up });
        ns.V6[eth.Index] = [(IPAddress.Parse("fd00::5"), 64)];
        _namespaces[path] = ns;
        return ns;
    }

    /// <summary>The namespace at <paramref name="path"/>.</summary>
    public FakeNs this[string path] => _namespaces[path];

    /// <inheritdoc/>
    public IVrfNamespace Open(string? path)
    {
        if (string.IsNullOrEmpty(path))
            throw new CniException(CniErrorCode.InvalidEnvironmentVariables, "missing network namespace (CNI_NETNS)");
        return _namespaces.TryGetValue(path, out FakeNs? ns) ? ns : throw new CniException(CniErrorCode.IoFailure, $"failed to open netns \"{path}\": no such namespace (CNI_NETNS)");
    }

    /// <inheritdoc/>
    public IVrfNamespace? TryOpen(string? path) => path is not null && _namespaces.TryGetValue(path, out FakeNs? ns) ? ns : null;

    /// <summary>One namespace.</summary>
    public sealed class FakeNs(FakeVrfKernel kernel) : IVrfNamespace
    {
        private int _next = 1;

        /// <summary>The links.</summary>
        public List<Link> Links { get; } = [];

        /// <summary>VRF tables by link index.</summary>
        public Dictionary<int, uint> Tables { get; } = [];

        /// <summary>IPv6 addresses by link index.</summary>
        public Dictionary<int, List<(IPAddress Address, int PrefixLength)>> V6 { get; } = [];

        /// <summary>The link called <paramref name="name"/>.</summary>
        public Link? this[string name] => Links.FirstOrDefault(l => l.Name == name);

        /// <summary>Adds a link with the next index.</summary>
        public Link Add(Link link)
        {
            Link l = With(link, index: _next++);
            Links.Add(l);
            return l;
        }

        /// <summary>Adds a VRF directly (one that existed before the plugin ran).</summary>
        public Link AddExistingVrf(string name, uint table)
        {
            Link l = Add(new Link { Name = name, Kind = "vrf", Mtu = 65575, Flags = LinkFlags.Up });
            Tables[l.Index] = table;
            return l;
        }

        private static Link With(Link l, int? index = null, int? master = null, bool clearMaster = false, LinkFlags? flags = null) => new()
        {
            Index = index ?? l.Index, Name = l.Name, Kind = l.Kind, Mtu = l.Mtu, MacAddress = l.MacAddress, Flags = flags ?? l.Flags,
            MasterIndex = clearMaster ? null : master ?? l.MasterIndex,
        };

        private void Replace(int index, Link l) => Links[Links.FindIndex(x => x.Index == index)] = l;

        /// <inheritdoc/>
        public Link? FindLink(string name) => this[name];

        /// <inheritdoc/>
        public Link? FindLink(int index) => Links.FirstOrDefault(l => l.Index == index);

        /// <inheritdoc/>
        public IReadOnlyList<Link> ListLinks() => [.. Links];

        /// <inheritdoc/>
        public uint? VrfTable(int index) => Tables.TryGetValue(index, out uint t) ? t : null;

        /// <inheritdoc/>
        public void AddVrf(string name, uint table)
        {
            kernel.Log.Add($"add vrf {name} {table}");
            if (kernel.NoVrfModule)
                throw new NetlinkException(NetlinkException.EOPNOTSUPP, "add vrf", "Unknown device type");
            if (this[name] is not null)
                throw new NetlinkException(NetlinkException.EEXIST, "add vrf", "File exists");
            Link l = Add(new Link { Name = name, Kind = "vrf", Mtu = 65575 });
            Tables[l.Index] = table;
        }

        /// <inheritdoc/>
        public void SetUp(int index)
        {
            Link l = FindLink(index) ?? throw new NetlinkException(NetlinkException.ENODEV, "set up");
            kernel.Log.Add($"up {l.Name}");
            Replace(index, With(l, flags: l.Flags | LinkFlags.Up));
        }

        /// <inheritdoc/>
        public void SetMaster(int index, int master)
        {
            Link l = FindLink(index) ?? throw new NetlinkException(NetlinkException.ENODEV, "set master");
            kernel.Log.Add($"master {l.Name} {FindLink(master)?.Name}");
            Replace(index, With(l, master: master));
            if (!kernel.KeepAddressesOnMasterChange)
                V6.Remove(index);
        }

        /// <inheritdoc/>
        public void SetNoMaster(int index)
        {
            Link l = FindLink(index) ?? throw new NetlinkException(NetlinkException.ENODEV, "set nomaster");
            kernel.Log.Add($"nomaster {l.Name}");
            Replace(index, With(l, clearMaster: true));
            if (!kernel.KeepAddressesOnMasterChange)
                V6.Remove(index);
        }

        /// <inheritdoc/>
        public void DeleteLink(int index)
        {
            if (FindLink(index) is not { } l)
                return;
            kernel.Log.Add($"delete {l.Name}");
            Links.Remove(l);
            Tables.Remove(index);
            for (int i = 0; i < Links.Count; i++)
            {
                if (Links[i].MasterIndex == index)
                    Links[i] = With(Links[i], clearMaster: true);
            }
        }

        /// <inheritdoc/>
        public IReadOnlyList<(IPAddress Address, int PrefixLength)> Ipv6Addresses(int index) => V6.TryGetValue(index, out var list) ? [.. list] : [];

        /// <inheritdoc/>
        public void AddAddress(int index, IPAddress address, int prefixLength)
        {
            kernel.Log.Add($"addr {FindLink(index)?.Name} {address}/{prefixLength}");
            if (!V6.TryGetValue(index, out var list))
                V6[index] = list = [];
            list.Add((address, prefixLength));
        }

        /// <summary>Nothing to release.</summary>
        public void Dispose()
        {
        }
    }
}
