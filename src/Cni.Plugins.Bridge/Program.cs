using Cni.Plugins.Bridge;
using Cni.Plugins.Common;
using Cni.Spec;

// Started as its own link-deletion helper (see LinkRemoval), or as the plugin.
if (LinkRemoval.TryRunHelper(args, out int helperExitCode))
    return helperExitCode;
return await CniPluginHost.RunAsync(new BridgePlugin());
