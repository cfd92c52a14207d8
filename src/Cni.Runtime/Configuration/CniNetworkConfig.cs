using System.Text.Json;
using System.Text.Json.Nodes;
using Cni.Runtime.Json;
using Cni.Spec;

namespace Cni.Runtime;

/// <summary>
/// A network: what a <c>.conflist</c> file (or a legacy single-plugin <c>.conf</c>, wrapped) describes — its name,
/// the spec version the runtime will use with it, the CHECK/GC switches and the plugin chain. <see cref="Bytes"/> are
/// the file's bytes, which the result cache stores as libcni does.
/// </summary>
public sealed class CniNetworkConfig
{
    private CniNetworkConfig(string name, string cniVersion, string declaredCniVersion, IReadOnlyList<string> cniVersions,
        bool disableCheck, bool disableGC, bool loadOnlyInlinedPlugins, IReadOnlyList<CniPluginConfig> plugins, byte[] bytes, string? sourcePath)
    {
        Name = name;
        CniVersion = cniVersion;
        DeclaredCniVersion = declaredCniVersion;
        CniVersions = cniVersions;
        DisableCheck = disableCheck;
        DisableGC = disableGC;
        LoadOnlyInlinedPlugins = loadOnlyInlinedPlugins;
        Plugins = plugins;
        Bytes = bytes;
        SourcePath = sourcePath;
    }

    /// <summary>The network name.</summary>
    public string Name { get; }

    /// <summary>
    /// The version the runtime calls the plugins with: the highest of <c>cniVersion</c> and <c>cniVersions</c> that this
    /// library implements (see <see cref="CniVersionNegotiation"/>).
    /// </summary>
    public string CniVersion { get; }

    /// <summary>The <c>cniVersion</c> key as written ("" when missing).</summary>
    public string DeclaredCniVersion { get; }

    /// <summary>The <c>cniVersions</c> key as written (empty when missing).</summary>
    public IReadOnlyList<string> CniVersions { get; }

    /// <summary>When true the runtime must not call CHECK.</summary>
    public bool DisableCheck { get; }

    /// <summary>When true the runtime must not call GC.</summary>
    public bool DisableGC { get; }

    /// <summary>When true plugins in <c>&lt;dir&gt;/&lt;name&gt;/*.conf</c> are not loaded.</summary>
    public bool LoadOnlyInlinedPlugins { get; }

    /// <summary>The plugin chain: inlined plugins first, then those loaded from <c>&lt;dir&gt;/&lt;name&gt;/*.conf</c>.</summary>
    public IReadOnlyList<CniPluginConfig> Plugins { get; }

    /// <summary>The configuration's bytes (the file as read; for a legacy file, the list libcni would build from it).</summary>
    public byte[] Bytes { get; }

    /// <summary>The file the network was loaded from, or null.</summary>
    public string? SourcePath { get; }

    /// <summary>
    /// Parses a configuration list. Only inlined plugins are read (use <see cref="CniConfigLoader.LoadFile"/> for the
    /// <c>&lt;dir&gt;/&lt;name&gt;/*.conf</c> plugins). Throws <see cref="CniException"/> (6 for malformed JSON, 7 for
    /// invalid values, 1 for an unusable version), the message naming <paramref name="sourcePath"/> and the field.
    /// </summary>
    public static CniNetworkConfig Parse(byte[] bytes, string? sourcePath = null) =>
        Parse(bytes, sourcePath, extraPlugins: null, requirePlugins: true);

    /// <summary>Builds a network from a JSON object (for runtimes that keep configurations in memory).</summary>
    public static CniNetworkConfig FromJson(JsonObject json) => Parse(GoJson.Serialize(json));

    internal static CniNetworkConfig Parse(byte[] bytes, string? sourcePath, Func<string, IReadOnlyList<CniPluginConfig>>? extraPlugins, bool requirePlugins)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        string where = sourcePath ?? "network configuration";
        JsonObject root = CniPluginConfig.ParseObject(bytes, where);

        string name = root["name"] switch
        {
            null => throw new CniException(CniErrorCode.InvalidNetworkConfig, $"{where}: missing 'name'"),
            JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
            _ => throw new CniException(CniErrorCode.InvalidNetworkConfig, $"{where}: 'name' must be a string"),
        };
        try
        {
            CniValidation.ValidateNetworkName(name);
        }
        catch (CniException ex)
        {
            throw new CniException(ex.NumericCode, $"{where}: {ex.Message}", ex.Details);
        }

