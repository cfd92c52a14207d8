using Cni.Plugins.Macvlan;
using Cni.Spec;

return await CniPluginHost.RunAsync(new MacvlanPlugin());
