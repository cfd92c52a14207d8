using System.ComponentModel;
using System.Globalization;
using System.Text;
using Cni.Netlink;
using Cni.Spec;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Cni.Plugins.Common;

/// <summary>
/// Deletes a link and returns as soon as the kernel has taken it out of its namespace, instead of when the kernel
/// has also finished freeing it.
/// </summary>
/// <remarks>
/// <para>An <c>RTM_DELLINK</c> (what <c>ip link del</c> sends, and what the Go plugins send) takes the link out of the
/// namespace within a millisecond: its name and index are free, its addresses and routes gone, the peer of a veth
/// gone with it and the port left its bridge. The request then goes on waiting in the kernel for the deferred freeing
/// (<c>netdev_run_todo</c>: an RCU barrier, 10-40 ms per request on the machines we measured, and the largest part of
/// a DEL). Nothing observable changes during that wait, but a plugin has to exit for its runtime to go on.</para>
/// <para>So the request is sent by a helper: this same executable, started with <see cref="HelperArgument"/> and the
/// namespace as descriptor 3. We return once the link is gone (or the helper reported an error); the helper finishes
/// the kernel's wait on its own and exits. It holds none of our descriptors (in particular not the runtime's stdout
/// pipe, nor any descriptor the runtime gave us: a child gets descriptors 0-3 only), so the runtime does not wait for
/// it; it is reaped by whoever inherits it (init or a subreaper), like any orphan. A double fork would not change who
/// that is (the kernel hands an orphan to the nearest subreaper ancestor, else to init, however many forks deep), so
/// the helper is not used where nobody may reap it: when our parent is PID 1 (a runtime running as a container's
/// init), and when a runtime that is a subreaper and never reaps foreign children sets <see cref="DisableVariable"/>.
/// A helper that ends without its own error protocol (killed, crashed, not a plugin that knows the argument) makes the
/// deletion run in-process: it never fails a DEL.</para>
/// <para>The helper is used only by plugins given a <see cref="LinkRemovalPolicy"/> naming it, which only an
/// executable that calls <see cref="TryRunHelper"/> at the top of its <c>Main</c> does. Elsewhere (a plugin hosted
/// in-process by a runtime or a test), and whenever the helper cannot be
/// started, the link is deleted in-process, waiting for the kernel, exactly as before.</para>
/// </remarks>
public static unsafe class LinkRemoval
{
    /// <summary>Environment variable that, set to <c>1</c> in the runtime's environment (which plugins inherit), turns the
    /// helper off: links are then deleted in-process, waiting for the kernel, as the Go plugins do. For runtimes that are
    /// a child subreaper (<c>PR_SET_CHILD_SUBREAPER</c>) and never reap children they did not start.</summary>
    public const string DisableVariable = "CNI_DELETE_LINKS_IN_PROCESS";

    /// <summary>argv[1] that makes a plugin executable act as the deletion helper: <c>--cni-delete-link INDEX</c>,
    /// the network namespace as descriptor 3.</summary>
    public const string HelperArgument = "--cni-delete-link";

    private const int NamespaceDescriptor = 3;
    private const int HelperErrorExit = 1;

    /// <summary>How long to wait for the link to go before killing the helper and deleting in-process.</summary>
    private static readonly TimeSpan HelperTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Call first in the <c>Main</c> of a plugin executable. When this process was started as the deletion helper it
    /// does the deletion and returns true with the exit code to return; otherwise it returns false. Whether the plugins
    /// of the executable use the helper is their <see cref="LinkRemovalPolicy"/> (see
    /// <see cref="LinkRemovalPolicy.ForThisExecutable"/>), passed to them by constructor.
    /// </summary>
    public static bool TryRunHelper(string[] args, out int exitCode)
    {
        ArgumentNullException.ThrowIfNull(args);
        exitCode = 0;
        if (args.Length == 0 || args[0] != HelperArgument)
            return false;
        exitCode = RunHelper(args);
        return true;
    }

    /// <summary>Whether this process's parent is PID 1 (an orphan helper might then never be reaped).</summary>
    internal static bool ParentIsInit => getppid() == 1;

