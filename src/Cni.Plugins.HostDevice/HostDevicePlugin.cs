using System.Net.NetworkInformation;
using Cni.Netlink;
using Cni.Plugins.Common;
using Cni.Spec;

namespace Cni.Plugins.HostDevice;

/// <summary>
/// The <c>host-device</c> CNI plugin: moves an existing link of the host (chosen by <c>device</c>, <c>hwaddr</c>,
/// <c>kernelpath</c>, <c>pciBusID</c> or <c>runtimeConfig.deviceID</c>) into the container under <c>CNI_IFNAME</c>,
/// with addresses from the IPAM plugin when <c>ipam</c> is set. As the reference, the link's host name is kept in its
/// alias (<c>ifalias</c>), and DEL moves the link back under that name. A PCI device bound to a userspace (DPDK) driver
/// has no link: ADD returns an empty result and DEL does nothing to it.
/// </summary>
/// <remarks>
/// ADD is a transaction: a failure moves the link back under its name, restores its alias and its up state, and
/// releases the addresses. DEL is idempotent: a namespace or a link that is gone is success, and the addresses are
/// released also without <c>CNI_NETNS</c>.
/// </remarks>
public class HostDevicePlugin : CniPlugin
{
    /// <summary>The drivers that take a PCI network device away from the kernel (the reference's list).</summary>
    public static IReadOnlyList<string> UserspaceDrivers { get; } = ["vfio-pci", "uio_pci_generic", "igb_uio"];

    private readonly IpamInvoker _ipam;
    private readonly HostNetwork _host;
    private readonly string _sysfs;

    /// <summary>Creates the plugin.</summary>
    /// <param name="ipam">Runs the IPAM plugin (<see cref="IpamInvoker.Default"/> when null).</param>
    /// <param name="host">The namespace whose links are handed out (<see cref="HostNetwork.Current"/> when null).</param>
    /// <param name="sysfs">Where sysfs is mounted, for <c>kernelpath</c> and <c>pciBusID</c> (<c>/sys</c> when null).</param>
    public HostDevicePlugin(IpamInvoker? ipam = null, HostNetwork? host = null, string? sysfs = null)
    {
        _ipam = ipam ?? IpamInvoker.Default;
        _host = host ?? HostNetwork.Current;
        _sysfs = sysfs ?? "/sys";
    }

    /// <inheritdoc/>
    public override PluginInfo Info { get; } = new() { About = "CNI host-device plugin (Cni.NET)" };

    /// <summary>A validated configuration.</summary>
    /// <param name="Options">The raw options.</param>
    /// <param name="HwAddr">The parsed <c>hwaddr</c>, if given.</param>
    /// <param name="PciAddress">The PCI address: <c>runtimeConfig.deviceID</c>, else <c>pciBusID</c>; null when neither.</param>
    /// <param name="UsesIpam">True when <c>ipam</c> names a plugin.</param>
    public sealed record Settings(HostDeviceConfig Options, PhysicalAddress? HwAddr, string? PciAddress, bool UsesIpam);

