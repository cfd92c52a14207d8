using Cni.Plugins.Vlan;
using Cni.Spec;

return await CniPluginHost.RunAsync(new VlanPlugin());
