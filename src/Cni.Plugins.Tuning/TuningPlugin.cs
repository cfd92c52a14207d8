using System.Net.NetworkInformation;
using System.Text.Json;
using System.Text.RegularExpressions;
using Cni.Netlink;
using Cni.Plugins.Common;
using Cni.Spec;

namespace Cni.Plugins.Tuning;

/// <summary>One <c>sysctl</c> entry, validated.</summary>
/// <param name="Key">The key as configured (messages, allowlist).</param>
/// <param name="Path">The path below <c>/proc/sys</c> with <c>IFNAME</c> replaced (see <see cref="SysctlKeys.Resolve"/>).</param>
/// <param name="Value">The value to write.</param>
public sealed record SysctlEntry(string Key, string Path, string Value);

/// <summary>A validated tuning configuration: every source merged as the reference merges them.</summary>
/// <param name="DataDir">Where the original interface settings are saved.</param>
/// <param name="Sysctls">The kernel parameters to write, in configuration order.</param>
/// <param name="Mac">The MAC to set; null leaves it.</param>
/// <param name="Promisc">True switches promiscuous mode on.</param>
/// <param name="Mtu">The MTU; 0 leaves it.</param>
/// <param name="TxQLen">The transmit queue length; null leaves it.</param>
/// <param name="Allmulti">All-multicast on or off; null leaves it.</param>
public sealed record TuningSettings(string DataDir, IReadOnlyList<SysctlEntry> Sysctls, PhysicalAddress? Mac, bool Promisc, int Mtu, int? TxQLen, bool? Allmulti)
{
    /// <summary>True when an interface setting (not only sysctls) is configured: the interface must exist and its
    /// original settings are saved.</summary>
    public bool ChangesLink => Mac is not null || Promisc || Mtu != 0 || TxQLen is not null || Allmulti is not null;
}

/// <summary>
/// The <c>tuning</c> CNI meta plugin (chained after an interface plugin): writes <c>net.*</c> sysctls of the container's
/// namespace and changes the interface's MAC, MTU, promiscuous and all-multicast modes and transmit queue length.
/// The original interface settings are saved in <c>dataDir</c> (the reference's file name and format) and restored by
/// DEL. ADD is a transaction: a failure restores every sysctl and interface setting it changed and its saved file.
/// CHECK compares the live values with the configuration, as the reference.
/// </summary>
public class TuningPlugin : CniPlugin
{
    /// <summary>The reference's default <c>dataDir</c>.</summary>
    public const string DefaultDataDir = "/run/cni/tuning";

    /// <summary>The reference's sysctl allowlist: when the file exists, each line is a regular expression and every
    /// configured sysctl key must match one of them.</summary>
    public const string DefaultAllowlistPath = "/etc/cni/tuning/allowlist.conf";

    private readonly string _allowlistPath;
    private readonly string _defaultDataDir;

    /// <summary>Creates the plugin.</summary>
    /// <param name="allowlistPath">The sysctl allowlist file (<see cref="DefaultAllowlistPath"/> when null).</param>
    /// <param name="defaultDataDir">The data directory when the configuration has no <c>dataDir</c> (<see cref="DefaultDataDir"/> when null).</param>
    public TuningPlugin(string? allowlistPath = null, string? defaultDataDir = null)
    {
        _allowlistPath = allowlistPath ?? DefaultAllowlistPath;
        _defaultDataDir = defaultDataDir ?? DefaultDataDir;
    }

    /// <inheritdoc/>
    public override PluginInfo Info { get; } = new()
    {
        About = "CNI tuning plugin (Cni.NET)",
        ArgsKeys = [MacAddressArgs.CniArgsKey],
    };

    // =====================================================================================================
    // Configuration
    // =====================================================================================================

