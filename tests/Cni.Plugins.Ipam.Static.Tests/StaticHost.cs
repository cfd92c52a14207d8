using System.Text.Json.Nodes;
using Cni.Spec;

namespace Cni.Plugins.Ipam.Static.Tests;

/// <summary>Runs <see cref="StaticPlugin"/> in process through the host with a fake environment.</summary>
internal static class StaticHost
{
    public static Dictionary<string, string> Variables(string command = "ADD", string? args = null)
    {
        var vars = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = command,
            ["CNI_CONTAINERID"] = "ctr-1",
            ["CNI_NETNS"] = "/var/run/netns/ctr-1",
            ["CNI_IFNAME"] = "eth0",
            ["CNI_PATH"] = "/opt/cni/bin",
        };
        if (args is not null)
            vars["CNI_ARGS"] = args;
        return vars;
    }

    public static (int Exit, string Stdout, string Stderr) Run(string config, string command = "ADD", string? args = null)
    {
        var env = new InMemoryCniEnvironment(Variables(command, args), config);
        int exit = CniPluginHost.RunAsync(new StaticPlugin(), env).GetAwaiter().GetResult();
        return (exit, env.StdoutText, env.StderrText);
    }

    public static JsonObject Json(string stdout) => JsonNode.Parse(stdout)!.AsObject();
}
