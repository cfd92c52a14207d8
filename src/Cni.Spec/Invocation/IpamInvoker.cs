using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Cni.Spec;

/// <summary>
/// IPAM delegation for one plugin: runs <c>ipam.type</c> from <c>CNI_PATH</c> with the same stdin and the same
/// <c>CNI_*</c> variables as the calling plugin received, only <c>CNI_COMMAND</c> changed. A plugin receives its
/// invoker through its constructor; <see cref="Default"/> always starts the IPAM plugin as a process.
/// </summary>
/// <remarks>
/// <para>An executable that holds several plugins (one binary that each CNI type links to) passes a
/// <c>sameExecutable</c> lookup: when the file that <c>CNI_PATH</c> resolves the IPAM type to is this very executable
/// (same device and inode as <c>/proc/self/exe</c>, through any links), the IPAM plugin runs in this process instead of
/// a new one. The contract does not change: it sees the same variables and stdin, and its stdout and exit code are
/// read exactly as a child's would be, so results and errors are byte for byte those of the exec path. Any other file
/// of that name (the Go plugin, a wrapper script) is executed as the spec says.</para>
/// <para>Every failure, also a missing <c>ipam.type</c> or a plugin not found on <c>CNI_PATH</c>, is reported through the
/// returned task, so a caller can start the IPAM plugin and do its own work before awaiting it.</para>
/// </remarks>
public sealed class IpamInvoker
{
    private readonly PluginExecutor _executor;
    private readonly Func<string, ICniPlugin?>? _sameExecutable;
    private readonly string _selfPath;
    private (ulong Device, ulong Inode)? _self;

    /// <summary>An invoker that always executes the IPAM plugin as a process, with <see cref="PluginExecutor.Default"/>.</summary>
    public static IpamInvoker Default { get; } = new();

    /// <summary>Creates an invoker.</summary>
    /// <param name="executor">Runs IPAM plugins as processes (<see cref="PluginExecutor.Default"/> when null).</param>
    /// <param name="sameExecutable">The plugin this executable runs for a CNI type, or null for a type it does not hold;
    /// consulted only when <c>CNI_PATH</c> resolves the IPAM type to this executable. Null: always execute.</param>
    /// <param name="selfPath">The file that counts as this executable (<c>/proc/self/exe</c>; tests name another).</param>
    public IpamInvoker(PluginExecutor? executor = null, Func<string, ICniPlugin?>? sameExecutable = null, string selfPath = "/proc/self/exe")
    {
        ArgumentException.ThrowIfNullOrEmpty(selfPath);
        _executor = executor ?? PluginExecutor.Default;
        _sameExecutable = sameExecutable;
        _selfPath = selfPath;
    }

