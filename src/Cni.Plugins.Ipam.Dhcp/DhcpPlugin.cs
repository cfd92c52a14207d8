using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Cni.Plugins.Ipam.Dhcp.Daemon;
using Cni.Spec;

namespace Cni.Plugins.Ipam.Dhcp;

/// <summary>
/// The <c>dhcp</c> IPAM plugin: asks the dhcp daemon (<c>dhcp daemon</c>, on <c>ipam.daemonSocketPath</c>, by default
/// /run/cni/dhcp.sock) to acquire a lease for the container's interface from the DHCP server on its link and to keep
/// renewing it; DEL has the daemon release it. The daemon must run on the host, as with the reference plugin: it holds
/// the leases between the plugin's short runs. <c>ipam.provide</c> and <c>ipam.request</c> set the options the client
/// sends and asks for. The configuration is checked before the daemon is asked anything.
/// </summary>
public sealed class DhcpPlugin : CniPlugin
{
    /// <summary>The CNI type name.</summary>
    public const string TypeName = "dhcp";

    private static readonly PluginInfo PluginInfo = new()
    {
        SupportedVersions = CniVersions.All,
        About = "CNI dhcp plugin (Cni.NET) v" + typeof(DhcpPlugin).Assembly.GetName().Version?.ToString(3),
    };

    private readonly IDhcpDaemonConnection _daemon;

    /// <summary>A plugin that reaches the daemon through <paramref name="daemon"/> (its unix socket by default).</summary>
    public DhcpPlugin(IDhcpDaemonConnection? daemon = null) => _daemon = daemon ?? new UnixDaemonConnection();

    /// <inheritdoc/>
    public override PluginInfo Info => PluginInfo;

    /// <summary>ADD: the daemon acquires (or returns the held) lease; the result has its address, gateway and routes.</summary>
    public override async Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        DhcpSettings settings = DhcpSettings.Load(request);
        DaemonResponse answer = await CallAsync(settings, Request(DaemonMethods.Allocate, request, settings, requireNetns: true), cancellationToken).ConfigureAwait(false);
        return ParseResult(answer);
    }

    /// <summary>DEL: the daemon stops renewing and releases the lease. Success when it holds none, and when no daemon
    /// listens (a daemon that is not running holds no lease).</summary>
    public override async Task DelAsync(CniRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        DhcpSettings settings = DhcpSettings.Load(request);
        try
        {
            await CallAsync(settings, Request(DaemonMethods.Release, request, settings, requireNetns: false), cancellationToken).ConfigureAwait(false);
        }
        catch (CniException e) when (e.Code == CniErrorCode.TryAgainLater && e.Details == NotRunning)
        {
            request.Environment.Stderr.WriteLine($"dhcp: {e.Message}; nothing to release");
        }
    }

    /// <summary>CHECK: the daemon must hold a maintained lease for the interface whose address is in <c>prevResult</c>.</summary>
    public override async Task CheckAsync(CniRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        DhcpSettings settings = DhcpSettings.Load(request);
        CniResult previous = request.Config.PrevResult
            ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "dhcp: required prevResult missing (prevResult)");
        DaemonResponse answer = await CallAsync(settings, Request(DaemonMethods.Check, request, settings, requireNetns: false), cancellationToken).ConfigureAwait(false);
        CniResult held = ParseResult(answer);
        foreach (CniIPConfig ip in held.Ips)
        {
            if (!previous.Ips.Any(p => p.Address.Address.Equals(ip.Address.Address)))
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"dhcp: the lease's address {ip.Address} is not in prevResult.ips on interface {request.IfName}");
        }
    }

    /// <summary>GC: the daemon releases this network's leases that belong to no attachment in
    /// <c>cni.dev/valid-attachments</c>. Success when no daemon listens (it holds nothing).</summary>
    public override async Task GcAsync(CniRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        DhcpSettings settings = DhcpSettings.Load(request);
        try
        {
            await CallAsync(settings, new DaemonRequest { Method = DaemonMethods.Gc, Network = settings.NetworkName, Valid = settings.ValidClientIds.ToList() }, cancellationToken).ConfigureAwait(false);
        }
        catch (CniException e) when (e.Details == NotRunning)
        {
            request.Environment.Stderr.WriteLine($"dhcp: {e.Message}; nothing to collect");
        }
    }

    /// <summary>STATUS: ready when the daemon answers on its socket.</summary>
    public override async Task StatusAsync(CniRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        DhcpSettings settings = DhcpSettings.Load(request);
        try
        {
            await CallAsync(settings, new DaemonRequest { Method = DaemonMethods.Status }, cancellationToken).ConfigureAwait(false);
        }
        catch (CniException e) when (e.Details == NotRunning)
        {
            throw new CniException(CniErrorCode.PluginNotAvailable, e.Message, e.Details);
        }
    }

    private const string NotRunning = "is the dhcp daemon running? start it with: dhcp daemon";

    private static DaemonRequest Request(string method, CniRequest request, DhcpSettings settings, bool requireNetns)
    {
        string? netns = request.NetNs;
        if (requireNetns && string.IsNullOrEmpty(netns))
            throw new CniException(CniErrorCode.InvalidEnvironmentVariables, "dhcp: missing network namespace (CNI_NETNS)");
        return new DaemonRequest
        {
            Method = method,
            ContainerId = request.ContainerId,
            // The daemon runs elsewhere: the namespace path must not depend on our working directory.
            NetNs = string.IsNullOrEmpty(netns) ? null : Path.GetFullPath(netns),
            IfName = request.IfName,
            Network = settings.NetworkName,
            ClientId = DhcpSettings.ClientId(request.ContainerId, settings.NetworkName, request.IfName),
            Options = settings.ExtraOptions.Select(o => new DaemonOption { Code = o.Code, Value = o.Value }).ToList(),
        };
    }

    private async Task<DaemonResponse> CallAsync(DhcpSettings settings, DaemonRequest request, CancellationToken cancellationToken)
    {
        byte[] line;
        try
        {
            line = await _daemon.CallAsync(settings.SocketPath, DaemonCodec.Encode(request), cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressNotAvailable or SocketError.ConnectionRefused
                                            or SocketError.AddressFamilyNotSupported || e.ErrorCode == 2)
        {
            throw new CniException(CniErrorCode.TryAgainLater, $"error dialing DHCP daemon at {settings.SocketPath}: {e.Message}", NotRunning);
        }
        catch (SocketException e)
        {
            throw new CniException(CniErrorCode.IoFailure, $"error calling DHCP.{request.Method} at {settings.SocketPath}: {e.Message}");
        }
        DaemonResponse answer;
        try
        {
            answer = DaemonCodec.Decode(line);
        }
        catch (JsonException e)
        {
            throw new CniException(CniErrorCode.DecodingFailure, $"error calling DHCP.{request.Method}: unreadable answer from the daemon: {e.Message}");
        }
        if (answer.Error is { } error)
            throw new CniException(answer.Code == 0 ? CniErrorCode.Internal : (CniErrorCode)answer.Code, error.StartsWith("dhcp: ", StringComparison.Ordinal) ? error : "dhcp: " + error);
        return answer;
    }

    private static CniResult ParseResult(DaemonResponse answer)
    {
        if (string.IsNullOrEmpty(answer.Result))
            throw new CniException(CniErrorCode.Internal, "dhcp: the daemon answered without a result");
        return CniResultSerializer.Parse(Encoding.UTF8.GetBytes(answer.Result), CniVersions.Latest, "daemon result");
    }
}
