using Cni.Plugins.Ipvlan;
using Cni.Spec;

return await CniPluginHost.RunAsync(new IpvlanPlugin());
