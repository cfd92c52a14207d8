using Cni.Spec;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Cni.Runtime;

/// <summary>Registers a <see cref="CniRuntime"/> in a service collection.</summary>
public static class CniRuntimeServiceCollectionExtensions
{
    /// <summary>
    /// Adds a singleton <see cref="CniRuntime"/> configured by <paramref name="configure"/>. Plugins registered with
    /// <see cref="CniServiceCollectionExtensions.AddCniPlugin{TPlugin}"/> run in process; every other type runs as a
    /// process found on <see cref="CniRuntimeOptions.PluginPaths"/>.
    /// </summary>
    public static IServiceCollection AddCniRuntime(this IServiceCollection services, Action<CniRuntimeOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(provider =>
        {
            var options = new CniRuntimeOptions();
            configure?.Invoke(options);
            return new CniRuntime(options, provider.GetService<ICniPluginResolver>());
        });
        return services;
    }
}
