using System.Text;
using System.Text.Json.Nodes;
using Cni.Runtime.Json;
using Cni.Spec;

namespace Cni.Runtime;

/// <summary>
/// Runs networks for a container runtime (Go's libcni <c>CNIConfig</c>): ADD, CHECK and DEL of a plugin chain for an
/// attachment, GC and STATUS of a network, VERSION and validation of plugins — with the result cache in libcni's
/// format. Each plugin receives its configuration with <c>name</c>, <c>cniVersion</c>, <c>runtimeConfig</c> (the
/// capability arguments it enables) and <c>prevResult</c> injected; DEL runs the chain in reverse with the cached
/// result. Every plugin call is cancellable and bounded by <see cref="CniRuntimeOptions.PluginTimeout"/>; failures are
/// <see cref="CniRuntimeException"/>s naming the network, the step and the plugin.
/// </summary>
public sealed class CniRuntime
{
    private readonly CniRuntimeOptions _options;
    private readonly ICniPluginInvoker _invoker;

    /// <summary>Creates a runtime that runs plugins as processes, or in process when <paramref name="resolver"/> knows their type.</summary>
    public CniRuntime(CniRuntimeOptions options, ICniPluginResolver? resolver = null)
        : this(options, CreateInvoker(options, resolver))
    {
    }

