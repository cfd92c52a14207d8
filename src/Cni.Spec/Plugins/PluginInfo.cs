namespace Cni.Spec;

/// <summary>What a plugin declares about itself: the spec versions it accepts, its about text, the <c>CNI_ARGS</c> keys it reads.</summary>
public sealed class PluginInfo
{
    /// <summary>Every spec version (0.1.0 through 1.1.0), a description naming nothing, and no <c>CNI_ARGS</c> checking.</summary>
    public static PluginInfo Default { get; } = new();

    /// <summary>The configuration versions the plugin accepts (VERSION lists them; others are refused with code 1).</summary>
    public IReadOnlyList<string> SupportedVersions { get; init; } = CniVersions.All;

    /// <summary>Printed to stderr when the plugin runs without <c>CNI_COMMAND</c>, e.g. "CNI static plugin v1.0.0".</summary>
    public string About { get; init; } = "CNI plugin (Cni.NET)";

    /// <summary>
    /// The <c>CNI_ARGS</c> keys the plugin understands. When set, the host refuses any other key with code 4 unless
    /// <c>IgnoreUnknown=1</c>; when null (the default) the host does not check keys (the plugin may forward them).
    /// </summary>
    public IReadOnlyCollection<string>? ArgsKeys { get; init; }
}
