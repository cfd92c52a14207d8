using Cni.TestSupport;

namespace Cni.Netlink.Tests.Kernel;

/// <summary>Throwaway named network namespaces for one test, deleted (with everything in them) on Dispose, also after failures.</summary>
internal sealed class Scratch : IDisposable
{
    private readonly List<(string Name, NetNs Handle, RtNetlink Netlink)> _namespaces = [];

    public (NetNs Ns, RtNetlink Netlink) NewNamespace(string prefix = "cninl")
    {
        string name = TestEnvironment.UniqueName(prefix);
        NetNs ns = NetNs.Create(name);
        RtNetlink netlink;
        try
        {
            netlink = RtNetlink.Open(ns);
        }
        catch
        {
            ns.Dispose();
            NetNs.Delete(name);
            throw;
        }
        _namespaces.Add((name, ns, netlink));
        return (ns, netlink);
    }

    public void Dispose()
    {
        var errors = new List<Exception>();
        foreach (var (name, handle, netlink) in _namespaces)
        {
            netlink.Dispose();
            handle.Dispose();
            try { NetNs.Delete(name); } catch (Exception e) { errors.Add(e); }
        }
        _namespaces.Clear();
        if (errors.Count > 0) throw new AggregateException("cleaning up test namespaces", errors);
    }
}
