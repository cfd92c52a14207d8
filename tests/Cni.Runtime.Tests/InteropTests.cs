using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Cni.TestSupport;
using Cni.Tool;

namespace Cni.Runtime.Tests;

/// <summary>
/// Our runtime and libcni (through cnirun) share one cache directory and one plugin chain: each reads what the other
/// wrote. The fake plugins need no kernel; the kernel variant uses the Go reference bridge and host-local.
/// </summary>
[Category(Category.Interop)]
public partial class InteropTests
{
    private const string HowToGetCnirun = "bash ../shared/tools/cnirun/build.sh (builds libcni's cnirun into /usr/local/bin)";
    private TestDirectory _dir = null!;
    private string _bin = null!;
    private string _cnirun = null!;

    [SetUp]
    public void SetUp()
    {
        _cnirun = TestEnvironment.RequireTool("/usr/local/bin/cnirun", HowToGetCnirun);
        _dir = new TestDirectory();
        _bin = _dir.Combine("bin");
        foreach (string type in new[] { "alpha", "beta" })
        {
            ShellPlugin.Create(_bin, type);
            File.WriteAllText(Path.Combine(_bin, $"{type}.result"),
                $$$"""{"cniVersion":"1.0.0","interfaces":[{"name":"{{{type}}}0","mac":"02:00:00:00:00:0{{{type.Length}}}"},{"name":"eth0","sandbox":"/var/run/netns/interop"}],"ips":[{"interface":1,"address":"10.77.0.5/24","gateway":"10.77.0.1"}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{"nameservers":["10.77.0.1"]}}""");
        }
        _dir.Write("net.d/10-interop.conflist", """
            {"cniVersion":"1.0.0","name":"interop","plugins":[{"type":"alpha","opt":"a<b"},{"type":"beta","capabilities":{"portMappings":true}}]}
            """);
    }

    [TearDown]
    public void TearDown() => _dir?.Dispose();

    private string CacheDir => _dir.Combine("cache");

    private string CacheFile(string id, string ifName = "eth0") => Path.Combine(CacheDir, "results", $"interop-{id}-{ifName}");

    private Task<(int Code, string Stdout, string Stderr)> Cnirun(string netConfPath, string binDir, params string[] args) =>
        CnirunIn(null, netConfPath, binDir, args);

    /// <summary>cnirun, inside the named network namespace <paramref name="hostNs"/> (<c>ip netns exec</c>) unless null.</summary>
    private async Task<(int Code, string Stdout, string Stderr)> CnirunIn(string? hostNs, string netConfPath, string binDir, params string[] args)
    {
        var start = new ProcessStartInfo(hostNs is null ? _cnirun : "ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in hostNs is null ? args : ["netns", "exec", hostNs, _cnirun, .. args])
            start.ArgumentList.Add(arg);
        start.Environment["NETCONFPATH"] = netConfPath;
        start.Environment["CNI_PATH"] = binDir;
        start.Environment["CNI_CACHE_DIR"] = CacheDir;
        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout, await stderr);
    }

