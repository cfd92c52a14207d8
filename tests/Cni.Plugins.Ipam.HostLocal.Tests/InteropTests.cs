using System.Text.Json.Nodes;
using Cni.TestSupport;

namespace Cni.Plugins.Ipam.HostLocal.Tests;

/// <summary>
/// Our published binary against the Go reference host-local (Debian's containernetworking-plugins): the same
/// history gives the same answers and the same files, each releases what the other reserved, and both can work on
/// one directory at the same time without handing out an address twice.
/// </summary>
[Category(Category.Interop)]
public class InteropTests
{
    private Harness _ours = null!;
    private Harness _reference = null!;
    private readonly List<TempDir> _dirs = [];

    [SetUp]
    public void SetUp()
    {
        _reference = Harness.Binary(TestEnvironment.RequireReferencePlugin("host-local"));
        _ours = Harness.Binary(TestEnvironment.RequirePublishedPlugin("host-local"));
    }

    [TearDown]
    public void TearDown()
    {
        foreach (TempDir dir in _dirs)
            dir.Dispose();
        _dirs.Clear();
    }

    private TempDir NewDir()
    {
        var dir = new TempDir();
        _dirs.Add(dir);
        return dir;
    }

    private static string MultiRangeConfig(string dataDir, string version) => $$$"""
        {"cniVersion":"{{{version}}}","name":"interop","type":"bridge",
         "ipam":{"type":"host-local","dataDir":"{{{dataDir}}}",
                 "ranges":[[{"subnet":"10.60.0.0/29"},{"subnet":"10.60.1.0/24","rangeStart":"10.60.1.250","rangeEnd":"10.60.1.252","gateway":"10.60.1.251"}],
                           [{"subnet":"fd60::/125"}]],
                 "routes":[{"dst":"0.0.0.0/0"},{"dst":"::/0","gw":"fd60::1"}]}}
        """;

    private static string SmallConfig(string dataDir, string version) => $$$"""
        {"cniVersion":"{{{version}}}","name":"interop","type":"bridge",
         "ipam":{"type":"host-local","dataDir":"{{{dataDir}}}","subnet":"10.61.0.0/29","gateway":"10.61.0.3"}}
        """;

    private record Step(string Command, Func<string, string, string> Config, string ContainerId, string IfName = "eth0", string? Args = null);

    private static IEnumerable<Step> History()
    {
        Func<string, string, string> multi = MultiRangeConfig, small = SmallConfig;
        for (int i = 1; i <= 5; i++)
            yield return new Step("ADD", multi, $"c{i}");
        yield return new Step("DEL", multi, "c2");
        yield return new Step("DEL", multi, "c4");
        yield return new Step("ADD", multi, "c1");               // duplicate: error
        yield return new Step("ADD", multi, "c1", "net1");       // another interface
        yield return new Step("ADD", multi, "c6");
        yield return new Step("ADD", multi, "c7");
        yield return new Step("ADD", multi, "c8");               // ranges full: wraps, finds what DEL freed
        yield return new Step("ADD", multi, "c9");
        yield return new Step("ADD", multi, "c10", Args: "IP=10.60.0.2");   // taken
        yield return new Step("DEL", multi, "c3");
        yield return new Step("ADD", multi, "c11", Args: "IgnoreUnknown=1;K8S_POD_NAME=p;IP=10.60.0.4");
        yield return new Step("CHECK", multi, "c11");
        yield return new Step("CHECK", multi, "nobody");
        yield return new Step("DEL", multi, "nobody");
        yield return new Step("DEL", multi, "c1", "net1");
        for (int i = 1; i <= 6; i++)
            yield return new Step("ADD", small, $"s{i}");          // the sixth finds the range full
        yield return new Step("DEL", small, "s2");
        yield return new Step("ADD", small, "s7");
        yield return new Step("ADD", small, "s8", Args: "IP=10.61.0.3");     // the gateway
    }

    [TestCase("0.3.1")]
    [TestCase("0.4.0")]
    [TestCase("1.0.0")]
    public async Task TheSameHistoryGivesTheSameResultsAndTheSameFiles(string version)
    {
        TempDir oursDir = NewDir(), referenceDir = NewDir();
        int n = 0;
        foreach (Step step in History())
        {
            n++;
            if (step.Command == "CHECK" && version == "0.3.1")
                continue;
            PluginRun expected = await _reference.RunAsync(step.Command, step.Config(referenceDir.Path, version), step.ContainerId, step.IfName, step.Args);
            PluginRun actual = await _ours.RunAsync(step.Command, step.Config(oursDir.Path, version), step.ContainerId, step.IfName, step.Args);
            string what = $"step {n}: {step.Command} {step.ContainerId}/{step.IfName} {step.Args}\n reference: {expected}\n ours: {actual}";
            Assert.That(actual.ExitCode, Is.EqualTo(expected.ExitCode), what);
            if (expected.ExitCode == 0 && expected.Stdout.Trim().Length > 0)
                Assert.That(JsonNode.DeepEquals(actual.Json, expected.Json), Is.True, what);
            Assert.That(Render(oursDir.Files()), Is.EqualTo(Render(referenceDir.Files())), what);
        }
    }

