using System.Text.Json.Nodes;
using Cni.TestSupport;
using Cni.Tool;

namespace Cni.Runtime.Tests;

public class ToolTests
{
    private TestDirectory _dir = null!;
    private string _bin = null!;
    private Dictionary<string, string?> _env = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TestDirectory();
        _bin = _dir.Combine("bin");
        ShellPlugin.Create(_bin, "fake");
        File.WriteAllText(Path.Combine(_bin, "fake.result"), """{"cniVersion":"1.1.0","ips":[{"address":"10.9.0.2/24","gateway":"10.9.0.1"}],"dns":{}}""");
        _dir.Write("net.d/10-tool.conflist", """
            {"cniVersion":"1.1.0","name":"toolnet","plugins":[{"type":"fake","capabilities":{"portMappings":true}}]}
            """);
        _env = new Dictionary<string, string?>
        {
            ["NETCONFPATH"] = _dir.Combine("net.d"),
            ["CNI_PATH"] = _bin,
        };
    }

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private async Task<(int Code, string Stdout, string Stderr)> Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await CniTool.RunAsync([.. args, "--cache-dir", _dir.Combine("cache")], name => _env.GetValueOrDefault(name), stdout, stderr, CancellationToken.None);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Test]
    public void A_cache_write_syncs_the_file_before_the_rename_and_the_directory_after_it()
    {
        // Traced from the start (attaching to a running process traces nothing on some sandboxes): the cni tool's ADD.
        string strace = TestEnvironment.RequireTool("strace", "apt-get install strace");
        string tool = Path.Combine(AppContext.BaseDirectory, "cni");
        string log = _dir.Combine("strace.log"), cache = _dir.Combine("cache");
        var start = new System.Diagnostics.ProcessStartInfo(strace,
            ["-f", "-y", "-qq", "-e", "trace=fsync,fdatasync,rename,renameat,renameat2", "-o", log, tool, "add", "toolnet", "/ns", "--cache-dir", cache])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach ((string name, string? value) in _env)
            start.Environment[name] = value;
        start.Environment["CNI_CONTAINERID"] = "c1";
        using (var p = System.Diagnostics.Process.Start(start)!)
        {
            string stderr = p.StandardError.ReadToEnd();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.That(p.ExitCode, Is.EqualTo(0), stderr);
        }

        string results = Path.Combine(cache, "results");
        string[] calls = File.ReadAllLines(log).Where(l => l.Contains(results, StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf(' ', StringComparison.Ordinal) + 1)..].TrimStart()).ToArray();
        string all = string.Join("\n", calls);
        int fileSync = Array.FindIndex(calls, l => l.StartsWith("f", StringComparison.Ordinal) && l.Contains("sync(", StringComparison.Ordinal) && l.Contains(".tmp>", StringComparison.Ordinal));
        int rename = Array.FindIndex(calls, l => l.StartsWith("rename", StringComparison.Ordinal) && l.Contains("toolnet-c1-eth0\"", StringComparison.Ordinal));
        int dirSync = Array.FindIndex(calls, l => l.StartsWith("fsync(", StringComparison.Ordinal) && l.Contains(results + ">)", StringComparison.Ordinal));
        Assert.That(fileSync, Is.GreaterThanOrEqualTo(0), "the temporary file is synced:\n" + all);
        Assert.That(rename, Is.GreaterThan(fileSync), "before it is renamed:\n" + all);
        Assert.That(dirSync, Is.GreaterThan(rename), "and the directory after the rename:\n" + all);
    }

    [Test]
    public void TheContainerIdIsDerivedFromTheNetnsPathLikeCnitool()
    {
        // sha512("/var/run/netns/smokens")[:10] in hex, computed independently (python hashlib).
        Assert.That(CniTool.ContainerIdFor("/var/run/netns/smokens"), Is.EqualTo("cnitool-eb502207bada450b0a43"));
    }

    [Test]
    public async Task AddPrintsTheResultAndCheckAndDelUseTheCache()
    {
        _env["CNI_ARGS"] = "A=1;B=2";
        _env["CAP_ARGS"] = """{"portMappings":[{"hostPort":8080,"containerPort":80}],"other":1}""";
        _env["CNI_IFNAME"] = "net0";

        (int code, string stdout, string stderr) = await Run("add", "toolnet", "/var/run/netns/tool-test");

        Assert.That(code, Is.EqualTo(0), stderr);
        JsonNode result = JsonNode.Parse(stdout)!;
        Assert.That((string)result["ips"]![0]!["address"]!, Is.EqualTo("10.9.0.2/24"));
        Assert.That(stdout, Does.StartWith("{\n    \"cniVersion\": \"1.1.0\","), "indented like cnitool");
        string id = CniTool.ContainerIdFor("/var/run/netns/tool-test");
        Assert.That(ShellPlugin.Calls(_bin).Single(), Is.EqualTo($"fake ADD {id} /var/run/netns/tool-test net0 A=1;B=2"));
        Assert.That(ShellPlugin.Stdin(_bin, 0), Does.Contain("\"runtimeConfig\":{\"portMappings\":[{\"containerPort\":80,\"hostPort\":8080}]}"));
        Assert.That(File.Exists(Path.Combine(_dir.Combine("cache"), "results", $"toolnet-{id}-net0")));

        Assert.That((await Run("check", "toolnet", "/var/run/netns/tool-test")).Code, Is.EqualTo(0));
        Assert.That((await Run("del", "toolnet", "/var/run/netns/tool-test")).Code, Is.EqualTo(0));
        Assert.That(ShellPlugin.Stdin(_bin, 2), Does.Contain("\"prevResult\""));
        Assert.That(Directory.GetFiles(Path.Combine(_dir.Combine("cache"), "results")), Is.Empty);
    }

    [Test]
    public async Task CniContaineridOverridesTheDerivedId()
    {
        _env["CNI_CONTAINERID"] = "explicit";
        Assert.That((await Run("add", "toolnet", "/ns")).Code, Is.EqualTo(0));
        Assert.That(ShellPlugin.Calls(_bin).Single(), Does.StartWith("fake ADD explicit /ns eth0"));
    }

    [Test]
    public async Task ExitCodesTellWhatWentWrong()
    {
        Assert.That((await Run()).Code, Is.EqualTo(CniTool.ExitUsage));
        Assert.That((await Run("frobnicate", "x")).Code, Is.EqualTo(CniTool.ExitUsage));
        Assert.That((await Run("add", "toolnet")).Code, Is.EqualTo(CniTool.ExitUsage));
        _env["CAP_ARGS"] = "{not json";
        (int capCode, _, string capErr) = await Run("add", "toolnet", "/ns");
        Assert.That(capCode, Is.EqualTo(CniTool.ExitUsage));
        Assert.That(capErr, Does.Contain("CAP_ARGS"));
        _env.Remove("CAP_ARGS");

        (int missing, string missingOut, string missingErr) = await Run("add", "nosuchnet", "/ns");
        Assert.That(missing, Is.EqualTo(CniTool.ExitConfig));
        Assert.That(missingOut, Is.Empty);
        Assert.That(missingErr, Does.Contain("no net configuration with name \"nosuchnet\""));

        File.WriteAllText(Path.Combine(_bin, "fake.fail"), """{"code":7,"msg":"bad subnet"}""");
        (int failed, string failedOut, string failedErr) = await Run("add", "toolnet", "/ns");
        Assert.That(failed, Is.EqualTo(CniTool.ExitFailed));
        Assert.That(failedOut, Is.Empty);
        Assert.That(failedErr, Does.Contain("network \"toolnet\": plugin type=\"fake\" (1 of 1) failed (ADD): bad subnet (code 7)"));

        File.WriteAllText(Path.Combine(_bin, "fake.fail"), """{"code":50,"msg":"not ready"}""");
        Assert.That((await Run("status", "toolnet")).Code, Is.EqualTo(CniTool.ExitNotReady));
        File.Delete(Path.Combine(_bin, "fake.fail"));
        Assert.That((await Run("status", "toolnet", "/ns")).Code, Is.EqualTo(CniTool.ExitOk));
    }

    [Test]
    public async Task GcKeepsTheValidAttachments()
    {
        _env["CNI_CONTAINERID"] = "keep";
        await Run("add", "toolnet", "/ns1");
        _env["CNI_CONTAINERID"] = "drop";
        await Run("add", "toolnet", "/ns2");

        (int code, _, string stderr) = await Run("gc", "toolnet", "--valid", "keep/eth0");

        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(ShellPlugin.Calls(_bin).Skip(2), Is.EqualTo(new[] { "fake DEL drop /ns2 eth0 -", "fake GC - - - -" }));
        Assert.That(ShellPlugin.Stdin(_bin, 3), Does.Contain("\"cni.dev/valid-attachments\":[{\"containerID\":\"keep\",\"ifname\":\"eth0\"}]"));
    }

    [Test]
    public async Task ValidateVersionAndList()
    {
        (int code, string stdout, _) = await Run("validate", "toolnet");
        Assert.That(code, Is.EqualTo(0));
        Assert.That(stdout.Trim(), Is.EqualTo("[\"portMappings\"]"));

        (code, stdout, _) = await Run("version", "fake");
        Assert.That(code, Is.EqualTo(0));
        Assert.That(JsonNode.Parse(stdout)!["supportedVersions"]!.AsArray().Count, Is.EqualTo(4));

        string broken = _dir.Write("net.d/00-broken.conflist", "{");
        (code, stdout, string stderr) = await Run("list");
        Assert.That(code, Is.EqualTo(CniTool.ExitConfig));
        Assert.That((string)JsonNode.Parse(stdout)![0]!["name"]!, Is.EqualTo("toolnet"));
        Assert.That(stderr, Does.Contain(broken));
    }
}

