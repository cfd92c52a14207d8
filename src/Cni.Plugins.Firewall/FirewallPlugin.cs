using Cni.Plugins.Common;
using Cni.Spec;

namespace Cni.Plugins.Firewall;

/// <summary>
/// The <c>firewall</c> CNI plugin, a chained plugin: lets traffic to and from the container addresses of the previous
/// result through the host's firewall, with firewalld (each address a source of a zone) or iptables (the reference's
/// <c>CNI-FORWARD</c> and admin chains), and optionally isolates the container's bridge from other interfaces
/// (<c>ingressPolicy</c>). The layouts are the reference's, so either implementation removes the other's rules.
/// ADD is a transaction and returns the previous result; DEL is idempotent and needs no namespace; CHECK names the
/// first rule missing.
/// </summary>
public class FirewallPlugin : CniPlugin
{
    private readonly ICommandRunner _runner;
    private readonly Func<IDBusCaller> _openSystemBus;

    /// <summary>Creates the plugin.</summary>
    /// <param name="runner">Runs <c>iptables</c>/<c>ip6tables</c> (<see cref="ICommandRunner.System"/> when null).</param>
    /// <param name="openSystemBus">Opens the D-Bus connection used to find and drive firewalld (a
    /// <see cref="SystemBusCaller"/>, connected on first use, when null).</param>
    public FirewallPlugin(ICommandRunner? runner = null, Func<IDBusCaller>? openSystemBus = null)
    {
        _runner = runner ?? ICommandRunner.System;
        _openSystemBus = openSystemBus ?? (() => new SystemBusCaller());
    }

    /// <inheritdoc/>
    public override PluginInfo Info { get; } = new()
    {
        About = "CNI firewall plugin (Cni.NET)",
        // As the reference: a chained plugin, so from 0.4.0 (the first version with prevResult for every command).
        SupportedVersions = [CniVersions.V040, CniVersions.V100, CniVersions.V110],
    };

    /// <summary>Reads and validates the plugin's keys (code 6 for wrong JSON types, 7 for bad values, naming the key).</summary>
    public static FirewallSettings LoadConf(CniRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return FirewallSettings.From(FirewallConfigReader.Read(request.RawConfig.Span));
    }

    /// <summary>The previous result, which ADD and CHECK require.</summary>
    private static CniResult RequirePrevResult(CniRequest request) =>
        request.Config.PrevResult ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "missing prevResult from earlier plugin (prevResult)");

    /// <summary>
    /// The bridge the isolation rules are about: the first interface of the previous result (the bridge plugin puts
    /// the bridge first). Null for the open policy. Validated before anything is changed.
    /// </summary>
    public static string? IsolatedBridge(FirewallSettings settings, CniResult prevResult)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(prevResult);
        if (settings.Policy == IngressPolicy.Open)
            return null;
        string policy = settings.Policy == IngressPolicy.SameBridge ? "same-bridge" : "isolated";
        if (prevResult.Interfaces.Count == 0)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"interface needs to be set for ingress policy \"{policy}\" (ingressPolicy), make sure to chain \"firewall\" plugin with \"bridge\"");
        string name = prevResult.Interfaces[0].Name;
        if (string.IsNullOrEmpty(name))
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "got empty bridge name (prevResult.interfaces[0].name)");
        if (name.Length > 15 || name is "." or ".." || name.Any(c => c is '/' or ':' || char.IsWhiteSpace(c) || char.IsControl(c)))
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid bridge name \"{name}\" (prevResult.interfaces[0].name)");
        return name;
    }

    /// <summary>The backend to use: the configured one, else firewalld when it answers on the bus, else iptables.</summary>
    public static async Task<FirewallBackendKind> ResolveBackendAsync(FirewallBackendKind configured, IDBusCaller bus, CancellationToken ct) =>
        configured != FirewallBackendKind.Auto ? configured
        : await FirewalldBackend.IsRunningAsync(bus, ct).ConfigureAwait(false) ? FirewallBackendKind.Firewalld
        : FirewallBackendKind.Iptables;

    /// <inheritdoc/>
    public override async Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
    {
        FirewallSettings settings = LoadConf(request);
        CniResult prev = RequirePrevResult(request);
        string? bridge = IsolatedBridge(settings, prev);
        using IDBusCaller bus = _openSystemBus();
        FirewallBackendKind kind = await ResolveBackendAsync(settings.Backend, bus, cancellationToken).ConfigureAwait(false);
        var iptables = new IptablesBackend(_runner);
        await using var tx = new AddTransaction(request.Environment.Stderr);
        if (kind == FirewallBackendKind.Firewalld)
            await new FirewalldBackend(bus).AddAsync(settings, prev, tx, cancellationToken).ConfigureAwait(false);
        else
            await iptables.AddAsync(settings, prev, tx, cancellationToken).ConfigureAwait(false);
        // The isolation chains are iptables whatever the backend (the reference does the same).
        if (bridge is not null)
            await iptables.SetupIsolationAsync(settings.Policy, bridge, prev, cancellationToken).ConfigureAwait(false);
        tx.Commit();
        return prev;
    }

    /// <inheritdoc/>
    /// <remarks>Without a previous result (a runtime that lost its cache) there is nothing to identify the container's
    /// rules by, and nothing is done, as in the reference. The per-bridge isolation rules stay: other containers on the
    /// bridge may need them.</remarks>
    public override async Task DelAsync(CniRequest request, CancellationToken cancellationToken)
    {
        FirewallSettings settings = LoadConf(request);
        CniResult prev = request.Config.PrevResult ?? new CniResult();
        if (prev.Ips.Count == 0)
            return;
        using IDBusCaller bus = _openSystemBus();
        FirewallBackendKind kind = await ResolveBackendAsync(settings.Backend, bus, cancellationToken).ConfigureAwait(false);
        if (kind == FirewallBackendKind.Firewalld)
            await new FirewalldBackend(bus).DelAsync(settings, prev, cancellationToken).ConfigureAwait(false);
        else
            await new IptablesBackend(_runner).DelAsync(prev, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override async Task CheckAsync(CniRequest request, CancellationToken cancellationToken)
    {
        FirewallSettings settings = LoadConf(request);
        CniResult prev = RequirePrevResult(request);
        string? bridge = IsolatedBridge(settings, prev);
        using IDBusCaller bus = _openSystemBus();
        FirewallBackendKind kind = await ResolveBackendAsync(settings.Backend, bus, cancellationToken).ConfigureAwait(false);
        var iptables = new IptablesBackend(_runner);
        if (kind == FirewallBackendKind.Firewalld)
        {
            await new FirewalldBackend(bus).CheckAsync(settings, prev, cancellationToken).ConfigureAwait(false);
            if (bridge is not null)
                await iptables.CheckAsync(settings with { AdminChain = FirewallSettings.DefaultAdminChain }, bridge, prev, isolationOnly: true, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await iptables.CheckAsync(settings, bridge, prev, isolationOnly: false, cancellationToken).ConfigureAwait(false);
        }
    }
}