    private static readonly string[] FuzzRanges =
    [
        "\"ranges\":[[{\"subnet\":\"10.1.0.0/29\"},{\"subnet\":\"10.1.1.0/28\",\"rangeStart\":\"10.1.1.3\",\"rangeEnd\":\"10.1.1.9\",\"gateway\":\"10.1.1.5\"},{\"subnet\":\"10.1.2.0/30\",\"gateway\":\"10.1.2.2\"}],[{\"subnet\":\"fd01::/125\",\"gateway\":\"fd01::4\"}]]",
        "\"subnet\":\"10.2.0.0/29\",\"rangeStart\":\"10.2.0.1\",\"rangeEnd\":\"10.2.0.7\",\"gateway\":\"10.2.0.4\"",
        "\"ranges\":[[{\"subnet\":\"fd02::/64\",\"rangeStart\":\"fd02::ffff:ffff:ffff:fff9\"}],[{\"subnet\":\"10.3.0.0/30\"},{\"subnet\":\"10.3.0.4/30\"},{\"subnet\":\"10.3.0.8/29\",\"gateway\":\"10.3.0.14\"}]]",
    ];

    private static readonly string[][] FuzzRequests =
    [
        ["10.1.0.3", "10.1.1.4", "10.1.1.9", "10.1.2.1", "fd01::3"],
        ["10.2.0.5", "10.2.0.2"],
        ["fd02::ffff:ffff:ffff:fffc", "10.3.0.6", "10.3.0.13"],
    ];

    /// <summary>
    /// Random histories (fixed seeds) over odd ranges — several ranges per set, gateways inside ranges, explicit
    /// bounds, IPv6 near the end of a /64 — give the same results and files in both plugins. Requested addresses are
    /// only used by attachments that hold nothing yet, where both plugins agree on what must happen.
    /// </summary>
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task RandomHistoriesMatchTheReference(int seed)
    {
        var random = new Random(seed);
        TempDir oursDir = NewDir(), referenceDir = NewDir();
        string Config(string dataDir, int i) =>
            $"{{\"cniVersion\":\"1.0.0\",\"name\":\"fz{i}\",\"type\":\"bridge\",\"ipam\":{{\"type\":\"host-local\",\"dataDir\":\"{dataDir}\",{FuzzRanges[i]}}}}}";
        for (int step = 0; step < 120; step++)
        {
            int i = random.Next(FuzzRanges.Length);
            string id = $"c{random.Next(14)}", ifName = random.Next(3) == 0 ? "net1" : "eth0";
            string command = random.Next(5) < 3 ? "ADD" : "DEL";
            string? args = null;
            if (command == "ADD" && random.Next(5) == 0)
            {
                bool holds = referenceDir.Files().Values.Any(v => v.AsSpan().SequenceEqual(System.Text.Encoding.ASCII.GetBytes($"{id}\r\n{ifName}")));
                if (!holds)
                    args = "IP=" + FuzzRequests[i][random.Next(FuzzRequests[i].Length)];
            }
            PluginRun expected = await _reference.RunAsync(command, Config(referenceDir.Path, i), id, ifName, args);
            PluginRun actual = await _ours.RunAsync(command, Config(oursDir.Path, i), id, ifName, args);
            string what = $"seed {seed} step {step}: {command} fz{i} {id}/{ifName} {args}\n reference: {expected}\n ours: {actual}";
            Assert.That(actual.ExitCode, Is.EqualTo(expected.ExitCode), what);
            if (expected.ExitCode == 0 && expected.Stdout.Trim().Length > 0)
                Assert.That(JsonNode.DeepEquals(actual.Json, expected.Json), Is.True, what);
            // The reference creates the directory and its lock on a DEL of a network it never saw; we create nothing.
            Assert.That(Render(WithoutLocks(oursDir.Files())), Is.EqualTo(Render(WithoutLocks(referenceDir.Files()))), what);
        }
    }

    private static SortedDictionary<string, byte[]> WithoutLocks(SortedDictionary<string, byte[]> files) =>
        new(files.Where(f => Path.GetFileName(f.Key) != "lock").ToDictionary(), StringComparer.Ordinal);

    private static string Render(SortedDictionary<string, byte[]> files) =>
        string.Join("\n", files.Select(f => $"{f.Key} = {Convert.ToHexString(f.Value)}"));