    /// <summary>The helper: deletes link <c>args[1]</c> in the namespace on descriptor 3. A missing link is success; a
    /// failure is written to stderr as "errno message" and exits with 1.</summary>
    private static int RunHelper(string[] args)
    {
        if (args.Length != 2 || !int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out int index) || index <= 0)
        {
            Console.Error.WriteLine($"0 usage: {HelperArgument} INDEX (the network namespace as descriptor {NamespaceDescriptor})");
            return HelperErrorExit;
        }
        try
        {
            using NetNs ns = NetNs.FromFd(NamespaceDescriptor, ownsFd: true);
            using RtNetlink netlink = RtNetlink.Open(ns);
            netlink.DeleteLink(index);
            return 0;
        }
        catch (NetlinkException ex) when (ex.IsNotFound)
        {
            return 0;
        }
        catch (NetlinkException ex)
        {
            Console.Error.Write($"{ex.Errno} {ex.KernelMessage}");
            return HelperErrorExit;
        }
        catch (Exception ex)
        {
            Console.Error.Write($"0 {ex.Message}");
            return HelperErrorExit;
        }
    }

    /// <summary>
    /// Deletes <paramref name="link"/> in-process (deleting one end of a veth deletes both) from the namespace
    /// <paramref name="netlink"/> is bound to, waiting for the kernel's deferred clean-up, as
    /// <see cref="LinkRemovalPolicy.InProcess"/> does. A link that is already gone is success. Plugins that may use the
    /// helper take a <see cref="LinkRemovalPolicy"/> by constructor instead.
    /// </summary>
    /// <returns>False: the deletion ran in-process.</returns>
    /// <exception cref="NetlinkException">The kernel refused the deletion.</exception>
    public static bool Delete(RtNetlink netlink, NetNs? ns, Link link) => LinkRemovalPolicy.InProcess.Delete(netlink, ns, link);

    /// <summary>Deletes <paramref name="link"/>, through <paramref name="helper"/> when it is not null and usable.</summary>
    internal static bool Delete(string? helper, RtNetlink netlink, NetNs? ns, Link link)
    {
        ArgumentNullException.ThrowIfNull(netlink);
        ArgumentNullException.ThrowIfNull(link);
        if (helper is not null && TryDeleteWithHelper(helper, netlink, ns, link))
            return true;
        try
        {
            netlink.DeleteLink(link.Index);
        }
        catch (NetlinkException ex) when (ex.IsNotFound)
        {
        }
        return false;
    }

    /// <summary>Starts the helper and waits until the link is gone or the helper ends; false when the helper could not
    /// be used (not started, timed out and killed, or ended without deleting it), in which case the caller deletes
    /// in-process.</summary>
    private static bool TryDeleteWithHelper(string helper, RtNetlink netlink, NetNs? ns, Link link)
    {
        int* fds = stackalloc int[2];
        if (pipe2(fds, O_CLOEXEC) != 0)
            return false;
        int readEnd = fds[0], writeEnd = fds[1];
        NetNs? own = null;
        int pid;
        try
        {
            own = ns is null ? NetNs.OpenCurrent() : null;
            int nsFd = (ns ?? own!).Fd;
            // argv[0] is the plugin's own path, so that ps shows e.g. "/opt/cni/bin/bridge --cni-delete-link 7".
            pid = ChildProcess.Start(helper, [HelperArgument, link.Index.ToString(CultureInfo.InvariantCulture)], [writeEnd, writeEnd, writeEnd, nsFd],
                argv0: helper == "/proc/self/exe" ? Environment.ProcessPath : helper);
        }
        catch (Exception ex) when (ex is Win32Exception or NetlinkException)
        {
            close(readEnd);
            return false;
        }
        finally
        {
            close(writeEnd);
            own?.Dispose();
        }

        try
        {
            return WaitForHelper(pid, readEnd, netlink, link);
        }
        finally
        {
            close(readEnd);
        }
    }

    private static bool WaitForHelper(int pid, int readEnd, RtNetlink netlink, Link link)
    {
        var output = new List<byte>();
        byte* buffer = stackalloc byte[512];
        long deadline = Environment.TickCount64 + (long)HelperTimeout.TotalMilliseconds;
        // Poll the link every 200 µs: the helper's start takes about 1.5 ms and the kernel unlists the link well
        // under a millisecond after the request; each look is one RTM_GETLINK (~10 µs).
        var interval = new timespec { tv_sec = 0, tv_nsec = 200_000 };
        while (true)
        {
            var poll = new pollfd { fd = readEnd, events = POLLIN };
            int ready = ppoll(&poll, 1, &interval, null);
            if (ready < 0 && errno != EINTR)
                break;
            if (ready > 0)
            {
                long n = read(readEnd, buffer, 512);
                if (n > 0)
                {
                    output.AddRange(new ReadOnlySpan<byte>(buffer, (int)n));
                    continue;
                }
                if (n < 0 && errno == EINTR)
                    continue;
                // The helper closed its end: it has exited (or is about to). Success is trusted only once the link is
                // gone: an executable that does not know the helper argument may well exit 0 without deleting anything.
                ChildProcess.TryReap(pid, wait: true, out int code);
                if (code != 0)
                {
                    // The kernel's refusal, as the helper reports it, is the DEL's error. Anything else (killed, crashed,
                    // /proc/self/exe not a plugin that knows the helper argument) is no answer: delete in-process.
                    if (HelperError(code, output, link) is { } refused)
                        throw refused;
                    return false;
                }
                return IsGone(netlink, link);
            }
            if (IsGone(netlink, link))
            {
                ChildProcess.TryReap(pid, wait: false, out _); // usually still in the kernel's wait: left to its inheritor
                return true;
            }
            if (Environment.TickCount64 > deadline)
                break;
        }
        ChildProcess.Kill(pid);
        ChildProcess.TryReap(pid, wait: true, out _);
        return false;
    }

    /// <summary>Whether <paramref name="link"/> has left the namespace (an index reused by another link counts as gone).</summary>
    private static bool IsGone(RtNetlink netlink, Link link) => netlink.FindLink(link.Index) is not { } current || current.Name != link.Name;

    /// <summary>The helper's "errno message" as the <see cref="NetlinkException"/> an in-process deletion would have thrown;
    /// null when the exit is not the helper's error protocol (exit code 1 and a positive errno first).</summary>
    internal static NetlinkException? HelperError(int exitCode, IReadOnlyList<byte> output, Link link)
    {
        string text = Encoding.UTF8.GetString([.. output]).Trim();
        int space = text.IndexOf(' ', StringComparison.Ordinal);
        string first = space < 0 ? text : text[..space];
        string message = space < 0 ? "" : text[(space + 1)..];
        if (exitCode != HelperErrorExit || !int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out int errno) || errno <= 0)
            return null;
        return new NetlinkException(errno, $"delete link {link.Name}", message.Length == 0 ? null : message);
    }
}

