using System.ComponentModel;
using System.Runtime.InteropServices;
using Tmds.Linux;
using static Cni.Spec.Interop.Libc;

namespace Cni.Spec;

/// <summary>
/// A lean run of one child process, as <see cref="PluginExecutor"/> runs plugins and plugins run their tools (nft,
/// iptables, helpers): <c>posix_spawn</c> with three pipes, one <c>poll</c> loop that writes stdin and drains stdout
/// and stderr, and <c>waitpid</c>, all on the calling thread. Unlike <see cref="System.Diagnostics.Process"/> it
/// starts no SIGCHLD thread, no epoll thread and no thread-pool workers: a plugin lives for milliseconds, and each of
/// those threads is a measurable part of that. Linux only.
/// </summary>
/// <remarks>
/// Part of the platform layer the Cni.NET libraries and plugins share (the libc calls Tmds.LibC lacks are in
/// <c>Cni.Spec/Interop</c>). Because a <see cref="System.Diagnostics.Process"/> in the same process may reap any
/// child, do not mix the two for one child.
/// </remarks>
public static unsafe partial class ChildProcess
{
    private const short POLLIN = 0x1;
    private const short POLLOUT = 0x4;
    private const short POLLERR = 0x8;
    private const short POLLHUP = 0x10;
    private const int SIGKILL = 9;
    private const int SIGPIPE = 13;
    private const short POSIX_SPAWN_SETSIGDEF = 0x04;
    private const short POSIX_SPAWN_SETSIGMASK = 0x08;
    private const int P_PID = 1;
    private const int WEXITED = 4;
    private const int WNOWAIT = 0x01000000;

    /// <summary>What the child wrote and how it ended.</summary>
    /// <param name="ExitCode">The exit status, or 128 + the signal (as a shell reports it) when <paramref name="Signal"/> is set.</param>
    /// <param name="Signal">The signal that killed the child; 0 when it exited.</param>
    /// <param name="Stdout">What it wrote on stdout.</param>
    /// <param name="Stderr">What it wrote on stderr.</param>
    public readonly record struct Outcome(int ExitCode, int Signal, byte[] Stdout, byte[] Stderr)
    {
        /// <summary>How it ended, for messages: "exit 3", or "killed by SIGKILL" (with its number).</summary>
        public string Describe() => Signal == 0 ? $"exit {ExitCode}" : $"killed by {SignalName(Signal)}";
    }

    /// <summary>"SIGKILL (9)" for the common signals, "signal N" for the others.</summary>
    public static string SignalName(int signal) => signal switch
    {
        1 => "SIGHUP (1)",
        2 => "SIGINT (2)",
        3 => "SIGQUIT (3)",
        4 => "SIGILL (4)",
        6 => "SIGABRT (6)",
        7 => "SIGBUS (7)",
        8 => "SIGFPE (8)",
        9 => "SIGKILL (9)",
        11 => "SIGSEGV (11)",
        13 => "SIGPIPE (13)",
        14 => "SIGALRM (14)",
        15 => "SIGTERM (15)",
        24 => "SIGXCPU (24)",
        25 => "SIGXFSZ (25)",
        _ => $"signal {signal}",
    };

    /// <summary>
    /// Runs <paramref name="path"/> with exactly <paramref name="environment"/> ("NAME=value" entries) and
    /// <paramref name="stdin"/>, and waits for it. Throws <see cref="Win32Exception"/> when it cannot be started, and
    /// <see cref="OperationCanceledException"/> (after killing and reaping it) when <paramref name="cancellationToken"/> fires.
    /// </summary>
    public static Outcome Run(string path, IReadOnlyList<string> environment, ReadOnlyMemory<byte> stdin, CancellationToken cancellationToken) =>
        Run(path, [], environment, stdin, cancellationToken);

