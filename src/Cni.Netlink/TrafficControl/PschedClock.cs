using System.Globalization;

namespace Cni.Netlink;

/// <summary>
/// The packet scheduler's clock as <c>/proc/net/psched</c> describes it: how many scheduler ticks make a microsecond,
/// the unit of TBF buffers and rate tables. Computed as iproute2 and the Go netlink library compute it.
/// </summary>
public static class PschedClock
{
    /// <summary>Microseconds per second (TIME_UNITS_PER_SEC).</summary>
    public const double TimeUnitsPerSecond = 1_000_000;

    private static readonly Lazy<double> Current = new(ReadCurrent);

    /// <summary>Ticks per microsecond of this kernel (15.625 on every kernel since 2.6.3x: 1000/64); read once.</summary>
    public static double TicksPerMicrosecond => Current.Value;

    /// <summary>Ticks per microsecond from the text of <c>/proc/net/psched</c> (four hex numbers: t2us, us2t, clock resolution, hz).</summary>
    /// <exception cref="FormatException">The text is not four hex numbers.</exception>
    public static double Parse(string psched)
    {
        ArgumentNullException.ThrowIfNull(psched);
        string[] parts = psched.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 3)
            throw new FormatException($"/proc/net/psched: expected 4 hex numbers, got '{psched.Trim()}'");
        uint t2us = uint.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        uint us2t = uint.Parse(parts[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        uint clockRes = uint.Parse(parts[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        if (clockRes == 1_000_000_000) t2us = us2t; // as iproute2: a nanosecond clock reports t2us in other units
        if (us2t == 0) throw new FormatException("/proc/net/psched: us2t is 0");
        double clockFactor = clockRes / TimeUnitsPerSecond;
        return (double)t2us / us2t * clockFactor;
    }

    private static double ReadCurrent()
    {
        try
        {
            return Parse(File.ReadAllText("/proc/net/psched"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return 1000.0 / 64; // every kernel since 2.6.31
        }
    }

    /// <summary>The time in ticks to send <paramref name="size"/> bytes at <paramref name="rate"/> bytes per second,
    /// as iproute2's tc_calc_xmittime (microseconds truncated, then ticks truncated).</summary>
    public static uint TransmitTime(ulong rate, uint size, double ticksPerMicrosecond)
    {
        uint micros = unchecked((uint)(long)(TimeUnitsPerSecond * ((double)size / rate)));
        return unchecked((uint)(long)(micros * ticksPerMicrosecond));
    }
}