/// <summary>
/// How a plugin deletes links: in-process (<see cref="InProcess"/>, waiting for the kernel's deferred clean-up), or
/// through a deletion helper executable that returns as soon as the link has left its namespace (see
/// <see cref="LinkRemoval"/>). Passed to plugins by constructor; immutable.
/// </summary>
public sealed class LinkRemovalPolicy
{
    /// <summary>Deletes in-process: what a plugin hosted by a runtime or a test does.</summary>
    public static LinkRemovalPolicy InProcess { get; } = new(null);

    /// <summary>Creates a policy.</summary>
    /// <param name="helperExecutable">The executable started as the deletion helper (it must call
    /// <see cref="LinkRemoval.TryRunHelper"/> first in its <c>Main</c>); null deletes in-process.</param>
    public LinkRemovalPolicy(string? helperExecutable) => HelperExecutable = helperExecutable;

    /// <summary>The executable started as the helper; null when links are deleted in-process.</summary>
    public string? HelperExecutable { get; }

    /// <summary>
    /// The policy of a plugin executable whose <c>Main</c> calls <see cref="LinkRemoval.TryRunHelper"/>: this same
    /// executable as the helper, unless <see cref="LinkRemoval.DisableVariable"/> is <c>1</c> in
    /// <paramref name="environment"/> (the process environment when null).
    /// </summary>
    public static LinkRemovalPolicy ForThisExecutable(IReadOnlyDictionary<string, string>? environment = null)
    {
        string? disable = environment is null
            ? Environment.GetEnvironmentVariable(LinkRemoval.DisableVariable)
            : environment.GetValueOrDefault(LinkRemoval.DisableVariable);
        // Not when our parent is PID 1 either: a runtime running as a container's init (no init of its own) may never
        // reap the orphan the helper becomes, and one zombie per DEL would pile up.
        return disable == "1" || LinkRemoval.ParentIsInit ? InProcess : new LinkRemovalPolicy("/proc/self/exe");
    }

    /// <summary>
    /// Deletes <paramref name="link"/> (deleting one end of a veth deletes both) from the namespace
    /// <paramref name="netlink"/> is bound to, which is <paramref name="ns"/> (null: the calling thread's), and returns
    /// once it is gone. A link that is already gone is success.
    /// </summary>
    /// <returns>True when the helper took over the kernel's deferred clean-up; false when the deletion ran in-process.</returns>
    /// <exception cref="NetlinkException">The kernel refused the deletion.</exception>
    public bool Delete(RtNetlink netlink, NetNs? ns, Link link) => LinkRemoval.Delete(HelperExecutable, netlink, ns, link);
}
