using System.Text.Json.Nodes;
using Cni.Plugins.TestSupport;
using Cni.Spec;

namespace Cni.Plugins.Vrf.Tests;

/// <summary>The vrf plugin's decisions against an in-memory kernel (no root, no vrf module needed).</summary>
[TestFixture]
public class VrfFakeKernelTests
{
    private const string Pod = "/run/netns/fake-pod";
    private static readonly string[] Versions = ["0.3.1", "0.4.0", "1.0.0", "1.1.0"];

    private static JsonObject Config(string version, string json = """{"vrfname": "red"}""", bool prev = true)
    {
        var conf = new JsonObject { ["cniVersion"] = version, ["name"] = "vrfnet", ["type"] = "vrf" };
        foreach ((string key, JsonNode? value) in JsonNode.Parse(json)!.AsObject())
            conf[key] = value?.DeepClone();
        if (prev)
        {
            conf["prevResult"] = JsonNode.Parse($$"""
                {"cniVersion": "{{version}}", "interfaces": [{"name": "eth0", "sandbox": "{{Pod}}"}],
                 "ips": [{"{{(version == "0.3.1" ? "version\": \"4\", \"" : "")}}address": "10.1.0.5/24", "interface": 0}]}
                """);
        }
        return conf;
    }

    private static Task<PluginOutput> Run(FakeVrfKernel kernel, string command, JsonObject conf, string? netns = Pod, string ifName = "eth0") =>
        PluginRunner.RunInProcessAsync(new VrfPlugin(kernel), PluginRunner.Variables(command, netns, "ctr1", ifName, "/nonexistent"), conf.ToJsonString());

    [Test]
    public async Task AddCreatesTheVrfOnTheFirstFreeTableEnslavesAndPassesThePrevResultThrough([ValueSource(nameof(Versions))] string version)
    {
        var k = new FakeVrfKernel();
        FakeVrfKernel.FakeNs ns = k.AddNamespace(Pod);
        ns.AddExistingVrf("blue", 1);
        JsonObject conf = Config(version);

        JsonObject r = (await Run(k, "ADD", conf)).AssertSuccess().Json;

        Assert.That(k.Log, Is.EqualTo(new[] { "add vrf red 2", "up red", "master eth0 red", "addr eth0 fd00::5/64" }));
        Assert.That(ns["eth0"]!.MasterIndex, Is.EqualTo(ns["red"]!.Index));
        Assert.That(r["cniVersion"]!.GetValue<string>(), Is.EqualTo(version));
        Assert.That(r["ips"]![0]!["address"]!.GetValue<string>(), Is.EqualTo("10.1.0.5/24"), "the previous result, passed through");
        if (version != "0.3.1")
            (await Run(k, "CHECK", conf)).AssertSuccess();

        (await Run(k, "DEL", conf)).AssertSuccess();
        Assert.That(ns["red"], Is.Null, "the last interface left: the VRF is deleted");
        Assert.That(ns["eth0"]!.MasterIndex, Is.Null);
        (await Run(k, "DEL", conf)).AssertSuccess();
    }

    [Test]
    public async Task AnExistingVrfIsReusedAndKeptWhileInterfacesRemain()
    {
        var k = new FakeVrfKernel { KeepAddressesOnMasterChange = true };
        FakeVrfKernel.FakeNs ns = k.AddNamespace(Pod);
        ns.Add(new Cni.Netlink.Link { Name = "net1", Kind = "veth", Mtu = 1500 });
        JsonObject conf = Config("1.0.0", """{"vrfname": "red", "table": 42}""");
        (await Run(k, "ADD", conf)).AssertSuccess();
        (await Run(k, "ADD", conf, ifName: "net1")).AssertSuccess();
        Assert.That(k.Log, Is.EqualTo(new[] { "add vrf red 42", "up red", "master eth0 red", "master net1 red" }), "no address restored: none was lost");
        (await Run(k, "DEL", conf)).AssertSuccess();
        Assert.That(ns["red"], Is.Not.Null, "net1 is still in it");
        (await Run(k, "DEL", conf, ifName: "net1")).AssertSuccess();
        Assert.That(ns["red"], Is.Null);
    }

