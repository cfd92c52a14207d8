using Cni.Plugins.Bridge;
using Cni.Plugins.Ipam.HostLocal;
using Cni.Plugins.Ipam.Static;
using Cni.Plugins.Ipvlan;
using Cni.Plugins.Macvlan;
using Cni.Plugins.Portmap;
using Cni.Plugins.Vlan;
using Cni.Spec;

namespace Cni.Plugins.MultiCall;

/// <summary>The CNI types this executable holds, and the plugin for each.</summary>
/// <remarks>A switch, not a dictionary of factories: nothing is built for the types a run does not use.</remarks>
internal static class PluginTable
{
    /// <summary>Every type, in the order <c>cni-plugins --list</c> prints them.</summary>
    public static readonly string[] Types = ["bridge", "host-local", "ipvlan", "macvlan", "portmap", "static", "vlan"];

    /// <summary>The plugin for <paramref name="type"/>, built with <paramref name="ipam"/>; null for a type not held here.</summary>
    public static ICniPlugin? Create(string type, IpamInvoker ipam) => type switch
    {
        "bridge" => new BridgePlugin(ipam),
        "host-local" => new HostLocalPlugin(),
        "ipvlan" => new IpvlanPlugin(ipam),
        "macvlan" => new MacvlanPlugin(ipam),
        "portmap" => new PortmapPlugin(),
        "static" => new StaticPlugin(),
        "vlan" => new VlanPlugin(ipam),
        _ => null,
    };

    /// <summary>
    /// The IPAM invoker of this executable: an IPAM type that <c>CNI_PATH</c> resolves to this same file runs in this
    /// process (see <see cref="IpamInvoker"/>); anything else is executed.
    /// </summary>
    public static IpamInvoker CreateIpamInvoker(string selfPath = "/proc/self/exe")
    {
        IpamInvoker? invoker = null;
        invoker = new IpamInvoker(sameExecutable: type => Create(type, invoker!), selfPath: selfPath);
        return invoker;
    }
}
