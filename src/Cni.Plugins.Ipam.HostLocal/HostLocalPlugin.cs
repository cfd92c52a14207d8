using System.Text;
using System.Text.Json;
using Cni.Plugins.Ipam.HostLocal.Addressing;
using Cni.Plugins.Ipam.HostLocal.Allocation;
using Cni.Plugins.Ipam.HostLocal.Configuration;
using Cni.Plugins.Ipam.HostLocal.Store;
using Cni.Spec;

namespace Cni.Plugins.Ipam.HostLocal;

/// <summary>
/// The <c>host-local</c> IPAM plugin: hands out addresses from configured ranges and records them under a data
/// directory in the Go reference plugin's layout, so that a node can switch between the two or run both at once.
/// </summary>
/// <remarks>
/// ADD picks one address per range set round-robin from <c>last_reserved_ip.N</c>, exactly as the reference does, or
/// the requested one (CNI_ARGS <c>IP</c>, <c>args.cni.ips</c>, <c>runtimeConfig.ips</c>); every address is chosen
/// before the first file is written, so a failed ADD leaves nothing reserved. DEL releases what the container id and
/// interface hold (and older id-only reservations). CHECK confirms the reservation, GC (1.1.0) releases every
/// reservation of an attachment the runtime no longer lists, STATUS checks that the data directory is usable.
/// </remarks>
public sealed class HostLocalPlugin : CniPlugin
{
    private static readonly PluginInfo PluginInformation = new()
    {
        SupportedVersions = CniVersions.All,
        About = "host-local IPAM plugin (Cni.NET), compatible with the reference plugin's data directory",
        ArgsKeys = ["IP"],
    };

    private readonly HostLocalStoreOptions _storeOptions;

    /// <summary>A plugin with the default store options (<see cref="HostLocalStoreOptions.Default"/>).</summary>
    public HostLocalPlugin()
        : this(HostLocalStoreOptions.Default)
    {
    }

    /// <summary>A plugin whose data directory is kept with <paramref name="storeOptions"/>.</summary>
    /// <param name="storeOptions">Index threshold, clock and temporary-file use of the store.</param>
    public HostLocalPlugin(HostLocalStoreOptions storeOptions)
    {
        ArgumentNullException.ThrowIfNull(storeOptions);
        _storeOptions = storeOptions;
    }

    /// <inheritdoc />
    public override PluginInfo Info => PluginInformation;

    /// <inheritdoc />
    public override Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        HostLocalConfig config = LoadConfig(request);
        CniDns dns = config.ResolvConf is { } resolvConf ? ResolvConf.Parse(resolvConf) : new CniDns();
        byte[] key = ReservationKey.For(request.ContainerId, request.IfName);

        using DiskStore store = DiskStore.Open(config.DataDir, config.Name, create: true, _storeOptions)!;
        // One synced file per range set, before the lock: concurrent ADDs then wait for the disk together, not in turn.
        var prepared = new PreparedReservation?[config.RangeSets.Count];
        using var disposePrepared = new PreparedReservations(prepared);
        for (int i = 0; i < prepared.Length; i++)
            prepared[i] = store.Prepare(key);
        store.Lock();
        StoreSnapshot snapshot = store.Load(exact: false); // names are enough, see HeldBy
        var view = new SnapshotView(store, snapshot);

        List<AddressPick> plan;
        try
        {
            plan = Allocator.Plan(config, view, request.ContainerId, request.IfName);
        }
        catch (AllocationFailedException failure)
        {
            // No reservation is made, but the round-robin position of the sets before the failing one moves on,
            // as it does in the reference, so that both keep picking the same addresses afterwards.
            foreach (AddressPick done in failure.Completed)
                store.WriteLastReserved(done.RangeSetIndex, done.Address);
            store.SaveIndex(snapshot, changed: failure.Completed.Count > 0);
            throw;
        }

