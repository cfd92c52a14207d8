using Cni.Plugins.Common;
using Cni.Plugins.MultiCall;

// Started as its own link-deletion helper (see LinkRemoval), or as the plugin whose name it was started under.
if (LinkRemoval.TryRunHelper(args, out int helperExitCode))
    return helperExitCode;
// This executable is its own deletion helper, unless the runtime turned that off.
return WaitWithoutSpinning(MultiCallHost.RunAsync(MultiCallHost.ProgramName(), args, removal: LinkRemovalPolicy.ForThisExecutable()));

// What `return await` in a top-level Main compiles to, GetAwaiter().GetResult(), spins before it blocks (busy loops,
// then sched_yield). When the run goes on on another thread (an in-process IPAM ADD finishes on its own thread, and
// the plugin's work continues there), the main thread spun for the rest of the run: CPU taken from that thread and
// from the other plugins of a node starting many pods at once. This blocks at once and is woken by the completion.
static int WaitWithoutSpinning(Task<int> run)
{
    if (!run.IsCompleted)
    {
        // Not disposed: the completion's Set may still be returning on the other thread when Wait returns here.
        var done = new ManualResetEventSlim(initialState: false, spinCount: 0);
        run.GetAwaiter().UnsafeOnCompleted(done.Set);
        done.Wait();
    }
    return run.GetAwaiter().GetResult();
}
