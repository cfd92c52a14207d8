using System.Text;

namespace Cni.Spec.Tests;

/// <summary>
/// Results in every wire version against golden files printed by the Go library (see Golden/README.md):
/// printing, parsing, and conversion in both directions, compared byte for byte.
/// </summary>
public class ResultGoldenTests
{
    private static readonly string[] GoVersions = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"];

    public static IEnumerable<TestCaseData> DownConversions() =>
        from name in new[] { "result", "v4only", "noip" }
        from version in GoVersions
        where GoldenFiles.Exists($"{name}-{version}.json")
        select new TestCaseData(name, version).SetName($"{name} 1.0.0 printed as {version}");

    public static IEnumerable<TestCaseData> WireFiles() =>
        (from name in new[] { "result", "v4only", "noip" }
         from version in GoVersions
         where GoldenFiles.Exists($"{name}-{version}.json")
         select new TestCaseData($"{name}-{version}.json", version))
        .Concat([
            new TestCaseData("result-1.1.0.json", "1.1.0"),
            new TestCaseData("result11-1.1.0.json", "1.1.0"),
            new TestCaseData("result11-1.0.0.json", "1.0.0"),
            new TestCaseData("result11-0.4.0.json", "0.4.0"),
            new TestCaseData("result11-0.2.0.json", "0.2.0"),
        ]);

    [TestCaseSource(nameof(DownConversions))]
    public void Printing_the_model_in_each_version_matches_go(string name, string version)
    {
        CniResult model = CniResultSerializer.Parse(GoldenFiles.Bytes($"{name}-1.0.0.json"));

        string printed = CniResultSerializer.Serialize(model, version);

        Assert.That(printed, Is.EqualTo(GoldenFiles.Text($"{name}-{version}.json")));
    }

    [TestCaseSource(nameof(WireFiles))]
    public void Parsing_then_printing_in_the_same_version_gives_the_same_bytes(string file, string version)
    {
        CniResult model = CniResultSerializer.Parse(GoldenFiles.Bytes(file), version);

        Assert.That(CniResultSerializer.Serialize(model, version), Is.EqualTo(GoldenFiles.Text(file)));
    }

    [TestCaseSource(nameof(WireFiles))]
    public void Parsing_reads_the_version_from_the_json_when_not_given(string file, string version)
    {
        CniResult model = CniResultSerializer.Parse(GoldenFiles.Bytes(file));

        Assert.That(model.CniVersion, Is.EqualTo(version));
        Assert.That(CniResultSerializer.Serialize(model, version), Is.EqualTo(GoldenFiles.Text(file)));
    }

    [TestCaseSource(nameof(DownConversions))]
    public void Up_conversion_to_1_0_0_matches_go(string name, string version)
    {
        CniResult model = CniResultSerializer.Parse(GoldenFiles.Bytes($"{name}-{version}.json"), version);

        Assert.That(CniResultSerializer.Serialize(model, "1.0.0"), Is.EqualTo(GoldenFiles.Text($"{name}-{version}-to-1.0.0.json")));
    }

    [TestCase("0.1.0")]
    [TestCase("0.2.0")]
    public void Converting_a_result_without_addresses_to_0_2_0_fails_like_go(string version)
    {
        Assert.That(GoldenFiles.Exists($"noip-{version}.error.txt"), "Go refused this conversion too");
        CniResult model = CniResultSerializer.Parse(GoldenFiles.Bytes("noip-1.0.0.json"));

        var ex = Assert.Throws<CniException>(() => CniResultSerializer.Serialize(model, version));

        Assert.That(ex!.Message, Does.Contain("no IP address").And.Contain(version));
    }

    [TestCase("1.1.0", "result11-1.1.0.json")]
    [TestCase("1.0.0", "result11-1.0.0.json")]
    [TestCase("0.4.0", "result11-0.4.0.json")]
    [TestCase("0.2.0", "result11-0.2.0.json")]
    public void The_1_1_0_fields_convert_down_as_the_current_go_library(string version, string file)
    {
        CniResult model = CniResultSerializer.Parse(GoldenFiles.Bytes("result11-1.1.0.json"));

        Assert.That(CniResultSerializer.Serialize(model, version), Is.EqualTo(GoldenFiles.Text(file)));
    }