        var reserved = new List<IpAddr>();
        bool completed = false;
        try
        {
            for (int i = 0; i < plan.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                AddressPick allocation = plan[i];
                ulong inode;
                PreparedReservation? file = prepared[allocation.RangeSetIndex];
                while (!(file is null ? store.TryReserve(allocation.Address, key, out inode) : store.TryReserve(allocation.Address, file, out inode)))
                {
                    // Someone created the name without holding the lock: learn who, and choose again.
                    snapshot.Set(allocation.Address, store.ReadEntry(allocation.Address));
                    if (config.RequestedPerSet[allocation.RangeSetIndex] is not null)
                    {
                        throw new CniException(HostLocalErrors.AddressInUse,
                            $"failed to allocate for range {allocation.RangeSetIndex}: requested IP address {allocation.Address} is not available in range set {config.RangeSets[allocation.RangeSetIndex]}");
                    }
                    allocation = Allocator.PickNext(config.RangeSets[allocation.RangeSetIndex], allocation.RangeSetIndex, view, new HashSet<IpAddr>(plan.Select(p => p.Address)))
                        ?? throw new CniException(HostLocalErrors.RangeExhausted,
                            $"failed to allocate for range {allocation.RangeSetIndex}: no IP addresses available in range set: {config.RangeSets[allocation.RangeSetIndex]}");
                    plan[i] = allocation;
                }
                reserved.Add(allocation.Address);
                snapshot.Set(allocation.Address, key, inode);
                store.WriteLastReserved(allocation.RangeSetIndex, allocation.Address);
            }
            completed = true;
        }
        finally
        {
            if (!completed)
            {
                foreach (IpAddr address in reserved)
                {
                    try
                    {
                        store.Remove(address);
                    }
                    catch (CniException)
                    {
                        // Best effort: the error that made us roll back is the one to report.
                    }
                    snapshot.Remove(address);
                }
            }
            store.SaveIndex(snapshot, changed: true);
        }

