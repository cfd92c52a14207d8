using System.Diagnostics;
using Cni.Spec;

namespace Cni.Plugins.TestSupport;

/// <summary>Runs one CNI invocation of a plugin, in process or as a process, with exactly the CNI variables given.</summary>
public static class PluginRunner
{
    /// <summary>The CNI_* variables a runtime sets; a child process inherits none of them but those it is given.</summary>
    public static readonly string[] CniVariables = ["CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"];

    /// <summary>
    /// The variables of one invocation: CNI_COMMAND, CNI_CONTAINERID, CNI_IFNAME and CNI_PATH always, CNI_NETNS and
    /// CNI_ARGS when not null.
    /// </summary>
    public static Dictionary<string, string> Variables(string command, string? nsPath, string id, string ifName, string cniPath, string? args = null)
    {
        var vars = new Dictionary<string, string>
        {
            ["CNI_COMMAND"] = command,
            ["CNI_CONTAINERID"] = id,
            ["CNI_IFNAME"] = ifName,
            ["CNI_PATH"] = cniPath,
        };
        if (nsPath is not null) vars["CNI_NETNS"] = nsPath;
        if (args is not null) vars["CNI_ARGS"] = args;
        return vars;
    }

    /// <summary>Runs <paramref name="plugin"/> through <see cref="CniPluginHost"/> with an <see cref="InMemoryCniEnvironment"/>.</summary>
    public static async Task<PluginOutput> RunInProcessAsync(ICniPlugin plugin, IDictionary<string, string> vars, string stdin)
    {
        var env = new InMemoryCniEnvironment(vars, stdin);
        int code = await CniPluginHost.RunAsync(plugin, env);
        return new PluginOutput(code, env.StdoutText, env.StderrText);
    }

    /// <summary>
    /// Runs <paramref name="file"/> with <paramref name="args"/>: the inherited environment without any CNI_* variable,
    /// plus <paramref name="vars"/>; <paramref name="stdin"/> is written to standard input, which is then closed.
    /// </summary>
    public static async Task<PluginOutput> RunProcessAsync(string file, IEnumerable<string> args, IDictionary<string, string> vars, string stdin)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        foreach (string v in CniVariables)
            psi.Environment.Remove(v);
        foreach ((string k, string v) in vars) psi.Environment[k] = v;
        using Process p = Process.Start(psi)!;
        Task<string> o = p.StandardOutput.ReadToEndAsync(), e = p.StandardError.ReadToEndAsync();
        await p.StandardInput.WriteAsync(stdin);
        p.StandardInput.Close();
        await p.WaitForExitAsync();
        return new PluginOutput(p.ExitCode, await o, await e);
    }
}