    [Test]
    public void The_1_1_0_fields_are_read_into_the_model()
    {
        CniResult model = CniResultSerializer.Parse(GoldenFiles.Bytes("result11-1.1.0.json"));

        Assert.Multiple(() =>
        {
            Assert.That(model.Interfaces[0].Mtu, Is.EqualTo(1450));
            Assert.That(model.Interfaces[1].SocketPath, Is.EqualTo("/var/run/vhost/vhost0.sock"));
            Assert.That(model.Interfaces[2].PciId, Is.EqualTo("0000:03:00.1"));
            Assert.That(model.Routes[0].Mtu, Is.EqualTo(1400));
            Assert.That(model.Routes[0].AdvMss, Is.EqualTo(1360));
            Assert.That(model.Routes[0].Priority, Is.EqualTo(100));
            Assert.That(model.Routes[0].Table, Is.EqualTo(0));
            Assert.That(model.Routes[1].Scope, Is.EqualTo(253));
            Assert.That(model.Ips[1].Interface, Is.EqualTo(2));
        });
    }

    [Test]
    public void Results_from_0_2_0_become_the_model_with_ip4_first_and_routes_in_order()
    {
        CniResult model = CniResultSerializer.Parse(GoldenFiles.Bytes("result-0.2.0.json"));

        Assert.Multiple(() =>
        {
            Assert.That(model.Ips.Select(i => i.Address.ToString()), Is.EqualTo(new[] { "10.1.2.3/24", "2001:db8::5/64" }));
            Assert.That(model.Routes.Select(r => r.Dst.ToString()), Is.EqualTo(new[] { "0.0.0.0/0", "192.168.0.0/16", "::/0" }));
            Assert.That(model.Interfaces, Is.Empty);
            Assert.That(model.Dns.Options, Is.EqualTo(new[] { "ndots:5" }));
        });
    }

    [Test]
    public void An_unknown_version_is_refused_naming_it()
    {
        var ex = Assert.Throws<CniException>(() => CniResultSerializer.Serialize(new CniResult(), "0.5.0"));

        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.IncompatibleCniVersion));
        Assert.That(ex.Message, Does.Contain("0.5.0"));
    }

    [Test]
    public void Compact_output_is_one_line_with_the_same_content()
    {
        CniResult model = CniResultSerializer.Parse(GoldenFiles.Bytes("result-0.4.0.json"));

        string compact = Encoding.UTF8.GetString(CniResultSerializer.SerializeToUtf8Bytes(model, "0.4.0", indented: false));

        Assert.That(compact, Does.Not.Contain("\n"));
        Assert.That(System.Text.Json.Nodes.JsonNode.DeepEquals(
            System.Text.Json.Nodes.JsonNode.Parse(compact), System.Text.Json.Nodes.JsonNode.Parse(GoldenFiles.Text("result-0.4.0.json"))));
    }

    [TestCase("""{"cniVersion":"1.0.0","ips":[{"gateway":"10.0.0.1"}]}""", "ips[0].address")]
    [TestCase("""{"cniVersion":"0.4.0","routes":[{"gw":"10.0.0.1"}]}""", "routes[0].dst")]
    [TestCase("""{"cniVersion":"1.0.0","interfaces":[null]}""", "interfaces[0]")]
    public void Incomplete_results_are_refused_naming_the_entry(string json, string named)
    {
        var ex = Assert.Throws<CniException>(() => CniResultSerializer.Parse(System.Text.Encoding.UTF8.GetBytes(json)));

        Assert.That(ex!.Message, Does.Contain(named));
    }

    [Test]
    public void An_incomplete_model_is_refused_when_printed() =>
        Assert.That(() => CniResultSerializer.Serialize(new CniResult { Routes = [new CniRoute()] }, "1.1.0"),
            Throws.TypeOf<CniException>().With.Message.Contains("routes[0].dst"));

    [Test]
    public void Malformed_result_json_is_a_decoding_failure_naming_the_path()
    {
        var ex = Assert.Throws<CniException>(() => CniResultSerializer.Parse("""{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1"}]}"""u8, what: "prevResult"));

        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.InvalidNetworkConfig));
        Assert.That(ex.Message, Does.Contain("prevResult").And.Contain("$.ips[0].address"));
    }
}