/// <summary>The NativeAOT binary ./build.sh publishes behaves like the in-process tool.</summary>
[Category(Category.Interop)]
public class PublishedToolTests
{
    [Test]
    public void ThePublishedBinaryAddsAndDeletes()
    {
        string cni = TestEnvironment.RequireTool(Path.Combine(TestEnvironment.RepoRoot, "artifacts", "bin", "cni"), "run ./build.sh (publishes the cni tool NativeAOT to artifacts/bin/cni)");
        using var dir = new TestDirectory();
        string bin = dir.Combine("bin");
        ShellPlugin.Create(bin, "fake");
        File.WriteAllText(Path.Combine(bin, "fake.result"), """{"cniVersion":"1.0.0","ips":[{"address":"10.9.0.2/24"}],"dns":{}}""");
        dir.Write("net.d/10-n.conflist", """{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"fake"}]}""");

        (int Code, string Stdout, string Stderr) Run(params string[] args)
        {
            var start = new System.Diagnostics.ProcessStartInfo(cni) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string arg in args)
                start.ArgumentList.Add(arg);
            start.Environment["NETCONFPATH"] = dir.Combine("net.d");
            start.Environment["CNI_PATH"] = bin;
            using var process = System.Diagnostics.Process.Start(start)!;
            string stdout = process.StandardOutput.ReadToEnd();
            string stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, stdout, stderr);
        }

        (int code, string stdout, string stderr) = Run("add", "n", "/var/run/netns/published", "--cache-dir", dir.Combine("cache"));
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout, Does.Contain("\"address\": \"10.9.0.2/24\""));
        Assert.That(Run("del", "n", "/var/run/netns/published", "--cache-dir", dir.Combine("cache")).Code, Is.EqualTo(0));
        Assert.That(Run("add", "missing", "/ns", "--cache-dir", dir.Combine("cache")).Code, Is.EqualTo(CniTool.ExitConfig));
        Assert.That(ShellPlugin.Calls(bin), Has.Length.EqualTo(2));
    }
}

