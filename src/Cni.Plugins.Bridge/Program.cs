using Cni.Plugins.Bridge;
using Cni.Spec;

return await CniPluginHost.RunAsync(new BridgePlugin());
