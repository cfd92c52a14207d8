using System.Net.NetworkInformation;
using Cni.Netlink;
using Cni.Plugins.Common;
using Cni.Spec;

namespace Cni.Plugins.Tap;

/// <summary>
/// The <c>tap</c> CNI plugin: a persistent tap device in the container under <c>CNI_IFNAME</c> (for a VM or a userspace
/// stack inside the pod to attach to), with the MAC, MTU, queues, owner and group asked for, optionally enslaved to a
/// bridge in the container, and addresses from the IPAM plugin when <c>ipam</c> is set.
/// </summary>
/// <remarks>
/// The tap is made as <c>ip tuntap add mode tap</c> makes it (<see cref="TunTap.CreateTap"/>: <c>/dev/net/tun</c> opened
/// inside the container namespace), under a temporary name derived from the container id and <c>CNI_IFNAME</c>, then
/// configured and renamed through rtnetlink. ADD is a transaction (a failure deletes the tap and releases the
/// addresses); DEL is idempotent and also removes a tap left under the temporary name; CHECK names what drifted.
/// </remarks>
public class TapPlugin : CniPlugin
{
    private readonly IpamInvoker _ipam;
    private readonly LinkRemovalPolicy _removal;
    private readonly string _selinuxFs;

    /// <summary>Creates the plugin.</summary>
    /// <param name="ipam">Runs the IPAM plugin (<see cref="IpamInvoker.Default"/> when null).</param>
    /// <param name="removal">How links are deleted (<see cref="LinkRemovalPolicy.InProcess"/> when null).</param>
    /// <param name="selinuxFs">Where selinuxfs is mounted when SELinux is enabled (<c>/sys/fs/selinux</c> when null).</param>
    public TapPlugin(IpamInvoker? ipam = null, LinkRemovalPolicy? removal = null, string? selinuxFs = null)
    {
        _ipam = ipam ?? IpamInvoker.Default;
        _removal = removal ?? LinkRemovalPolicy.InProcess;
        _selinuxFs = selinuxFs ?? "/sys/fs/selinux";
    }

    /// <inheritdoc/>
    public override PluginInfo Info { get; } = new() { About = "CNI tap plugin (Cni.NET)", ArgsKeys = [MacAddressArgs.CniArgsKey] };

    /// <summary>A validated configuration.</summary>
    /// <param name="Options">The raw options.</param>
    /// <param name="Mac">The MAC to give the tap (CNI_ARGS, runtimeConfig.mac or mac), if any.</param>
    /// <param name="Tap">How the tap is created.</param>
    /// <param name="UsesIpam">True when <c>ipam</c> names a plugin.</param>
    public sealed record Settings(TapConfig Options, PhysicalAddress? Mac, TapOptions Tap, bool UsesIpam);

