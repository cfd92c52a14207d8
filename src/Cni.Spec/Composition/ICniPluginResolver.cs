namespace Cni.Spec;

/// <summary>Finds an in-process plugin by its CNI type name (what a configuration's <c>type</c> says).</summary>
public interface ICniPluginResolver
{
    /// <summary>The type names registered.</summary>
    IReadOnlyCollection<string> Types { get; }

    /// <summary>The plugin registered as <paramref name="type"/>, or null when none is.</summary>
    ICniPlugin? Resolve(string type);
}