    private async Task<(int Code, string Stdout, string Stderr)> Ours(string netConfPath, string binDir, string containerId, params string[] args)
    {
        var env = new Dictionary<string, string?> { ["NETCONFPATH"] = netConfPath, ["CNI_PATH"] = binDir, ["CNI_CONTAINERID"] = containerId };
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await CniTool.RunAsync([.. args, "--cache-dir", CacheDir], n => env.GetValueOrDefault(n), stdout, stderr, CancellationToken.None);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Test]
    public async Task OurToolAddsAndLibcniChecksAndDeletesFromOurCache()
    {
        string netd = _dir.Combine("net.d");
        (int add, _, string addErr) = await Ours(netd, _bin, "ours-1", "add", "interop", "/var/run/netns/interop");
        Assert.That(add, Is.EqualTo(0), addErr);
        Assert.That(File.Exists(CacheFile("ours-1")));

        (int check, _, string checkErr) = await Cnirun(netd, _bin, "check", "interop", "/var/run/netns/interop", "ours-1", "eth0");
        Assert.That(check, Is.EqualTo(0), checkErr);
        (int del, _, string delErr) = await Cnirun(netd, _bin, "del", "interop", "/var/run/netns/interop", "ours-1", "eth0");
        Assert.That(del, Is.EqualTo(0), delErr);

        Assert.That(ShellPlugin.Calls(_bin), Is.EqualTo(new[]
        {
            "alpha ADD ours-1 /var/run/netns/interop eth0 -", "beta ADD ours-1 /var/run/netns/interop eth0 -",
            "alpha CHECK ours-1 /var/run/netns/interop eth0 -", "beta CHECK ours-1 /var/run/netns/interop eth0 -",
            "beta DEL ours-1 /var/run/netns/interop eth0 -", "alpha DEL ours-1 /var/run/netns/interop eth0 -",
        }));
        // libcni found our cached result and handed it to the plugins as prevResult.
        for (int i = 2; i < 6; i++)
            Assert.That((string)JsonNode.Parse(ShellPlugin.Stdin(_bin, i))!["prevResult"]!["interfaces"]![0]!["name"]!, Is.EqualTo("beta0"), $"call {i}");
        Assert.That(File.Exists(CacheFile("ours-1")), Is.False, "libcni removed our cache entry");
    }

    [Test]
    public async Task LibcniAddsAndOurToolChecksAndDeletesFromItsCache()
    {
        string netd = _dir.Combine("net.d");
        (int add, _, string addErr) = await Cnirun(netd, _bin, "add", "interop", "/var/run/netns/interop", "go-1", "eth0");
        Assert.That(add, Is.EqualTo(0), addErr);
        Assert.That(File.Exists(CacheFile("go-1")));

        (int check, _, string checkErr) = await Ours(netd, _bin, "go-1", "check", "interop", "/var/run/netns/interop");
        Assert.That(check, Is.EqualTo(0), checkErr);
        (int del, _, string delErr) = await Ours(netd, _bin, "go-1", "del", "interop", "/var/run/netns/interop");
        Assert.That(del, Is.EqualTo(0), delErr);

        for (int i = 2; i < 6; i++)
            Assert.That((string)JsonNode.Parse(ShellPlugin.Stdin(_bin, i))!["prevResult"]!["interfaces"]![0]!["name"]!, Is.EqualTo("beta0"), $"call {i}");
        Assert.That(File.Exists(CacheFile("go-1")), Is.False, "we removed libcni's cache entry");
    }

    [Test]
    public async Task LibcniAndWeWriteTheSameStdinAndTheSameCacheBytes()
    {
        string netd = _dir.Combine("net.d");
        string goBin = _dir.Combine("gobin");
        foreach (string type in new[] { "alpha", "beta" })
        {
            ShellPlugin.Create(goBin, type);
            File.Copy(Path.Combine(_bin, $"{type}.result"), Path.Combine(goBin, $"{type}.result"));
        }

        Assert.That((await Cnirun(netd, goBin, "add", "interop", "/var/run/netns/interop", "same", "eth0")).Code, Is.EqualTo(0));
        string goCache = File.ReadAllText(CacheFile("same"));
        Assert.That((await Cnirun(netd, goBin, "del", "interop", "/var/run/netns/interop", "same", "eth0")).Code, Is.EqualTo(0));

        Assert.That((await Ours(netd, _bin, "same", "add", "interop", "/var/run/netns/interop")).Code, Is.EqualTo(0));
        string ourCache = File.ReadAllText(CacheFile("same"));
        Assert.That((await Ours(netd, _bin, "same", "del", "interop", "/var/run/netns/interop")).Code, Is.EqualTo(0));

        // The libcni on this machine (1.1.2) predates the "netns" field that newer libcni and we record.
        Assert.That(NetnsField().Replace(ourCache, ""), Is.EqualTo(goCache));
        for (int i = 0; i < 4; i++)
            Assert.That(ShellPlugin.Stdin(_bin, i), Is.EqualTo(ShellPlugin.Stdin(goBin, i)), $"stdin of call {i}");
    }

