using System.Diagnostics;
using System.Text.Json.Nodes;
using Cni.Plugins.TestSupport;
using Cni.TestSupport;

namespace Cni.E2E.Tests;

/// <summary>
/// podman 4's CNI backend served by our plugin directory alone: the network is the conflist <c>podman network
/// create</c> writes (bridge with isGateway, ipMasq, hairpinMode and host-local; portmap; firewall; tuning), and a
/// container published with <c>-p</c> answers on the host. podman runs in the machine's root network namespace (the
/// only test that does): what it changes there must be given back when the container and the network are removed.
/// </summary>
[TestFixture]
[Category(Category.Interop)]
[NonParallelizable]
public class PodmanDefaultTests
{
    [Test]
    public void PublishedContainerAnswersAndRemovalLeavesNothing()
    {
        var clock = Stopwatch.StartNew();
        using var podman = new PodmanWorld();
        string network = TestEnvironment.UniqueName("cnie2e");
        string subnetPrefix = $"10.131.{Random.Shared.Next(1, 255)}.";
        HostState pristine = HostState.Capture(null);
        string conflist = podman.CreateNetwork(network, subnetPrefix + "0/24");

        // The shape podman writes for the CNI backend, and nothing but our plugins to serve it.
        JsonObject conf = JsonNode.Parse(File.ReadAllText(conflist))!.AsObject();
        Assert.That(conf["plugins"]!.AsArray().Select(p => p!["type"]!.GetValue<string>()), Is.EqualTo(new[] { "bridge", "portmap", "firewall", "tuning" }));
        JsonNode bridgeConf = conf["plugins"]![0]!;
        Assert.That(bridgeConf["ipam"]!["type"]!.GetValue<string>(), Is.EqualTo("host-local"));
        Assert.That(podman.Podman("info", "--format", "{{.Host.NetworkBackend}}").Stdout.Trim(), Is.EqualTo("cni"));
        string bridge = bridgeConf["bridge"]!.GetValue<string>();
        string gateway = subnetPrefix + "1";

        // A first container comes and goes: what stays for the node's lifetime (the bridge, portmap's and the firewall's
        // shared top-level chains, as with the reference plugins) is there from now on.
        string first = podman.Podman("run", "-d", "--network", network, PodmanWorld.Image, "httpd", "-f", "-p", "80", "-h", "/www").Stdout.Trim();
        podman.Podman("rm", "-f", "-t", "0", first);
        HostState before = HostState.Capture(null);
        string residue = HostState.Diff(pristine, before);
        TestContext.Out.WriteLine("left by the first container (shared, kept):\n" + residue);
        Assert.That(residue, Does.Not.Contain(first).And.Not.Contain(subnetPrefix + "2").And.Not.Contain("CNI-DN-"), "nothing of the first container stays");

        int port = PodmanWorld.FreePort();
        string id = podman.Podman("run", "-d", "--name", "web", "--network", network, "-p", $"{port}:80", PodmanWorld.Image, "httpd", "-f", "-p", "80", "-h", "/www").Stdout.Trim();
        string ip = podman.Podman("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", "web").Stdout.Trim();
        Assert.That(ip, Does.StartWith(subnetPrefix));
        string body = "";
        for (int i = 0; i < 50 && !body.Contains("hello", StringComparison.Ordinal); i++)
        {
            body = Get($"http://127.0.0.1:{port}/");
            if (body.Length == 0) Thread.Sleep(100);
        }
        Assert.That(body, Does.Contain("hello from podman"), $"curl http://127.0.0.1:{port}/ from the host");
        Assert.That(Get($"http://{gateway}:{port}/"), Does.Contain("hello from podman"), "the host's address on the bridge");
        Assert.That(Get($"http://{ip}:80/"), Does.Contain("hello from podman"), "the container's own address");

        HostState during = HostState.Capture(null);
        Assert.That(during.Links, Has.Some.Matches<string>(l => l.EndsWith(" master " + bridge, StringComparison.Ordinal)), "a veth on podman's bridge");
        Assert.That(during.RuleLines(), Has.Some.Contains($"{ip}:80"), "portmap: DNAT to the container");
        Assert.That(during.RuleLines(), Has.Some.Contains($"-A CNI-FORWARD -s {ip}/32"), "firewall: the container's forward rule");
        Assert.That(during.RuleLines(), Has.Some.Matches<string>(l => l.Contains($"-s {ip}/32", StringComparison.Ordinal) && l.Contains(id, StringComparison.Ordinal)), "ipMasq: the bridge's masquerade rule for the container");
        Assert.That(File.Exists($"/var/lib/cni/networks/{network}/{ip}"), "host-local reserved the address in its default data directory");

        podman.Podman("rm", "-f", "-t", "0", "web");
        HostState after = HostState.Capture(null);
        string diff = HostState.Diff(before, after);
        TestContext.Out.WriteLine("root namespace after podman rm -f, compared with before:\n" + (diff.Length == 0 ? "(equal)" : diff));
        // The root namespace is shared with whatever else runs on the machine (other test projects of dotnet test
        // run at the same time): every difference that is this network's fails the test; others are printed above.
        string[] ours = OursIn(diff, during, network, bridge, subnetPrefix, id, port);
        Assert.That(ours, Is.Empty, "podman rm -f left these behind in the root namespace");
        Assert.That(Get($"http://127.0.0.1:{port}/", 1), Is.Empty, "the published port is gone");
        Assert.That(Directory.GetFiles($"/var/lib/cni/networks/{network}").Select(Path.GetFileName).Where(f => !CniHostWorld.IsHostLocalBookkeeping(f!)), Is.Empty,
            "no address left reserved");
        Assert.That(Directory.Exists("/var/lib/cni/results") ? Directory.GetFiles("/var/lib/cni/results", $"{network}-*") : [], Is.Empty, "no libcni cache entry left");

        podman.Podman("network", "rm", network);
        HostState end = HostState.Capture(null);
        Assert.That(end.Links.Concat(end.Addresses).Where(l => l.Contains(bridge, StringComparison.Ordinal)), Is.Empty, "podman network rm removed the bridge");
        Assert.That(HostState.MultisetMinus(end.Links, pristine.Links).Where(l => l.Contains(bridge, StringComparison.Ordinal) || l.StartsWith("veth", StringComparison.Ordinal)),
            Is.Empty, "no link of ours left");
        TestContext.Out.WriteLine($"podman end to end: {clock.ElapsedMilliseconds} ms");
    }