        string declared = root["cniVersion"] switch
        {
            null => "",
            JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
            _ => throw new CniException(CniErrorCode.InvalidNetworkConfig, $"{where}: 'cniVersion' must be a string"),
        };

        var versions = new List<string>();
        switch (root["cniVersions"])
        {
            case null:
                break;
            case JsonArray array:
                for (int i = 0; i < array.Count; i++)
                {
                    if (array[i] is not JsonValue item || item.GetValueKind() != JsonValueKind.String)
                        throw new CniException(CniErrorCode.InvalidNetworkConfig, $"{where}: cniVersions[{i}] must be a string");
                    versions.Add(item.GetValue<string>());
                }
                break;
            default:
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"{where}: 'cniVersions' must be an array of strings");
        }
        string version = CniVersionNegotiation.Negotiate(declared, versions, where);

        bool disableCheck = ReadBool(root, "disableCheck", where);
        bool disableGC = ReadBool(root, "disableGC", where);
        bool onlyInlined = ReadBool(root, "loadOnlyInlinedPlugins", where);

        var plugins = new List<CniPluginConfig>();
        switch (root["plugins"])
        {
            case null when root.ContainsKey("plugins"):
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"{where}: 'plugins' must be an array");
            case null:
                if (onlyInlined)
                    throw new CniException(CniErrorCode.InvalidNetworkConfig, $"{where}: 'loadOnlyInlinedPlugins' is true and there is no 'plugins' key");
                break;
            case JsonArray array:
                if (array.Count == 0)
                    throw new CniException(CniErrorCode.InvalidNetworkConfig, $"{where}: no plugins in 'plugins'");
                for (int i = 0; i < array.Count; i++)
                {
                    if (array[i] is not JsonObject pluginObject)
                        throw new CniException(CniErrorCode.InvalidNetworkConfig, $"{where}: plugins[{i}] must be an object");
                    plugins.Add(CniPluginConfig.FromJson(pluginObject, $"{where}: plugins[{i}]"));
                }
                break;
            default:
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"{where}: 'plugins' must be an array");
        }

        if (!onlyInlined && extraPlugins is not null)
            plugins.AddRange(extraPlugins(name));
        if (requirePlugins && plugins.Count == 0)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"{where}: network \"{name}\" has no plugins");

        return new CniNetworkConfig(name, version, declared, versions, disableCheck, disableGC, onlyInlined, plugins, bytes, sourcePath);
    }

    /// <summary>
    /// Wraps a legacy single-plugin configuration (<c>.conf</c>/<c>.json</c> with <c>type</c> at the top) into a list
    /// of one, exactly as libcni does: <c>{"cniVersion":...,"name":...,"plugins":[conf]}</c>, keys sorted.
    /// </summary>
    public static CniNetworkConfig FromLegacyConf(byte[] bytes, string? sourcePath = null)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        string where = sourcePath ?? "network configuration";
        JsonObject conf = CniPluginConfig.ParseObject(bytes, where);
        CniPluginConfig.FromJson(conf, where); // type and capabilities must be valid
        JsonNode? name = conf["name"]?.DeepClone();
        if (name is null)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"{where}: missing 'name'");
        var list = new JsonObject
        {
            ["cniVersion"] = conf["cniVersion"]?.DeepClone() ?? JsonValue.Create(""),
            ["name"] = name,
            ["plugins"] = new JsonArray(conf.DeepClone()),
        };
        return Parse(GoJson.Serialize(list), sourcePath, extraPlugins: null, requirePlugins: true);
    }

    private static bool ReadBool(JsonObject root, string key, string where)
    {
        JsonNode? node = root[key];
        if (node is null)
            return false;
        switch (node.GetValueKind())
        {
            case JsonValueKind.True:
                return true;
            case JsonValueKind.False:
                return false;
            case JsonValueKind.String:
                string text = node.GetValue<string>();
                if (text.Equals("true", StringComparison.OrdinalIgnoreCase))
                    return true;
                if (text.Equals("false", StringComparison.OrdinalIgnoreCase))
                    return false;
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"{where}: invalid value \"{text}\" for {key}: expected true or false");
            default:
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"{where}: '{key}' must be a boolean");
        }
    }
}
