using BenchmarkDotNet.Attributes;

namespace Cni.Netlink.Benchmarks;

/// <summary>
/// Whole requests through a real netlink socket in a throwaway namespace (needs root): the request/ACK path
/// should allocate nothing; queries allocate only their results.
/// </summary>
[MemoryDiagnoser]
public class RoundTripBenchmarks
{
    private string _name = "";
    private NetNs? _ns;
    private RtNetlink? _nl;
    private int _bridge;
    private bool _up;

    [GlobalSetup]
    public void Setup()
    {
        _name = "cnibench-rt-" + Guid.NewGuid().ToString("N")[..8];
        _ns = NetNs.Create(_name);
        _nl = RtNetlink.Open(_ns);
        _nl.AddBridge("br-bench");
        _bridge = _nl.GetLink("br-bench").Index;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _nl?.Dispose();
        _ns?.Dispose();
        NetNs.Delete(_name);
    }

    /// <summary>RTM_NEWLINK + ACK (alternating up and down so each request changes something).</summary>
    [Benchmark]
    public void SetLinkUpDown()
    {
        _up = !_up;
        if (_up) _nl!.SetLinkUp(_bridge);
        else _nl!.SetLinkDown(_bridge);
    }

    [Benchmark]
    public void SetMtu() => _nl!.SetMtu(_bridge, 1400);

    [Benchmark]
    public Link GetLinkByIndex() => _nl!.GetLink(_bridge);

    [Benchmark]
    public int ListLinks() => _nl!.ListLinks().Count;
}