    /// <summary>Delegates ADD and returns the IPAM plugin's result in the model.</summary>
    public async Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken = default)
    {
        (byte[] stdout, string path) = await RunAsync(request, CniCommand.Add, cancellationToken).ConfigureAwait(false);
        return CniResultSerializer.Parse(stdout, version: null, what: $"result of {System.IO.Path.GetFileName(path)}");
    }

    /// <summary>Delegates DEL.</summary>
    public Task DelAsync(CniRequest request, CancellationToken cancellationToken = default) => RunAsync(request, CniCommand.Del, cancellationToken);

    /// <summary>Delegates CHECK.</summary>
    public Task CheckAsync(CniRequest request, CancellationToken cancellationToken = default) => RunAsync(request, CniCommand.Check, cancellationToken);

    /// <summary>Delegates GC.</summary>
    public Task GcAsync(CniRequest request, CancellationToken cancellationToken = default) => RunAsync(request, CniCommand.Gc, cancellationToken);

    /// <summary>Delegates STATUS.</summary>
    public Task StatusAsync(CniRequest request, CancellationToken cancellationToken = default) => RunAsync(request, CniCommand.Status, cancellationToken);

    /// <summary>Runs the IPAM plugin for <paramref name="command"/>; returns its stdout and the path it was found at.</summary>
    internal async Task<(byte[] Stdout, string Path)> RunAsync(CniRequest request, CniCommand command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!Ipam.IsConfigured(request))
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "missing IPAM plugin type (ipam.type)");
        string type = request.Config.Ipam!.Type!;
        string path = PluginExecutor.FindInPath(type, request.Path);
        var environment = new List<KeyValuePair<string, string?>>(CniEnvironmentVariables.All.Count)
        {
            new(CniEnvironmentVariables.Command, command.ToWireName()),
        };
        foreach (string name in CniEnvironmentVariables.All)
        {
            if (name != CniEnvironmentVariables.Command)
                environment.Add(new(name, request.Environment.GetVariable(name)));
        }

        if (_sameExecutable?.Invoke(type) is { } plugin && IsThisExecutable(path))
            return (await RunInProcessAsync(plugin, path, command, environment, request.RawConfig, cancellationToken).ConfigureAwait(false), path);
        return (await _executor.ExecAsync(path, environment, request.RawConfig, cancellationToken).ConfigureAwait(false), path);
    }

    /// <summary>
    /// Runs <paramref name="plugin"/> through the plugin host as the executable would run as <paramref name="path"/>
    /// (for ADD and DEL on a thread of its own, the caller going on meanwhile as it does while a child runs), and reads
    /// its stdout and exit code as <see cref="PluginExecutor.ExecAsync"/> reads a child's.
    /// </summary>
    private async Task<byte[]> RunInProcessAsync(ICniPlugin plugin, string path, CniCommand command, List<KeyValuePair<string, string?>> variables,
        ReadOnlyMemory<byte> stdin, CancellationToken cancellationToken)
    {
        var environment = new DelegatedEnvironment(variables, stdin, _executor.Stderr);
        // ADD and DEL overlap the IPAM's file work (host-local syncs its reservation) with the caller's link work.
        // CHECK, GC and STATUS have nothing to overlap, and a thread's start is a cost of its own (the starting thread
        // yields until the new one runs): they run here.
        int exitCode = command is CniCommand.Add or CniCommand.Del
            ? await ChildProcess.OnDedicatedThread(
                () => CniPluginHost.RunAsync(plugin, environment, cancellationToken).GetAwaiter().GetResult(),
                "plugin " + System.IO.Path.GetFileName(path)).ConfigureAwait(false)
            : await CniPluginHost.RunAsync(plugin, environment, cancellationToken).ConfigureAwait(false);
        byte[] stdout = environment.StdoutBytes;
        if (exitCode != 0)
            throw PluginExecutor.PluginError(path, $"exit {exitCode}", stdout, []);
        return stdout;
    }

    /// <summary>Whether <paramref name="path"/> is, through any links, the file this process runs.</summary>
    private bool IsThisExecutable(string path)
    {
        _self ??= Identity(_selfPath);
        return _self is { } self && Identity(path) == self;
    }

    private static unsafe (ulong Device, ulong Inode)? Identity(string path)
    {
        int length = Encoding.UTF8.GetByteCount(path);
        byte* name = stackalloc byte[length + 1];
        Encoding.UTF8.GetBytes(path, new Span<byte>(name, length));
        name[length] = 0;
        stat st;
        return LibC.stat(name, &st) == 0 ? ((ulong)st.st_dev, (ulong)st.st_ino) : null;
    }

    /// <summary>The environment an IPAM plugin run in-process sees: the <c>CNI_*</c> it would have been started with
    /// (a null value is unset), everything else from this process; stdout kept for reading, stderr passed through
    /// (to descriptor 2 when <paramref name="stderr"/> is null, as <see cref="SystemCniEnvironment"/> writes it: the
    /// plugin host flushes stderr after every run, and setting up <see cref="Console.Error"/> for that would cost a
    /// plugin run that logs nothing its console initialisation).</summary>
    private sealed class DelegatedEnvironment(List<KeyValuePair<string, string?>> variables, ReadOnlyMemory<byte> stdin, TextWriter? stderr) : ICniEnvironment
    {
        private readonly MemoryStream _stdout = new();
        private StreamWriter? _stdoutWriter;

        public string? GetVariable(string name)
        {
            foreach ((string key, string? value) in variables)
            {
                if (key == name)
                    return value;
            }
            return Environment.GetEnvironmentVariable(name);
        }

        public Stream Stdin { get; } = new MemoryStream(stdin.ToArray(), writable: false);

        public TextWriter Stdout => _stdoutWriter ??= new StreamWriter(_stdout, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 1024);

        private TextWriter? _ownStderr;

        public TextWriter Stderr => stderr ?? (_ownStderr ??= new SystemCniEnvironment().Stderr);

        public byte[] StdoutBytes
        {
            get
            {
                _stdoutWriter?.Flush();
                return _stdout.ToArray();
            }
        }
    }
}
