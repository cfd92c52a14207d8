namespace Cni.Runtime;

/// <summary>How a <see cref="CniRuntime"/> finds and runs plugins and where it keeps its cache.</summary>
public sealed class CniRuntimeOptions
{
    /// <summary>The conventional plugin directory, used when no other is given.</summary>
    public const string DefaultPluginPath = "/opt/cni/bin";

    /// <summary>
    /// Directories searched for plugin executables, in order; passed to every plugin as <c>CNI_PATH</c> (in-process
    /// ones too: IPAM delegation uses it). Default: <see cref="DefaultPluginPath"/>.
    /// </summary>
    public IReadOnlyList<string> PluginPaths { get; set; } = [DefaultPluginPath];

    /// <summary>The cache directory; results go to its <c>results</c> folder (default <c>/var/lib/cni</c>, as libcni).</summary>
    public string CacheDirectory { get; set; } = CniResultCache.DefaultDirectory;

    /// <summary>The longest one plugin call may take; null for no limit. Default 2 minutes.</summary>
    public TimeSpan? PluginTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Where plugins' stderr (exec and in-process) is copied; this process's stderr when null.</summary>
    public TextWriter? PluginStderr { get; set; }

    /// <summary>
    /// When true, a failed ADD is followed by a DEL of the whole chain (best effort, errors ignored) so that plugins
    /// that did succeed release what they took. libcni does not do this; default false.
    /// </summary>
    public bool DeleteOnAddFailure { get; set; }

    /// <summary>Parses a <c>CNI_PATH</c>-style list (':'-separated, empty entries dropped).</summary>
    public static IReadOnlyList<string> SplitPath(string? path) =>
        (path ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries);
}
