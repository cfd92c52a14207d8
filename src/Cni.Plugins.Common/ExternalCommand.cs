using System.Diagnostics;

namespace Cni.Plugins.Common;

/// <summary>What a finished external command printed and returned.</summary>
/// <param name="ExitCode">The exit code.</param>
/// <param name="Stdout">Everything printed on stdout.</param>
/// <param name="Stderr">Everything printed on stderr.</param>
public readonly record struct CommandOutput(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>True for exit code 0.</summary>
    public bool Succeeded => ExitCode == 0;
}

/// <summary>
/// Runs the few host tools the plugins drive the way the reference does (<c>nft</c>, <c>iptables</c>): an executable
/// found on PATH or in the usual sbin directories, arguments, optional stdin text.
/// </summary>
public static class ExternalCommand
{
    private static readonly string[] FallbackDirectories = ["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin"];

    /// <summary>The full path of <paramref name="name"/>, or null when it is not installed.</summary>
    public static string? Find(string name)
    {
        IEnumerable<string> dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Concat(FallbackDirectories);
        foreach (string dir in dirs)
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }

    /// <summary>Runs <paramref name="path"/> with <paramref name="arguments"/> and <paramref name="stdin"/>; never throws for a
    /// non-zero exit. Cancellation kills the process.</summary>
    public static async Task<CommandOutput> RunAsync(string path, IEnumerable<string> arguments, string? stdin = null, CancellationToken cancellationToken = default)
    {
        var startInfo = new ProcessStartInfo(path)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in arguments)
            startInfo.ArgumentList.Add(a);
        startInfo.Environment["LC_ALL"] = "C";
        using Process process = Process.Start(startInfo) ?? throw new InvalidOperationException($"could not start {path}");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        Task<string> stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            if (stdin is not null)
                await process.StandardInput.WriteAsync(stdin.AsMemory(), cancellationToken).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The tool exited early; its exit code and stderr tell why.
        }
        finally
        {
            process.StandardInput.Close();
        }
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Cancelled (plugin timeout): do not leave the tool running behind us.
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Exited meanwhile.
            }
            throw;
        }
        return new CommandOutput(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }
}