    [Test]
    public async Task RefusalsChangeNothing()
    {
        var k = new FakeVrfKernel();
        FakeVrfKernel.FakeNs ns = k.AddNamespace(Pod);
        ns.AddExistingVrf("red", 7);
        ns.Add(new Cni.Netlink.Link { Name = "notvrf", Kind = "veth", Mtu = 1500 });
        (await Run(k, "ADD", Config("1.0.0", """{"vrfname": "red", "table": 8}"""))).AssertError(999, "VRF red already exist with different routing table 7 (table)");
        (await Run(k, "ADD", Config("1.0.0", """{"vrfname": "notvrf"}"""))).AssertError(999, "Netlink notvrf is not a VRF (vrfname)");
        (await Run(k, "ADD", Config("1.0.0"), ifName: "eth9")).AssertError(999, "could not get link by name eth9");
        (await Run(k, "ADD", Config("1.0.0", prev: false))).AssertError(7, "missing prevResult from earlier plugin");
        Assert.That(k.Log, Is.Empty);

        // An interface that already has a master.
        (await Run(k, "ADD", Config("1.0.0", """{"vrfname": "green"}"""))).AssertSuccess();
        (await Run(k, "ADD", Config("1.0.0", """{"vrfname": "blue"}"""))).AssertError(999, "interface eth0 has already a master set: green");
        Assert.That(ns["blue"], Is.Null);
    }

    [Test]
    public async Task WithoutTheModuleAddSaysSoAndLeavesNothing()
    {
        var k = new FakeVrfKernel { NoVrfModule = true };
        FakeVrfKernel.FakeNs ns = k.AddNamespace(Pod);
        (await Run(k, "ADD", Config("1.0.0"))).AssertError(999, "this kernel does not support vrf links (module missing?)");
        Assert.That(ns.Links.Select(l => l.Name), Is.EqualTo(new[] { "lo", "eth0" }));
        Assert.That(ns["eth0"]!.MasterIndex, Is.Null);
    }

    [Test]
    public async Task CheckNamesWhatDrifted()
    {
        var k = new FakeVrfKernel();
        FakeVrfKernel.FakeNs ns = k.AddNamespace(Pod);
        JsonObject conf = Config("1.0.0", """{"vrfname": "red", "table": 5}""");
        (await Run(k, "ADD", conf)).AssertSuccess();
        (await Run(k, "CHECK", Config("1.0.0", """{"vrfname": "red", "table": 6}"""))).AssertError(999, "VRF red has routing table 5, configured 6");
        ns.SetNoMaster(ns["eth0"]!.Index);
        (await Run(k, "CHECK", conf)).AssertError(999, "Failed to find eth0 associated to vrf red");
        ns.DeleteLink(ns["red"]!.Index);
        (await Run(k, "CHECK", conf)).AssertError(999, "VRF red not found");
        (await Run(k, "CHECK", Config("1.0.0", prev: false))).AssertError(7, "prevResult");
    }

    [Test]
    public async Task DelToleratesWhatIsGone()
    {
        var k = new FakeVrfKernel();
        k.AddNamespace(Pod);
        (await Run(k, "DEL", Config("1.0.0"), netns: null)).AssertSuccess();
        (await Run(k, "DEL", Config("1.0.0"), netns: "/run/netns/gone")).AssertSuccess();
        (await Run(k, "DEL", Config("1.0.0", prev: false))).AssertSuccess();
        Assert.That(k.Log, Is.Empty);
    }

    [TestCase("""{}""", 7u, "configuration is expected to have a valid vrf name (vrfname)", TestName = "NoVrfName")]
    [TestCase("""{"vrfname": "a/b"}""", 7u, "invalid vrf name \"a/b\" (vrfname)", TestName = "VrfNameInvalid")]
    [TestCase("""{"vrfname": "averyveryverylongname"}""", 7u, "(vrfname)", TestName = "VrfNameTooLong")]
    [TestCase("""{"vrfname": 3}""", 6u, "vrfname", TestName = "VrfNameNotAString")]
    [TestCase("""{"vrfname": "red", "table": -1}""", 7u, "invalid table -1, must be [0, 4294967295] (table)", TestName = "TableNegative")]
    [TestCase("""{"vrfname": "red", "table": 4294967296}""", 7u, "(table)", TestName = "TableAboveU32")]
    [TestCase("""{"vrfname": "red", "table": "10"}""", 6u, "table", TestName = "TableNotANumber")]
    public async Task InvalidConfigurationIsRefusedBeforeAnyChange(string json, uint code, string fragment)
    {
        foreach (string version in Versions)
        {
            var k = new FakeVrfKernel();
            k.AddNamespace(Pod);
            foreach (string command in new[] { "ADD", "DEL", "CHECK" })
            {
                if (command == "CHECK" && version == "0.3.1")
                    continue;
                (await Run(k, command, Config(version, json))).AssertError(code, fragment);
            }
            Assert.That(k.Log, Is.Empty);
        }
    }

    [Test]
    public async Task SpecVersionsBefore031AreRefusedAsByTheReference()
    {
        var k = new FakeVrfKernel();
        k.AddNamespace(Pod);
        var conf = new JsonObject { ["cniVersion"] = "0.2.0", ["name"] = "vrfnet", ["type"] = "vrf", ["vrfname"] = "red" };
        (await Run(k, "ADD", conf)).AssertError(1, "");
        Assert.That(VrfPlugin.FreeTable(k[Pod]), Is.EqualTo(1u));
    }
}