    /// <summary>Reads and validates the configuration of <paramref name="request"/> (nothing on the system is looked at).</summary>
    /// <exception cref="CniException">Code 7 naming the field: no selector, a bad MAC, a kernel path outside
    /// <c>/sys/devices/</c>, a PCI address or device name that is no single path element.</exception>
    public static Settings LoadConf(CniRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        HostDeviceConfig o = HostDeviceConfigReader.Read(request.RawConfig.Span);
        string? pci = string.IsNullOrEmpty(o.RuntimeConfig?.DeviceId) ? o.PciBusId : o.RuntimeConfig!.DeviceId;
        if (string.IsNullOrEmpty(o.Device) && string.IsNullOrEmpty(o.HwAddr) && string.IsNullOrEmpty(o.KernelPath) && string.IsNullOrEmpty(pci))
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "specify either \"device\", \"hwaddr\", \"kernelpath\" or \"pciBusID\"");
        if (!string.IsNullOrEmpty(o.Device))
        {
            try
            {
                RtNetlink.ValidateName(o.Device);
            }
            catch (ArgumentException)
            {
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid device name \"{o.Device}\" (device)");
            }
        }
        PhysicalAddress? mac = string.IsNullOrEmpty(o.HwAddr) ? null : MacAddressArgs.Parse(o.HwAddr, "hwaddr");
        if (!string.IsNullOrEmpty(o.KernelPath))
        {
            string p = o.KernelPath;
            if (!p.StartsWith("/sys/devices/", StringComparison.Ordinal) || p.Split('/').Any(s => s == ".."))
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"kernel device path \"{p}\" must be absolute and begin with /sys/devices/ (kernelpath)");
        }
        if (!string.IsNullOrEmpty(pci) && (pci.Contains('/', StringComparison.Ordinal) || pci is "." or ".." || pci.Contains('\0', StringComparison.Ordinal)))
        {
            string field = string.IsNullOrEmpty(o.RuntimeConfig?.DeviceId) ? "pciBusID" : "runtimeConfig.deviceID";
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid PCI address \"{pci}\" ({field})");
        }
        return new Settings(o, mac, string.IsNullOrEmpty(pci) ? null : pci, Ipam.IsConfigured(request));
    }

    // =====================================================================================================
    // ADD
    // =====================================================================================================

    /// <inheritdoc/>
    public override async Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
    {
        Settings conf = LoadConf(request);
        using ContainerNamespace container = ContainerNamespace.Open(request.NetNs);
        if (conf.PciAddress is { } pci && IsUserspaceDriver(pci))
            return new CniResult(); // DPDK: no kernel link to move, as the reference
        RtNetlink cn = container.Netlink;

        string ifName = request.IfName;
        using RtNetlink hostNl = OpenHost();
        using NetNs? ownedHostNs = OpenCurrentNamespace();
        NetNs hostNs = _host.Namespace ?? ownedHostNs!;
        Link dev = FindHostLink(hostNl, conf);
        if (cn.FindLink(ifName) is not null)
            throw new CniException(CniErrorCode.Internal, $"interface \"{ifName}\" already exists in the container (CNI_IFNAME)");

        await using var tx = new AddTransaction(request.Environment.Stderr, _ipam);
        string hostName = dev.Name;
        string? oldAlias = dev.Alias();
        bool wasUp = dev.IsUp;

        // The host name goes into the alias, where DEL finds it, as the reference does.
        Netlink(() => hostNl.SetAlias(dev.Index, hostName), $"failed to set alias to \"{hostName}\"");
        tx.OnRollback($"restore the alias of {hostName}", () =>
        {
            if (hostNl.FindLink(hostName) is { } back)
                hostNl.SetAlias(back.Index, oldAlias ?? "");
        });

        // Moved under its host name, then renamed in the container (this kernel moves a link and then fails the rename
        // when both are asked in one request, leaving it half done), as the reference does.
        Netlink(() => hostNl.MoveToNamespace(dev.Index, container.Handle), $"failed to move link \"{hostName}\" into the container");
        Link moved = cn.FindLink(hostName) ?? throw new CniException(CniErrorCode.Internal, $"failed to move link \"{hostName}\": it did not appear in the container");
        int index = moved.Index;
        tx.OnRollback($"move {ifName} back to the host as {hostName}", () =>
        {
            if (cn.FindLink(index) is not { } link)
                return;
            cn.SetLinkDown(link.Index);
            if (link.Name != hostName)
                cn.SetName(link.Index, hostName);
            cn.MoveToNamespace(link.Index, hostNs);
            if (wasUp && hostNl.FindLink(hostName) is { } back)
                hostNl.SetLinkUp(back.Index);
        });
        Netlink(() => cn.SetName(index, ifName), $"failed to rename device \"{hostName}\" to \"{ifName}\"");
        Netlink(() => cn.SetLinkUp(moved.Index), $"failed to set \"{ifName}\" up");

        var result = new CniResult();
        if (conf.UsesIpam)
        {
            CniResult ipam = await tx.IpamAddAsync(request, cancellationToken).ConfigureAwait(false);
            result.Ips = ipam.Ips;
            result.Routes = ipam.Routes;
            result.Dns = ipam.Dns;
        }
        Link live = cn.FindLink(ifName) ?? moved;
        string mac = InterfaceChecks.FormatMac(live.MacAddress);
        result.Interfaces = [new CniInterface { Name = ifName, Mac = mac.Length == 0 ? null : mac, Sandbox = container.Path }];
        if (conf.UsesIpam)
        {
            foreach (CniIPConfig ip in result.Ips)
                ip.Interface = 0;
            InterfaceConfigurator.Configure(container, ifName, result);
        }
        if (request.Config.Dns is { IsEmpty: false } dns)
            result.Dns = dns;
        tx.Commit();
        return result;
    }

    /// <summary>The host link the configuration selects: <c>device</c>, else <c>hwaddr</c>, else <c>kernelpath</c>, else the PCI address.</summary>
    /// <exception cref="CniException">No such link (the message names the field).</exception>
    public Link FindHostLink(RtNetlink host, Settings conf)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(conf);
        HostDeviceConfig o = conf.Options;
        if (!string.IsNullOrEmpty(o.Device))
            return host.FindLink(o.Device) ?? throw NotFound($"no link \"{o.Device}\" (device)");
        IReadOnlyList<Link> links = host.ListLinks();
        if (conf.HwAddr is { } mac)
        {
            byte[] wanted = mac.GetAddressBytes();
            return links.FirstOrDefault(l => l.MacAddress is { } m && m.GetAddressBytes().AsSpan().SequenceEqual(wanted))
                ?? throw NotFound($"no link with MAC {InterfaceChecks.FormatMac(mac)} (hwaddr)");
        }
        if (!string.IsNullOrEmpty(o.KernelPath))
        {
            string netDir = Path.Combine(_sysfs, o.KernelPath["/sys/".Length..], "net");
            string[] names = NetDirectory(netDir) ?? throw NotFound($"failed to find network devices at \"{o.KernelPath}/net\" (kernelpath)");
            foreach (string name in names)
            {
                if (links.FirstOrDefault(l => l.Name == name) is { } l)
                    return l;
            }
            throw NotFound($"no link of this namespace under \"{o.KernelPath}/net\" (kernelpath)");
        }
        string pci = conf.PciAddress!;
        string device = Path.Combine(_sysfs, "bus", "pci", "devices", pci);
        string[]? entries = NetDirectory(Path.Combine(device, "net"));
        if (entries is null && Directory.Exists(device))
        {
            // virtio devices keep their net directory one level down (virtio0/net).
            string? virtio = Directory.GetDirectories(device, "virtio*").Order(StringComparer.Ordinal).Select(d => Path.Combine(d, "net")).FirstOrDefault(Directory.Exists);
            entries = virtio is null ? null : NetDirectory(virtio);
        }
        if (entries is null)
            throw NotFound($"no net directory under pci device {pci} ({PciField(conf)})");
        if (entries.Length == 0)
            throw NotFound($"failed to find device name for pci address {pci} ({PciField(conf)})");
        return host.FindLink(entries[0]) ?? throw NotFound($"no link \"{entries[0]}\" of pci device {pci} in this namespace ({PciField(conf)})");
    }

    private static string PciField(Settings conf) => string.IsNullOrEmpty(conf.Options.RuntimeConfig?.DeviceId) ? "pciBusID" : "runtimeConfig.deviceID";

    private static CniException NotFound(string what) => new(CniErrorCode.Internal, $"failed to find host device: {what}");

    private static string[]? NetDirectory(string dir)
    {
        try
        {
            return Directory.Exists(dir) ? Directory.GetFileSystemEntries(dir).Select(Path.GetFileName).Select(n => n!).Order(StringComparer.Ordinal).ToArray() : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>True when PCI device <paramref name="pci"/> is bound to a userspace driver (vfio-pci, uio_pci_generic, igb_uio).</summary>
    /// <exception cref="CniException">The device has no driver link (no such device).</exception>
    public bool IsUserspaceDriver(string pci)
    {
        string link = Path.Combine(_sysfs, "bus", "pci", "devices", pci, "driver");
        var driver = new DirectoryInfo(link);
        if (!driver.Exists)
            throw new CniException(CniErrorCode.Internal, $"error with host device: no driver for pci device {pci} ({link} is missing)");
        FileSystemInfo target;
        try
        {
            target = driver.ResolveLinkTarget(returnFinalTarget: true) ?? driver;
        }
        catch (IOException ex)
        {
            throw new CniException(CniErrorCode.Internal, $"error with host device: {pci}: {ex.Message}");
        }
        return UserspaceDrivers.Contains(target.Name);
    }

    // =====================================================================================================
    // DEL
    // =====================================================================================================

    /// <inheritdoc/>
    public override async Task DelAsync(CniRequest request, CancellationToken cancellationToken)
    {
        Settings conf = LoadConf(request);
        CniException? moveError = null;
        if (!IsDpdkBestEffort(conf))
            moveError = MoveOut(request);
        if (conf.UsesIpam)
            await _ipam.DelAsync(request, cancellationToken).ConfigureAwait(false);
        if (moveError is not null)
            throw moveError;
    }

    private bool IsDpdkBestEffort(Settings conf)
    {
        if (conf.PciAddress is not { } pci)
            return false;
        try
        {
            return IsUserspaceDriver(pci);
        }
        catch (CniException)
        {
            return false; // the device is gone: there is nothing of DPDK to skip
        }
    }

    /// <summary>Moves <c>CNI_IFNAME</c> back to the host under the name in its alias; a namespace or link that is gone is success.</summary>
    private CniException? MoveOut(CniRequest request)
    {
        using ContainerNamespace? container = ContainerNamespace.TryOpen(request.NetNs);
        RtNetlink? cn = container?.TryConnect();
        if (container is null || cn is null || cn.FindLink(request.IfName) is not { } link)
            return null;
        string ifName = request.IfName;
        string? hostName = link.Alias();
        if (hostName is null)
            return new CniException(CniErrorCode.Internal, $"failed to restore \"{ifName}\": it has no alias with its host name (was it moved in by host-device?)");
        try
        {
            RtNetlink.ValidateName(hostName);
        }
        catch (ArgumentException)
        {
            return new CniException(CniErrorCode.Internal, $"failed to restore \"{ifName}\": its alias \"{hostName}\" is no interface name");
        }
        using NetNs? ownedHostNs = OpenCurrentNamespace();
        NetNs hostNs = _host.Namespace ?? ownedHostNs!;
        if (hostNs.IsSameAs(container.Handle))
            return new CniException(CniErrorCode.Internal, $"failed to move \"{ifName}\" to the host: the container namespace is the host's");
        try
        {
            // Renamed in the container, then moved: a name taken in the host fails the move cleanly (the kernel checks
            // it before moving), and the link is renamed back for a retry, as the reference does.
            cn.SetLinkDown(link.Index);
            cn.SetName(link.Index, hostName);
        }
        catch (NetlinkException ex)
        {
            Restore(cn, link, ifName);
            return new CniException(CniErrorCode.Internal, $"failed to restore \"{ifName}\" to its original name \"{hostName}\": {ex.Message}");
        }
        try
        {
            cn.MoveToNamespace(link.Index, hostNs);
            return null;
        }
        catch (NetlinkException ex)
        {
            Restore(cn, link, ifName);
            return new CniException(CniErrorCode.Internal, $"failed to move \"{ifName}\" to the host as \"{hostName}\": {ex.Message}");
        }
    }

    /// <summary>Best effort: <paramref name="link"/> back under <paramref name="ifName"/> and up if it was.</summary>
    private static void Restore(RtNetlink cn, Link link, string ifName)
    {
        try
        {
            if (cn.FindLink(link.Index) is not { } now)
                return;
            if (now.Name != ifName)
                cn.SetName(link.Index, ifName);
            if (link.IsUp)
                cn.SetLinkUp(link.Index);
        }
        catch (NetlinkException)
        {
        }
    }

    // =====================================================================================================
    // CHECK, GC, STATUS
    // =====================================================================================================

    /// <inheritdoc/>
    public override async Task CheckAsync(CniRequest request, CancellationToken cancellationToken)
    {
        Settings conf = LoadConf(request);
        using ContainerNamespace container = ContainerNamespace.Open(request.NetNs);
        if (conf.UsesIpam)
            await _ipam.CheckAsync(request, cancellationToken).ConfigureAwait(false);
        CniResult prev = InterfaceChecks.RequirePrevResult(request);
        if (conf.PciAddress is { } pci && IsUserspaceDriver(pci))
            return;
        int at = InterfaceChecks.FindInterface(prev, request.IfName, request.NetNs);
        if (at < 0)
            throw new CniException(CniErrorCode.Internal, $"Sandbox in prevResult doesn't match configured netns: no interface {request.IfName} in sandbox {request.NetNs}");
        RtNetlink cn = container.Netlink;
        Link link = cn.FindLink(request.IfName)
            ?? throw new CniException(CniErrorCode.Internal, $"Container Interface name in prevResult: {request.IfName} not found");
        InterfaceChecks.ValidateMac("Interface", prev.Interfaces[at].Mac, link);
        if (link.Alias() is null)
            throw new CniException(CniErrorCode.Internal, $"Container interface {request.IfName} has lost its alias (its host name): DEL could not move it back");
        InterfaceChecks.ValidateAddresses(cn, request.IfName, prev, at);
        InterfaceChecks.ValidateRoutes(cn, prev.Routes);
    }

    /// <inheritdoc/>
    public override Task GcAsync(CniRequest request, CancellationToken cancellationToken) =>
        !Ipam.IsConfigured(request) ? Task.CompletedTask : _ipam.GcAsync(request, cancellationToken);

    /// <inheritdoc/>
    public override Task StatusAsync(CniRequest request, CancellationToken cancellationToken) =>
        !Ipam.IsConfigured(request) ? Task.CompletedTask : _ipam.StatusAsync(request, cancellationToken);

    // =====================================================================================================

    private RtNetlink OpenHost()
    {
        try
        {
            return _host.OpenNetlink();
        }
        catch (NetlinkException ex)
        {
            throw new CniException(CniErrorCode.Internal, $"failed to open rtnetlink in the host namespace: {ex.Message}");
        }
    }

    /// <summary>For a host that is the calling thread's namespace, a handle of it to move links back into (null otherwise).</summary>
    private NetNs? OpenCurrentNamespace()
    {
        if (_host.Namespace is not null)
            return null;
        try
        {
            return NetNs.OpenCurrent();
        }
        catch (NetlinkException ex)
        {
            throw new CniException(CniErrorCode.Internal, $"failed to open the host namespace: {ex.Message}");
        }
    }

    private static void Netlink(Action action, string what)
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
