using System.Net;
using System.Net.Sockets;
using Cni.Spec;

namespace Cni.Plugins.Ipam.Static;

/// <summary>
/// The <c>static</c> IPAM plugin: hands out fixed addresses (with gateways), routes and DNS from its <c>ipam</c>
/// configuration, or addresses the runtime asks for through <c>CNI_ARGS</c> (<c>IP=</c>, <c>GATEWAY=</c>),
/// <c>args.cni.ips</c> or <c>runtimeConfig.ips</c>. It allocates nothing, so DEL, GC and STATUS always succeed;
/// CHECK verifies that every configured address is in <c>prevResult</c> with its gateway.
/// Behaves like the Go reference plugin of the same name.
/// </summary>
public sealed class StaticPlugin : CniPlugin
{
    /// <summary>The CNI type name.</summary>
    public const string TypeName = "static";

    private static readonly PluginInfo PluginInfo = new()
    {
        SupportedVersions = CniVersions.All,
        About = "CNI static plugin (Cni.NET) v" + typeof(StaticPlugin).Assembly.GetName().Version?.ToString(3),
        ArgsKeys = ["IP", "GATEWAY"],
    };

    /// <inheritdoc/>
    public override PluginInfo Info => PluginInfo;

    /// <inheritdoc/>
    public override Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
    {
        StaticAllocation allocation = StaticAllocation.Load(request);
        var result = new CniResult
        {
            Dns = allocation.Dns,
            Routes = allocation.Routes,
            Ips = allocation.Addresses.Select(a => new CniIPConfig { Address = a.Address, Gateway = a.Gateway }).ToList(),
        };
        return Task.FromResult(result);
    }

    /// <summary>DEL: nothing was allocated, so there is nothing to release.</summary>
    public override Task DelAsync(CniRequest request, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>CHECK: every configured address must be in <c>prevResult</c>, with the configured gateway when there is one.</summary>
    public override Task CheckAsync(CniRequest request, CancellationToken cancellationToken)
    {
        StaticAllocation allocation = StaticAllocation.Load(request);
        CniResult previous = request.Config.PrevResult
            ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, "static: required prevResult missing (prevResult)");
        foreach ((IPPrefix address, IPAddress? gateway, string source) in allocation.Addresses)
        {
            CniIPConfig? found = previous.Ips.FirstOrDefault(ip => ip.Address.Address.Equals(address.Address));
            if (found is null)
            {
                throw new CniException(CniErrorCode.InvalidNetworkConfig,
                    $"static: address {address} ({source}) is not in prevResult.ips on interface {request.IfName}");
            }
            if (gateway is not null && !gateway.Equals(found.Gateway))
            {
                throw new CniException(CniErrorCode.InvalidNetworkConfig,
                    $"static: failed to match addr {address.Address} on interface {request.IfName}: gateway is {found.Gateway?.ToString() ?? "none"}, expected {gateway} ({source})");
            }
        }
        return Task.CompletedTask;
    }
}