    /// <summary>Creates a runtime with a custom plugin invoker.</summary>
    public CniRuntime(CniRuntimeOptions options, ICniPluginInvoker invoker)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _invoker = invoker ?? throw new ArgumentNullException(nameof(invoker));
        Cache = new CniResultCache(options.CacheDirectory);
    }

    /// <summary>The result cache.</summary>
    public CniResultCache Cache { get; }

    /// <summary>The options.</summary>
    public CniRuntimeOptions Options => _options;

    private static ICniPluginInvoker CreateInvoker(CniRuntimeOptions options, ICniPluginResolver? resolver)
    {
        ArgumentNullException.ThrowIfNull(options);
        var exec = new ExecPluginInvoker(options.PluginStderr);
        return resolver is null ? exec : new InProcessPluginInvoker(resolver, exec, options.PluginStderr);
    }

    /// <summary>
    /// ADD: runs the chain in order, each plugin receiving the previous plugin's result, caches the last result and
    /// returns it (in the version the last plugin printed).
    /// </summary>
    public async Task<CniResult> AddNetworkListAsync(CniNetworkConfig network, CniRuntimeConf runtimeConf, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(runtimeConf);
        ValidateAttachment(network, runtimeConf, CniCommand.Add);
        if (network.Plugins.Count == 0)
            throw new CniRuntimeException((uint)CniErrorCode.InvalidNetworkConfig, $"network \"{network.Name}\" has no plugins", null, network.Name, CniCommand.Add);
        CniResult? result = null;
        try
        {
            for (int i = 0; i < network.Plugins.Count; i++)
            {
                CniPluginConfig plugin = network.Plugins[i];
                byte[] config = BuildConfig(network, plugin, result, runtimeConf);
                byte[] stdout = await InvokeAsync(network, plugin, i, CniCommand.Add, runtimeConf, config, cancellationToken).ConfigureAwait(false);
                result = ParseResult(network, plugin, i, stdout);
            }
            // Inside the try: an attachment whose result cannot be cached is unknown to later DELs and GCs, so a failed
            // write is an ADD failure like any other and is undone the same way.
            try
            {
                Cache.Write(network.Name, runtimeConf, network.Bytes, result!);
            }
            catch (CniException ex)
            {
                throw new CniRuntimeException(ex.NumericCode, $"network \"{network.Name}\": failed to set cached result: {ex.Message}", ex.Details,
                    network.Name, CniCommand.Add, innerException: ex);
            }
        }
        catch (CniRuntimeException) when (_options.DeleteOnAddFailure && !cancellationToken.IsCancellationRequested)
        {
            try
            {
                await DelNetworkListAsync(network, runtimeConf, cancellationToken).ConfigureAwait(false);
            }
            catch (CniException)
            {
                // Best effort: the ADD's error is what the caller needs.
            }
            throw;
        }
        return result!;
    }

    /// <summary>
    /// CHECK: runs the chain in order with the cached result as <c>prevResult</c>. Nothing runs when the network sets
    /// <c>disableCheck</c>; a network older than 0.4.0 cannot be checked.
    /// </summary>
    public async Task CheckNetworkListAsync(CniNetworkConfig network, CniRuntimeConf runtimeConf, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(runtimeConf);
        if (!IsAtLeast(network, CniVersions.V040))
        {
            throw new CniRuntimeException((uint)CniErrorCode.IncompatibleCniVersion,
                $"network \"{network.Name}\": configuration version \"{network.CniVersion}\" does not support the CHECK command", null, network.Name, CniCommand.Check);
        }
        if (network.DisableCheck)
            return;
        ValidateAttachment(network, runtimeConf, CniCommand.Check);
        CniResult? cached;
        try
        {
            cached = Cache.ReadResult(network.Name, runtimeConf.ContainerId, runtimeConf.IfName, network.CniVersion);
        }
        catch (CniException ex)
        {
            throw new CniRuntimeException(ex.NumericCode, $"network \"{network.Name}\": failed to get cached result: {ex.Message}", ex.Details,
                network.Name, CniCommand.Check, innerException: ex);
        }
        for (int i = 0; i < network.Plugins.Count; i++)
        {
            CniPluginConfig plugin = network.Plugins[i];
            byte[] config = BuildConfig(network, plugin, cached, runtimeConf);
            await InvokeAsync(network, plugin, i, CniCommand.Check, runtimeConf, config, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// DEL: runs the chain in reverse with the cached result as <c>prevResult</c> (0.4.0 and later), then removes the
    /// cache entry. A missing or unreadable entry is no error: DEL goes on without <c>prevResult</c>.
    /// </summary>
    public async Task DelNetworkListAsync(CniNetworkConfig network, CniRuntimeConf runtimeConf, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(runtimeConf);
        ValidateAttachment(network, runtimeConf, CniCommand.Del);
        CniResult? cached = null;
        if (IsAtLeast(network, CniVersions.V040))
        {
            try
            {
                cached = Cache.ReadResult(network.Name, runtimeConf.ContainerId, runtimeConf.IfName, network.CniVersion);
            }
            catch (CniException)
            {
                cached = null; // as libcni: a broken entry is dropped and DEL goes on without prevResult
            }
        }
        for (int i = network.Plugins.Count - 1; i >= 0; i--)
        {
            CniPluginConfig plugin = network.Plugins[i];
            byte[] config = BuildConfig(network, plugin, cached, runtimeConf);
            await InvokeAsync(network, plugin, i, CniCommand.Del, runtimeConf, config, cancellationToken).ConfigureAwait(false);
        }
        try
        {
            Cache.Delete(network.Name, runtimeConf.ContainerId, runtimeConf.IfName);
        }
        catch (CniException)
        {
            // The attachment is gone; a stale entry is cleaned by the next GC.
        }
    }

    /// <summary>
    /// GC: deletes every cached attachment of the network that is not in <paramref name="validAttachments"/> (DEL
    /// with the arguments of its ADD), then, for 1.1.0 networks, sends GC to every plugin with
    /// <c>cni.dev/valid-attachments</c> and, as libcni does for plugins written to the 1.1.0 spec text, the same list as
    /// <c>cni.dev/attachments</c>. Goes on after failures and reports them all. Nothing runs when the network
    /// sets <c>disableGC</c>. Also removes the cache's temporary files that crashed writers left
    /// (<see cref="CniResultCache.SweepTemporaryFiles"/>, older than <see cref="CniResultCache.TemporaryFileMaxAge"/>).
    /// </summary>
    public async Task GcNetworkListAsync(CniNetworkConfig network, IEnumerable<CniGcAttachment>? validAttachments, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (network.DisableGC)
            return;
        CniGcAttachment[] valid = validAttachments?.ToArray() ?? [];
        var keep = new HashSet<CniGcAttachment>(valid);
        var errors = new List<CniRuntimeException>();

        Cache.SweepTemporaryFiles(CniResultCache.TemporaryFileMaxAge);
        foreach (CniCachedAttachment attachment in Cache.ListAttachments())
        {
            if (attachment.Network != network.Name || keep.Contains(new CniGcAttachment(attachment.ContainerId, attachment.IfName)))
                continue;
            try
            {
                await DelNetworkListAsync(network, attachment.ToRuntimeConf(), cancellationToken).ConfigureAwait(false);
            }
            catch (CniException ex) when (!cancellationToken.IsCancellationRequested)
            {
                errors.Add(new CniRuntimeException(ex.NumericCode,
                    $"network \"{network.Name}\": failed to delete stale attachment {attachment.ContainerId} {attachment.IfName}: {ex.Message}", ex.Details,
                    network.Name, CniCommand.Gc, (ex as CniRuntimeException)?.PluginType, (ex as CniRuntimeException)?.PluginIndex ?? -1, ex));
            }
        }

        if (IsAtLeast(network, CniVersions.V110))
        {
            var validJson = new JsonArray();
            foreach (CniGcAttachment a in valid)
                validJson.Add((JsonNode)new JsonObject { ["containerID"] = a.ContainerId, ["ifname"] = a.IfName });
            for (int i = 0; i < network.Plugins.Count; i++)
            {
                CniPluginConfig plugin = network.Plugins[i];
                JsonObject json = PluginJson(network, plugin);
                json["cni.dev/valid-attachments"] = validJson.DeepClone();
                // The 1.1.0 spec text named the key cni.dev/attachments; libcni sends both (containernetworking/cni#1101).
                json["cni.dev/attachments"] = validJson.DeepClone();
                try
                {
                    await InvokeAsync(network, plugin, i, CniCommand.Gc, null, GoJson.Serialize(json), cancellationToken).ConfigureAwait(false);
                }
                catch (CniRuntimeException ex) when (!cancellationToken.IsCancellationRequested)
                {
                    errors.Add(ex);
                }
            }
        }

        if (errors.Count == 1)
            throw errors[0];
        if (errors.Count > 1)
        {
            throw new CniRuntimeException(errors[0].NumericCode, $"network \"{network.Name}\": GC had {errors.Count} failures: " + string.Join("; ", errors.Select(e => e.Message)),
                null, network.Name, CniCommand.Gc, errors: errors);
        }
    }

    /// <summary>
    /// STATUS: asks every plugin whether it is ready for ADD (1.1.0 networks; older ones are reported ready).
    /// Throws the first plugin's error, typically code 50 or 51.
    /// </summary>
    public async Task GetStatusNetworkListAsync(CniNetworkConfig network, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (!IsAtLeast(network, CniVersions.V110))
            return;
        for (int i = 0; i < network.Plugins.Count; i++)
        {
            CniPluginConfig plugin = network.Plugins[i];
            await InvokeAsync(network, plugin, i, CniCommand.Status, null, GoJson.Serialize(PluginJson(network, plugin)), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The cached result of an attachment in the network's version, or null when none is cached.</summary>
    public CniResult? GetCachedResult(CniNetworkConfig network, CniRuntimeConf runtimeConf)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(runtimeConf);
        return Cache.ReadResult(network.Name, runtimeConf.ContainerId, runtimeConf.IfName, network.CniVersion);
    }

    /// <summary>The cached attachments, optionally only those of <paramref name="containerId"/>.</summary>
    public IReadOnlyList<CniCachedAttachment> GetCachedAttachments(string? containerId = null) => Cache.ListAttachments(containerId);

    /// <summary>What a plugin answers to VERSION.</summary>
    public async Task<PluginVersionInfo> GetVersionInfoAsync(string pluginType, CancellationToken cancellationToken = default)
    {
        using CancellationTokenSource timeout = CreateTimeout(cancellationToken);
        try
        {
            return await _invoker.GetVersionInfoAsync(pluginType, _options.PluginPaths, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CniException(CniErrorCode.Internal, $"plugin {pluginType} timed out (VERSION) after {_options.PluginTimeout}");
        }
    }

    /// <summary>
    /// Checks that every plugin of the network exists and supports the network's version; returns the capabilities
    /// the chain enables (sorted). Throws <see cref="CniRuntimeException"/> listing every problem.
    /// </summary>
    public async Task<IReadOnlyList<string>> ValidateNetworkListAsync(CniNetworkConfig network, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        string version = network.CniVersion.Length == 0 ? CniVersions.Default : network.CniVersion;
        var errors = new List<CniRuntimeException>();
        var capabilities = new SortedSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < network.Plugins.Count; i++)
        {
            CniPluginConfig plugin = network.Plugins[i];
            try
            {
                PluginVersionInfo info = await GetVersionInfoAsync(plugin.Type, cancellationToken).ConfigureAwait(false);
                if (!info.SupportedVersions.Contains(version))
                {
                    throw new CniException(CniErrorCode.IncompatibleCniVersion, $"plugin {plugin.Type} does not support config version \"{version}\"",
                        $"it supports [{string.Join(", ", info.SupportedVersions)}]");
                }
            }
            catch (CniException ex) when (!cancellationToken.IsCancellationRequested)
            {
                errors.Add(new CniRuntimeException(ex.NumericCode, $"network \"{network.Name}\": plugin {plugin.Description} ({i + 1} of {network.Plugins.Count}): {ex.Message}",
                    ex.Details, network.Name, CniCommand.Version, plugin.Type, i, ex));
            }
            capabilities.UnionWith(plugin.Capabilities);
        }
        if (errors.Count == 1)
            throw errors[0];
        if (errors.Count > 1)
        {
            throw new CniRuntimeException(errors[0].NumericCode, string.Join("; ", errors.Select(e => e.Message)), null,
                network.Name, CniCommand.Version, errors: errors);
        }
        return [.. capabilities];
    }

    /// <summary>A plugin's configuration as libcni passes it to every command: its own keys plus the network's name and cniVersion.</summary>
    private static JsonObject PluginJson(CniNetworkConfig network, CniPluginConfig plugin)
    {
        JsonObject json = plugin.ToJsonObject();
        json["name"] = network.Name;
        json["cniVersion"] = network.CniVersion;
        return json;
    }

    /// <summary>
    /// The configuration one plugin receives: its own object with <c>name</c> and <c>cniVersion</c> of the network,
    /// <c>prevResult</c> (in the version it was produced or converted to) and <c>runtimeConfig</c> holding the capability
    /// arguments the plugin enables — written as libcni writes it (keys sorted).
    /// </summary>
    public static byte[] BuildConfig(CniNetworkConfig network, CniPluginConfig plugin, CniResult? prevResult, CniRuntimeConf? runtimeConf)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(plugin);
        JsonObject json = PluginJson(network, plugin);
        json.Remove("prevResult");
        JsonNode? prevResultNode = prevResult is null
            ? null
            : JsonNode.Parse(CniResultSerializer.SerializeToUtf8Bytes(prevResult, prevResult.CniVersion, indented: false));
        if (runtimeConf?.CapabilityArgs is { Count: > 0 } capabilityArgs)
        {
            var runtimeConfig = new JsonObject();
            foreach (string capability in plugin.Capabilities)
            {
                if (capabilityArgs.TryGetPropertyValue(capability, out JsonNode? value) && value is not null)
                    runtimeConfig[capability] = value.DeepClone();
            }
            if (runtimeConfig.Count > 0)
                json["runtimeConfig"] = runtimeConfig;
        }
        if (prevResultNode is null)
            return GoJson.Serialize(json);

        // libcni injects prevResult as a result struct: its fields keep struct order inside the otherwise sorted object.
        var builder = new StringBuilder("{");
        bool first = true;
        foreach (KeyValuePair<string, JsonNode?> property in json.Append(new("prevResult", null)).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (!first)
                builder.Append(',');
            first = false;
            GoJson.WriteString(builder, property.Key);
            builder.Append(':');
            if (property.Key == "prevResult")
                GoResultLayout.Write(builder, prevResultNode);
            else
                GoJson.Write(builder, property.Value);
        }
        return Encoding.UTF8.GetBytes(builder.Append('}').ToString());
    }

    private static void ValidateAttachment(CniNetworkConfig network, CniRuntimeConf runtimeConf, CniCommand command)
    {
        try
        {
            CniValidation.ValidateNetworkName(network.Name);
            CniValidation.ValidateContainerId(runtimeConf.ContainerId);
            CniValidation.ValidateInterfaceName(runtimeConf.IfName);
            if (command is CniCommand.Add or CniCommand.Check && string.IsNullOrEmpty(runtimeConf.NetNs))
                throw new CniException(CniErrorCode.InvalidEnvironmentVariables, "missing network namespace path (CNI_NETNS)");
        }
        catch (CniException ex)
        {
            throw new CniRuntimeException(ex.NumericCode, $"network \"{network.Name}\": {command.ToWireName()}: {ex.Message}", ex.Details, network.Name, command, innerException: ex);
        }
    }

    private static bool IsAtLeast(CniNetworkConfig network, string minimum) =>
        CniVersions.TryParse(network.CniVersion.Length == 0 ? CniVersions.Default : network.CniVersion, out Version? v) && v >= CniVersions.Parse(minimum);

    private CniResult ParseResult(CniNetworkConfig network, CniPluginConfig plugin, int index, byte[] stdout)
    {
        try
        {
            return CniResultSerializer.Parse(stdout, version: null, what: $"result of plugin {plugin.Type}");
        }
        catch (CniException ex)
        {
            throw Wrap(network, plugin, index, CniCommand.Add, ex);
        }
    }

    private async Task<byte[]> InvokeAsync(CniNetworkConfig network, CniPluginConfig plugin, int index, CniCommand command,
        CniRuntimeConf? runtimeConf, byte[] config, CancellationToken cancellationToken)
    {
        var invocation = new CniInvocation
        {
            Command = command,
            PluginType = plugin.Type,
            ContainerId = runtimeConf?.ContainerId ?? "",
            NetNs = runtimeConf?.NetNs ?? "",
            IfName = runtimeConf?.IfName ?? "",
            Args = runtimeConf?.ArgsString ?? "",
            Path = _options.PluginPaths,
            Config = config,
        };
        using CancellationTokenSource timeout = CreateTimeout(cancellationToken);
        try
        {
            return await _invoker.InvokeAsync(invocation, timeout.Token).ConfigureAwait(false);
        }
        catch (CniException ex)
        {
            throw Wrap(network, plugin, index, command, ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested && timeout.IsCancellationRequested)
        {
            throw new CniRuntimeException((uint)CniErrorCode.Internal,
                $"network \"{network.Name}\": plugin {plugin.Description} ({index + 1} of {network.Plugins.Count}) timed out ({command.ToWireName()}) after {_options.PluginTimeout!.Value.TotalSeconds:0.###}s",
                null, network.Name, command, plugin.Type, index, new TimeoutException(ex.Message, ex));
        }
    }

    private CancellationTokenSource CreateTimeout(CancellationToken cancellationToken)
    {
        CancellationTokenSource cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (_options.PluginTimeout is { } limit && limit > TimeSpan.Zero && limit != Timeout.InfiniteTimeSpan)
            cts.CancelAfter(limit);
        return cts;
    }

    private static CniRuntimeException Wrap(CniNetworkConfig network, CniPluginConfig plugin, int index, CniCommand command, CniException ex) =>
        new(ex.NumericCode,
            $"network \"{network.Name}\": plugin {plugin.Description} ({index + 1} of {network.Plugins.Count}) failed ({command.ToWireName()}): {ex.Message}",
            ex.Details, network.Name, command, plugin.Type, index, ex);
}
