using Cni.Plugins.Common;
using Cni.Spec;
using Tmds.DBus.Protocol;

namespace Cni.Plugins.Firewall;

/// <summary>One D-Bus method call with string arguments: everything the firewalld backend sends.</summary>
/// <param name="Destination">The bus name called.</param>
/// <param name="Path">The object path.</param>
/// <param name="Interface">The interface of the method.</param>
/// <param name="Member">The method name.</param>
/// <param name="Arguments">The arguments, all strings (signature <c>s</c> each).</param>
public sealed record DBusMethodCall(string Destination, string Path, string Interface, string Member, IReadOnlyList<string> Arguments)
{
    /// <summary>The body signature: one <c>s</c> per argument.</summary>
    public string Signature => new('s', Arguments.Count);

    /// <inheritdoc/>
    public override string ToString() => $"{Destination} {Path} {Interface}.{Member}({string.Join(", ", Arguments.Select(a => "\"" + a + "\""))})";
}

/// <summary>What a D-Bus method call returned: a value (a string or a boolean) or an error reply.</summary>
/// <param name="Value">The first value of the reply body (a string or a bool), or null when it had none or was an error.</param>
/// <param name="ErrorName">The error name of an error reply (e.g. <c>org.freedesktop.DBus.Error.NameHasNoOwner</c>).</param>
/// <param name="ErrorMessage">The error reply's message.</param>
public readonly record struct DBusReply(object? Value, string? ErrorName = null, string? ErrorMessage = null)
{
    /// <summary>True for an error reply.</summary>
    public bool IsError => ErrorName is not null;

    /// <summary>An error reply.</summary>
    public static DBusReply Error(string name, string? message) => new(null, name, message);
}

/// <summary>
/// The seam between the firewalld backend and the bus: sends one method call and returns the reply. The default
/// (<see cref="SystemBusCaller"/>) talks to the system bus with Tmds.DBus.Protocol; tests substitute a fake that records
/// the calls and answers as firewalld would.
/// </summary>
public interface IDBusCaller : IDisposable
{
    /// <summary>Sends <paramref name="call"/> and waits for its reply; an error reply is returned, not thrown. Throws when
    /// the bus cannot be reached.</summary>
    Task<DBusReply> CallAsync(DBusMethodCall call, CancellationToken cancellationToken);
}

/// <summary>An <see cref="IDBusCaller"/> on the system bus (<c>DBUS_SYSTEM_BUS_ADDRESS</c>, else
/// <c>/var/run/dbus/system_bus_socket</c>), connected on first use.</summary>
public sealed class SystemBusCaller : IDBusCaller
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(25);
    private readonly string? _address;
    private DBusConnection? _connection;

    /// <summary>Creates a caller for <paramref name="address"/> (the system bus when null).</summary>
    public SystemBusCaller(string? address = null) => _address = address;

    /// <inheritdoc/>
    public async Task<DBusReply> CallAsync(DBusMethodCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        if (_connection is null)
        {
            string address = _address ?? DBusAddress.System ?? throw new DBusConnectFailedException("no system bus address");
            var connection = new DBusConnection(address);
            try
            {
                await connection.ConnectAsync().AsTask().WaitAsync(CallTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                connection.Dispose();
                throw;
            }
            _connection = connection;
        }
        MessageBuffer message;
        using (MessageWriter writer = _connection.GetMessageWriter())
        {
            writer.WriteMethodCallHeader(call.Destination, call.Path, call.Interface, call.Member, call.Signature, MessageFlags.None);
            foreach (string a in call.Arguments)
                writer.WriteString(a);
            message = writer.CreateMessage();
        }
        try
        {
            object? value = await _connection.CallMethodAsync(message, static (Message m, object? _) => ReadFirstValue(m), null)
                .WaitAsync(CallTimeout, cancellationToken).ConfigureAwait(false);
            return new DBusReply(value);
        }
        catch (DBusErrorReplyException e)
        {
            return DBusReply.Error(e.ErrorName, e.ErrorMessage);
        }
    }

    private static object? ReadFirstValue(Message m)
    {
        string signature = m.SignatureAsString ?? "";
        Reader reader = m.GetBodyReader();
        return signature.Length == 0 ? null
            : signature[0] == 's' ? reader.ReadString()
            : signature[0] == 'b' ? reader.ReadBool()
            : null;
    }

    /// <inheritdoc/>
    public void Dispose() => _connection?.Dispose();
}

