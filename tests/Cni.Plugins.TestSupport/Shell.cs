using System.Diagnostics;

namespace Cni.Plugins.TestSupport;

/// <summary>Runs a host tool (ip, nft, iptables, busybox, strace, cnirun, podman) for test setup and assertions.</summary>
public static class Shell
{
    /// <summary>What a finished tool run returned.</summary>
    /// <param name="ExitCode">The process exit code.</param>
    /// <param name="Stdout">Everything written to standard output.</param>
    /// <param name="Stderr">Everything written to standard error.</param>
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    /// <summary>Runs and throws <see cref="InvalidOperationException"/> (with both streams) on a non-zero exit code.</summary>
    public static Result Run(string file, params string[] args) => Run(file, args, allowFailure: false);

    /// <summary>Runs and returns whatever happened (no exception on failure).</summary>
    public static Result Try(string file, params string[] args) => Run(file, args, allowFailure: true);

    /// <summary>
    /// Runs <paramref name="file"/> with <paramref name="args"/> (no shell), feeding <paramref name="stdin"/> when given
    /// and adding <paramref name="env"/> to the inherited environment; throws on a non-zero exit code unless
    /// <paramref name="allowFailure"/>.
    /// </summary>
    public static Result Run(string file, string[] args, bool allowFailure, string? stdin = null, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null };
        foreach (string a in args) psi.ArgumentList.Add(a);
        if (env is not null) foreach ((string k, string v) in env) psi.Environment[k] = v;
        using Process p = Process.Start(psi)!;
        if (stdin is not null) { p.StandardInput.Write(stdin); p.StandardInput.Close(); }
        Task<string> o = p.StandardOutput.ReadToEndAsync(), e = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        var r = new Result(p.ExitCode, o.Result, e.Result);
        if (!allowFailure && r.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({r.ExitCode}): {r.Stderr}{r.Stdout}");
        return r;
    }

    /// <summary>busybox ping from inside a namespace; true when a reply came back.</summary>
    public static bool Ping(string ns, string address) =>
        Try("ip", "netns", "exec", ns, "busybox", "ping", "-c1", "-W2", address).ExitCode == 0;
}
