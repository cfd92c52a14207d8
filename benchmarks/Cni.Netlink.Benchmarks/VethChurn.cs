using System.Diagnostics;

namespace Cni.Netlink.Benchmarks;

/// <summary>
/// Creates and deletes N veth pairs in a throwaway namespace, once through Cni.Netlink and once through
/// <c>ip -batch</c> (one process for the creations, one for the deletions), and prints the times and the ratio.
/// Needs root.
/// </summary>
internal static class VethChurn
{
    internal static int Run(int count)
    {
        Console.WriteLine($"veth churn: create + delete {count} veth pairs; each run in its own throwaway network namespace");
        Library(Math.Min(count, 20)); // JIT warm-up, not measured
        (TimeSpan libAdd, TimeSpan libDel) = Library(count);
        (TimeSpan ipAdd, TimeSpan ipDel) = IpBatch(count);
        Print("Cni.Netlink", libAdd, libDel, count);
        Print("ip -batch", ipAdd, ipDel, count);
        Console.WriteLine($"ratio ip -batch / Cni.Netlink: total {(ipAdd + ipDel) / (libAdd + libDel):F2}x, create {ipAdd / libAdd:F2}x, delete {ipDel / libDel:F2}x");
        return 0;
    }

    private static void Print(string what, TimeSpan add, TimeSpan del, int count) =>
        Console.WriteLine($"{what,-12}: total {(add + del).TotalMilliseconds,9:F1} ms | create {add.TotalMilliseconds,9:F1} ms ({add.TotalMicroseconds / count,7:F1} us/pair) | delete {del.TotalMilliseconds,9:F1} ms ({del.TotalMicroseconds / count,7:F1} us/pair)");

    private static (TimeSpan Add, TimeSpan Delete) Library(int count)
    {
        string name = "cnibench-lib-" + Guid.NewGuid().ToString("N")[..8];
        using NetNs ns = NetNs.Create(name);
        try
        {
            using RtNetlink nl = RtNetlink.Open(ns);
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < count; i++)
                nl.AddVeth($"va{i}", $"vb{i}");
            TimeSpan add = sw.Elapsed;
            sw.Restart();
            for (int i = 0; i < count; i++)
                nl.DeleteLink($"va{i}"); // by name: one RTM_GETLINK + one RTM_DELLINK, as `ip link del` does
            TimeSpan del = sw.Elapsed;
            if (nl.ListLinks().Count != 1) throw new InvalidOperationException("library run left links behind");
            return (add, del);
        }
        finally
        {
            NetNs.Delete(name);
        }
    }

    private static (TimeSpan Add, TimeSpan Delete) IpBatch(int count)
    {
        string name = "cnibench-ip-" + Guid.NewGuid().ToString("N")[..8];
        string addFile = Path.GetTempFileName(), delFile = Path.GetTempFileName();
        using NetNs ns = NetNs.Create(name);
        try
        {
            File.WriteAllLines(addFile, Enumerable.Range(0, count).Select(i => $"link add va{i} type veth peer name vb{i}"));
            File.WriteAllLines(delFile, Enumerable.Range(0, count).Select(i => $"link del va{i}"));
            TimeSpan add = RunIp(name, addFile);
            TimeSpan del = RunIp(name, delFile);
            return (add, del);
        }
        finally
        {
            File.Delete(addFile);
            File.Delete(delFile);
            NetNs.Delete(name);
        }
    }

    private static TimeSpan RunIp(string ns, string batch)
    {
        var psi = new ProcessStartInfo("ip", ["-n", ns, "-batch", batch]) { RedirectStandardError = true };
        var sw = Stopwatch.StartNew();
        using Process p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        sw.Stop();
        if (p.ExitCode != 0) throw new InvalidOperationException("ip -batch failed: " + err);
        return sw.Elapsed;
    }
}