    /// <summary>As <see cref="Run(string, IReadOnlyList{string}, ReadOnlyMemory{byte}, CancellationToken)"/>, with
    /// <paramref name="arguments"/> after argv[0].</summary>
    public static Outcome Run(string path, IReadOnlyList<string> arguments, IReadOnlyList<string> environment, ReadOnlyMemory<byte> stdin,
        CancellationToken cancellationToken)
    {
        int[] inPipe = [-1, -1], outPipe = [-1, -1], errPipe = [-1, -1];
        int pid;
        try
        {
            inPipe = Pipe();
            outPipe = Pipe();
            errPipe = Pipe();
            pid = Spawn(path, arguments, environment, [inPipe[0], outPipe[1], errPipe[1]]);
        }
        catch
        {
            CloseAll(inPipe[0], inPipe[1], outPipe[0], outPipe[1], errPipe[0], errPipe[1]);
            throw;
        }
        CloseAll(inPipe[0], outPipe[1], errPipe[1]);

        var gate = new object();
        bool reaped = false;
        using CancellationTokenRegistration killOnCancel = cancellationToken.Register(() =>
        {
            lock (gate)
            {
                if (!reaped)
                    _ = kill(pid, SIGKILL);
            }
        });

        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        int status = 0;
        SigInfo siginfo = default;
        try
        {
            Pump(ref inPipe[1], outPipe[0], errPipe[0], stdin, stdout, stderr, cancellationToken);
        }
        finally
        {
            CloseAll(inPipe[1], outPipe[0], errPipe[0]);
            // Wait without reaping first, so that a concurrent cancellation never signals a recycled pid.
            byte* info = (byte*)&siginfo;
            while (waitid(P_PID, pid, info, WEXITED | WNOWAIT) != 0 && Marshal.GetLastPInvokeError() == LibC.EINTR)
            {
            }
            lock (gate)
            {
                while (waitpid(pid, &status, 0) < 0 && Marshal.GetLastPInvokeError() == LibC.EINTR)
                {
                }
                reaped = true;
            }
        }
        cancellationToken.ThrowIfCancellationRequested();
        (int code, int signal) = Decode(status);
        return new Outcome(code, signal, stdout.ToArray(), stderr.ToArray());
    }

    /// <summary>Writes stdin and reads stdout and stderr until both are closed (or cancellation, which stops reading).</summary>
    private static void Pump(ref int stdinFd, int stdoutFd, int stderrFd, ReadOnlyMemory<byte> stdin, MemoryStream stdout, MemoryStream stderr,
        CancellationToken cancellationToken)
    {
        SetNonBlocking(stdinFd);
        SetNonBlocking(stdoutFd);
        SetNonBlocking(stderrFd);
        byte[] buffer = new byte[16384];
        int written = 0;
        bool inOpen = true, outOpen = true, errOpen = true;
        if (stdin.Length == 0)
        {
            CloseAndForget(ref stdinFd);
            inOpen = false;
        }
        PollFd* fds = stackalloc PollFd[3];
        using System.Buffers.MemoryHandle pinned = stdin.Pin();
        while ((outOpen || errOpen) && !cancellationToken.IsCancellationRequested)
        {
            int n = 0;
            int inSlot = -1, outSlot = -1, errSlot = -1;
            if (inOpen) { inSlot = n; fds[n++] = new PollFd { Fd = stdinFd, Events = POLLOUT }; }
            if (outOpen) { outSlot = n; fds[n++] = new PollFd { Fd = stdoutFd, Events = POLLIN }; }
            if (errOpen) { errSlot = n; fds[n++] = new PollFd { Fd = stderrFd, Events = POLLIN }; }
            // The timeout only bounds how late a cancellation is noticed (the kill closes the pipes anyway).
            int ready = poll(fds, (nuint)n, cancellationToken.CanBeCanceled ? 100 : -1);
            if (ready < 0)
            {
                if (Marshal.GetLastPInvokeError() == LibC.EINTR)
                    continue;
                throw new Win32Exception(Marshal.GetLastPInvokeError());
            }
            if (inSlot >= 0 && fds[inSlot].Revents != 0)
            {
                long w = LibC.write(stdinFd, (byte*)pinned.Pointer + written, stdin.Length - written);
                int error = w < 0 ? Marshal.GetLastPInvokeError() : 0;
                if (w > 0)
                    written += (int)w;
                // Done, or the plugin exited without reading all of stdin (EPIPE): its exit status tells what happened.
                if (written == stdin.Length || (w < 0 && error != LibC.EINTR && error != LibC.EAGAIN))
                {
                    CloseAndForget(ref stdinFd);
                    inOpen = false;
                }
            }
            if (outSlot >= 0 && fds[outSlot].Revents != 0)
                outOpen = Drain(stdoutFd, buffer, stdout);
            if (errSlot >= 0 && fds[errSlot].Revents != 0)
                errOpen = Drain(stderrFd, buffer, stderr);
        }
    }

    /// <summary>Closes <paramref name="fd"/> once and marks it closed (-1): a second close could hit a descriptor
    /// another thread has opened meanwhile under the same number.</summary>
    private static void CloseAndForget(ref int fd)
    {
        if (fd >= 0)
            LibC.close(fd);
        fd = -1;
    }