    /// <summary>
    /// Reads and validates the configuration of <paramref name="request"/>. The MAC comes from, later ones winning,
    /// <c>mac</c>, <c>CNI_ARGS</c> <c>MAC</c>, <c>runtimeConfig.mac</c> and <c>args.cni.mac</c>; <c>args.cni</c>'s
    /// other keys override theirs and its <c>sysctl</c> entries are merged over <c>sysctl</c> (the reference's order).
    /// With <paramref name="validate"/> false (DEL) only the JSON is decoded and <c>dataDir</c> read.
    /// </summary>
    /// <exception cref="CniException">Decoding failure (6) or invalid configuration (7), naming the field.</exception>
    public TuningSettings LoadConf(CniRequest request, bool validate = true)
    {
        ArgumentNullException.ThrowIfNull(request);
        TuningConfig o = TuningConfigReader.Read(request.RawConfig.Span);
        string dataDir = string.IsNullOrEmpty(o.DataDir) ? _defaultDataDir : o.DataDir;
        if (dataDir.Contains('\0'))
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "invalid dataDir (dataDir): it contains a NUL character");
        if (!validate)
            return new TuningSettings(dataDir, [], null, false, 0, null, null);

        RejectDuplicateSysctlKeys(request.ReceivedConfig.Span);
        TuningArgs? a = o.Args?.Cni;

        // The MAC, in the reference's order of precedence.
        (string Source, string? Text) mac = ("mac", o.Mac);
        if (request.Args.Get(MacAddressArgs.CniArgsKey) is { Length: > 0 } envMac)
            mac = ("CNI_ARGS MAC", envMac);
        if (o.RuntimeConfig?.Mac is { Length: > 0 } rcMac)
            mac = ("runtimeConfig.mac", rcMac);
        if (a?.Mac is { } argsMac)
            mac = ("args.cni.mac", argsMac);
        PhysicalAddress? address = string.IsNullOrEmpty(mac.Text) ? null : MacAddressArgs.Parse(mac.Text, mac.Source);

        bool promisc = a?.Promisc ?? o.Promisc;
        (int mtu, string mtuSource) = a?.Mtu is int argsMtu ? (argsMtu, "args.cni.mtu") : (o.Mtu, "mtu");
        // The upper bound is the device's (lo takes 65536, most links 65535): the kernel says, and ADD rolls back.
        if (mtu < 0)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid MTU {mtu} ({mtuSource}): must not be negative, 0 leaves the MTU as it is");
        (int? txQLen, string txSource) = a?.TxQLen is int argsTx ? (argsTx, "args.cni.txQLen") : (o.TxQLen, "txQLen");
        if (txQLen < 0)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid transmit queue length {txQLen} ({txSource}): must not be negative");
        bool? allmulti = a?.Allmulti ?? o.Allmulti;

