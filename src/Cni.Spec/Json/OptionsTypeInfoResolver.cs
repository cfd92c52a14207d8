using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Cni.Spec.Json;

/// <summary>
/// The resolver <see cref="CniRequest.GetOptions{T}(System.Text.Json.Serialization.JsonSerializerContext)"/> reads
/// plugin options with: the plugin's own (source-generated) resolver, except that <see cref="IPAddress"/> is a plain
/// value read by <see cref="IPAddressJsonConverter"/>.
/// </summary>
/// <remarks>
/// Every <see cref="IPAddress"/> in CNI configuration (<c>gw</c> of <see cref="CniRoute"/>, plugins' gateways) is a
/// property carrying <see cref="IPAddressJsonConverter"/>, so the property's converter reads it and the metadata of the
/// type itself is never used to read. The serializer still configures that metadata, and a generated context describes
/// <see cref="IPAddress"/> as an object with nine properties (<c>AddressFamily</c> needs an enum converter built by
/// reflection over the enum's fields, <c>ScopeId</c>, the <c>IsIPv6*</c> flags): about 0.6 M instructions per
/// plugin run for nothing.
/// </remarks>
internal sealed class OptionsTypeInfoResolver(IJsonTypeInfoResolver inner) : IJsonTypeInfoResolver
{
    // Stateless, so shared.
    private static readonly IPAddressJsonConverter s_address = new();

    /// <inheritdoc/>
    public JsonTypeInfo? GetTypeInfo(Type type, JsonSerializerOptions options) =>
        type == typeof(IPAddress)
            ? JsonMetadataServices.CreateValueInfo<IPAddress>(options, s_address)
            : inner.GetTypeInfo(type, options);
}
