using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Cni.Netlink;
using Cni.Plugins.Ipam.Dhcp.Client;
using Cni.Plugins.Ipam.Dhcp.Protocol;
using Cni.Spec;

namespace Cni.Plugins.Ipam.Dhcp.Daemon;

/// <summary>What the daemon is started with (the reference's flags).</summary>
public sealed record DhcpDaemonOptions
{
    /// <summary>The unix socket to listen on (<c>-socketpath</c>), unless systemd passed one.</summary>
    public string SocketPath { get; init; } = DhcpSettings.DefaultSocketPath;

    /// <summary>Where to write the daemon's PID (<c>-pidfile</c>, absolute), or null.</summary>
    public string? PidFile { get; init; }

    /// <summary>Prefixed to the socket path and every namespace path (<c>-hostprefix</c>): for a daemon in a container
    /// that sees the host's root under a directory.</summary>
    public string HostPrefix { get; init; } = "";

    /// <summary>The client's timing and broadcast choice.</summary>
    public DhcpClientOptions Client { get; init; } = new();
}

/// <summary>
/// The dhcp daemon: listens on a unix socket (or the one systemd socket activation hands over), acquires a lease per
/// container interface when the plugin asks, keeps renewing it in the background, and releases it on the plugin's DEL.
/// Leases live in memory: a daemon that stops leaves them to expire on the server, as the reference's does.
/// </summary>
public sealed class DhcpDaemon : IAsyncDisposable
{
    private const int MaxRequestBytes = 1 << 16;