/// <summary>
/// The firewalld backend: each container address (as a host prefix) becomes a source of the configured zone, through
/// firewalld's D-Bus API, exactly the calls the reference makes.
/// </summary>
public sealed class FirewalldBackend
{
    /// <summary>The bus daemon's name (and interface).</summary>
    public const string BusName = "org.freedesktop.DBus";

    /// <summary>The bus daemon's object path.</summary>
    public const string BusPath = "/org/freedesktop/DBus";

    /// <summary>firewalld's bus name.</summary>
    public const string FirewalldName = "org.fedoraproject.FirewallD1";

    /// <summary>firewalld's object path.</summary>
    public const string FirewalldPath = "/org/fedoraproject/FirewallD1";

    /// <summary>The interface of the zone methods.</summary>
    public const string ZoneInterface = "org.fedoraproject.FirewallD1.zone";

    private readonly IDBusCaller _bus;

    /// <summary>Creates the backend on <paramref name="bus"/>.</summary>
    public FirewalldBackend(IDBusCaller bus) => _bus = bus ?? throw new ArgumentNullException(nameof(bus));

    /// <summary>The call asking the bus who owns firewalld's name (an error reply when nobody does).</summary>
    public static DBusMethodCall NameOwnerCall() => new(BusName, BusPath, BusName, "GetNameOwner", [FirewalldName]);

    /// <summary>A zone method call (<c>addSource</c>, <c>removeSource</c>, <c>querySource</c>).</summary>
    public static DBusMethodCall ZoneCall(string method, string zone, string source) => new(FirewalldName, FirewalldPath, ZoneInterface, method, [zone, source]);

    /// <summary>True when firewalld owns its name on the bus; false when the bus cannot be reached or nobody owns it.</summary>
    public static async Task<bool> IsRunningAsync(IDBusCaller bus, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(bus);
        try
        {
            DBusReply reply = await bus.CallAsync(NameOwnerCall(), ct).ConfigureAwait(false);
            return !reply.IsError;
        }
        catch (Exception e) when (e is DBusExceptionBase or IOException or TimeoutException or System.Net.Sockets.SocketException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static IEnumerable<string> Sources(CniResult result) => result.Ips.Select(ip => IptablesRules.HostPrefix(ip.Address.Address));

    /// <summary>ADD: puts each address in the zone (already there is fine), each registered for rollback.</summary>
    public async Task AddAsync(FirewallSettings settings, CniResult result, AddTransaction tx, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(tx);
        foreach (string source in Sources(result))
        {
            DBusReply reply = await Call(ZoneCall("addSource", settings.Zone, source), ct).ConfigureAwait(false);
            if (reply.IsError)
            {
                if ((reply.ErrorName + " " + reply.ErrorMessage).Contains("ZONE_ALREADY_SET", StringComparison.Ordinal))
                    continue;
                throw new CniException(CniErrorCode.Internal, $"failed to add the address {source} to {settings.Zone} zone: {reply.ErrorName}: {reply.ErrorMessage}");
            }
            string added = source;
            tx.OnRollback($"firewalld removeSource {settings.Zone} {added}", () => Call(ZoneCall("removeSource", settings.Zone, added), CancellationToken.None));
        }
    }

    /// <summary>DEL: takes each address out of the zone; errors (not there, firewalld gone) are ignored, as the reference does.</summary>
    public async Task DelAsync(FirewallSettings settings, CniResult result, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(settings);
        foreach (string source in Sources(result))
        {
            try
            {
                await Call(ZoneCall("removeSource", settings.Zone, source), ct).ConfigureAwait(false);
            }
            catch (CniException)
            {
                // firewalld unreachable: nothing of ours can be removed, and DEL must not fail for it
            }
        }
    }

    /// <summary>CHECK: each address must be a source of the zone.</summary>
    public async Task CheckAsync(FirewallSettings settings, CniResult result, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(settings);
        foreach (string source in Sources(result))
        {
            DBusReply reply = await Call(ZoneCall("querySource", settings.Zone, source), ct).ConfigureAwait(false);
            if (reply.IsError || reply.Value is not true)
                throw new CniException(CniErrorCode.Internal, $"failed to find the address {source} in {settings.Zone} zone" + (reply.IsError ? $": {reply.ErrorName}: {reply.ErrorMessage}" : ""));
        }
    }

    private async Task<DBusReply> Call(DBusMethodCall call, CancellationToken ct)
    {
        try
        {
            return await _bus.CallAsync(call, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is DBusExceptionBase or IOException or TimeoutException or System.Net.Sockets.SocketException or UnauthorizedAccessException)
        {
            throw new CniException(CniErrorCode.Internal, $"firewalld: {call.Member} failed: {e.Message}");
        }
    }
}
