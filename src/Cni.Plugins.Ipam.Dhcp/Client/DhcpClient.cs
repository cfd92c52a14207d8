using System.Net;
using System.Net.NetworkInformation;
using Cni.Plugins.Ipam.Dhcp.Protocol;

namespace Cni.Plugins.Ipam.Dhcp.Client;

/// <summary>Why an exchange with the DHCP servers failed (no reply in time, a NAK, an unusable reply).</summary>
public sealed class DhcpException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The DHCPv4 client of one attachment (RFC 2131 4.4): DISCOVER/OFFER/REQUEST/ACK to acquire, REQUEST unicast to the
/// server to renew (T1) or broadcast to rebind (T2), RELEASE. Every message carries the attachment's client identifier
/// and extra options. Each exchange opens a transport, waits <see cref="DhcpClientOptions.Timeout"/> for each reply, and
/// is retried with the reference's back-off until <see cref="DhcpClientOptions.ResendTimeout"/> has passed.
/// </summary>
public sealed class DhcpClient
{
    private readonly Func<IDhcpTransport> _openTransport;
    private readonly PhysicalAddress _mac;
    private readonly byte[] _clientId;
    private readonly IReadOnlyList<DhcpOption> _extra;
    private readonly DhcpClientOptions _options;
    private readonly Action<string> _log;
    private readonly Random _random;

    /// <summary>A client that sends from <paramref name="mac"/> with the identifier <paramref name="clientId"/>
    /// (option 61's value) and <paramref name="extra"/> options, over transports <paramref name="openTransport"/> opens.</summary>
    public DhcpClient(Func<IDhcpTransport> openTransport, PhysicalAddress mac, byte[] clientId, IReadOnlyList<DhcpOption> extra,
        DhcpClientOptions? options = null, Action<string>? log = null, Random? random = null)
    {
        _openTransport = openTransport ?? throw new ArgumentNullException(nameof(openTransport));
        _mac = mac ?? throw new ArgumentNullException(nameof(mac));
        _clientId = clientId ?? throw new ArgumentNullException(nameof(clientId));
        _extra = extra ?? [];
        _options = options ?? new DhcpClientOptions();
        _log = log ?? (_ => { });
        _random = random ?? Random.Shared;
    }

    /// <summary>Acquires a lease: DISCOVER, the first OFFER, REQUEST it, ACK (a NAK starts over).</summary>
    public Task<DhcpLease> AcquireAsync(CancellationToken cancellationToken) => RetryAsync(async (transport, ct) =>
    {
        uint xid = NewXid();
        DhcpMessage discover = DhcpMessages.Discover(xid, _mac, _clientId, _extra, broadcast: true);
        await transport.SendAsync(discover, IPAddress.Broadcast, ct).ConfigureAwait(false);
        DhcpMessage offer = await WaitForAsync(transport, xid, "DHCPOFFER", ct, DhcpMessageType.Offer).ConfigureAwait(false);
        DhcpMessage request = DhcpMessages.RequestOffer(offer, _mac, _clientId, _extra, broadcast: true);
        await transport.SendAsync(request, IPAddress.Broadcast, ct).ConfigureAwait(false);
        DhcpMessage ack = await WaitForAsync(transport, xid, "DHCPACK", ct, DhcpMessageType.Ack, DhcpMessageType.Nak).ConfigureAwait(false);
        if (ack.MessageType == DhcpMessageType.Nak)
            throw new DhcpException($"DHCP server NAK'd the request for {offer.YourAddress}{ServerText(ack)}");
        return ReadLease(ack);
    }, "acquire", cancellationToken);

    /// <summary>Renews <paramref name="lease"/> with the server that granted it (unicast, RENEWING), or with any server
    /// (broadcast, REBINDING) when <paramref name="rebind"/>. <paramref name="noAddress"/> says the interface does not
    /// hold the leased address (yet): then the request is broadcast and asks for a broadcast reply, since neither a
    /// unicast request nor a unicast reply could get through.</summary>
    public Task<DhcpLease> RenewAsync(DhcpLease lease, bool rebind, bool noAddress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return RetryAsync(async (transport, ct) =>
        {
            uint xid = NewXid();
            IPAddress destination = !rebind && !noAddress && lease.ServerIdentifier is { } server ? server : IPAddress.Broadcast;
            DhcpMessage request = DhcpMessages.Renew(xid, lease, _mac, _clientId, _extra, broadcast: rebind || noAddress || _options.Broadcast);
            await transport.SendAsync(request, destination, ct).ConfigureAwait(false);
            DhcpMessage ack = await WaitForAsync(transport, xid, "DHCPACK", ct, DhcpMessageType.Ack, DhcpMessageType.Nak).ConfigureAwait(false);
            if (ack.MessageType == DhcpMessageType.Nak)
                throw new DhcpException($"DHCP server did not renew the lease of {lease.Address}{ServerText(ack)}");
            return ReadLease(ack);
        }, rebind ? "rebind" : "renew", cancellationToken);
    }

