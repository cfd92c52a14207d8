using Cni.Plugins.Ipam.HostLocal;
using Cni.Spec;

return await CniPluginHost.RunAsync(new HostLocalPlugin());
