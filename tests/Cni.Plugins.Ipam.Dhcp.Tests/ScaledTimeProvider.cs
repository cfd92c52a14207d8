namespace Cni.Plugins.Ipam.Dhcp.Tests;

/// <summary>Time that runs <see cref="Factor"/> times faster than the wall clock: a 2-minute lease renews at T1 after
/// two real seconds instead of sixty, over the real network.</summary>
internal sealed class ScaledTimeProvider(double factor) : TimeProvider
{
    private readonly DateTimeOffset _start = DateTimeOffset.UtcNow;
    private readonly long _startTimestamp = System.GetTimestamp();

    public double Factor { get; } = factor;

    public override DateTimeOffset GetUtcNow() => _start + System.GetElapsedTime(_startTimestamp) * Factor;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        System.CreateTimer(callback, state, Scale(dueTime), Scale(period));

    private TimeSpan Scale(TimeSpan span) => span == Timeout.InfiniteTimeSpan ? span : span / Factor;
}
