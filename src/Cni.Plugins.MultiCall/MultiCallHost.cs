using Cni.Plugins.Common;
using Cni.Plugins.Ipam.Dhcp;
using Cni.Plugins.Ipam.Dhcp.Daemon;
using Cni.Spec;

namespace Cni.Plugins.MultiCall;

/// <summary>
/// The entry of the one plugin executable: the name it was started under (a link named after a CNI type, as a runtime
/// finds it in <c>CNI_PATH</c>) picks the plugin, as busybox picks its applet. Started as <c>cni-plugins</c> itself it
/// takes the type as its first argument (<c>cni-plugins bridge</c>), lists its types with <c>--list</c>, and says how to
/// use it otherwise.
/// </summary>
internal static class MultiCallHost
{
    /// <summary>The executable's own name.</summary>
    public const string ExecutableName = "cni-plugins";

    private const int ExitUsage = 2;

    /// <summary>The name this process was started under: argv[0] as the runtime passed it, before any link is resolved.</summary>
    public static string ProgramName()
    {
        string[] argv = Environment.GetCommandLineArgs();
        return argv.Length > 0 ? argv[0] : ExecutableName;
    }

    /// <summary>The daemon's flags when the command line starts the dhcp daemon, otherwise null.</summary>
    private static string[]? DaemonArguments(string name, string[] args)
    {
        if (name == DhcpPlugin.TypeName && args is [DhcpDaemonCommand.Argument, ..])
            return args[1..];
        if (name == ExecutableName && args is [DhcpPlugin.TypeName, DhcpDaemonCommand.Argument, ..])
            return args[2..];
        return null;
    }

    /// <summary>Runs the plugin <paramref name="argv0"/> names (its file name), or handles <c>cni-plugins</c>'s own
    /// arguments; returns the exit code. The plugins delete links as <paramref name="removal"/> says (in-process when null).</summary>
    public static Task<int> RunAsync(string argv0, string[] args, ICniEnvironment? environment = null, LinkRemovalPolicy? removal = null)
    {
        string name = Path.GetFileName(argv0);
        // The dhcp type doubles as its daemon: `dhcp daemon [flags]`, or `cni-plugins dhcp daemon [flags]`.
        if (DaemonArguments(name, args) is { } daemonArgs)
            return DhcpDaemonCommand.RunAsync(daemonArgs, (environment ?? new SystemCniEnvironment()).Stderr);
        IpamInvoker ipam = PluginTable.CreateIpamInvoker(removal: removal);
        if (PluginTable.Create(name, ipam, removal) is { } plugin)
            return CniPluginHost.RunAsync(plugin, environment);

        environment ??= new SystemCniEnvironment();
        if (args.Length > 0 && PluginTable.Create(args[0], ipam, removal) is { } named)
            return CniPluginHost.RunAsync(named, environment);
        if (args is ["--list"])
        {
            foreach (string type in PluginTable.Types)
                environment.Stdout.WriteLine(type);
            environment.Stdout.Flush();
            return Task.FromResult(CniPluginHost.ExitSuccess);
        }

        bool unknownName = name != ExecutableName;
        if (!string.IsNullOrEmpty(environment.GetVariable(CniEnvironmentVariables.Command)))
        {
            // A runtime started us under a name we do not hold: answer in the protocol, not with usage text.
            CniPluginHost.WriteError(environment, new CniException(CniErrorCode.Internal,
                $"{ExecutableName} holds no plugin named \"{(unknownName ? name : args.FirstOrDefault() ?? "")}\"",
                $"types: {string.Join(", ", PluginTable.Types)}"));
            environment.Stdout.Flush();
            return Task.FromResult(CniPluginHost.ExitFailure);
        }
        if (unknownName)
            environment.Stderr.WriteLine($"{ExecutableName}: started as \"{name}\", which is not a plugin it holds");
        else if (args.Length > 0)
            environment.Stderr.WriteLine($"{ExecutableName}: no plugin named \"{args[0]}\"");
        environment.Stderr.WriteLine($"""
            usage: TYPE (a link to {ExecutableName} named after a CNI type, run by a container runtime)
                   {ExecutableName} TYPE    run the plugin TYPE
                   {ExecutableName} --list  print the types, one a line (cni install links them)
                   dhcp daemon [flags]     run the dhcp IPAM daemon (also: {ExecutableName} dhcp daemon)
            types: {string.Join(" ", PluginTable.Types)}
            """);
        environment.Stderr.Flush();
        return Task.FromResult(unknownName || args.Length > 0 ? ExitUsage : CniPluginHost.ExitSuccess);
    }
}
