using System.Globalization;
using System.Runtime.InteropServices;
using Cni.Plugins.Ipam.Dhcp.Client;

namespace Cni.Plugins.Ipam.Dhcp.Daemon;

/// <summary>
/// <c>dhcp daemon [-socketpath P] [-pidfile P] [-hostprefix P] [-broadcast] [-timeout D] [-resendmax D]
/// [-resendtimeout D]</c>: the reference's command line (Go flag syntax: <c>-name value</c>, <c>-name=value</c>, one or
/// two dashes; durations such as <c>10s</c>, <c>1m30s</c>, <c>500ms</c>). Runs until SIGTERM or SIGINT.
/// </summary>
public static class DhcpDaemonCommand
{
    /// <summary>The argument after the type name that starts the daemon instead of the plugin.</summary>
    public const string Argument = "daemon";

    private const string Usage = """
        usage: dhcp daemon [flags]
          -socketpath string     dhcp server socketpath (default "/run/cni/dhcp.sock")
          -pidfile string        optional path to write daemon PID to
          -hostprefix string     optional prefix to host root
          -broadcast             broadcast DHCP leases
          -timeout duration      optional dhcp client timeout duration (default 10s)
          -resendmax duration    optional dhcp client resend max duration (default 1m2s)
          -resendtimeout duration optional dhcp client resend timeout duration (default 3m28s)
        """;

    /// <summary>Parses <paramref name="args"/> (the flags after <c>daemon</c>); throws <see cref="ArgumentException"/>
    /// naming the flag that is wrong.</summary>
    public static DhcpDaemonOptions Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new DhcpDaemonOptions();
        var client = new DhcpClientOptions();
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (arg == "--")
            {
                if (i + 1 < args.Count)
                    throw new ArgumentException($"unexpected argument \"{args[i + 1]}\"");
                break;
            }
            if (!arg.StartsWith('-') || arg == "-")
                throw new ArgumentException($"unexpected argument \"{arg}\"");
            string name = arg.TrimStart('-');
            string? value = null;
            int eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }
            string Value()
            {
                if (value is not null)
                    return value;
                if (i + 1 >= args.Count)
                    throw new ArgumentException($"flag needs an argument: -{name}");
                return args[++i];
            }
            switch (name)
            {
                case "socketpath":
                    options = options with { SocketPath = Value() };
                    break;
                case "pidfile":
                    options = options with { PidFile = Value() is { Length: > 0 } p ? p : null };
                    break;
                case "hostprefix":
                    options = options with { HostPrefix = Value() };
                    break;
                case "broadcast":
                    client = client with { Broadcast = value is null || ParseBool(value, name) };
                    break;
                case "timeout":
                    client = client with { Timeout = ParseDuration(Value(), name) };
                    break;
                case "resendmax":
                    client = client with { ResendMax = ParseDuration(Value(), name) };
                    break;
                case "resendtimeout":
                    client = client with { ResendTimeout = ParseDuration(Value(), name) };
                    break;
                default:
                    throw new ArgumentException($"flag provided but not defined: -{name}");
            }
        }
        if (string.IsNullOrEmpty(options.SocketPath))
            options = options with { SocketPath = DhcpSettings.DefaultSocketPath };
        if (options.PidFile is { } pid && !Path.IsPathRooted(pid))
            throw new ArgumentException($"Error writing pidfile \"{pid}\": path not absolute");
        if (client.Timeout <= TimeSpan.Zero)
            throw new ArgumentException("invalid value for flag -timeout: must be positive");
        return options with { Client = client };
    }

    /// <summary>Runs the daemon with <paramref name="args"/> until SIGTERM/SIGINT; returns the exit code (2 for bad flags).</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(stderr);
        DhcpDaemonOptions options;
        try
        {
            options = Parse(args);
        }
        catch (ArgumentException e)
        {
            stderr.WriteLine(e.Message);
            stderr.WriteLine(Usage);
            return 2;
        }
        using var stop = new CancellationTokenSource();
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
        using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        object gate = new();
        void Log(string line)
        {
            lock (gate)
            {
                stderr.WriteLine($"{DateTime.Now:yyyy/MM/dd HH:mm:ss} {line}");
                stderr.Flush();
            }
        }
        await using var daemon = new DhcpDaemon(options, Log);
        try
        {
            await daemon.RunAsync(stop.Token).ConfigureAwait(false);
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Net.Sockets.SocketException or ArgumentException or InvalidOperationException)
        {
            Log(e.Message);
            return 1;
        }
    }

    private static bool ParseBool(string value, string name) => value switch
    {
        "1" or "t" or "T" or "true" or "TRUE" or "True" => true,
        "0" or "f" or "F" or "false" or "FALSE" or "False" => false,
        _ => throw new ArgumentException($"invalid boolean value \"{value}\" for -{name}"),
    };

    /// <summary>A Go duration: a sequence of numbers with units ns, us, µs, ms, s, m, h (e.g. <c>1m30s</c>, <c>1.5s</c>).</summary>
    public static TimeSpan ParseDuration(string text, string name = "duration")
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text == "0")
            return TimeSpan.Zero;
        string rest = text;
        bool negative = rest.StartsWith('-');
        if (negative || rest.StartsWith('+'))
            rest = rest[1..];
        if (rest.Length == 0)
            throw Bad();
        double ticks = 0;
        while (rest.Length > 0)
        {
            int n = 0;
            while (n < rest.Length && (char.IsAsciiDigit(rest[n]) || rest[n] == '.'))
                n++;
            if (n == 0 || !double.TryParse(rest[..n], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double number))
                throw Bad();
            rest = rest[n..];
            int u = 0;
            while (u < rest.Length && !char.IsAsciiDigit(rest[u]) && rest[u] != '.')
                u++;
            double unit = rest[..u] switch
            {
                "ns" => 0.01,
                "us" or "µs" or "μs" => 10,
                "ms" => TimeSpan.TicksPerMillisecond,
                "s" => TimeSpan.TicksPerSecond,
                "m" => TimeSpan.TicksPerMinute,
                "h" => TimeSpan.TicksPerHour,
                _ => throw Bad(),
            };
            rest = rest[u..];
            ticks += number * unit;
        }
        return TimeSpan.FromTicks((long)(negative ? -ticks : ticks));

        ArgumentException Bad() => new($"invalid value \"{text}\" for flag -{name}: invalid duration");
    }
}
