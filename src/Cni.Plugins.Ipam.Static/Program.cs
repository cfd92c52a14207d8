using Cni.Plugins.Ipam.Static;
using Cni.Spec;

return await CniPluginHost.RunAsync(new StaticPlugin());