    /// <summary>
    /// The lines of <paramref name="diff"/> that belong to this test's network: naming the network, its bridge, its
    /// subnet, the container or the host port, or one of the chains the rules for this container jumped to.
    /// </summary>
    private static string[] OursIn(string diff, HostState during, string network, string bridge, string subnetPrefix, string id, int port)
    {
        var marks = new List<string> { network, bridge, subnetPrefix, id, id[..12], $"dport {port}", $"--dport {port}", $"dports {port}" };
        foreach (string line in during.RuleLines().Where(l => marks.Any(m => l.Contains(m, StringComparison.Ordinal))))
        {
            foreach (string word in line.Split(' '))
            {
                if (word.StartsWith("CNI-", StringComparison.Ordinal) && !word.StartsWith("CNI-HOSTPORT-", StringComparison.Ordinal)
                    && word is not "CNI-FORWARD" and not "CNI-ADMIN")
                    marks.Add(word); // per-container chains: CNI-DN-<hash>, the masquerade chain CNI-<hash>
            }
        }
        return diff.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => marks.Any(m => l.Contains(m, StringComparison.Ordinal))).ToArray();
    }

    private static string Get(string url, int timeoutSeconds = 3)
    {
        Shell.Result r = Shell.Try("curl", "-s", "-g", "--noproxy", "*", "-m", timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), url);
        return r.ExitCode == 0 ? r.Stdout : "";
    }
}
