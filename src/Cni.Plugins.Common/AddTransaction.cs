using Cni.Spec;

namespace Cni.Plugins.Common;

/// <summary>
/// An ADD as a transaction: every step that changes the kernel or an IPAM store registers its undo right after it
/// succeeds; <see cref="Commit"/> at the end keeps everything, and disposing an uncommitted transaction (any failure)
/// runs the undos in reverse order, best effort, logging undo failures to stderr without hiding the original error.
/// Steps may register from several threads at once (e.g. an IPAM ADD finishing while links are being made); the
/// caller awaits every step it started before disposing.
/// </summary>
/// <example>
/// <code>
/// await using var tx = new AddTransaction(request.Environment.Stderr);
/// CniResult ipam = await tx.IpamAddAsync(request, ct); // registers the IPAM DEL
/// nl.AddVeth(...);
/// tx.OnRollback("delete veth", () => nl.DeleteLink(name));
/// ...
/// tx.Commit();
/// </code>
/// </example>
public sealed class AddTransaction : IAsyncDisposable
{
    private readonly List<(string Description, Func<Task> Undo)> _undos = [];
    private readonly Lock _sync = new();
    private readonly TextWriter? _log;
    private readonly IpamInvoker _ipam;
    private bool _committed;

    /// <summary>Creates an empty transaction; undo failures are written to <paramref name="log"/> (typically stderr).</summary>
    /// <param name="log">Where undo failures are written.</param>
    /// <param name="ipam">Runs the IPAM plugin for <see cref="IpamAddAsync"/> (<see cref="IpamInvoker.Default"/> when null).</param>
    public AddTransaction(TextWriter? log = null, IpamInvoker? ipam = null)
    {
        _log = log;
        _ipam = ipam ?? IpamInvoker.Default;
    }

    /// <summary>True once <see cref="Commit"/> was called.</summary>
    public bool IsCommitted => _committed;

    /// <summary>Registers a synchronous undo for a change that just succeeded.</summary>
    public void OnRollback(string description, Action undo)
    {
        ArgumentNullException.ThrowIfNull(undo);
        lock (_sync)
            _undos.Add((description, () => { undo(); return Task.CompletedTask; }));
    }

    /// <summary>Registers an asynchronous undo (e.g. an IPAM DEL) for a change that just succeeded.</summary>
    public void OnRollback(string description, Func<Task> undo)
    {
        ArgumentNullException.ThrowIfNull(undo);
        lock (_sync)
            _undos.Add((description, undo));
    }

    /// <summary>
    /// Delegates ADD to the IPAM plugin (<c>ipam.type</c>) and registers the matching DEL as its undo. A result without
    /// addresses is an error; the rollback then releases whatever the plugin reserved.
    /// </summary>
    /// <exception cref="CniException">The IPAM plugin failed, or returned no address.</exception>
    public async Task<CniResult> IpamAddAsync(CniRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        CniResult result = await _ipam.AddAsync(request, cancellationToken).ConfigureAwait(false);
        OnRollback("release the IPAM reservation", () => _ipam.DelAsync(request, CancellationToken.None));
        if (result.Ips.Count == 0)
            throw new CniException(CniErrorCode.Internal, "IPAM plugin returned missing IP config");
        return result;
    }

    /// <summary>
    /// Makes the links (<paramref name="makeLinks"/>, which registers its own undos) and, when <paramref name="useIpam"/>,
    /// gets the addresses from the IPAM plugin, in the order <see cref="IpamOrder"/> allows: concurrently for IPAM plugins
    /// that never use the container interface, after the links otherwise (as the reference plugins do). Either failure
    /// is thrown once both have finished, so the rollback undoes both.
    /// </summary>
    /// <returns>What <paramref name="makeLinks"/> returned, and the IPAM result (null without IPAM).</returns>
    public async Task<(T Links, CniResult? Ipam)> MakeLinksWithIpamAsync<T>(CniRequest request, bool useIpam, Func<T> makeLinks, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(makeLinks);
        bool alongside = useIpam && IpamOrder.RunsAlongsideLinks(request);
        Task<CniResult>? ipam = alongside ? IpamAddAsync(request, cancellationToken) : null;
        T links;
        try
        {
            links = makeLinks();
            if (useIpam && !alongside)
                ipam = IpamAddAsync(request, cancellationToken);
        }
        catch
        {
            if (ipam is not null)
            {
                try { await ipam.ConfigureAwait(false); } catch (Exception) { } // its undo must be registered before the rollback
            }
            throw;
        }
        return (links, ipam is null ? null : await ipam.ConfigureAwait(false));
    }

    /// <summary>Keeps every change: the undos are dropped.</summary>
    public void Commit()
    {
        lock (_sync)
        {
            _committed = true;
            _undos.Clear();
        }
    }

    /// <summary>Runs every registered undo in reverse order now; each failure is logged and the next undo still runs.</summary>
    public async Task RollbackAsync()
    {
        (string Description, Func<Task> Undo)[] undos;
        lock (_sync)
        {
            undos = [.. _undos];
            _undos.Clear();
        }
        for (int i = undos.Length - 1; i >= 0; i--)
        {
            (string description, Func<Task> undo) = undos[i];
            try
            {
                await undo().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _log?.WriteLine($"rollback: {description} failed: {ex.Message}");
            }
        }
    }

    /// <summary>Rolls back unless committed.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_committed)
            await RollbackAsync().ConfigureAwait(false);
    }
}
