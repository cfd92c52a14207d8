using System.Net.NetworkInformation;
using Cni.Netlink;
using Cni.Plugins.Ipam.Dhcp.Client;
using Cni.Plugins.Ipam.Dhcp.Protocol;

namespace Cni.Plugins.Ipam.Dhcp.Daemon;

/// <summary>
/// One container interface's lease, held by the daemon: acquired in the container's namespace, renewed at T1
/// (unicast to its server), rebound at T2 (broadcast), the interface brought down when it expires unrenewed, released
/// on <see cref="StopAsync"/>. Maintenance ends by itself when the interface disappears.
/// </summary>
internal sealed class DhcpAttachment : IAsyncDisposable
{
    private static readonly TimeSpan MaxWait = TimeSpan.FromDays(1);
    private readonly NetNs _ns;
    private readonly string _ifName;
    private readonly DhcpClient _client;
    private readonly Action<string> _log;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private Task _maintenance = Task.CompletedTask;
    private DateTimeOffset _renewAt;
    private DateTimeOffset _rebindAt;
    private DateTimeOffset _expireAt;

    private DhcpAttachment(string clientId, NetNs ns, string ifName, DhcpClient client, Action<string> log, TimeProvider time)
    {
        ClientId = clientId;
        _ns = ns;
        _ifName = ifName;
        _client = client;
        _log = log;
        _time = time;
    }

    /// <summary>The client identifier text (<c>containerID/network/ifname</c>).</summary>
    public string ClientId { get; }

    /// <summary>The network name the lease was acquired for (GC works per network).</summary>
    public string Network { get; private init; } = "";

    /// <summary>The lease last granted.</summary>
    public DhcpLease Lease { get; private set; } = null!;

    /// <summary>True while the lease is maintained.</summary>
    public bool IsMaintained => !_maintenance.IsCompleted;

    /// <summary>
    /// Acquires a lease for <paramref name="ifName"/> in the namespace at <paramref name="netnsPath"/> (brought up when
    /// down) and starts maintaining it. Throws <see cref="DhcpException"/> when no lease was granted, and
    /// <see cref="NetlinkException"/> when the namespace or interface cannot be found.
    /// </summary>
    public static async Task<DhcpAttachment> AcquireAsync(string clientId, string network, string netnsPath, string ifName, IReadOnlyList<DhcpOption> extra,
        DhcpClientOptions options, Action<string> log, TimeProvider time, CancellationToken cancellationToken)
    {
        NetNs ns = NetNs.Open(netnsPath);
        try
        {
            PhysicalAddress mac = ns.Run(() =>
            {
                using RtNetlink netlink = RtNetlink.Open();
                Link link = netlink.FindLink(ifName) ?? throw new DhcpException($"error looking up \"{ifName}\": no such interface in {netnsPath}");
                if (!link.IsUp)
                {
                    log($"Link \"{ifName}\" down. Attempting to set up");
                    netlink.SetLinkUp(link.Index);
                    // A DISCOVER sent before the carrier is up is lost: give the link a moment (not an error if it stays down).
                    try
                    {
                        netlink.WaitForOperState(link.Index, OperState.Up, TimeSpan.FromSeconds(2));
                    }
                    catch (TimeoutException)
                    {
                    }
                }
                return link.MacAddress is { } m && m.GetAddressBytes().Length > 0
                    ? m
                    : throw new DhcpException($"interface \"{ifName}\" has no hardware address");
            });
            var client = new DhcpClient(() => UdpDhcpTransport.Open(ns, ifName), mac, DhcpOptionValues.ClientIdentifier(clientId), extra,
                options, message => log($"{clientId}: {message}"));
            var attachment = new DhcpAttachment(clientId, ns, ifName, client, log, time) { Network = network };
            log($"{clientId}: acquiring lease");
            attachment.Commit(await client.AcquireAsync(cancellationToken).ConfigureAwait(false));
            log($"{clientId}: lease acquired, address {attachment.Lease.Address}, expiration is {attachment._expireAt:u}");
            attachment._maintenance = Task.Run(attachment.MaintainAsync, CancellationToken.None);
            return attachment;
        }
        catch
        {
            ns.Dispose();
            throw;
        }
    }

