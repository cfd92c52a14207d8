using System.Net.Sockets;
using System.Text.Json;
using Cni.Plugins.Ipam.Dhcp.Daemon;

namespace Cni.Plugins.Ipam.Dhcp;

/// <summary>How the plugin reaches the daemon: one request, one answer.</summary>
public interface IDhcpDaemonConnection
{
    /// <summary>Sends <paramref name="request"/> (JSON, one line) to the daemon at <paramref name="socketPath"/> and
    /// returns its answer line. Throws <see cref="SocketException"/> when no daemon listens there.</summary>
    Task<byte[]> CallAsync(string socketPath, byte[] request, CancellationToken cancellationToken);
}

/// <summary>The daemon over its unix socket.</summary>
public sealed class UnixDaemonConnection : IDhcpDaemonConnection
{
    /// <inheritdoc/>
    public async Task<byte[]> CallAsync(string socketPath, byte[] request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
        await socket.SendAsync(request.Append((byte)'\n').ToArray(), SocketFlags.None, cancellationToken).ConfigureAwait(false);
        return await DhcpDaemon.ReadLineAsync(socket, cancellationToken).ConfigureAwait(false)
            ?? throw new SocketException((int)SocketError.ConnectionReset);
    }
}

/// <summary>Serialization of the daemon protocol for the plugin side.</summary>
internal static class DaemonCodec
{
    public static byte[] Encode(DaemonRequest request) => JsonSerializer.SerializeToUtf8Bytes(request, DaemonJsonContext.Default.DaemonRequest);

    public static DaemonResponse Decode(byte[] line) =>
        JsonSerializer.Deserialize(line, DaemonJsonContext.Default.DaemonResponse) ?? new DaemonResponse { Error = "empty answer", Code = 999 };
}