    [Test]
    public async Task EachReleasesWhatTheOtherReserved()
    {
        TempDir dir = NewDir();
        string config = MultiRangeConfig(dir.Path, "1.0.0");
        PluginRun byReference = await _reference.RunAsync("ADD", config, "from-go");
        PluginRun byUs = await _ours.RunAsync("ADD", config, "from-us");
        Assert.That(byUs.Addresses, Is.EqualTo(new[] { "10.60.0.3/29", "fd60::3/125" }), "round-robin continues after the reference's reservation");
        Assert.That((await _ours.RunAsync("CHECK", config, "from-go")).ExitCode, Is.Zero);
        Assert.That((await _reference.RunAsync("CHECK", config, "from-us")).ExitCode, Is.Zero);

        Assert.That((await _ours.RunAsync("DEL", config, "from-go")).ExitCode, Is.Zero);
        Assert.That((await _reference.RunAsync("DEL", config, "from-us")).ExitCode, Is.Zero);
        string netDir = Path.Combine(dir.Path, "interop");
        Assert.That(Directory.GetFiles(netDir).Select(Path.GetFileName).Order(StringComparer.Ordinal),
            Is.EqualTo(new[] { "last_reserved_ip.0", "last_reserved_ip.1", "lock" }), $"{byReference} / {byUs}");

        // A reservation the reference made and released is free again for us, and the index noticed.
        PluginRun again = await _ours.RunAsync("ADD", config, "later");
        Assert.That(again.Addresses, Is.EqualTo(new[] { "10.60.0.4/29", "fd60::4/125" }));
    }

    [Test]
    public async Task AnAddressTheReferenceFreesAndReusesIsSeenWithItsNewOwner()
    {
        TempDir dir = NewDir();
        string config = SmallConfig(dir.Path, "1.0.0");
        string netDir = Path.Combine(dir.Path, "interop");
        Assert.That((await _reference.RunAsync("ADD", config, "old")).Addresses, Is.EqualTo(new[] { "10.61.0.1/29" }));
        Assert.That((await _ours.RunAsync("ADD", config, "mine")).Addresses, Is.EqualTo(new[] { "10.61.0.2/29" })); // our index now knows "old"

        // The reference releases 10.61.0.1 and hands the same name to a new owner behind our back.
        Assert.That((await _reference.RunAsync("DEL", config, "old")).ExitCode, Is.Zero);
        Assert.That((await _reference.RunAsync("ADD", config, "new", args: "IP=10.61.0.1")).ExitCode, Is.Zero);

        Assert.That((await _ours.RunAsync("DEL", config, "old")).ExitCode, Is.Zero);
        Assert.That(File.ReadAllText(Path.Combine(netDir, "10.61.0.1")), Is.EqualTo("new\r\neth0"), "the old owner's DEL must not free the new owner's address");
        Assert.That((await _ours.RunAsync("CHECK", config, "new")).ExitCode, Is.Zero);
        Assert.That((await _ours.RunAsync("ADD", config, "new")).ExitCode, Is.EqualTo(1), "ours sees that new already holds an address");
        Assert.That((await _ours.RunAsync("DEL", config, "new")).ExitCode, Is.Zero);
        Assert.That(File.Exists(Path.Combine(netDir, "10.61.0.1")), Is.False);
    }

    [Test]
    public async Task BothAtOnceOnOneDirectoryNeverHandOutAnAddressTwice()
    {
        TempDir dir = NewDir();
        string config = $$$"""
            {"cniVersion":"1.0.0","name":"interop","type":"bridge",
             "ipam":{"type":"host-local","dataDir":"{{{dir.Path}}}","ranges":[[{"subnet":"10.62.0.0/24"}],[{"subnet":"fd62::/120"}]]}}
            """;
        // A few addresses taken beforehand, so both have to read the directory.
        for (int i = 0; i < 3; i++)
            await _reference.RunAsync("ADD", config, $"pre{i}");

        const int PerPlugin = 12;
        var runs = new List<Task<(string Id, PluginRun Run)>>();
        for (int i = 0; i < PerPlugin; i++)
        {
            string goId = $"go{i}", usId = $"us{i}";
            runs.Add(Task.Run(async () => (goId, await _reference.RunAsync("ADD", config, goId))));
            runs.Add(Task.Run(async () => (usId, await _ours.RunAsync("ADD", config, usId))));
        }
        (string Id, PluginRun Run)[] results = await Task.WhenAll(runs);

        string netDir = Path.Combine(dir.Path, "interop");
        var seen = new Dictionary<string, string>();
        foreach ((string id, PluginRun run) in results)
        {
            Assert.That(run.ExitCode, Is.Zero, $"{id}: {run}");
            foreach (string address in run.Addresses)
            {
                string ip = address[..address.IndexOf('/')];
                Assert.That(seen.TryAdd(ip, id), Is.True, $"{ip} handed to both {seen.GetValueOrDefault(ip)} and {id}");
                Assert.That(File.ReadAllText(Path.Combine(netDir, ip)), Is.EqualTo($"{id}\r\neth0"));
            }
        }
        Assert.That(seen, Has.Count.EqualTo(2 * 2 * PerPlugin));

        // And both release concurrently what the other reserved.
        var dels = results.Select((r, i) => Task.Run(() => (i % 2 == 0 ? _ours : _reference).RunAsync("DEL", config, r.Id))).ToArray();
        foreach (PluginRun del in await Task.WhenAll(dels))
            Assert.That(del.ExitCode, Is.Zero, del.ToString());
        Assert.That(Directory.GetFiles(netDir).Select(Path.GetFileName).Count(n => n!.StartsWith("10.", StringComparison.Ordinal) || n.StartsWith("fd62", StringComparison.Ordinal)),
            Is.EqualTo(6), "only the three earlier attachments remain");
    }
}