        // sysctl, with args.cni.sysctl merged over it; keys resolved and checked before anything changes.
        var merged = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, string> kv in o.Sysctl ?? [])
            merged[kv.Key] = kv.Value ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, $"sysctl \"{kv.Key}\" has no value (sysctl)");
        foreach (KeyValuePair<string, string> kv in a?.Sysctl ?? [])
            merged[kv.Key] = kv.Value ?? throw new CniException(CniErrorCode.InvalidNetworkConfig, $"sysctl \"{kv.Key}\" has no value (args.cni.sysctl)");
        CheckAllowlist(merged.Keys);
        var sysctls = new List<SysctlEntry>(merged.Count);
        foreach ((string key, string value) in merged)
            sysctls.Add(new SysctlEntry(key, SysctlKeys.Resolve(key, request.IfName), value));

        return new TuningSettings(dataDir, sysctls, address, promisc, mtu, txQLen, allmulti);
    }

    /// <summary>
    /// Refuses a top-level <c>sysctl</c> object that names a key twice (the reference refuses it too: a JSON decoder
    /// would silently keep only the last value).
    /// </summary>
    internal static void RejectDuplicateSysctlKeys(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                return;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isSysctl = string.Equals(reader.GetString(), "sysctl", StringComparison.OrdinalIgnoreCase);
                reader.Read();
                if (isSysctl && reader.TokenType == JsonTokenType.StartObject)
                {
                    var seen = new HashSet<string>(StringComparer.Ordinal);
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        string key = reader.GetString()!;
                        if (!seen.Add(key))
                            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"duplicated sysctl keys are not allowed: \"{key}\" (sysctl)");
                        reader.Skip();
                    }
                }
                else
                {
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            // Malformed JSON is reported by the options decoder, with its path.
        }
    }

    /// <summary>With an allowlist file, every key must match one of its regular expressions (unanchored, as Go's regexp.MatchString).</summary>
    private void CheckAllowlist(IEnumerable<string> keys)
    {
        string text;
        try
        {
            if (!File.Exists(_allowlistPath))
                return;
            text = File.ReadAllText(_allowlistPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CniException(CniErrorCode.IoFailure, $"failed to read the sysctl allowlist {_allowlistPath}: {ex.Message}");
        }
        string[] patterns = text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        var regexes = new List<Regex>(patterns.Length);
        foreach (string p in patterns)
        {
            try
            {
                // The backtracking interpreter, bounded by a timeout (Go's RE2 is linear; the non-backtracking engine
                // would be too, but adds ~460 KB to the executable for a file few nodes have).
                regexes.Add(new Regex(p, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)));
            }
            catch (ArgumentException ex)
            {
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid regular expression \"{p}\" in the sysctl allowlist {_allowlistPath}: {ex.Message}");
            }
        }
        foreach (string key in keys)
        {
            bool allowed;
            try
            {
                allowed = regexes.Any(r => r.IsMatch(key));
            }
            catch (RegexMatchTimeoutException ex)
            {
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"the sysctl allowlist {_allowlistPath} took too long to match \"{key}\" (sysctl): pattern \"{ex.Pattern}\"");
            }
            if (!allowed)
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"Sysctl {key} is not allowed (sysctl). Only the following sysctls are allowed: [{string.Join(' ', patterns)}]");
        }
    }

    // =====================================================================================================
    // ADD
    // =====================================================================================================

    /// <inheritdoc/>
    public override async Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
    {
        TuningSettings conf = LoadConf(request);
        CniResult prev = InterfaceChecks.RequirePrevResult(request);
        using ContainerNamespace container = ContainerNamespace.Open(request.NetNs);
        RtNetlink? netlink = null;
        try
        {
            await using var tx = new AddTransaction(request.Environment.Stderr);

            // One visit to the namespace (each is a thread start): the sysctls are written there and, when the interface
            // is to be changed, the rtnetlink socket is opened there too.
            netlink = EnterAndWriteSysctls(container, conf.Sysctls, conf.ChangesLink, tx);

            CniResult result = prev;
            if (netlink is { } nl)
            {
                Link link = FindLink(nl, request.IfName);
                SavedLinkState original = Snapshot(link, conf);
                SaveState(conf.DataDir, request, original, tx);
                tx.OnRollback($"restore the settings of {request.IfName}", () =>
                {
                    if (nl.FindLink(link.Index) is not null)
                        RestoreLink(nl, link.Index, original);
                });
                ApplyLink(nl, link.Index, request.IfName, conf);

                if (conf.Mac is not null)
                {
                    // The result's interface takes the new MAC (the host prints the copy in the configuration's version).
                    result = prev.Clone();
                    string mac = InterfaceChecks.FormatMac(conf.Mac);
                    foreach (CniInterface i in result.Interfaces)
                    {
                        if (i.Name == request.IfName)
                            i.Mac = mac;
                    }
                }
            }
            tx.Commit();
            return result;
        }
        finally
        {
            // Only now: the transaction above restores the interface through this socket when it rolls back.
            netlink?.Dispose();
        }
    }

    /// <summary>
    /// Writes the sysctls in one visit to the namespace, registering the restore of each old value, and opens the
    /// namespace's rtnetlink socket in the same visit when <paramref name="openNetlink"/> (returned; null otherwise).
    /// </summary>
    private static RtNetlink? EnterAndWriteSysctls(ContainerNamespace container, IReadOnlyList<SysctlEntry> sysctls, bool openNetlink, AddTransaction tx)
    {
        if (sysctls.Count == 0 && !openNetlink)
            return null;
        var written = new List<(SysctlEntry Entry, string Old)>();
        try
        {
            return container.Handle.Run(() =>
            {
                RtNetlink? netlink = openNetlink ? RtNetlink.Open() : null;
                try
                {
                    WriteAll();
                }
                catch
                {
                    netlink?.Dispose();
                    throw;
                }
                return netlink;
            });
        }
        catch (NetlinkException ex)
        {
            throw new CniException(CniErrorCode.IoFailure, $"failed to enter netns \"{container.Path}\": {ex.Message}");
        }
        finally
        {
            if (written.Count > 0)
            {
                tx.OnRollback("restore the sysctls", () => container.Handle.Run(() =>
                {
                    for (int i = written.Count - 1; i >= 0; i--)
                        Sysctl.Set(written[i].Entry.Path, written[i].Old);
                }));
            }
        }

        void WriteAll()
        {
            foreach (SysctlEntry e in sysctls)
            {
                string? old;
                try
                {
                    old = Sysctl.Get(e.Path);
                }
                catch (NetlinkException ex) when (ex.IsNotFound)
                {
                    throw new CniException(CniErrorCode.Internal, $"failed to set sysctl \"{e.Key}\" (sysctl): {SysctlKeys.FilePath(e.Path)} does not exist in the container's namespace");
                }
                catch (NetlinkException)
                {
                    old = null; // write-only parameters (e.g. route flush): nothing to restore
                }
                try
                {
                    Sysctl.Set(e.Path, e.Value);
                }
                catch (NetlinkException ex)
                {
                    throw new CniException(CniErrorCode.Internal, $"failed to set sysctl \"{e.Key}\" (sysctl) to \"{e.Value}\": {ex.Message}");
                }
                if (old is not null)
                    written.Add((e, old));
            }
        }
    }

    /// <summary>The original values of exactly the settings <paramref name="conf"/> changes.</summary>
    internal static SavedLinkState Snapshot(Link link, TuningSettings conf) => new()
    {
        Mac = conf.Mac is null ? null : InterfaceChecks.FormatMac(link.MacAddress),
        Promisc = conf.Promisc ? link.IsPromiscuous : null,
        Mtu = conf.Mtu != 0 ? link.Mtu : 0,
        Allmulti = conf.Allmulti is null ? null : (link.Flags & LinkFlags.AllMulticast) != 0,
        TxQLen = conf.TxQLen is null ? null : link.TxQueueLength,
    };

    /// <summary>Writes the saved state (atomically, mode 0600; merged over a file an earlier ADD of the same attachment
    /// left) and registers putting back whatever file was there.</summary>
    private static void SaveState(string dataDir, CniRequest request, SavedLinkState state, AddTransaction tx)
    {
        if (OperatingSystem.IsWindows())
            throw new PlatformNotSupportedException();
        string path = Path.Combine(dataDir, SavedLinkState.FileName(request.ContainerId, request.IfName));
        byte[]? previous = null;
        try
        {
            Directory.CreateDirectory(dataDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            if (File.Exists(path))
                previous = File.ReadAllBytes(path);
            // A repeated ADD (a runtime retrying) finds the settings already changed: what the earlier ADD saved are
            // the true originals, and DEL must put those back.
            if (previous is not null && SavedLinkState.TryParse(previous) is { } earlier)
                state = state.WithOriginalsFrom(earlier);
            WriteAtomically(path, state.ToJson());
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CniException(CniErrorCode.IoFailure, $"failed to save the original settings of {request.IfName} to {path} (dataDir): {ex.Message}");
        }
        tx.OnRollback($"remove {path}", () =>
        {
            if (previous is null)
                File.Delete(path);
            else
                WriteAtomically(path, previous);
        });
    }

    private static void WriteAtomically(string path, byte[] bytes)
    {
        if (OperatingSystem.IsWindows())
            throw new PlatformNotSupportedException();
        string tmp = $"{path}.{Environment.ProcessId}.tmp";
        try
        {
            using (var f = new FileStream(tmp, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
            {
                // No fsync: the file lives in /run (tmpfs) by default, and after a crash of the node the namespaces
                // whose settings it holds are gone too; the rename keeps readers from ever seeing half a file.
                f.Write(bytes);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
    }

    /// <summary>Applies the interface settings in the reference's order: MAC, promiscuous mode, MTU, all-multicast, queue length.</summary>
    private static void ApplyLink(RtNetlink netlink, int index, string ifName, TuningSettings conf)
    {
        void Do(string what, string field, Action change)
        {
            try
            {
                change();
            }
            catch (NetlinkException ex)
            {
                throw new CniException(CniErrorCode.Internal, $"failed to set the {what} of \"{ifName}\" ({field}): {ex.Message}");
            }
        }
        if (conf.Mac is { } mac)
            Do("MAC address", "mac", () => netlink.SetMacAddress(index, mac));
        if (conf.Promisc)
            Do("promiscuous mode", "promisc", () => netlink.SetPromiscuous(index, true));
        if (conf.Mtu != 0)
            Do("MTU", "mtu", () => netlink.SetMtu(index, conf.Mtu));
        if (conf.Allmulti is bool allmulti)
            Do("all-multicast mode", "allmulti", () => netlink.SetAllMulticast(index, allmulti));
        if (conf.TxQLen is int txQLen)
            Do("transmit queue length", "txQLen", () => netlink.SetTxQueueLength(index, txQLen));
    }

    /// <summary>Puts back every setting <paramref name="state"/> holds (the reference's order: MTU, MAC, promiscuous,
    /// all-multicast, queue length); returns what failed, empty when all went back.</summary>
    internal static List<string> RestoreLink(RtNetlink netlink, int index, SavedLinkState state)
    {
        var errors = new List<string>();
        void Do(string what, Action change)
        {
            try
            {
                change();
            }
            catch (Exception ex) when (ex is NetlinkException or FormatException)
            {
                errors.Add($"failed to restore {what}: {ex.Message}");
            }
        }
        if (state.Mtu != 0)
            Do("MTU", () => netlink.SetMtu(index, state.Mtu));
        if (!string.IsNullOrEmpty(state.Mac))
        {
            Do("MAC address", () =>
            {
                if (!MacAddressArgs.TryParse(state.Mac, out PhysicalAddress? mac))
                    throw new FormatException($"invalid MAC \"{state.Mac}\" in the saved state");
                netlink.SetMacAddress(index, mac);
            });
        }
        if (state.Promisc is bool promisc)
            Do("promiscuous mode", () => netlink.SetPromiscuous(index, promisc));
        if (state.Allmulti is bool allmulti)
            Do("all-multicast mode", () => netlink.SetAllMulticast(index, allmulti));
        if (state.TxQLen is int txQLen)
            Do("transmit queue length", () => netlink.SetTxQueueLength(index, txQLen));
        return errors;
    }

    private static Link FindLink(RtNetlink netlink, string ifName)
    {
        try
        {
            return netlink.FindLink(ifName)
                ?? throw new CniException(CniErrorCode.Internal, $"failed to get \"{ifName}\": no such interface in the container (CNI_IFNAME)");
        }
        catch (NetlinkException ex)
        {
            throw new CniException(CniErrorCode.Internal, $"failed to get \"{ifName}\": {ex.Message}");
        }
    }

    // =====================================================================================================
    // DEL
    // =====================================================================================================

    /// <inheritdoc/>
    /// <remarks>
    /// Restores the saved interface settings and removes the file. Best effort, as the reference: no file, a namespace or
    /// interface that is gone are success (the file is removed: nothing is left to restore it on); an empty
    /// <c>CNI_NETNS</c> keeps the file for a later DEL that names the namespace; a setting that cannot be restored is
    /// logged to stderr and the file kept. Sysctls are not restored (the reference saves none).
    /// </remarks>
    public override Task DelAsync(CniRequest request, CancellationToken cancellationToken)
    {
        TuningSettings conf = LoadConf(request, validate: false);
        TextWriter log = request.Environment.Stderr;
        string path = Path.Combine(conf.DataDir, SavedLinkState.FileName(request.ContainerId, request.IfName));
        byte[] bytes;
        try
        {
            if (!File.Exists(path))
                return Task.CompletedTask;
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            log.WriteLine($"tuning: cannot read {path}: {ex.Message}");
            return Task.CompletedTask;
        }
        if (SavedLinkState.TryParse(bytes) is not { } state)
        {
            log.WriteLine($"tuning: {path} holds no saved settings; removing it");
            TryDelete(path, log);
            return Task.CompletedTask;
        }
        if (string.IsNullOrEmpty(request.NetNs))
            return Task.CompletedTask;

        using ContainerNamespace? container = ContainerNamespace.TryOpen(request.NetNs);
        RtNetlink? netlink = container?.TryConnect();
        if (netlink?.FindLink(request.IfName) is not { } link)
        {
            TryDelete(path, log);
            return Task.CompletedTask;
        }
        List<string> errors = RestoreLink(netlink, link.Index, state);
        if (errors.Count > 0)
        {
            log.WriteLine($"tuning: {request.IfName}: {string.Join("; ", errors)}; keeping {path}");
            return Task.CompletedTask;
        }
        TryDelete(path, log);
        return Task.CompletedTask;
    }

    private static void TryDelete(string path, TextWriter log)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            log.WriteLine($"tuning: cannot remove {path}: {ex.Message}");
        }
    }

    // =====================================================================================================
    // CHECK
    // =====================================================================================================

    /// <inheritdoc/>
    /// <remarks>
    /// As the reference: every sysctl must hold its configured value (compared with runs of white space as one space,
    /// since the kernel prints some vectors with tabs; <c>IFNAME</c> replaced, which the reference forgets here), the
    /// interface must exist with the configured MAC, MTU, all-multicast mode and queue length, and promiscuous mode must
    /// be on exactly when <c>promisc</c> is true.
    /// </remarks>
    public override Task CheckAsync(CniRequest request, CancellationToken cancellationToken)
    {
        TuningSettings conf = LoadConf(request);
        InterfaceChecks.RequirePrevResult(request);
        using ContainerNamespace container = ContainerNamespace.Open(request.NetNs);

        // One visit to the namespace: the sysctls are read and the rtnetlink socket is opened there.
        string[] live;
        RtNetlink netlink;
        try
        {
            (netlink, live) = container.Handle.Run(() =>
            {
                RtNetlink opened = RtNetlink.Open();
                try
                {
                    return (opened, conf.Sysctls.Select(e =>
                    {
                        try
                        {
                            return Sysctl.Get(e.Path);
                        }
                        catch (NetlinkException ex)
                        {
                            throw new CniException(CniErrorCode.Internal, $"failed to read sysctl \"{e.Key}\" (sysctl): {ex.Message}");
                        }
                    }).ToArray());
                }
                catch
                {
                    opened.Dispose();
                    throw;
                }
            });
        }
        catch (NetlinkException ex)
        {
            throw new CniException(CniErrorCode.IoFailure, $"failed to enter netns \"{container.Path}\": {ex.Message}");
        }
        using RtNetlink owned = netlink;
        for (int i = 0; i < live.Length; i++)
        {
            SysctlEntry e = conf.Sysctls[i];
            if (NormalizeWhitespace(live[i]) != NormalizeWhitespace(e.Value))
                throw new CniException(CniErrorCode.Internal, $"Error: Tuning configured value of {SysctlKeys.FilePath(e.Path)} is {e.Value}, current value is {live[i]}");
        }

        Link link = netlink.FindLink(request.IfName)
            ?? throw new CniException(CniErrorCode.Internal, $"Cannot find container link {request.IfName}");
        if (conf.Mac is { } mac && !mac.Equals(link.MacAddress))
            throw new CniException(CniErrorCode.Internal, $"Error: Tuning configured Ethernet of {request.IfName} is {InterfaceChecks.FormatMac(mac)}, current value is {InterfaceChecks.FormatMac(link.MacAddress)}");
        if (conf.Promisc != link.IsPromiscuous)
            throw new CniException(CniErrorCode.Internal, $"Error: Tuning link {request.IfName} configured promisc is {(conf.Promisc ? "true" : "false")}, current value is {(link.IsPromiscuous ? 1 : 0)}");
        if (conf.Mtu != 0 && conf.Mtu != link.Mtu)
            throw new CniException(CniErrorCode.Internal, $"Error: Tuning configured MTU of {request.IfName} is {conf.Mtu}, current value is {link.Mtu}");
        bool liveAllmulti = (link.Flags & LinkFlags.AllMulticast) != 0;
        if (conf.Allmulti is bool allmulti && allmulti != liveAllmulti)
            throw new CniException(CniErrorCode.Internal, $"Error: Tuning configured all-multicast mode of {request.IfName} is {(allmulti ? "true" : "false")}, current value is {(liveAllmulti ? "true" : "false")}");
        if (conf.TxQLen is int txQLen && txQLen != link.TxQueueLength)
            throw new CniException(CniErrorCode.Internal, $"Error: Tuning configured Transmit Queue Length of {request.IfName} is {txQLen}, current value is {link.TxQueueLength}");
        return Task.CompletedTask;
    }

    private static string NormalizeWhitespace(string s) =>
        string.Join(' ', s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
}
