using System.Net;
using System.Net.NetworkInformation;
using Cni.Plugins.Ipam.Dhcp.Client;
using Cni.Plugins.Ipam.Dhcp.Protocol;

namespace Cni.Plugins.Ipam.Dhcp.Tests;

/// <summary>The client's exchanges against a scripted server behind a fake transport.</summary>
public class ClientTests
{
    private static readonly PhysicalAddress Mac = PhysicalAddress.Parse("02-00-5e-10-20-30");

    private static readonly DhcpClientOptions Quick = new()
    {
        Timeout = TimeSpan.FromMilliseconds(200),
        ResendTimeout = TimeSpan.FromSeconds(3),
        FastResendDelay = TimeSpan.FromMilliseconds(20),
        FirstBackoff = TimeSpan.FromMilliseconds(40),
        ResendMax = TimeSpan.FromMilliseconds(100),
    };

    /// <summary>A server: answers DISCOVER with an OFFER and REQUEST with what <see cref="OnRequest"/> says.</summary>
    private sealed class FakeServer
    {
        public List<(DhcpMessage Message, IPAddress Destination)> Sent { get; } = [];

        public int Opened { get; private set; }

        public int IgnoreFirst { get; set; }

        public Func<DhcpMessage, DhcpMessageType?> OnRequest { get; set; } = _ => DhcpMessageType.Ack;

        public IDhcpTransport Open()
        {
            Opened++;
            return new Transport(this);
        }

        private sealed class Transport(FakeServer server) : IDhcpTransport
        {
            private readonly Queue<DhcpMessage> _replies = new();
            private readonly SemaphoreSlim _ready = new(0);

            public ValueTask SendAsync(DhcpMessage message, IPAddress destination, CancellationToken cancellationToken)
            {
                server.Sent.Add((DhcpMessage.Decode(message.Encode()), destination));
                if (server.IgnoreFirst > 0)
                {
                    server.IgnoreFirst--;
                    return ValueTask.CompletedTask;
                }
                DhcpMessageType? type = message.MessageType switch
                {
                    DhcpMessageType.Discover => DhcpMessageType.Offer,
                    DhcpMessageType.Request => server.OnRequest(message),
                    _ => null,
                };
                if (type is { } t)
                {
                    // Noise first: a reply to someone else's transaction.
                    _replies.Enqueue(ProtocolTests.Reply(t, message.TransactionId + 1, "10.1.2.99"));
                    _replies.Enqueue(ProtocolTests.Reply(t, message.TransactionId, "10.1.2.50"));
                    _ready.Release(2);
                }
                return ValueTask.CompletedTask;
            }

            public async ValueTask<DhcpMessage> ReceiveAsync(CancellationToken cancellationToken)
            {
                await _ready.WaitAsync(cancellationToken);
                return _replies.Dequeue();
            }

            public void Dispose() => _ready.Dispose();
        }
    }

    private static DhcpClient Client(FakeServer server, List<string>? log = null) =>
        new(server.Open, Mac, DhcpOptionValues.ClientIdentifier("c/n/eth0"), [new DhcpOption(DhcpOptionCode.ParameterRequestList, [3, 1])], Quick,
            line => log?.Add(line), new Random(7));

    [Test]
    public async Task AcquireDiscoversRequestsAndReadsTheAck()
    {
        var server = new FakeServer();
        DhcpLease lease = await Client(server).AcquireAsync(CancellationToken.None);
        Assert.That(lease.Address, Is.EqualTo(IPAddress.Parse("10.1.2.50")));
        Assert.That(server.Sent.Select(s => (s.Message.MessageType, s.Destination)), Is.EqualTo(new (DhcpMessageType?, IPAddress)[]
        {
            (DhcpMessageType.Discover, IPAddress.Broadcast), (DhcpMessageType.Request, IPAddress.Broadcast),
        }));
        DhcpMessage request = server.Sent[1].Message;
        Assert.Multiple(() =>
        {
            Assert.That(request.TransactionId, Is.EqualTo(server.Sent[0].Message.TransactionId));
            Assert.That(request.Flags, Is.EqualTo(DhcpMessage.BroadcastFlag));
            Assert.That(request.GetOption(DhcpOptionCode.RequestedIPAddress), Is.EqualTo(new byte[] { 10, 1, 2, 50 }));
            Assert.That(request.GetOption(DhcpOptionCode.ServerIdentifier), Is.EqualTo(new byte[] { 10, 1, 2, 1 }));
            Assert.That(request.GetOption(DhcpOptionCode.ClientIdentifier), Is.EqualTo(DhcpOptionValues.ClientIdentifier("c/n/eth0")));
            Assert.That(request.GetOption(DhcpOptionCode.ParameterRequestList), Is.EqualTo(new byte[] { 3, 1 }));
        });
    }