    private void Commit(DhcpLease lease)
    {
        DateTimeOffset now = _time.GetUtcNow();
        Lease = lease;
        _expireAt = now + lease.LeaseTime;
        _rebindAt = now + (lease.RebindingTime > lease.LeaseTime ? lease.LeaseTime * 85 / 100 : lease.RebindingTime);
        _renewAt = now + (lease.RenewalTime > lease.RebindingTime ? lease.LeaseTime / 2 : lease.RenewalTime);
    }

    private async Task MaintainAsync()
    {
        CancellationToken stop = _stop.Token;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                TimeSpan wait = _renewAt - _time.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    // In steps of a day at most: a lease may be "infinite" (0xffffffff s), beyond what a timer takes.
                    await Task.Delay(wait < MaxWait ? wait : MaxWait, _time, stop).ConfigureAwait(false);
                    if (_time.GetUtcNow() < _renewAt)
                        continue;
                }
                if (!InterfaceExists())
                {
                    _log($"{ClientId}: interface {_ifName} no longer exists, terminating lease maintenance");
                    return;
                }
                bool rebind = _time.GetUtcNow() >= _rebindAt;
                _log($"{ClientId}: {(rebind ? "rebinding" : "renewing")} lease");
                try
                {
                    Commit(await _client.RenewAsync(Lease, rebind, !AddressConfigured(), stop).ConfigureAwait(false));
                    _log($"{ClientId}: lease {(rebind ? "rebound" : "renewed")}, expiration is {_expireAt:u}");
                }
                catch (DhcpException e)
                {
                    _log($"{ClientId}: {e.Message}");
                    DateTimeOffset now = _time.GetUtcNow();
                    if (now >= _expireAt)
                    {
                        _log($"{ClientId}: lease expired, bringing interface DOWN");
                        BringDown();
                        return;
                    }
                    // Try again soon: half the time left to the next deadline (RFC 2131 4.4.5), at least a minute.
                    DateTimeOffset next = now < _rebindAt ? _rebindAt : _expireAt;
                    TimeSpan half = (next - now) / 2;
                    _renewAt = now + (half < TimeSpan.FromMinutes(1) ? next - now : half);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            _log($"{ClientId}: lease maintenance failed: {e.Message}");
        }
    }

    private bool InterfaceExists()
    {
        try
        {
            return _ns.Run(() =>
            {
                using RtNetlink netlink = RtNetlink.Open();
                return netlink.FindLink(_ifName) is not null;
            });
        }
        catch (NetlinkException)
        {
            return false;
        }
    }

    /// <summary>True when the interface holds the leased address: only then can unicast to the server leave with a
    /// source address and its reply come back; otherwise the client broadcasts (with <c>ciaddr</c> set).</summary>
    private bool AddressConfigured()
    {
        try
        {
            return _ns.Run(() =>
            {
                using RtNetlink netlink = RtNetlink.Open();
                return netlink.FindLink(_ifName) is { } link
                    && netlink.ListAddresses(link.Index, System.Net.Sockets.AddressFamily.InterNetwork).Any(a => a.IPAddress.Equals(Lease.Address));
            });
        }
        catch (NetlinkException)
        {
            return false;
        }
    }

    private void BringDown()
    {
        try
        {
            _ns.Run(() =>
            {
                using RtNetlink netlink = RtNetlink.Open();
                if (netlink.FindLink(_ifName) is { } link)
                    netlink.SetLinkDown(link.Index);
            });
        }
        catch (NetlinkException e)
        {
            _log($"{ClientId}: failed to bring {_ifName} DOWN: {e.Message}");
        }
    }

    /// <summary>Stops maintenance and, when <paramref name="release"/>, sends DHCPRELEASE (best effort: a failure is logged).</summary>
    public async Task StopAsync(bool release)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _maintenance.ConfigureAwait(false);
        if (release)
        {
            _log($"{ClientId}: releasing lease");
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _client.ReleaseAsync(Lease, !AddressConfigured(), timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or NetlinkException or OperationCanceledException)
            {
                _log($"{ClientId}: failed to release DHCP lease: {e.Message}");
            }
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(release: false).ConfigureAwait(false);
        _stop.Dispose();
        _ns.Dispose();
    }
}
