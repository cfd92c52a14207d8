using Cni.Plugins.Common;
using Cni.Plugins.MultiCall;

// Started as its own link-deletion helper (see LinkRemoval), or as the plugin whose name it was started under.
if (LinkRemoval.TryRunHelper(args, out int helperExitCode))
    return helperExitCode;
// This executable is its own deletion helper, unless the runtime turned that off.
return await MultiCallHost.RunAsync(MultiCallHost.ProgramName(), args, removal: LinkRemovalPolicy.ForThisExecutable());
