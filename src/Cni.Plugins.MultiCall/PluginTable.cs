using Cni.Plugins.Bandwidth;
using Cni.Plugins.Bridge;
using Cni.Plugins.Common;
using Cni.Plugins.Dummy;
using Cni.Plugins.Firewall;
using Cni.Plugins.HostDevice;
using Cni.Plugins.Ipam.Dhcp;
using Cni.Plugins.Ipam.HostLocal;
using Cni.Plugins.Ipam.Static;
using Cni.Plugins.Ipvlan;
using Cni.Plugins.Loopback;
using Cni.Plugins.Macvlan;
using Cni.Plugins.Portmap;
using Cni.Plugins.Ptp;
using Cni.Plugins.Sbr;
using Cni.Plugins.Tap;
using Cni.Plugins.Tuning;
using Cni.Plugins.Vlan;
using Cni.Plugins.Vrf;
using Cni.Spec;

namespace Cni.Plugins.MultiCall;

/// <summary>The CNI types this executable holds, and the plugin for each.</summary>
/// <remarks>A switch, not a dictionary of factories: nothing is built for the types a run does not use.</remarks>
internal static class PluginTable
{
    /// <summary>Every type, in the order <c>cni-plugins --list</c> prints them.</summary>
    public static readonly string[] Types = ["bandwidth", "bridge", "dhcp", "dummy", "firewall", "host-device", "host-local", "ipvlan", "loopback", "macvlan", "portmap", "ptp", "sbr", "static", "tap", "tuning", "vlan", "vrf"];

    /// <summary>The plugin for <paramref name="type"/>, built with <paramref name="ipam"/> and the link-removal policy
    /// <paramref name="removal"/> (in-process when null); null for a type not held here.</summary>
    public static ICniPlugin? Create(string type, IpamInvoker ipam, LinkRemovalPolicy? removal = null) => type switch
    {
        "bandwidth" => new BandwidthPlugin(),
        "bridge" => new BridgePlugin(ipam, removal),
        "dhcp" => new DhcpPlugin(),
        "dummy" => new DummyPlugin(ipam, new NetlinkSubInterfaceKernel(removal)),
        "firewall" => new FirewallPlugin(),
        "host-device" => new HostDevicePlugin(ipam),
        "host-local" => new HostLocalPlugin(),
        "ipvlan" => new IpvlanPlugin(ipam, new NetlinkSubInterfaceKernel(removal)),
        "loopback" => new LoopbackPlugin(),
        "macvlan" => new MacvlanPlugin(ipam, new NetlinkSubInterfaceKernel(removal)),
        "portmap" => new PortmapPlugin(),
        "ptp" => new PtpPlugin(ipam, removal),
        "sbr" => new SbrPlugin(),
        "static" => new StaticPlugin(),
        "tap" => new TapPlugin(ipam, removal),
        "tuning" => new TuningPlugin(),
        "vlan" => new VlanPlugin(ipam, new NetlinkSubInterfaceKernel(removal)),
        "vrf" => new VrfPlugin(),
        _ => null,
    };

    /// <summary>
    /// The IPAM invoker of this executable: an IPAM type that <c>CNI_PATH</c> resolves to this same file runs in this
    /// process (see <see cref="IpamInvoker"/>); anything else is executed.
    /// </summary>
    public static IpamInvoker CreateIpamInvoker(string selfPath = "/proc/self/exe", LinkRemovalPolicy? removal = null)
    {
        IpamInvoker? invoker = null;
        invoker = new IpamInvoker(sameExecutable: type => Create(type, invoker!, removal), selfPath: selfPath);
        return invoker;
    }
}