    [Test]
    [Category(Category.Kernel)]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task WithTheReferenceBridgeInANamespaceBothRuntimesShareAttachments()
    {
        TestEnvironment.RequireRoot();
        string refBin = Path.GetDirectoryName(TestEnvironment.RequireReferencePlugin("bridge"))!;
        TestEnvironment.RequireReferencePlugin("host-local");
        string ns = TestEnvironment.UniqueName("cnirt");
        string bridge = TestEnvironment.UniqueName("cnibr");
        // Both runtimes work as if they ran in a private "host" namespace, so the reference bridge puts its bridge, veths
        // and forwarding sysctl there and never in the machine's namespace: cnirun runs inside it (ip netns exec); our
        // tool runs in this process, so it gets a CNI_PATH whose plugins enter it first (nsenter --net, then exec).
        string hostNs = TestEnvironment.UniqueName("cnihost");
        string hostBin = _dir.Combine("hostbin");
        Directory.CreateDirectory(hostBin);
        foreach (string type in new[] { "bridge", "host-local" })
            TestEnvironment.WriteExecutable(Path.Combine(hostBin, type), $"#!/bin/sh\nexec nsenter --net=/var/run/netns/{hostNs} -- {Path.Combine(refBin, type)} \"$@\"\n");
        string netd = _dir.Combine("kernel.d");
        _dir.Write("kernel.d/10-k.conflist", $$$"""
            {"cniVersion":"1.0.0","name":"interop","plugins":[{"type":"bridge","bridge":"{{{bridge}}}","isGateway":true,
              "ipam":{"type":"host-local","subnet":"10.254.77.0/24","dataDir":"{{{_dir.Combine("ipam")}}}"}}]}
            """);
        string nsPath = $"/var/run/netns/{ns}";
        try
        {
            Exec("ip", "netns", "add", hostNs);
            Exec("ip", "-n", hostNs, "link", "set", "lo", "up");
            Exec("ip", "netns", "add", ns);

            (int add, string addOut, string addErr) = await Ours(netd, hostBin, "k-ours", "add", "interop", nsPath);
            Assert.That(add, Is.EqualTo(0), addErr);
            Assert.That(addOut, Does.Contain("10.254.77."));
            Assert.That(Exec("ip", "-n", hostNs, "-o", "link", "show", "master", bridge), Does.Contain("veth"), "the veth is on the bridge in the host namespace");
            Assert.That((await CnirunIn(hostNs, netd, refBin, "check", "interop", nsPath, "k-ours", "eth0")).Code, Is.EqualTo(0));
            Assert.That((await CnirunIn(hostNs, netd, refBin, "del", "interop", nsPath, "k-ours", "eth0")).Code, Is.EqualTo(0));
            Assert.That(Exec("ip", "-n", ns, "link", "show"), Does.Not.Contain("eth0"));

            Assert.That((await CnirunIn(hostNs, netd, refBin, "add", "interop", nsPath, "k-go", "eth0")).Code, Is.EqualTo(0));
            (int check, _, string checkErr) = await Ours(netd, hostBin, "k-go", "check", "interop", nsPath);
            Assert.That(check, Is.EqualTo(0), checkErr);
            Assert.That((await Ours(netd, hostBin, "k-go", "del", "interop", nsPath)).Code, Is.EqualTo(0));
            Assert.That(Exec("ip", "-n", ns, "link", "show"), Does.Not.Contain("eth0"));
            Assert.That(Directory.GetFiles(Path.Combine(_dir.Combine("ipam"), "interop")).Where(f => Path.GetFileName(f).StartsWith("10.")), Is.Empty,
                "both DELs released their addresses");
        }
        finally
        {
            TryExec("ip", "netns", "del", ns);
            TryExec("ip", "netns", "del", hostNs); // takes the bridge with it
        }
    }

    private static string Exec(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in args)
            start.ArgumentList.Add(arg);
        using Process process = Process.Start(start)!;
        string stdout = process.StandardOutput.ReadToEnd();
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed: {stderr}");
        return stdout;
    }

    private static void TryExec(string file, params string[] args)
    {
        try
        {
            Exec(file, args);
        }
        catch (InvalidOperationException)
        {
        }
    }

    [GeneratedRegex(",\"netns\":\"[^\"]*\"")]
    private static partial Regex NetnsField();
}
