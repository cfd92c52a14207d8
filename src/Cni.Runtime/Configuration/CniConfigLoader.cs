using Cni.Spec;

namespace Cni.Runtime;

/// <summary>A configuration file that could not be loaded: its path and what is wrong with it.</summary>
/// <param name="Path">The file (or directory) at fault.</param>
/// <param name="Error">The error, its message naming the file and the field.</param>
public sealed record CniConfigFileError(string Path, CniException Error)
{
    /// <summary>"path: message".</summary>
    public override string ToString()
    {
        string text = Error.Details.Length == 0 ? Error.Message : $"{Error.Message}; {Error.Details}";
        return text.StartsWith(Path, StringComparison.Ordinal) ? text : $"{Path}: {text}";
    }
}

/// <summary>Every network found in a configuration directory, and the files that could not be loaded.</summary>
public sealed class CniConfigSet
{
    internal CniConfigSet(string directory, IReadOnlyList<CniNetworkConfig> networks, IReadOnlyList<CniConfigFileError> errors)
    {
        Directory = directory;
        Networks = networks;
        Errors = errors;
    }

    /// <summary>The directory that was read.</summary>
    public string Directory { get; }

    /// <summary>The networks, in load order (lists first, sorted by file name; then legacy files), one per name.</summary>
    public IReadOnlyList<CniNetworkConfig> Networks { get; }

    /// <summary>Files that could not be loaded; they did not stop the others.</summary>
    public IReadOnlyList<CniConfigFileError> Errors { get; }

    /// <summary>The network named <paramref name="name"/>, or null.</summary>
    public CniNetworkConfig? Find(string name) => Networks.FirstOrDefault(n => n.Name == name);
}

/// <summary>
/// Loads networks from a configuration directory the way libcni does — <c>*.conflist</c> files in sorted order, the
/// first list with a name wins; plugins from <c>&lt;dir&gt;/&lt;name&gt;/*.conf</c> appended unless
/// <c>loadOnlyInlinedPlugins</c>; legacy single-plugin <c>*.conf</c>/<c>*.json</c> files wrapped into a list when no
/// list has their name — except that a broken file is reported with its path and does not stop the other networks.
/// </summary>
public static class CniConfigLoader
{
    /// <summary>Default configuration directory.</summary>
    public const string DefaultDirectory = "/etc/cni/net.d";

    /// <summary>Loads every network in <paramref name="directory"/>; a missing directory has no networks.</summary>
    public static CniConfigSet LoadAll(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var networks = new List<CniNetworkConfig>();
        var errors = new List<CniConfigFileError>();
        var names = new HashSet<string>(StringComparer.Ordinal);

        foreach (string file in ListFiles(directory, [".conflist"], errors))
        {
            try
            {
                CniNetworkConfig network = LoadFile(file);
                if (names.Add(network.Name))
                    networks.Add(network);
            }
            catch (CniException ex)
            {
                errors.Add(new CniConfigFileError(file, ex));
            }
        }
        foreach (string file in ListFiles(directory, [".conf", ".json"], errors))
        {
            try
            {
                CniNetworkConfig network = CniNetworkConfig.FromLegacyConf(ReadFile(file), file);
                if (names.Add(network.Name))
                    networks.Add(network);
            }
            catch (CniException ex)
            {
                errors.Add(new CniConfigFileError(file, ex));
            }
        }
        return new CniConfigSet(directory, networks, errors);
    }

    /// <summary>
    /// The network named <paramref name="name"/> in <paramref name="directory"/>. Throws <see cref="CniException"/>
    /// (invalid configuration, 7) when there is none, listing the files that could not be read (one may have been it).
    /// </summary>
    public static CniNetworkConfig Load(string directory, string name)
    {
        CniConfigSet set = LoadAll(directory);
        CniNetworkConfig? network = set.Find(name);
        if (network is not null)
            return network;
        string details = set.Errors.Count == 0 ? "" : "files that could not be loaded: " + string.Join("; ", set.Errors);
        throw new CniException(CniErrorCode.InvalidNetworkConfig,
            set.Networks.Count == 0 && set.Errors.Count == 0
                ? $"no net configurations found in {directory}"
                : $"no net configuration with name \"{name}\" in {directory}", details);
    }

    /// <summary>
    /// Loads one <c>.conflist</c> file with the plugins of <c>&lt;its dir&gt;/&lt;name&gt;/*.conf</c> appended
    /// (unless <c>loadOnlyInlinedPlugins</c>). Errors name the file.
    /// </summary>
    public static CniNetworkConfig LoadFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string directory = Path.GetDirectoryName(Path.GetFullPath(path)) ?? "/";
        return CniNetworkConfig.Parse(ReadFile(path), path, name => LoadPluginFiles(directory, name), requirePlugins: true);
    }

    /// <summary>The plugins in <c>&lt;directory&gt;/&lt;network&gt;/*.conf</c>, sorted by file name; none when the folder is missing.</summary>
    public static IReadOnlyList<CniPluginConfig> LoadPluginFiles(string directory, string network)
    {
        CniValidation.ValidateNetworkName(network);
        string pluginDir = Path.Combine(directory, network);
        var errors = new List<CniConfigFileError>();
        var plugins = new List<CniPluginConfig>();
        foreach (string file in ListFiles(pluginDir, [".conf"], errors))
            plugins.Add(CniPluginConfig.Parse(ReadFile(file), file));
        if (errors.Count > 0)
            throw errors[0].Error;
        return plugins;
    }

    private static byte[] ReadFile(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CniException((uint)CniErrorCode.IoFailure, $"error reading {path}: {ex.Message}", null, ex);
        }
    }

    private static IEnumerable<string> ListFiles(string directory, string[] extensions, List<CniConfigFileError> errors)
    {
        string[] entries;
        try
        {
            if (!System.IO.Directory.Exists(directory))
                return [];
            entries = System.IO.Directory.GetFiles(directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            errors.Add(new CniConfigFileError(directory, new CniException((uint)CniErrorCode.IoFailure, $"error reading {directory}: {ex.Message}", null, ex)));
            return [];
        }
        // Byte-wise order of names, as Go's sort.Strings.
        return entries.Where(f => extensions.Contains(Path.GetExtension(f), StringComparer.Ordinal))
            .Order(StringComparer.Ordinal).ToArray();
    }
}
