using Cni.Samples.CustomPlugin;
using Cni.Spec;

// The whole executable: the host reads CNI_* and stdin, validates them, dispatches and prints result or error.
return await CniPluginHost.RunAsync(new DnsOverridePlugin());
