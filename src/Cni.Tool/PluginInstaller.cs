using System.Diagnostics;

namespace Cni.Tool;

/// <summary>
/// <c>cni install</c>: puts the one plugin executable into a plugin directory and links each CNI type it holds to it.
/// The executable is copied to a temporary name and renamed into place, and each link made under a temporary name and
/// renamed over the old one, so a runtime that runs a plugin meanwhile finds either the old file or the new one, never
/// a half-written binary or a missing type.
/// </summary>
internal static class PluginInstaller
{
    /// <summary>The executable's name in the plugin directory.</summary>
    public const string ExecutableName = "cni-plugins";

    /// <summary>Installs <paramref name="source"/> (found beside this tool when null) into <paramref name="dir"/>.
    /// Without <paramref name="force"/>, a type whose file is not already our link is reported and nothing changes.</summary>
    /// <returns>The exit code.</returns>
    public static async Task<int> InstallAsync(string? source, string dir, bool force, TextWriter stdout, TextWriter stderr)
    {
        source ??= FindSource() ?? throw new CniTool.UsageException(
            $"no {ExecutableName} beside this tool (or in ../cni/bin): name it with --from FILE");
        if (!File.Exists(source))
            throw new CniTool.UsageException($"--from: \"{source}\" does not exist");
        string[] types = await ListTypesAsync(source).ConfigureAwait(false);
        if (types.Length == 0)
        {
            await stderr.WriteLineAsync($"cni: {source} lists no plugin types: is it {ExecutableName}?").ConfigureAwait(false);
            return CniTool.ExitFailed;
        }

        Directory.CreateDirectory(dir);
        var conflicts = types.Where(t => IsForeign(Path.Combine(dir, t))).ToList();
        if (conflicts.Count > 0 && !force)
        {
            await stderr.WriteLineAsync($"cni: {dir} already has {string.Join(", ", conflicts)} (not links to {ExecutableName}); " +
                "nothing was changed: --force replaces them").ConfigureAwait(false);
            return CniTool.ExitFailed;
        }

        string suffix = $".tmp-{Environment.ProcessId}";
        string temporary = Path.Combine(dir, "." + ExecutableName + suffix);
        try
        {
            File.Copy(source, temporary, overwrite: true);
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                    UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            using (var file = new FileStream(temporary, FileMode.Open, FileAccess.ReadWrite))
                file.Flush(flushToDisk: true);
            File.Move(temporary, Path.Combine(dir, ExecutableName), overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
        foreach (string type in types)
        {
            string link = Path.Combine(dir, "." + type + suffix);
            File.Delete(link);
            File.CreateSymbolicLink(link, ExecutableName);
            File.Move(link, Path.Combine(dir, type), overwrite: true);
        }
        await stdout.WriteLineAsync($"installed {ExecutableName} in {dir}, linked as {string.Join(" ", types)}").ConfigureAwait(false);
        return CniTool.ExitOk;
    }

    /// <summary>Whether <paramref name="path"/> exists and is anything but a link to <see cref="ExecutableName"/>.</summary>
    private static bool IsForeign(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is { } target)
            return Path.GetFileName(target) != ExecutableName;
        return info.Exists || Directory.Exists(path);
    }

    private static string? FindSource()
    {
        string? here = Path.GetDirectoryName(Environment.ProcessPath);
        if (here is null)
            return null;
        foreach (string candidate in new[] { Path.Combine(here, ExecutableName), Path.Combine(here, "..", "cni", "bin", ExecutableName) })
        {
            if (File.Exists(candidate))
                return Path.GetFullPath(candidate);
        }
        return null;
    }

    /// <summary>The types <paramref name="source"/> holds (<c>cni-plugins --list</c>), each a bare name.</summary>
    private static async Task<string[]> ListTypesAsync(string source)
    {
        var start = new ProcessStartInfo(source, "--list") { RedirectStandardOutput = true, RedirectStandardError = true };
        using Process process = Process.Start(start) ?? throw new CniTool.UsageException($"could not start {source}");
        string output = await process.StandardOutput.ReadToEndAsync().ConfigureAwait(false);
        await process.WaitForExitAsync().ConfigureAwait(false);
        if (process.ExitCode != 0)
            return [];
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(t => Cni.Spec.CniValidation.IsValidName(t)).ToArray();
    }
}
