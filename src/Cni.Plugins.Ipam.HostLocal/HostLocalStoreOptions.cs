namespace Cni.Plugins.Ipam.HostLocal;

/// <summary>
/// How <see cref="HostLocalPlugin"/> keeps its data directory beyond the reference layout it shares with the Go
/// plugin: when the private index (<c>.host-local-cache</c>) is worth writing, and the clock it checks that index
/// against. The defaults are the real ones; tests and embedding runtimes pass their own to the plugin's constructor.
/// </summary>
public sealed class HostLocalStoreOptions
{
    /// <summary>
    /// The default <see cref="IndexMinEntries"/>. Below it a run reads the files, which on the small networks of
    /// typical pod churn is cheaper than keeping the index up to date (an ADD+DEL pair measured about even at 1,000
    /// reservations, the files clearly cheaper at 600; benchmarks/host-local/bench-small.sh).
    /// </summary>
    public const int DefaultIndexMinEntries = 1024;

    /// <summary>The defaults: index from <see cref="DefaultIndexMinEntries"/> reservations, the system clock, unnamed temporary files.</summary>
    public static HostLocalStoreOptions Default { get; } = new();

    /// <summary>
    /// Reservation count from which the index is written. An existing index is kept up to date down to half of it,
    /// so that a network hovering around the threshold does not create and delete its index on every run. Must be
    /// at least 1.
    /// </summary>
    public int IndexMinEntries
    {
        get;
        init => field = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(IndexMinEntries), value, "must be at least 1");
    } = DefaultIndexMinEntries;

    /// <summary>
    /// The wall clock the index's recorded directory times are compared with (an index stamped later than now means
    /// the clock was set back, and it is not trusted). Null (the default): <c>clock_gettime(CLOCK_REALTIME)</c>, to
    /// the nanosecond.
    /// </summary>
    public TimeProvider? Clock { get; init; }

    /// <summary>
    /// Whether a reservation is written to an unnamed <c>O_TMPFILE</c> first (true, the default) or always to a named
    /// temporary file, as on file systems without O_TMPFILE support (used by tests to cover that path).
    /// </summary>
    public bool UseUnnamedTempFiles { get; init; } = true;
}
