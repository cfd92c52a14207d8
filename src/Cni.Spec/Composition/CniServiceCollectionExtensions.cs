using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Cni.Spec;

/// <summary>Registers plugins so that a runtime can host them in process by type name (Cni.Runtime's
/// <c>AddCniRuntime</c> runs them through <see cref="ICniPluginResolver"/>).</summary>
public static class CniServiceCollectionExtensions
{
    /// <summary>
    /// Registers <typeparamref name="TPlugin"/> as the plugin for CNI type <paramref name="type"/> (a keyed singleton
    /// <see cref="ICniPlugin"/>), plus an <see cref="ICniPluginResolver"/> to find it.
    /// </summary>
    public static IServiceCollection AddCniPlugin<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TPlugin>(
        this IServiceCollection services, string type)
        where TPlugin : class, ICniPlugin
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(type);
        if (!CniValidation.IsValidName(type))
            throw new ArgumentException($"plugin type \"{type}\" must be a bare name matching ^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$", nameof(type));
        services.AddKeyedSingleton<ICniPlugin, TPlugin>(type);
        services.AddSingleton(new CniPluginRegistration(type, typeof(TPlugin)));
        services.TryAddSingleton<ICniPluginResolver, ServiceProviderCniPluginResolver>();
        return services;
    }
}
