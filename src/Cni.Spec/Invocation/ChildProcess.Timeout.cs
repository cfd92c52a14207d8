namespace Cni.Spec;

// Not in the unsafe part of the class: an async method cannot be in an unsafe context.
public static partial class ChildProcess
{
    /// <summary>
    /// <see cref="OnDedicatedThread{T}"/> for a <paramref name="run"/> that kills its child when the token it is given
    /// fires, bounded by <paramref name="timeout"/> (zero or infinite: no bound): a child still running then is killed and
    /// the call fails with a <see cref="CniException"/> naming <paramref name="name"/> and the timeout. Cancellation of
    /// <paramref name="cancellationToken"/> still ends it with <see cref="OperationCanceledException"/>.
    /// </summary>
    public static async Task<Outcome> RunOnDedicatedThreadAsync(Func<CancellationToken, Outcome> run, string name, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        if (timeout <= TimeSpan.Zero || timeout == Timeout.InfiniteTimeSpan)
            return await OnDedicatedThread(() => run(cancellationToken), name).ConfigureAwait(false);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            return await OnDedicatedThread(() => run(limit.Token), name).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CniException((uint)CniErrorCode.Internal,
                $"{name} timed out after {timeout.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)}s and was killed", null,
                new TimeoutException(ex.Message, ex));
        }
    }
}
