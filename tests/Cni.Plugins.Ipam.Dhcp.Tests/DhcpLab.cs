using System.Diagnostics;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.Plugins.Ipam.Dhcp.Tests;

/// <summary>
/// A private DHCP network for kernel tests: a "host" namespace with a bridge at 10.213.x.1/24 and dnsmasq serving it,
/// and container namespaces each with an <c>eth0</c> veth on the bridge. Nothing touches the root namespace; every
/// namespace, process and file is removed on dispose.
/// </summary>
internal sealed class DhcpLab : IDisposable
{
    private readonly List<string> _namespaces = [];
    private Process? _dnsmasq;

    public DhcpLab(string extraDnsmasqArgs = "")
    {
        TestEnvironment.RequireRoot();
        Dnsmasq = TestEnvironment.RequireTool("/usr/sbin/dnsmasq", "apt-get install dnsmasq-base");
        Dir = Directory.CreateTempSubdirectory("cni-dhcp-").FullName;
        Subnet = $"10.213.{Random.Shared.Next(1, 250)}";
        HostNs = TestEnvironment.UniqueName("dhcph");
        Create(HostNs);
        Ip(HostNs, "link add br0 type bridge");
        Ip(HostNs, $"addr add {Subnet}.1/24 dev br0");
        Ip(HostNs, "link set br0 up");
        Ip(HostNs, "link set lo up");
        var startInfo = new ProcessStartInfo("ip")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (string arg in $"netns exec {HostNs} {Dnsmasq} --no-daemon --conf-file=/dev/null --port=0 --interface=br0 --bind-interfaces --except-interface=lo --dhcp-authoritative --dhcp-range={Subnet}.50,{Subnet}.99,255.255.255.0,2m --dhcp-leasefile={LeaseFile} --log-facility=- --log-dhcp {extraDnsmasqArgs}".Split(' ', StringSplitOptions.RemoveEmptyEntries))
            startInfo.ArgumentList.Add(arg);
        _dnsmasq = Process.Start(startInfo)!;
        _dnsmasq.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (Log) Log.Add(e.Data); };
        _dnsmasq.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (Log) Log.Add(e.Data); };
        _dnsmasq.BeginOutputReadLine();
        _dnsmasq.BeginErrorReadLine();
        var wait = Stopwatch.StartNew();
        // Ready once it logs its DHCP range (--no-daemon writes no PID file).
        while (!LogContains("DHCP, IP range") && wait.Elapsed < TimeSpan.FromSeconds(10) && !_dnsmasq.HasExited)
            Thread.Sleep(20);
        if (_dnsmasq.HasExited)
            Assert.Fail("dnsmasq did not start: " + string.Join("\n", Log));
    }

    public string Dnsmasq { get; }

    public bool LogContains(string text)
    {
        lock (Log)
            return Log.Any(l => l.Contains(text, StringComparison.Ordinal));
    }

    /// <summary>A temporary directory for sockets, lease file, PID files.</summary>
    public string Dir { get; }

    /// <summary>The first three octets of the lab's /24.</summary>
    public string Subnet { get; }

    public string HostNs { get; }

    public string LeaseFile => Path.Combine(Dir, "dnsmasq.leases");

    /// <summary>dnsmasq's output.</summary>
    public List<string> Log { get; } = [];

    /// <summary>A container namespace with eth0 (down, no address) on the bridge; returns its name.</summary>
    public string AddContainer(string ifName = "eth0")
    {
        string ns = TestEnvironment.UniqueName("dhcpc");
        Create(ns);
        string hostSide = TestEnvironment.UniqueName("vd");
        Ip(HostNs, $"link add {hostSide} type veth peer name {ifName} netns {ns}");
        Ip(HostNs, $"link set {hostSide} master br0 up");
        return ns;
    }

    /// <summary>dnsmasq's lease file lines (expiry, MAC, address, host name, client id).</summary>
    public string[] Leases() => File.Exists(LeaseFile) ? File.ReadAllLines(LeaseFile) : [];

    public static void Ip(string ns, string args) => Shell.Run("ip", ["netns", "exec", ns, "ip", .. args.Split(' ')], allowFailure: false);

    public static string IpOut(string ns, string args) => Shell.Run("ip", ["netns", "exec", ns, "ip", .. args.Split(' ')], allowFailure: false).Stdout;

    private void Create(string ns)
    {
        Shell.Run("ip", "netns", "add", ns);
        _namespaces.Add(ns);
    }

    public void Dispose()
    {
        if (_dnsmasq is { HasExited: false })
        {
            _dnsmasq.Kill();
            _dnsmasq.WaitForExit(5000);
        }
        _dnsmasq?.Dispose();
        foreach (string ns in _namespaces)
            Shell.Try("ip", "netns", "delete", ns);
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