    [Test]
    public async Task LostMessagesAreResent()
    {
        var server = new FakeServer { IgnoreFirst = 2 };
        var log = new List<string>();
        DhcpLease lease = await Client(server, log).AcquireAsync(CancellationToken.None);
        Assert.That(lease.Address, Is.EqualTo(IPAddress.Parse("10.1.2.50")));
        Assert.That(server.Opened, Is.EqualTo(3));
        Assert.That(log, Has.Count.EqualTo(2).And.All.Contains("no DHCPOFFER within 0.2 s"));
    }

    [Test]
    public async Task NakIsRetriedThenGivenUp()
    {
        var server = new FakeServer { OnRequest = _ => DhcpMessageType.Nak };
        var log = new List<string>();
        DhcpException error = Assert.ThrowsAsync<DhcpException>(() => Client(server, log).AcquireAsync(CancellationToken.None))!;
        Assert.That(error.Message, Does.Contain("gave up after 3 s (no more tries)").And.Contain("NAK"));
        Assert.That(server.Opened, Is.GreaterThan(4));
        await Task.CompletedTask;
    }

    [Test]
    public void NoServerGivesUpAfterTheResendTimeout()
    {
        var server = new FakeServer { IgnoreFirst = int.MaxValue };
        var started = DateTime.UtcNow;
        Assert.ThrowsAsync<DhcpException>(() => Client(server).AcquireAsync(CancellationToken.None));
        Assert.That(DateTime.UtcNow - started, Is.LessThan(TimeSpan.FromSeconds(5)));
    }

    [Test]
    public async Task RenewIsUnicastToTheServerAndRebindIsBroadcast()
    {
        var server = new FakeServer();
        DhcpClient client = Client(server);
        DhcpLease lease = await client.AcquireAsync(CancellationToken.None);
        server.Sent.Clear();
        await client.RenewAsync(lease, rebind: false, noAddress: false, CancellationToken.None);
        await client.RenewAsync(lease, rebind: true, noAddress: false, CancellationToken.None);
        await client.RenewAsync(lease, rebind: false, noAddress: true, CancellationToken.None);
        Assert.That(server.Sent.Select(s => $"{s.Message.MessageType} {s.Destination} {s.Message.ClientAddress} {s.Message.Flags:x}"), Is.EqualTo(new[]
        {
            "Request 10.1.2.1 10.1.2.50 0", "Request 255.255.255.255 10.1.2.50 8000", "Request 255.255.255.255 10.1.2.50 8000",
        }));
        Assert.That(server.Sent.All(s => s.Message.GetOption(DhcpOptionCode.RequestedIPAddress) is null && s.Message.GetOption(DhcpOptionCode.ServerIdentifier) is null));
    }

    [Test]
    public async Task ReleaseGoesToTheServerWithItsId()
    {
        var server = new FakeServer();
        DhcpClient client = Client(server);
        DhcpLease lease = await client.AcquireAsync(CancellationToken.None);
        server.Sent.Clear();
        await client.ReleaseAsync(lease, noAddress: false, CancellationToken.None);
        await client.ReleaseAsync(lease, noAddress: true, CancellationToken.None);
        Assert.That(server.Sent.Select(s => $"{s.Message.MessageType} {s.Destination} {s.Message.ClientAddress}"), Is.EqualTo(new[]
        {
            "Release 10.1.2.1 10.1.2.50", "Release 255.255.255.255 10.1.2.50",
        }));
        Assert.That(server.Sent[0].Message.GetOption(DhcpOptionCode.ServerIdentifier), Is.EqualTo(new byte[] { 10, 1, 2, 1 }));
    }
}