public class ToolWarningTests
{
    [Test]
    public async Task ABrokenFileIsReportedButDoesNotStopTheCommand()
    {
        using var dir = new TestDirectory();
        string bin = dir.Combine("bin");
        ShellPlugin.Create(bin, "fake");
        File.WriteAllText(Path.Combine(bin, "fake.result"), """{"cniVersion":"1.0.0","ips":[{"address":"10.9.0.2/24"}],"dns":{}}""");
        string broken = dir.Write("net.d/00-broken.conflist", "{\"name\":");
        dir.Write("net.d/10-n.conflist", """{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"fake"}]}""");
        var env = new Dictionary<string, string?> { ["NETCONFPATH"] = dir.Combine("net.d"), ["CNI_PATH"] = bin };
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        int code = await CniTool.RunAsync(["add", "n", "/ns", "--cache-dir", dir.Combine("cache")], n => env.GetValueOrDefault(n), stdout, stderr, CancellationToken.None);

        Assert.That(code, Is.EqualTo(0));
        Assert.That(stdout.ToString(), Does.Contain("10.9.0.2/24"));
        Assert.That(stderr.ToString(), Does.StartWith($"cni: warning: skipped {broken}: "));
    }
}

/// <summary><c>cni install</c>: the published cni-plugins copied into a directory, each type a link to it.</summary>
public class InstallTests
{
    private static (int Code, string Stdout, string Stderr) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CniTool.RunAsync(args, _ => null, stdout, stderr, CancellationToken.None).GetAwaiter().GetResult();
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Test]
    public void Installs_the_executable_and_links_every_type_and_refuses_foreign_files_without_force()
    {
        string published = TestEnvironment.RequirePublishedPlugin("cni-plugins");
        using var dir = new TestDirectory();
        string bin = dir.Combine("opt-cni-bin");
        Directory.CreateDirectory(bin);
        File.WriteAllText(Path.Combine(bin, "sbr-of-someone-else"), "someone else's plugin");

        (int code, _, string stderr) = Run("install", "--dir", bin, "--from", published);
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(File.ReadAllBytes(Path.Combine(bin, "cni-plugins")), Is.EqualTo(File.ReadAllBytes(published)));
        foreach (string type in new[] { "bandwidth", "bridge", "dhcp", "dummy", "firewall", "host-device", "host-local", "ipvlan", "loopback", "macvlan", "portmap", "ptp", "sbr", "static", "tap", "tuning", "vlan", "vrf" })
            Assert.That(new FileInfo(Path.Combine(bin, type)).LinkTarget, Is.EqualTo("cni-plugins"), type);
        Assert.That(File.ReadAllText(Path.Combine(bin, "sbr-of-someone-else")), Is.EqualTo("someone else's plugin"), "a type we do not hold is left alone");
        Assert.That(Directory.GetFiles(bin, ".*"), Is.Empty, "no temporary file left");
        Assert.That(Run("install", "--dir", bin, "--from", published).Code, Is.EqualTo(0), "installing again over our own links");

        File.Delete(Path.Combine(bin, "bridge"));
        File.WriteAllText(Path.Combine(bin, "bridge"), "the Go bridge");
        (code, _, stderr) = Run("install", "--dir", bin, "--from", published);
        Assert.That(code, Is.EqualTo(CniTool.ExitFailed));
        Assert.That(stderr, Does.Contain("bridge").And.Contain("--force"));
        Assert.That(File.ReadAllText(Path.Combine(bin, "bridge")), Is.EqualTo("the Go bridge"), "nothing changed without --force");

        Assert.That(Run("install", "--dir", bin, "--from", published, "--force").Code, Is.EqualTo(0));
        Assert.That(new FileInfo(Path.Combine(bin, "bridge")).LinkTarget, Is.EqualTo("cni-plugins"));
    }
}