        var result = new CniResult
        {
            CniVersion = config.CniVersion,
            Routes = [.. config.Routes.Select(r => r.Clone())],
            Dns = dns,
        };
        foreach (AddressPick allocation in plan)
        {
            result.Ips.Add(new CniIPConfig
            {
                Address = new IPPrefix(allocation.Address.ToIPAddress(), allocation.Range.PrefixLength),
                Gateway = allocation.Range.Gateway.ToIPAddress(),
            });
        }
        return Task.FromResult(result);
    }

    /// <inheritdoc />
    public override Task DelAsync(CniRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        HostLocalConfig config = LoadConfig(request);
        using DiskStore? store = DiskStore.Open(config.DataDir, config.Name, create: false, _storeOptions);
        if (store is null)
            return Task.CompletedTask; // nothing was ever reserved on this network

        store.Lock();
        StoreSnapshot snapshot = store.Load();
        byte[] key = ReservationKey.For(request.ContainerId, request.IfName);
        byte[] match = key;
        List<IpAddr> held = snapshot.Find(key);
        if (held.Count == 0)
        {
            match = ReservationKey.Legacy(request.ContainerId);
            held = snapshot.Find(match);
        }

        foreach (IpAddr address in held)
            store.ReleaseIfOwnedBy(snapshot, address, match);
        store.SaveIndex(snapshot, changed: held.Count > 0);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override Task CheckAsync(CniRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        HostLocalConfig config = LoadConfig(request);
        using DiskStore? store = DiskStore.Open(config.DataDir, config.Name, create: false, _storeOptions);
        if (store is null)
            throw Missing(request);

        store.Lock();
        StoreSnapshot snapshot = store.Load();
        List<IpAddr> held = snapshot.Find(ReservationKey.For(request.ContainerId, request.IfName));
        if (held.Count == 0)
            held = snapshot.Find(ReservationKey.Legacy(request.ContainerId));
        store.SaveIndex(snapshot, changed: false);
        if (held.Count == 0)
            throw Missing(request);

        if (request.Config.PrevResult is { } prevResult)
        {
            foreach (CniIPConfig ip in prevResult.Ips)
            {
                IpAddr address = IpAddr.FromIPAddress(ip.Address.Address);
                if (config.RangeSets.Any(s => s.Contains(address)) && !held.Contains(address))
                {
                    throw new CniException(HostLocalErrors.ReservationMissing,
                        $"host-local: address {address} in prevResult is not reserved for container {request.ContainerId} interface {request.IfName}",
                        $"reserved: {string.Join(", ", held)}");
                }
            }
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override Task GcAsync(CniRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        HostLocalConfig config = LoadConfig(request);
        (HashSet<string> validKeys, HashSet<string> validIds) = ReadValidAttachments(request.RawConfig.Span);
        using DiskStore? store = DiskStore.Open(config.DataDir, config.Name, create: false, _storeOptions);
        if (store is null)
            return Task.CompletedTask;

        store.Lock();
        StoreSnapshot snapshot = store.Load();
        bool changed = false;
        foreach (IpAddr address in snapshot.Slots.Keys.ToArray())
        {
            byte[]? content = snapshot.ContentOf(address);
            if (content is null)
                continue; // not a regular file: not a reservation either plugin wrote
            string owner = Encoding.UTF8.GetString(content);
            if (validKeys.Contains(owner) || validIds.Contains(owner))
                continue;
            store.ReleaseIfOwnedBy(snapshot, address, content);
            changed = true;
        }
        store.SaveIndex(snapshot, changed);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override Task StatusAsync(CniRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        HostLocalConfig config = LoadConfig(request);
        string dir = Path.Combine(Path.GetFullPath(config.DataDir), config.Name);
        string? existing = dir;
        while (existing is not null && !Path.Exists(existing))
            existing = Path.GetDirectoryName(existing);
        if (existing is null || !Directory.Exists(existing))
        {
            throw new CniException(CniErrorCode.PluginNotAvailable,
                $"host-local: data directory {dir} is not usable: {existing ?? dir} is not a directory");
        }
        if (!DirectoryAccess.CanWrite(existing))
        {
            throw new CniException(CniErrorCode.PluginNotAvailable,
                $"host-local: data directory {dir} is not usable: {existing} is not writable");
        }
        return Task.CompletedTask;
    }

    private static HostLocalConfig LoadConfig(CniRequest request)
    {
        // The network name, container id and interface name were validated by the host (CniPluginHost), as for
        // every plugin; DiskStore.Open checks the name again, as it becomes a path.
        return HostLocalConfigParser.Parse(request.RawConfig.Span, request.Args.Get("IP"));
    }

    private static CniException Missing(CniRequest request) =>
        new(HostLocalErrors.ReservationMissing, $"host-local: Failed to find address added by container {request.ContainerId}");

    /// <summary>Reads <c>cni.dev/valid-attachments</c> (or the older <c>cni.dev/attachments</c>) from a GC request.</summary>
    internal static (HashSet<string> Keys, HashSet<string> ContainerIds) ReadValidAttachments(ReadOnlySpan<byte> json)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        using JsonDocument document = JsonDocument.Parse(json.ToArray());
        JsonElement root = document.RootElement;
        if ((!root.TryGetProperty("cni.dev/valid-attachments", out JsonElement list) && !root.TryGetProperty("cni.dev/attachments", out list))
            || list.ValueKind == JsonValueKind.Null)
        {
            // Without the list every reservation would look stale: refuse rather than release them all.
            throw new CniException(CniErrorCode.InvalidNetworkConfig,
                "GC needs cni.dev/valid-attachments (an empty list releases everything); it is missing, so nothing was released");
        }
        if (list.ValueKind != JsonValueKind.Array)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "cni.dev/valid-attachments must be an array");
        int i = 0;
        foreach (JsonElement attachment in list.EnumerateArray())
        {
            string field = $"cni.dev/valid-attachments[{i++}]";
            if (attachment.ValueKind != JsonValueKind.Object
                || !attachment.TryGetProperty("containerID", out JsonElement idElement) || idElement.ValueKind != JsonValueKind.String
                || !attachment.TryGetProperty("ifname", out JsonElement ifElement) || ifElement.ValueKind != JsonValueKind.String)
            {
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"{field} must be an object with string containerID and ifname");
            }
            string id = idElement.GetString()!.Trim();
            keys.Add(id + ReservationKey.LineBreak + ifElement.GetString());
            ids.Add(id);
        }
        return (keys, ids);
    }

    /// <summary>The allocator's view: the snapshot plus <c>last_reserved_ip.N</c> read on demand.</summary>
    /// <summary>Closes the prepared reservation files of an ADD (the ones never named disappear).</summary>
    private readonly struct PreparedReservations(PreparedReservation?[] files) : IDisposable
    {
        public void Dispose()
        {
            foreach (PreparedReservation? file in files)
                file?.Dispose();
        }
    }

    private sealed class SnapshotView(DiskStore store, StoreSnapshot snapshot) : IAllocationView
    {
        public bool IsTaken(IpAddr address) => snapshot.Contains(address);

        public IpAddr? LastReserved(int rangeSetIndex) => store.ReadLastReserved(rangeSetIndex);

        public IEnumerable<IpAddr> HeldBy(string containerId, string ifName)
        {
            byte[] key = ReservationKey.For(containerId, ifName);
            byte[] legacy = ReservationKey.Legacy(containerId);
            List<IpAddr> held = [.. snapshot.Find(key), .. snapshot.Find(legacy)];
            if (held.Count == 0 || snapshot.UncheckedSince is null)
                return held;
            // Owners taken from the index on the strength of an unchanged inode: read the files before refusing.
            foreach (IpAddr address in held)
                snapshot.Set(address, store.ReadEntry(address));
            return [.. snapshot.Find(key), .. snapshot.Find(legacy)];
        }
    }
}
