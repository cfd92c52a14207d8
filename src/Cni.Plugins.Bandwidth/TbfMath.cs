using Cni.Netlink;

namespace Cni.Plugins.Bandwidth;

/// <summary>
/// The token bucket numbers the reference plugin gives the kernel, computed the same way (float64 arithmetic, Go's
/// float-to-uint32 conversion) so that <c>tc qdisc show</c> prints the same after either plugin ran.
/// </summary>
public static class TbfMath
{
    /// <summary>The queueing latency the reference allows: 25 ms.</summary>
    public const double LatencyMillis = 25;

    /// <summary>The bucket in scheduler ticks: the time to send <paramref name="burstBytes"/> at <paramref name="rateBytes"/> per second.</summary>
    public static uint Buffer(ulong rateBytes, uint burstBytes, double ticksPerMicrosecond)
    {
        uint micros = GoUInt32((double)burstBytes * PschedClock.TimeUnitsPerSecond / rateBytes);
        return GoUInt32(micros * ticksPerMicrosecond);
    }

    /// <summary>The queue limit in bytes: what arrives at the rate during the latency, plus the burst (wrapping at 32 bits as Go's uint32 does).</summary>
    public static uint Limit(ulong rateBytes, uint burstBytes)
    {
        double latency = PschedClock.TimeUnitsPerSecond * (LatencyMillis / 1000.0);
        return unchecked(GoUInt32(rateBytes * latency / PschedClock.TimeUnitsPerSecond) + burstBytes);
    }

    /// <summary>The TBF for a rate and a burst in bits (as configured), in the reference's wire form.</summary>
    public static TbfOptions Tbf(ulong rateBits, ulong burstBits, double ticksPerMicrosecond)
    {
        ulong rate = rateBits / 8;
        uint burst = (uint)(burstBits / 8); // validated: below 4 GB
        return new TbfOptions { Rate = rate, Limit = Limit(rate, burst), Buffer = Buffer(rate, burst, ticksPerMicrosecond) };
    }

    /// <summary>Go's <c>uint32(x)</c> for a float64 on amd64: truncation through int64, where NaN and values outside the
    /// int64 range become 0x8000000000000000 (so 0 after truncation to 32 bits).</summary>
    internal static uint GoUInt32(double x)
    {
        if (double.IsNaN(x) || x >= 9.2233720368547758E18 || x < -9.2233720368547758E18)
            return 0;
        return unchecked((uint)(long)x);
    }
}