    /// <summary>Reads and validates the configuration of <paramref name="request"/>.</summary>
    /// <exception cref="CniException">Code 7 naming the field; code 2 for an SELinux label on a host where SELinux is enabled.</exception>
    public Settings LoadConf(CniRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        TapConfig o = TapConfigReader.Read(request.RawConfig.Span);
        PhysicalAddress? mac = MacAddressArgs.Resolve(request);
        if (mac is null && !string.IsNullOrEmpty(o.Mac))
            mac = MacAddressArgs.Parse(o.Mac, "mac");
        if (o.Mtu != 0 && o.Mtu is < 68 or > 65535)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid MTU {o.Mtu}, must be 0 (the default) or [68, 65535] (mtu)");
        if (o.Owner is < 0 or > uint.MaxValue)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid owner {o.Owner}, must be a uid in [0, {uint.MaxValue}] (owner)");
        if (o.Group is < 0 or > uint.MaxValue)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid group {o.Group}, must be a gid in [0, {uint.MaxValue}] (group)");
        if (!string.IsNullOrEmpty(o.Bridge))
        {
            try
            {
                RtNetlink.ValidateName(o.Bridge);
            }
            catch (ArgumentException)
            {
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid bridge name \"{o.Bridge}\" (bridge)");
            }
        }
        var tap = new TapOptions { MultiQueue = o.MultiQueue, Owner = (uint?)o.Owner, Group = (uint?)o.Group };
        return new Settings(o, mac, tap, Ipam.IsConfigured(request));
    }

    /// <summary>True when SELinux is enabled here (selinuxfs is mounted).</summary>
    public bool SelinuxEnabled => File.Exists(Path.Combine(_selinuxFs, "enforce"));

    // =====================================================================================================
    // ADD
    // =====================================================================================================

    /// <inheritdoc/>
    public override async Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
    {
        Settings conf = LoadConf(request);
        if (!string.IsNullOrEmpty(conf.Options.SelinuxContext))
        {
            // The reference creates the tap from a process started with that label. We create it in process, so
            // where SELinux enforces labels we refuse rather than create a tap with the wrong one.
            if (SelinuxEnabled)
                throw new CniException(CniErrorCode.UnsupportedField, $"selinuxContext \"{conf.Options.SelinuxContext}\" is not supported by this plugin on a host with SELinux enabled (selinuxContext)");
            request.Environment.Stderr.WriteLine($"tap: SELinux is not enabled here; selinuxContext \"{conf.Options.SelinuxContext}\" is ignored");
        }
        using ContainerNamespace container = ContainerNamespace.Open(request.NetNs);
        RtNetlink cn = container.Netlink;
        string ifName = request.IfName;
        if (cn.FindLink(ifName) is not null)
            throw new CniException(CniErrorCode.Internal, $"interface \"{ifName}\" already exists in the container (CNI_IFNAME)");
        Link? bridge = null;
        if (!string.IsNullOrEmpty(conf.Options.Bridge))
        {
            bridge = cn.FindLink(conf.Options.Bridge)
                ?? throw new CniException(CniErrorCode.Internal, $"failed to find bridge \"{conf.Options.Bridge}\" in the container (bridge)");
            if (bridge.Kind != "bridge")
                throw new CniException(CniErrorCode.Internal, $"\"{conf.Options.Bridge}\" in the container is not a bridge but {bridge.Kind ?? "a device without kind"} (bridge)");
        }

        await using var tx = new AddTransaction(request.Environment.Stderr, _ipam);
        (Link tap, CniResult? ipam) = await tx.MakeLinksWithIpamAsync(request, conf.UsesIpam,
            () => CreateTap(request, conf, container, bridge, tx), cancellationToken).ConfigureAwait(false);

        string mac = InterfaceChecks.FormatMac(tap.MacAddress);
        var result = new CniResult { Interfaces = [new CniInterface { Name = ifName, Mac = mac.Length == 0 ? null : mac, Sandbox = container.Path }] };
        if (ipam is not null)
        {
            result.Ips = ipam.Ips;
            foreach (CniIPConfig ip in result.Ips)
                ip.Interface = 0;
            result.Routes = ipam.Routes;
            result.Dns = ipam.Dns;
            InterfaceConfigurator.Configure(container, ifName, result);
        }
        else
        {
            Kernel(() => cn.SetLinkUp(tap.Index), $"failed to set \"{ifName}\" up");
        }
        if (request.Config.Dns is { IsEmpty: false } dns)
            result.Dns = dns;
        tx.Commit();
        return result;
    }

    private Link CreateTap(CniRequest request, Settings conf, ContainerNamespace container, Link? bridge, AddTransaction tx)
    {
        RtNetlink cn = container.Netlink;
        string ifName = request.IfName;
        // A fresh name: TUNSETIFF on the name of an existing tun device attaches to it instead of failing.
        string temp = SubInterfaces.TemporaryName(request.ContainerId, ifName);
        if (cn.FindLink(temp) is { Kind: "tun" } leftover)
            _removal.Delete(cn, container.Handle, leftover); // from an ADD that was interrupted
        try
        {
            TunTap.CreateTap(temp, conf.Tap, container.Handle);
        }
        catch (NetlinkException ex)
        {
            throw new CniException(CniErrorCode.Internal, $"failed to create tap: {ex.Message}");
        }
        Link created = cn.FindLink(temp) ?? throw new CniException(CniErrorCode.Internal, $"failed to create tap: \"{temp}\" did not appear in the container");
        int index = created.Index;
        tx.OnRollback($"delete tap {ifName} in the container", () =>
        {
            if (cn.FindLink(index) is { } link)
                _removal.Delete(cn, container.Handle, link);
        });
        if (conf.Options.Mtu > 0)
            Kernel(() => cn.SetMtu(index, conf.Options.Mtu), $"failed to set MTU {conf.Options.Mtu} on the tap (mtu)");
        if (conf.Mac is { } mac)
            Kernel(() => cn.SetMacAddress(index, mac), $"failed to set MAC {InterfaceChecks.FormatMac(mac)} on the tap");
        Kernel(() => cn.SetName(index, ifName), $"failed to rename tap to \"{ifName}\"");
        if (bridge is not null)
            Kernel(() => cn.SetMaster(index, bridge.Index), $"failed to enslave \"{ifName}\" to bridge \"{bridge.Name}\" (bridge)");
        return cn.GetLink(index);
    }

    // =====================================================================================================
    // DEL, CHECK, GC, STATUS
    // =====================================================================================================

    /// <inheritdoc/>
    public override Task DelAsync(CniRequest request, CancellationToken cancellationToken)
    {
        LoadConf(request);
        return SubInterfaces.DeleteAsync(new NetlinkSubInterfaceKernel(_removal), _ipam, request, "tun", cancellationToken);
    }

    /// <inheritdoc/>
    public override async Task CheckAsync(CniRequest request, CancellationToken cancellationToken)
    {
        Settings conf = LoadConf(request);
        using ContainerNamespace container = ContainerNamespace.Open(request.NetNs);
        if (conf.UsesIpam)
            await _ipam.CheckAsync(request, cancellationToken).ConfigureAwait(false);
        CniResult prev = InterfaceChecks.RequirePrevResult(request);
        string ifName = request.IfName;
        int at = InterfaceChecks.FindInterface(prev, ifName, request.NetNs);
        if (at < 0)
            throw new CniException(CniErrorCode.Internal, $"Sandbox in prevResult doesn't match configured netns: no interface {ifName} in sandbox {request.NetNs}");
        RtNetlink cn = container.Netlink;
        Link link = cn.FindLink(ifName) ?? throw new CniException(CniErrorCode.Internal, $"Container Interface name in prevResult: {ifName} not found");
        TunInfo info = cn.GetTunInfo(link.Index) is { IsTap: true } t ? t
            : throw new CniException(CniErrorCode.Internal, $"Error: Container interface {ifName} is not a tap device (it is {link.Kind ?? "a device without kind"})");
        InterfaceChecks.ValidateMac("Interface", prev.Interfaces[at].Mac, link);
        if (conf.Options.Mtu > 0 && link.Mtu != conf.Options.Mtu)
            throw new CniException(CniErrorCode.Internal, $"Error: configured MTU of {ifName} is {conf.Options.Mtu}, current value is {link.Mtu}");
        if (info.MultiQueue != conf.Options.MultiQueue)
            throw new CniException(CniErrorCode.Internal, $"Error: tap {ifName} multiQueue is {Lower(info.MultiQueue)}, configured {Lower(conf.Options.MultiQueue)}");
        if (conf.Tap.Owner != info.Owner)
            throw new CniException(CniErrorCode.Internal, $"Error: tap {ifName} owner is {info.Owner?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unset"}, configured {conf.Tap.Owner?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unset"}");
        if (conf.Tap.Group != info.Group)
            throw new CniException(CniErrorCode.Internal, $"Error: tap {ifName} group is {info.Group?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unset"}, configured {conf.Tap.Group?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unset"}");
        if (!string.IsNullOrEmpty(conf.Options.Bridge))
        {
            string? master = link.MasterIndex is int m ? cn.FindLink(m)?.Name : null;
            if (master != conf.Options.Bridge)
                throw new CniException(CniErrorCode.Internal, $"Error: tap {ifName} is enslaved to {master ?? "nothing"}, configured bridge {conf.Options.Bridge}");
        }
        InterfaceChecks.ValidateAddresses(cn, ifName, prev, at);
        InterfaceChecks.ValidateRoutes(cn, prev.Routes);
    }

    private static string Lower(bool b) => b ? "true" : "false";

    /// <inheritdoc/>
    public override Task GcAsync(CniRequest request, CancellationToken cancellationToken) =>
        !Ipam.IsConfigured(request) ? Task.CompletedTask : _ipam.GcAsync(request, cancellationToken);

    /// <inheritdoc/>
    public override Task StatusAsync(CniRequest request, CancellationToken cancellationToken) =>
        !Ipam.IsConfigured(request) ? Task.CompletedTask : _ipam.StatusAsync(request, cancellationToken);

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
