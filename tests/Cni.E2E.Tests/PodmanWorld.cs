using System.Globalization;
using System.Formats.Tar;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.E2E.Tests;

/// <summary>
/// podman configured for one test to use the CNI backend with our plugin directory and nothing else: a temporary
/// containers.conf (CONTAINERS_CONF) naming artifacts/cni/bin as the only cni_plugin_dirs and a temporary
/// network_config_dir; storage (--root, --runroot, vfs) and libpod's tmp_dir in a temporary directory, so the
/// machine's podman storage is never touched; a busybox image imported from a tar built here (no registry).
/// Disposing removes the containers, the network, podman's CNI files for it under /var/lib/cni, and the directory.
/// </summary>
internal sealed class PodmanWorld : IDisposable
{
    public const string Image = "localhost/cni-e2e-busybox:latest";

    private readonly string _dir;
    private readonly string _podman;
    private readonly List<string> _networks = [];

    /// <summary>The network_config_dir podman writes its CNI conflists to.</summary>
    public string NetworkConfigDir { get; }

    public PodmanWorld()
    {
        TestEnvironment.RequireRoot();
        _podman = TestEnvironment.RequireTool("podman", "apt-get install podman");
        TestEnvironment.RequireTool("runc", "apt-get install runc");
        TestEnvironment.RequireTool("conmon", "apt-get install conmon");
        string busybox = TestEnvironment.RequireTool("busybox", "apt-get install busybox-static");
        TestEnvironment.RequireTool("curl", "apt-get install curl");
        TestEnvironment.RequireTool("iptables-save", "apt-get install iptables");
        TestEnvironment.RequireTool("nft", "apt-get install nftables");
        foreach (string type in new[] { "bridge", "host-local", "portmap", "firewall", "tuning" })
            TestEnvironment.RequirePublishedPlugin(type);

        _dir = Directory.CreateTempSubdirectory("cni-e2e-podman-").FullName;
        NetworkConfigDir = Path.Combine(_dir, "net");
        foreach (string d in new[] { "net", "root", "runroot", "tmp" })
            Directory.CreateDirectory(Path.Combine(_dir, d));
        // The ulimits: podman gives a root container nofile 1048576 and nproc 4194304 by default; raising a hard limit
        // above the caller's needs CAP_SYS_RESOURCE, which this sandbox withholds (runc: "error setting rlimit type 7:
        // operation not permitted"), so the test's containers get limits below the caller's.
        File.WriteAllText(Path.Combine(_dir, "containers.conf"), $"""
            [containers]
            default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

            [network]
            network_backend = "cni"
            cni_plugin_dirs = ["{TestEnvironment.PluginBinDir}"]
            network_config_dir = "{NetworkConfigDir}"

            [engine]
            cgroup_manager = "cgroupfs"
            events_logger = "file"
            runtime = "runc"
            tmp_dir = "{Path.Combine(_dir, "tmp")}"
            """);
        try
        {
            Shell.Result backend = Try("info", "--format", "{{.Host.NetworkBackend}} {{.Version.Version}}");
            if (backend.ExitCode != 0)
                Assert.Ignore("podman info failed: " + backend.Stderr.Trim());
            if (!backend.Stdout.StartsWith("cni ", StringComparison.Ordinal))
                Assert.Ignore($"podman does not take the CNI backend here (network backend and version: {backend.Stdout.Trim()}; podman 5 removed CNI): apt-get install podman (4.x, Debian 12)");
            string tar = BuildRootfsTar(busybox);
            Podman("import", "-q", tar, Image);
            // Can podman run a container here at all? If not, say exactly why.
            Shell.Result probe = Try("run", "--rm", "--network", "none", Image, "true");
            if (probe.ExitCode != 0)
                Assert.Ignore("podman cannot run a container on this machine (podman run --network none): " + probe.Stderr.Trim());
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>A rootfs of busybox-static with sh, httpd and true as links, and /www/index.html; as a tar for podman import.</summary>
    private string BuildRootfsTar(string busybox)
    {
        string tar = Path.Combine(_dir, "rootfs.tar");
        using FileStream file = File.Create(tar);
        using var writer = new TarWriter(file, TarEntryFormat.Pax);
        writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "bin/") { Mode = (UnixFileMode)0b111_101_101 });
        writer.WriteEntry(busybox, "bin/busybox");
        foreach (string tool in new[] { "sh", "httpd", "true" })
            writer.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "bin/" + tool) { LinkName = "busybox", Mode = (UnixFileMode)0b111_111_111 });
        writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "www/") { Mode = (UnixFileMode)0b111_101_101 });
        var index = new PaxTarEntry(TarEntryType.RegularFile, "www/index.html")
        {
            Mode = (UnixFileMode)0b110_100_100,
            DataStream = new MemoryStream("hello from podman\n"u8.ToArray()),
        };
        writer.WriteEntry(index);
        return tar;
    }

    /// <summary>Runs podman with the test's storage and CONTAINERS_CONF (killed after two minutes); throws on failure.</summary>
    public Shell.Result Podman(params string[] args)
    {
        Shell.Result r = Try(args);
        if (r.ExitCode != 0)
            throw new InvalidOperationException($"podman {string.Join(' ', args)} failed ({r.ExitCode}): {r.Stderr}{r.Stdout}");
        return r;
    }

    /// <summary>Like <see cref="Podman"/>, returning whatever happened.</summary>
    public Shell.Result Try(params string[] args) =>
        Shell.Run("timeout", ["-k", "5", "120", _podman, "--root", Path.Combine(_dir, "root"), "--runroot", Path.Combine(_dir, "runroot"), "--storage-driver", "vfs", .. args],
            allowFailure: true, env: new Dictionary<string, string> { ["CONTAINERS_CONF"] = Path.Combine(_dir, "containers.conf") });

    /// <summary><c>podman network create --subnet</c>: podman writes its CNI conflist for the network; the file's path.</summary>
    public string CreateNetwork(string name, string subnet)
    {
        _networks.Add(name);
        Podman("network", "create", "--subnet", subnet, name);
        return Path.Combine(NetworkConfigDir, name + ".conflist");
    }

    /// <summary>A host port nothing listens on now (20000..29999).</summary>
    public static int FreePort()
    {
        for (int i = 0; i < 50; i++)
        {
            int port = Random.Shared.Next(20000, 30000);
            string hex = ":" + port.ToString("X4", CultureInfo.InvariantCulture) + " ";
            if (!File.ReadAllText("/proc/net/tcp").Contains(hex, StringComparison.Ordinal) && !File.ReadAllText("/proc/net/tcp6").Contains(hex, StringComparison.Ordinal))
                return port;
        }
        throw new InvalidOperationException("no free port found");
    }

    public void Dispose()
    {
        Try("rm", "-a", "-f", "-t", "0");
        foreach (string net in _networks)
        {
            Try("network", "rm", "-f", net);
            // podman's CNI files: libcni's cache under /var/lib/cni/results, host-local's default data directory.
            try { Directory.Delete(Path.Combine("/var/lib/cni/networks", net), recursive: true); } catch (DirectoryNotFoundException) { }
            foreach (string f in Directory.Exists("/var/lib/cni/results") ? Directory.GetFiles("/var/lib/cni/results", net + "-*") : [])
                File.Delete(f);
        }
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
