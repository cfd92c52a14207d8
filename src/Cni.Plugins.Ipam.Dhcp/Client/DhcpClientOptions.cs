namespace Cni.Plugins.Ipam.Dhcp.Client;

/// <summary>The client's timing, as the reference daemon's flags set it.</summary>
public sealed record DhcpClientOptions
{
    /// <summary>How long to wait for each reply (<c>-timeout</c>, 10 s).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest pause between resends once the fast resends are used up (<c>-resendmax</c>, 62 s).</summary>
    public TimeSpan ResendMax { get; init; } = TimeSpan.FromSeconds(62);

    /// <summary>How long one acquisition or renewal may take in all (<c>-resendtimeout</c>, 208 s).</summary>
    public TimeSpan ResendTimeout { get; init; } = TimeSpan.FromSeconds(208);

    /// <summary><c>-broadcast</c>: ask servers to broadcast every reply, renewals included (before the interface has
    /// its address the client asks for broadcast replies anyway).</summary>
    public bool Broadcast { get; init; }

    /// <summary>The first pauses between resends (2 s ± 1, four times) before the exponential back-off (4 s ± 1,
    /// doubling up to <see cref="ResendMax"/>): RFC 2131 4.1 and the reference.</summary>
    public TimeSpan FastResendDelay { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How many fast resends come first.</summary>
    public int FastResends { get; init; } = 4;

    /// <summary>The first delay of the exponential back-off.</summary>
    public TimeSpan FirstBackoff { get; init; } = TimeSpan.FromSeconds(4);
}
