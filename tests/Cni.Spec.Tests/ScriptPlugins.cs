namespace Cni.Spec.Tests;

/// <summary>Throwaway plugin executables (shell scripts) in a temporary directory, removed on dispose.</summary>
internal sealed class ScriptPlugins : IDisposable
{
    public ScriptPlugins()
    {
        Dir = Directory.CreateTempSubdirectory("cni-spec-tests-").FullName;
    }

    public string Dir { get; }

    /// <summary>Writes an executable <c>/bin/sh</c> script called <paramref name="name"/>.</summary>
    public string Add(string name, string body, bool executable = true, string? subdir = null)
    {
        string dir = subdir is null ? Dir : Directory.CreateDirectory(Path.Combine(Dir, subdir)).FullName;
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, executable
                ? UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                : UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}