    private readonly DhcpDaemonOptions _options;
    private readonly Action<string> _log;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, DhcpAttachment> _leases = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    /// <summary>A daemon with <paramref name="options"/>, logging to <paramref name="log"/> (stderr by default).</summary>
    public DhcpDaemon(DhcpDaemonOptions? options = null, Action<string>? log = null, TimeProvider? time = null)
    {
        _options = options ?? new DhcpDaemonOptions();
        _log = log ?? (line => Console.Error.WriteLine($"{DateTime.Now:yyyy/MM/dd HH:mm:ss} {line}"));
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The number of leases held.</summary>
    public int LeaseCount
    {
        get
        {
            lock (_gate)
                return _leases.Count;
        }
    }

    /// <summary>
    /// Serves until <paramref name="cancellationToken"/> is cancelled: writes the PID file, listens, answers each
    /// connection; then removes the socket file (when it made it) and the PID file. Leases are not released.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (_options.PidFile is { } pidFile)
        {
            if (!Path.IsPathRooted(pidFile))
                throw new ArgumentException($"Error writing pidfile \"{pidFile}\": path not absolute");
            await File.WriteAllTextAsync(pidFile, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), CancellationToken.None).ConfigureAwait(false);
        }
        string socketPath = _options.HostPrefix + _options.SocketPath;
        (Socket listener, bool ownsPath) = Listen(socketPath);
        _log($"listening on {(ownsPath ? socketPath : "the socket systemd passed")}");
        var connections = new List<Task>();
        try
        {
            while (true)
            {
                Socket connection = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
                lock (connections)
                {
                    connections.RemoveAll(t => t.IsCompleted);
                    connections.Add(Task.Run(() => ServeAsync(connection, cancellationToken), CancellationToken.None));
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            listener.Dispose();
            if (ownsPath)
                File.Delete(socketPath);
            if (_options.PidFile is { } pid)
                File.Delete(pid);
            Task[] pending;
            lock (connections)
                pending = connections.ToArray();
            await Task.WhenAll(pending).ConfigureAwait(false);
        }
    }

    private static (Socket Listener, bool OwnsPath) Listen(string socketPath)
    {
        // systemd socket activation: LISTEN_FDS=1 for this PID hands over fd 3.
        string? fds = Environment.GetEnvironmentVariable("LISTEN_FDS");
        string? pid = Environment.GetEnvironmentVariable("LISTEN_PID");
        if (!string.IsNullOrEmpty(fds) && pid == Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture))
        {
            if (fds != "1")
                throw new InvalidOperationException($"Too many ({fds}) FDs passed through socket activation");
            return (new Socket(new SafeSocketHandle(3, ownsHandle: true)), false);
        }
        string? directory = Path.GetDirectoryName(socketPath);
        if (!string.IsNullOrEmpty(directory) && !Directory.Exists(directory))
        {
            if (OperatingSystem.IsWindows())
                Directory.CreateDirectory(directory);
            else
                Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            try
            {
                listener.Bind(new UnixDomainSocketEndPoint(socketPath));
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse && !IsServed(socketPath))
            {
                // A socket file left by a daemon that died: take its place.
                File.Delete(socketPath);
                listener.Bind(new UnixDomainSocketEndPoint(socketPath));
            }
            listener.Listen(128);
            return (listener, true);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    private static bool IsServed(string socketPath)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(socketPath));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private async Task ServeAsync(Socket connection, CancellationToken cancellationToken)
    {
        using (connection)
        {
            DaemonResponse response;
            try
            {
                byte[]? line = await ReadLineAsync(connection, cancellationToken).ConfigureAwait(false);
                if (line is null)
                    return;
                DaemonRequest request = JsonSerializer.Deserialize(line, DaemonJsonContext.Default.DaemonRequest)
                    ?? throw new CniException(CniErrorCode.DecodingFailure, "empty request");
                response = await HandleAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (JsonException e)
            {
                response = new DaemonResponse { Error = "error parsing request: " + e.Message, Code = (uint)CniErrorCode.DecodingFailure };
            }
            catch (CniException e)
            {
                response = new DaemonResponse { Error = e.Message, Code = (uint)e.Code };
            }
            catch (SocketException)
            {
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Anything unexpected still gets an answer (and the daemon keeps serving).
                _log($"internal error: {e}");
                response = new DaemonResponse { Error = "dhcp daemon: " + e.Message, Code = (uint)CniErrorCode.Internal };
            }
            try
            {
                byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(response, DaemonJsonContext.Default.DaemonResponse);
                await connection.SendAsync(bytes.Append((byte)'\n').ToArray(), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                // The plugin went away; a lease it asked for stays held and is released by its DEL.
            }
        }
    }

    internal static async Task<byte[]?> ReadLineAsync(Socket socket, CancellationToken cancellationToken)
    {
        var buffer = new MemoryStream();
        byte[] chunk = new byte[4096];
        while (true)
        {
            int read = await socket.ReceiveAsync(chunk, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (read == 0)
                return buffer.Length == 0 ? null : buffer.ToArray();
            int newline = Array.IndexOf(chunk, (byte)'\n', 0, read);
            buffer.Write(chunk, 0, newline < 0 ? read : newline);
            if (newline >= 0)
                return buffer.ToArray();
            if (buffer.Length > MaxRequestBytes)
                throw new CniException(CniErrorCode.DecodingFailure, $"request longer than {MaxRequestBytes} bytes");
        }
    }

    /// <summary>Answers one request (the socket's framing aside): for tests and embedding.</summary>
    internal async Task<DaemonResponse> HandleAsync(DaemonRequest request, CancellationToken cancellationToken)
    {
        if (request.Method == DaemonMethods.Status)
            return new DaemonResponse();
        if (request.Method == DaemonMethods.Gc)
            return await CollectAsync(request.Network ?? "", request.Valid ?? []).ConfigureAwait(false);
        if (string.IsNullOrEmpty(request.ClientId))
            throw new CniException(CniErrorCode.DecodingFailure, "request without clientId");
        string clientId = request.ClientId;
        SemaphoreSlim gate;
        lock (_gate)
        {
            if (!_locks.TryGetValue(clientId, out gate!))
                _locks[clientId] = gate = new SemaphoreSlim(1, 1);
        }
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return request.Method switch
            {
                DaemonMethods.Allocate => await AllocateAsync(clientId, request, cancellationToken).ConfigureAwait(false),
                DaemonMethods.Release => await ReleaseAsync(clientId).ConfigureAwait(false),
                DaemonMethods.Check => Check(clientId),
                _ => throw new CniException(CniErrorCode.DecodingFailure, $"unknown method \"{request.Method}\""),
            };
        }
        finally
        {
            gate.Release();
        }
    }

    private DhcpAttachment? Find(string clientId)
    {
        lock (_gate)
            return _leases.GetValueOrDefault(clientId);
    }

    private async Task<DaemonResponse> AllocateAsync(string clientId, DaemonRequest request, CancellationToken cancellationToken)
    {
        DhcpAttachment? held = Find(clientId);
        if (held is { IsMaintained: true })
            return Answer(held);
        if (held is not null)
        {
            // Its maintenance ended (interface gone, lease expired): start over.
            await Forget(clientId, held, release: false).ConfigureAwait(false);
        }
        if (string.IsNullOrEmpty(request.NetNs) || string.IsNullOrEmpty(request.IfName))
            throw new CniException(CniErrorCode.InvalidEnvironmentVariables, "request without netns or ifName");
        List<DhcpOption> options = (request.Options ?? []).Select(o => new DhcpOption(o.Code, o.Value ?? [])).ToList();
        DhcpAttachment attachment;
        try
        {
            attachment = await DhcpAttachment.AcquireAsync(clientId, request.Network ?? "", _options.HostPrefix + request.NetNs, request.IfName, options,
                _options.Client, _log, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (DhcpException e)
        {
            _log($"{clientId}: {e.Message}");
            throw new CniException(CniErrorCode.TryAgainLater, $"dhcp: {e.Message}");
        }
        catch (NetlinkException e)
        {
            throw new CniException(CniErrorCode.IoFailure, $"dhcp: failed to enter netns \"{request.NetNs}\": {e.Message}");
        }
        catch (SocketException e)
        {
            throw new CniException(CniErrorCode.IoFailure, $"dhcp: socket on \"{request.IfName}\": {e.Message}");
        }
        try
        {
            DaemonResponse answer = Answer(attachment);
            lock (_gate)
                _leases[clientId] = attachment;
            return answer;
        }
        catch
        {
            await attachment.StopAsync(release: true).ConfigureAwait(false);
            await attachment.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>GC: releases the leases of <paramref name="network"/> whose client id is not in <paramref name="valid"/>.</summary>
    private async Task<DaemonResponse> CollectAsync(string network, List<string> valid)
    {
        var keep = new HashSet<string>(valid, StringComparer.Ordinal);
        string[] stale;
        lock (_gate)
            stale = _leases.Where(l => l.Value.Network == network && !keep.Contains(l.Key)).Select(l => l.Key).ToArray();
        foreach (string clientId in stale)
        {
            _log($"{clientId}: not a valid attachment any more (GC)");
            await HandleAsync(new DaemonRequest { Method = DaemonMethods.Release, ClientId = clientId }, CancellationToken.None).ConfigureAwait(false);
        }
        return new DaemonResponse();
    }

    private static DaemonResponse Answer(DhcpAttachment attachment) => new()
    {
        Result = Encoding.UTF8.GetString(CniResultSerializer.SerializeToUtf8Bytes(attachment.Lease.ToResult(), CniVersions.Latest, indented: false)),
    };

    private async Task<DaemonResponse> ReleaseAsync(string clientId)
    {
        if (Find(clientId) is { } held)
            await Forget(clientId, held, release: true).ConfigureAwait(false);
        return new DaemonResponse();
    }

    private DaemonResponse Check(string clientId)
    {
        DhcpAttachment held = Find(clientId) ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, $"dhcp: the daemon holds no lease for {clientId}");
        if (!held.IsMaintained)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"dhcp: the lease of {clientId} ({held.Lease.Address}) is no longer maintained (interface gone or lease expired)");
        return Answer(held);
    }

    private async Task Forget(string clientId, DhcpAttachment attachment, bool release)
    {
        lock (_gate)
            _leases.Remove(clientId);
        await attachment.StopAsync(release && attachment.IsMaintained).ConfigureAwait(false);
        await attachment.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Stops maintaining every lease without releasing it.</summary>
    public async ValueTask DisposeAsync()
    {
        DhcpAttachment[] all;
        lock (_gate)
        {
            all = _leases.Values.ToArray();
            _leases.Clear();
        }
        foreach (DhcpAttachment attachment in all)
            await attachment.DisposeAsync().ConfigureAwait(false);
    }
}
