using System.Runtime.InteropServices;
using NUnit.Framework;

namespace Cni.TestSupport;

/// <summary>NUnit categories that split the suite by what a test needs from the machine.</summary>
public static class Category
{
    /// <summary>Needs root: creates namespaces and links in the kernel.</summary>
    public const string Kernel = "Kernel";

    /// <summary>Drives published binaries through real peers (libcni/cnirun, podman, the Go reference plugins).</summary>
    public const string Interop = "Interop";
}

/// <summary>Facts about this machine that decide whether a test can run, and skip reasons that say how to get there.</summary>
public static class TestEnvironment
{
    [DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint GetEuid();

    /// <summary>True when the tests run as root (kernel tests need it).</summary>
    public static bool IsRoot => GetEuid() == 0;

    /// <summary>The repository root (the folder holding Cni.sln).</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>Where <c>./build.sh</c> publishes the plugins under their CNI type names.</summary>
    public static string PluginBinDir => Path.Combine(RepoRoot, "artifacts", "cni", "bin");

    /// <summary>Where Debian's containernetworking-plugins installs the Go reference plugins.</summary>
    public const string ReferencePluginDir = "/usr/lib/cni";

    /// <summary>Skips the current test unless it runs as root.</summary>
    public static void RequireRoot()
    {
        if (!IsRoot)
            Assert.Ignore("needs root: kernel tests create network namespaces and links (run ./test.sh as root)");
    }

    /// <summary>Path of one of our published plugins; skips the test when it has not been published.</summary>
    public static string RequirePublishedPlugin(string type)
    {
        string path = Path.Combine(PluginBinDir, type);
        if (!File.Exists(path))
            Assert.Ignore($"published plugin '{type}' not found at {path}: run ./build.sh (or ./test.sh, which publishes first)");
        return path;
    }

    /// <summary>Path of a Go reference plugin; skips the test when Debian's containernetworking-plugins is not installed.</summary>
    public static string RequireReferencePlugin(string type)
    {
        string path = Path.Combine(ReferencePluginDir, type);
        if (!File.Exists(path))
            Assert.Ignore($"reference plugin '{type}' not found at {path}: apt-get install containernetworking-plugins");
        return path;
    }

    /// <summary>Path of an executable on PATH (or an absolute path); skips the test with <paramref name="howToGet"/> when missing.</summary>
    public static string RequireTool(string name, string howToGet)
    {
        if (Path.IsPathRooted(name))
        {
            if (File.Exists(name)) return name;
        }
        else
        {
            foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            {
                string candidate = Path.Combine(dir, name);
                if (File.Exists(candidate)) return candidate;
            }
        }
        Assert.Ignore($"'{name}' not found: {howToGet}");
        return name; // not reached
    }

    /// <summary>Writes <paramref name="script"/> (with Unix line ends) to <paramref name="path"/> as an executable
    /// (0750): a fake plugin or tool.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public static void WriteExecutable(string path, string script)
    {
        File.WriteAllText(path, script.Replace("\r\n", "\n", StringComparison.Ordinal));
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
    }

    /// <summary>A name unique to this test run, short enough for an interface name (max 15 characters with
    /// <paramref name="prefix"/>). The machine's root namespace must never be left mentioning it (<see cref="RootNamespaceGuard.Watch"/>).</summary>
    public static string UniqueName(string prefix)
    {
        string suffix = Convert.ToHexString(Guid.NewGuid().ToByteArray(), 0, 4).ToLowerInvariant();
        string name = prefix + suffix;
        name = name.Length <= 15 ? name : name[..15];
        RootNamespaceGuard.Watch(name);
        return name;
    }

    private static string FindRepoRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Cni.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException("Cni.sln not found above " + AppContext.BaseDirectory);
    }
}
