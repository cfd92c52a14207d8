using Microsoft.Extensions.DependencyInjection;

namespace Cni.Spec;

/// <summary>Resolves plugins registered with <see cref="CniServiceCollectionExtensions.AddCniPlugin{TPlugin}"/> (keyed by type name).</summary>
internal sealed class ServiceProviderCniPluginResolver(IServiceProvider services, IEnumerable<CniPluginRegistration> registrations) : ICniPluginResolver
{
    public IReadOnlyCollection<string> Types { get; } = registrations.Select(r => r.Type).Distinct(StringComparer.Ordinal).ToArray();

    public ICniPlugin? Resolve(string type) => services.GetKeyedService<ICniPlugin>(type);
}