    /// <summary>Sends DHCPRELEASE for <paramref name="lease"/> to its server (no reply is expected); broadcast when
    /// <paramref name="noAddress"/> (the interface does not hold the address, so a unicast would leave from 0.0.0.0,
    /// which the server's kernel drops as a martian; servers take a broadcast RELEASE by its server id and ciaddr).</summary>
    public async Task ReleaseAsync(DhcpLease lease, bool noAddress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        using IDhcpTransport transport = _openTransport();
        DhcpMessage release = DhcpMessages.Release(NewXid(), lease, _mac, _clientId);
        IPAddress destination = !noAddress && lease.ServerIdentifier is { } server ? server : IPAddress.Broadcast;
        await transport.SendAsync(release, destination, cancellationToken).ConfigureAwait(false);
    }

    private static DhcpLease ReadLease(DhcpMessage ack)
    {
        try
        {
            return DhcpLease.FromAck(ack);
        }
        catch (FormatException e)
        {
            throw new DhcpException("unusable DHCPACK: " + e.Message, e);
        }
    }

    private static string ServerText(DhcpMessage reply) =>
        reply.GetOption(DhcpOptionCode.Message) is { Length: > 0 } text ? ": " + System.Text.Encoding.ASCII.GetString(text) : "";

    private uint NewXid() => (uint)_random.NextInt64(1, uint.MaxValue);

    private async Task<DhcpMessage> WaitForAsync(IDhcpTransport transport, uint xid, string what, CancellationToken cancellationToken, params DhcpMessageType[] types)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        try
        {
            while (true)
            {
                DhcpMessage reply = await transport.ReceiveAsync(timeout.Token).ConfigureAwait(false);
                if (DhcpMessages.IsReplyTo(reply, xid, _mac, types))
                    return reply;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new DhcpException($"no {what} within {_options.Timeout.TotalSeconds:0.###} s");
        }
    }

    /// <summary>Runs one exchange until it succeeds: four fast resends 2 s ± 1 apart, then 4 s ± 1 doubling up to
    /// ResendMax, all within ResendTimeout (the reference's backoffRetry).</summary>
    private async Task<DhcpLease> RetryAsync(Func<IDhcpTransport, CancellationToken, Task<DhcpLease>> exchange, string what, CancellationToken cancellationToken)
    {
        using var overall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        overall.CancelAfter(_options.ResendTimeout);
        TimeSpan backoff = _options.FirstBackoff;
        int fast = _options.FastResends;
        Exception? last = null;
        try
        {
            while (true)
            {
                try
                {
                    using IDhcpTransport transport = _openTransport();
                    return await exchange(transport, overall.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is DhcpException or System.Net.Sockets.SocketException && !overall.IsCancellationRequested)
                {
                    last = e;
                    _log($"{what}: {e.Message}");
                }
                TimeSpan delay;
                if (fast > 0)
                {
                    delay = _options.FastResendDelay + Jitter();
                    fast--;
                }
                else
                {
                    delay = backoff + Jitter();
                    if (backoff < _options.ResendMax)
                        backoff *= 2;
                }
                if (delay < TimeSpan.Zero)
                    delay = TimeSpan.Zero;
                await Task.Delay(delay, overall.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new DhcpException($"DHCP {what} gave up after {_options.ResendTimeout.TotalSeconds:0.###} s (no more tries){(last is null ? "" : ": " + last.Message)}", last);
        }
    }

    private TimeSpan Jitter()
    {
        double span = Math.Min(1.0, _options.FastResendDelay.TotalSeconds / 2);
        return TimeSpan.FromSeconds(span * (2 * _random.NextDouble() - 1));
    }
}