    /// <summary>Reads what is there; false once the writer closed its end.</summary>
    private static bool Drain(int fd, byte[] buffer, MemoryStream into)
    {
        fixed (byte* b = buffer)
        {
            while (true)
            {
                long r = LibC.read(fd, b, buffer.Length);
                if (r > 0)
                {
                    into.Write(buffer, 0, (int)r);
                    continue;
                }
                if (r == 0)
                    return false;
                int error = Marshal.GetLastPInvokeError();
                if (error == LibC.EINTR)
                    continue;
                return error == LibC.EAGAIN;
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> (typically a <see cref="Run(string, IReadOnlyList{string}, IReadOnlyList{string}, ReadOnlyMemory{byte}, CancellationToken)"/>)
    /// on a dedicated thread and completes with its result: the caller goes on with its own work meanwhile, and no
    /// thread-pool worker is woken. The continuation runs on that thread when the work is done (hence the default stack
    /// size: the caller's remaining work may run there).
    /// </summary>
    public static Task<T> OnDedicatedThread<T>(Func<T> work, string name)
    {
        ArgumentNullException.ThrowIfNull(work);
        var done = new TaskCompletionSource<T>();
        void Run()
        {
            try
            {
                done.SetResult(work());
            }
            catch (OperationCanceledException ex)
            {
                done.SetCanceled(ex.CancellationToken);
            }
            catch (Exception ex)
            {
                done.SetException(ex);
            }
        }
        if (!TryStartNativeThread(Run, name))
            new Thread(Run) { IsBackground = true, Name = name }.Start();
        return done.Task;
    }

    // Thread.Start returns only once the new thread runs (the caller yields in a loop until then), which on a busy
    // node can be the whole of a short piece of work. A thread made with pthread_create joins the runtime on its first
    // managed call, by itself, and the caller goes on at once. It is detached: nothing joins it, and like a background
    // thread it does not keep the process alive.
    private static bool TryStartNativeThread(Action run, string name)
    {
        GCHandle handle = GCHandle.Alloc(run);
        nint thread;
        if (pthread_create(&thread, 0, &NativeThreadEntry, GCHandle.ToIntPtr(handle)) != 0)
        {
            handle.Free();
            return false;
        }
        Span<byte> utf8 = stackalloc byte[64]; // the kernel keeps 15 bytes and a NUL
        int length = Math.Min(15, System.Text.Encoding.UTF8.GetBytes(name.AsSpan(0, Math.Min(name.Length, 15)), utf8));
        utf8[length] = 0;
        fixed (byte* p = utf8)
            pthread_setname_np(thread, p);
        pthread_detach(thread);
        return true;
    }

    [UnmanagedCallersOnly]
    private static nint NativeThreadEntry(nint argument)
    {
        GCHandle handle = GCHandle.FromIntPtr(argument);
        var run = (Action)handle.Target!;
        handle.Free();
        run(); // catches everything itself
        return 0;
    }

    /// <summary>
    /// Starts <paramref name="path"/> with <paramref name="arguments"/> after argv[0], an empty environment, and
    /// <paramref name="descriptors"/>[i] as its descriptor i (every other descriptor of ours is close-on-exec), and
    /// returns its pid without waiting: the caller reaps it (<see cref="TryReap"/>) or leaves it to whoever inherits it.
    /// </summary>
    /// <param name="path">The executable.</param>
    /// <param name="arguments">argv[1..].</param>
    /// <param name="descriptors">The child's descriptors 0, 1, 2, ...</param>
    /// <param name="argv0">argv[0] (what <c>ps</c> shows); <paramref name="path"/> when null.</param>
    /// <exception cref="Win32Exception">It could not be started.</exception>
    public static int Start(string path, IReadOnlyList<string> arguments, ReadOnlySpan<int> descriptors, string? argv0 = null) =>
        Spawn(path, arguments, [], descriptors, argv0);

    /// <summary>Reaps <paramref name="pid"/> if it has exited: true with its exit code (128 + signal when killed),
    /// false while it runs (or when it is no child of ours). With <paramref name="wait"/> it blocks until it exits.</summary>
    public static bool TryReap(int pid, bool wait, out int exitCode)
    {
        const int WNOHANG = 1;
        int status = 0;
        int r;
        while ((r = waitpid(pid, &status, wait ? 0 : WNOHANG)) < 0 && Marshal.GetLastPInvokeError() == LibC.EINTR)
        {
        }
        exitCode = Decode(status).ExitCode;
        return r == pid;
    }

    /// <summary>Sends SIGKILL to <paramref name="pid"/> (a child not reaped yet, so the pid cannot have been reused).</summary>
    public static void Kill(int pid) => _ = kill(pid, SIGKILL);

    private static int Spawn(string path, IReadOnlyList<string> arguments, IReadOnlyList<string> environment, ReadOnlySpan<int> descriptors,
        string? argv0 = null)
    {
        // glibc's posix_spawn_file_actions_t is 80 bytes and posix_spawnattr_t 336; sigset_t is 128.
        byte* actions = stackalloc byte[256];
        byte* attr = stackalloc byte[512];
        byte* sigs = stackalloc byte[128];
        nint[] argvp = new nint[arguments.Count + 2];
        nint[] envp = new nint[environment.Count + 1];
        nint file = 0;
        try
        {
            file = Marshal.StringToCoTaskMemUTF8(path);
            argvp[0] = argv0 is null ? file : Marshal.StringToCoTaskMemUTF8(argv0);
            for (int i = 0; i < arguments.Count; i++)
                argvp[i + 1] = Marshal.StringToCoTaskMemUTF8(arguments[i]);
            for (int i = 0; i < environment.Count; i++)
                envp[i] = Marshal.StringToCoTaskMemUTF8(environment[i]);
            Check(posix_spawn_file_actions_init(actions));
            try
            {
                Check(posix_spawnattr_init(attr));
                try
                {
                    for (int i = 0; i < descriptors.Length; i++)
                        Check(posix_spawn_file_actions_adddup2(actions, descriptors[i], i));
                    // Descriptors the runtime handed us without close-on-exec (ours all have it) stay ours: the child
                    // gets exactly the ones above, as Go's exec gives a child only its stdio and ExtraFiles. A helper that
                    // outlives us then holds nothing a runtime waits on.
                    CloseFrom(actions, descriptors.Length);
                    // The child starts with no blocked signals and default dispositions: glibc resets the handled
                    // signals itself; the ignored ones would survive exec, and the runtime ignores SIGPIPE.
                    LibC.sigemptyset((sigset_t*)sigs);
                    Check(posix_spawnattr_setsigmask(attr, sigs));
                    Check(LibC.sigaddset((sigset_t*)sigs, SIGPIPE));
                    Check(posix_spawnattr_setsigdefault(attr, sigs));
                    Check(posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK));
                    int pid;
                    fixed (nint* env = envp)
                    fixed (nint* argv = argvp)
                    {
                        int error = posix_spawn(&pid, (byte*)file, actions, attr, argv, env);
                        if (error != 0)
                            throw new Win32Exception(error);
                    }
                    return pid;
                }
                finally
                {
                    posix_spawnattr_destroy(attr);
                }
            }
            finally
            {
                posix_spawn_file_actions_destroy(actions);
            }
        }
        finally
        {
            if (file != 0 && file != argvp[0])
                Marshal.FreeCoTaskMem(file);
            foreach (nint p in argvp)
            {
                if (p != 0)
                    Marshal.FreeCoTaskMem(p);
            }
            foreach (nint p in envp)
            {
                if (p != 0)
                    Marshal.FreeCoTaskMem(p);
            }
        }
    }

    private static void Check(int error)
    {
        if (error != 0)
            throw new Win32Exception(error);
    }

    private static int[] Pipe()
    {
        int* fds = stackalloc int[2];
        if (LibC.pipe2(fds, LibC.O_CLOEXEC) != 0)
            throw new Win32Exception(Marshal.GetLastPInvokeError());
        return [fds[0], fds[1]];
    }

    /// <summary>A wait status as an exit code (128 + the signal for a killed child, as a shell reports it) and the signal (0 when it exited).</summary>
    private static (int ExitCode, int Signal) Decode(int status) =>
        (status & 0x7f) == 0 ? ((status >> 8) & 0xff, 0) : (128 + (status & 0x7f), status & 0x7f);

    /// <summary>Sets O_NONBLOCK on a pipe end of ours (no other status flag is set on them, so no F_GETFL first).</summary>
    private static void SetNonBlocking(int fd) => _ = LibC.fcntl(fd, LibC.F_SETFL, LibC.O_NONBLOCK);

    private static void CloseAll(params ReadOnlySpan<int> fds)
    {
        foreach (int fd in fds)
        {
            if (fd >= 0)
                LibC.close(fd);
        }
    }

    [System.Runtime.CompilerServices.InlineArray(16)]
    private struct SigInfo
    {
        private long _element;
    }

    private static bool s_noCloseFrom;

    /// <summary>Closes every descriptor from <paramref name="from"/> up in the child (glibc 2.34 and later; on an older
    /// glibc only the close-on-exec flag protects them, as before).</summary>
    private static void CloseFrom(byte* actions, int from)
    {
        if (s_noCloseFrom)
            return;
        try
        {
            Check(posix_spawn_file_actions_addclosefrom_np(actions, from));
        }
        catch (EntryPointNotFoundException)
        {
            s_noCloseFrom = true;
        }
    }
}
