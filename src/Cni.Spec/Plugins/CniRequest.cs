using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Cni.Spec.Json;

namespace Cni.Spec;

/// <summary>One invocation of a plugin: the command, the <c>CNI_*</c> variables, and the configuration from stdin.</summary>
public sealed class CniRequest
{
    /// <summary>The operation.</summary>
    public required CniCommand Command { get; init; }

    /// <summary><c>CNI_CONTAINERID</c>; "" for commands without a container (GC, STATUS).</summary>
    public string ContainerId { get; init; } = "";

    /// <summary><c>CNI_NETNS</c>: the container's network namespace path; null when not given (allowed for DEL).</summary>
    public string? NetNs { get; init; }

    /// <summary><c>CNI_IFNAME</c>: the interface name inside the container; "" for GC and STATUS.</summary>
    public string IfName { get; init; } = "";

    /// <summary>The parsed <c>CNI_ARGS</c>.</summary>
    public CniArgs Args { get; init; } = CniArgs.Empty;

    /// <summary><c>CNI_PATH</c> split into directories.</summary>
    public IReadOnlyList<string> Path { get; init; } = [];

    /// <summary>The common configuration keys (prevResult converted to the model).</summary>
    public required NetConf Config { get; init; }

    /// <summary>The configuration as read from stdin (forwarded as is to delegated plugins), except that a key repeated
    /// inside a nested object keeps only its last value, as Go's decoder does (see <see cref="ReceivedConfig"/>).</summary>
    public ReadOnlyMemory<byte> RawConfig { get; init; }

    /// <summary>The configuration bytes exactly as received, repeated keys included: for a plugin that refuses a
    /// repeated key a decoder would silently collapse. <see cref="RawConfig"/> when not set.</summary>
    public ReadOnlyMemory<byte> ReceivedConfig
    {
        get => _received.IsEmpty ? RawConfig : _received;
        init => _received = value;
    }

    private ReadOnlyMemory<byte> _received;

    /// <summary>The environment the request came from (delegated plugins get the same variables).</summary>
    public required ICniEnvironment Environment { get; init; }

    /// <summary>
    /// The serializer looks up <see cref="JsonPolymorphicAttribute"/> and <see cref="JsonDerivedTypeAttribute"/> on every
    /// type it configures, and the reflection that returns them creates arrays of those attribute types. Under NativeAOT
    /// an array type the program never mentions is built at run time by the type loader, the largest single item in
    /// a profile of the options set-up (4% of a bridge CHECK); mentioning them here compiles them in.
    /// </summary>
    private static readonly object[] AttributeArrayTypes = [Array.Empty<JsonPolymorphicAttribute>(), Array.Empty<JsonDerivedTypeAttribute>()];

    /// <summary>
    /// Reads the plugin's own options from the raw configuration with its source-generated metadata. Prefer
    /// <see cref="GetOptions{T}(JsonSerializerContext)"/>, which gives the same results and errors for a fraction of
    /// the start-up cost.
    /// Throws <see cref="CniException"/>: decoding failure (6) for malformed JSON or wrong types,
    /// invalid configuration (7) for bad values, both naming the JSON path of the field.
    /// </summary>
    public T GetOptions<T>(JsonTypeInfo<T> typeInfo) =>
        CniJson.Deserialize(RawConfig.Span, typeInfo, "network configuration");

    /// <summary>
    /// Reads the plugin's own options like <see cref="GetOptions{T}(JsonTypeInfo{T})"/>, with the same results and
    /// errors, but builds the metadata of <typeparamref name="T"/> far more cheaply: call it as
    /// <c>request.GetOptions&lt;MyOptions&gt;(MyJsonContext.Default)</c> (not <c>MyJsonContext.Default.MyOptions</c>,
    /// whose getter already pays the full cost), on a context marked
    /// <c>[JsonSourceGenerationOptions(GenerationMode = JsonSourceGenerationMode.Metadata)]</c>.
    /// </summary>
    /// <remarks>
    /// The metadata is created under a copy of the context's options with a cheap encoder: the serializer escapes every
    /// property name with the options' encoder when it configures a type (used only when writing), and the default one
    /// builds the tables of both built-in JavaScript encoders first, about a million instructions, a noticeable part of
    /// a plugin's whole run. <see cref="System.Net.IPAddress"/> is resolved as a plain value read by
    /// <see cref="IPAddressJsonConverter"/> instead of the object with nine properties a generated context describes
    /// (addresses in configuration are read by that converter on their properties anyway).
    /// </remarks>
    public T GetOptions<T>(JsonSerializerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        GC.KeepAlive(AttributeArrayTypes);
        // A copy keeps every setting; the encoder and the resolver's IPAddress (see OptionsTypeInfoResolver) differ.
        var options = new JsonSerializerOptions(context.Options) { Encoder = PlainJsonEncoder.Instance };
        options.TypeInfoResolver = new OptionsTypeInfoResolver(options.TypeInfoResolver ?? context);
        var typeInfo = (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T));
        return CniJson.Deserialize(RawConfig.Span, typeInfo, "network configuration");
    }
}
