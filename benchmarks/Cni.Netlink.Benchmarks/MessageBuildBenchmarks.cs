using System.Net;
using BenchmarkDotNet.Attributes;
using Cni.Netlink.Protocol;
using Cni.Netlink.Rtnl;

namespace Cni.Netlink.Benchmarks;

/// <summary>Building request messages into the reused request buffer: the hot path must not allocate.</summary>
[MemoryDiagnoser]
public class MessageBuildBenchmarks
{
    private readonly NetlinkBuffer _buffer = new();
    private readonly Route _route = new()
    {
        Destination = IPAddress.Parse("10.8.0.0"), PrefixLength = 16, Gateway = IPAddress.Parse("10.1.2.1"),
        OutputLinkIndex = 6, Priority = 100, Mtu = 1400, AdvMss = 1360,
    };
    private readonly IPAddress _v6 = IPAddress.Parse("fd00::1");
    private readonly AddressOptions _nodad = new() { Flags = AddressFlags.NoDad };
    private readonly BridgePortOptions _port = new() { Hairpin = true, Isolated = true, Learning = false };

    [Benchmark]
    public int AddVeth()
    {
        _buffer.Clear();
        Requests.AddVeth(_buffer, "veth0123abcd", "eth0", null);
        return _buffer.Length;
    }

    [Benchmark]
    public int AddBridge()
    {
        _buffer.Clear();
        Requests.AddBridge(_buffer, "cni0", null);
        return _buffer.Length;
    }

    [Benchmark]
    public int SetLinkUp()
    {
        _buffer.Clear();
        Requests.SetFlags(_buffer, 6, 1, 1);
        return _buffer.Length;
    }

    [Benchmark]
    public int SetBridgePort()
    {
        _buffer.Clear();
        Requests.SetBridgePort(_buffer, 6, _port);
        return _buffer.Length;
    }

    [Benchmark]
    public int AddAddressV6()
    {
        _buffer.Clear();
        Requests.Address(_buffer, add: true, 6, _v6, 64, _nodad);
        return _buffer.Length;
    }

    [Benchmark]
    public int AddRouteWithMetrics()
    {
        _buffer.Clear();
        Requests.Route(_buffer, Requests.RouteOp.Add, _route);
        return _buffer.Length;
    }
}
