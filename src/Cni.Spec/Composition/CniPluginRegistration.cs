namespace Cni.Spec;

/// <summary>One plugin registered in a service collection: its CNI type name and implementation type.</summary>
/// <param name="Type">The CNI type name, e.g. "static".</param>
/// <param name="ImplementationType">The class implementing <see cref="ICniPlugin"/>.</param>
public sealed record CniPluginRegistration(string Type, Type ImplementationType);
