using System.Diagnostics;
using System.Text;

namespace Cni.Plugins.Ipam.Static.Tests;

/// <summary>Runs a plugin binary as a runtime would: only the given variables, the configuration on stdin.</summary>
internal static class PluginProcess
{
    public static (int Exit, string Stdout) Run(string binary, IReadOnlyDictionary<string, string> variables, string stdin)
    {
        var startInfo = new ProcessStartInfo(binary)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.Environment.Clear();
        foreach ((string name, string value) in variables)
            startInfo.Environment[name] = value;

        using Process process = Process.Start(startInfo)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(stdin);
        process.StandardInput.Close();
        process.WaitForExit();
        TestContext.Out.WriteLine($"{Path.GetFileName(Path.GetDirectoryName(binary))}/{Path.GetFileName(binary)} exit {process.ExitCode}: {stdout.Result} {stderr.Result}".Trim());
        return (process.ExitCode, stdout.Result);
    }
}
