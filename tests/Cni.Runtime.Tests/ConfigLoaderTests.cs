using System.Text;
using Cni.Spec;

namespace Cni.Runtime.Tests;

public class ConfigLoaderTests
{
    private TestDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TestDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private static string List(string name, string type, string version = "1.0.0", string extra = "") =>
        $$"""{"cniVersion":"{{version}}","name":"{{name}}"{{extra}},"plugins":[{"type":"{{type}}"}]}""";

    [Test]
    public void ListsAreReadInSortedOrderAndTheFirstWithANameWins()
    {
        _dir.Write("20-b.conflist", List("net", "second"));
        _dir.Write("10-a.conflist", List("net", "first"));
        _dir.Write("15-other.conflist", List("other", "x"));

        CniConfigSet set = CniConfigLoader.LoadAll(_dir.Path);

        Assert.That(set.Errors, Is.Empty);
        Assert.That(set.Networks.Select(n => n.Name), Is.EqualTo(new[] { "net", "other" }));
        Assert.That(set.Find("net")!.Plugins[0].Type, Is.EqualTo("first"));
        Assert.That(CniConfigLoader.Load(_dir.Path, "net").SourcePath, Does.EndWith("10-a.conflist"));
    }

    [Test]
    public void ABrokenFileIsReportedWithItsPathAndDoesNotStopTheOthers()
    {
        string broken = _dir.Write("05-broken.conflist", "{\"name\": \"bad\", ");
        string noType = _dir.Write("06-notype.conflist", """{"cniVersion":"1.0.0","name":"nt","plugins":[{"type":"a"},{"bridge":"x"}]}""");
        _dir.Write("10-good.conflist", List("good", "bridge"));

        CniConfigSet set = CniConfigLoader.LoadAll(_dir.Path);

        Assert.That(set.Networks.Select(n => n.Name), Is.EqualTo(new[] { "good" }));
        Assert.That(set.Errors.Select(e => e.Path), Is.EqualTo(new[] { broken, noType }));
        Assert.That(set.Errors[0].Error.Code, Is.EqualTo(CniErrorCode.DecodingFailure));
        Assert.That(set.Errors[0].ToString(), Does.Contain(broken));
        Assert.That(set.Errors[1].Error.Code, Is.EqualTo(CniErrorCode.InvalidNetworkConfig));
        Assert.That(set.Errors[1].Error.Message, Does.Contain(noType).And.Contain("plugins[1]").And.Contain("missing 'type'"));
    }

    [Test]
    public void LoadingAMissingNetworkNamesTheFilesThatCouldNotBeRead()
    {
        string broken = _dir.Write("05-broken.conflist", "not json");
        _dir.Write("10-good.conflist", List("good", "bridge"));

        var ex = Assert.Throws<CniException>(() => CniConfigLoader.Load(_dir.Path, "wanted"))!;
        Assert.That(ex.Code, Is.EqualTo(CniErrorCode.InvalidNetworkConfig));
        Assert.That(ex.Message, Does.Contain("\"wanted\"").And.Contain(_dir.Path));
        Assert.That(ex.Details, Does.Contain(broken));
    }

    [Test]
    public void AnEmptyOrMissingDirectoryHasNoNetworks()
    {
        Assert.That(CniConfigLoader.LoadAll(_dir.Combine("missing")).Networks, Is.Empty);
        var ex = Assert.Throws<CniException>(() => CniConfigLoader.Load(_dir.Path, "x"))!;
        Assert.That(ex.Message, Does.StartWith("no net configurations found in"));
    }

    [Test]
    public void ALegacyConfIsWrappedIntoAListWithLibcnisBytes()
    {
        _dir.Write("10-legacy.conf", """{"cniVersion":"0.4.0","name":"legacy","type":"bridge","bridge":"cni0","ipam":{"type":"host-local","subnet":"10.1.0.0/16"}}""");
        _dir.Write("20-legacy.json", """{"cniVersion":"0.3.1","name":"js","type":"ptp"}""");

        CniConfigSet set = CniConfigLoader.LoadAll(_dir.Path);

        Assert.That(set.Errors, Is.Empty);
        CniNetworkConfig legacy = set.Find("legacy")!;
        Assert.That(legacy.CniVersion, Is.EqualTo("0.4.0"));
        Assert.That(legacy.Plugins.Single().Type, Is.EqualTo("bridge"));
        // What libcni's ConfListFromConf marshals: a map, so keys sorted at every level, compact.
        Assert.That(Encoding.UTF8.GetString(legacy.Bytes), Is.EqualTo(
            """{"cniVersion":"0.4.0","name":"legacy","plugins":[{"bridge":"cni0","cniVersion":"0.4.0","ipam":{"subnet":"10.1.0.0/16","type":"host-local"},"name":"legacy","type":"bridge"}]}"""));
        Assert.That(set.Find("js")!.Plugins.Single().Type, Is.EqualTo("ptp"));
    }

    [Test]
    public void AListWinsOverALegacyFileWithTheSameName()
    {
        _dir.Write("00-legacy.conf", """{"cniVersion":"0.4.0","name":"net","type":"legacy"}""");
        _dir.Write("99-list.conflist", List("net", "fromlist"));

        Assert.That(CniConfigLoader.Load(_dir.Path, "net").Plugins.Single().Type, Is.EqualTo("fromlist"));
    }

    [Test]
    public void PluginsFromTheNetworksFolderAreAppendedInOrder()
    {
        _dir.Write("10-net.conflist", List("net", "inlined"));
        _dir.Write("net/20-b.conf", """{"type":"second"}""");
        _dir.Write("net/10-a.conf", """{"type":"first"}""");
        _dir.Write("net/ignored.json", """{"type":"nope"}""");

        CniNetworkConfig network = CniConfigLoader.Load(_dir.Path, "net");

        Assert.That(network.Plugins.Select(p => p.Type), Is.EqualTo(new[] { "inlined", "first", "second" }));
        Assert.That(network.Plugins[1].SourcePath, Does.EndWith("10-a.conf"));
    }

    [Test]
    public void LoadOnlyInlinedPluginsIgnoresTheNetworksFolder()
    {
        _dir.Write("10-net.conflist", List("net", "inlined", extra: ",\"loadOnlyInlinedPlugins\":true"));
        _dir.Write("net/10-a.conf", """{"type":"first"}""");

        CniNetworkConfig network = CniConfigLoader.Load(_dir.Path, "net");

        Assert.That(network.LoadOnlyInlinedPlugins, Is.True);
        Assert.That(network.Plugins.Select(p => p.Type), Is.EqualTo(new[] { "inlined" }));
    }

    [Test]
    public void AListWithoutPluginsTakesThemAllFromItsFolder()
    {
        _dir.Write("10-net.conflist", """{"cniVersion":"1.1.0","name":"net"}""");
        _dir.Write("net/10-a.conf", """{"type":"only"}""");
        _dir.Write("20-empty.conflist", """{"cniVersion":"1.1.0","name":"empty"}""");
        _dir.Write("30-strict.conflist", """{"cniVersion":"1.1.0","name":"strict","loadOnlyInlinedPlugins":true}""");

        CniConfigSet set = CniConfigLoader.LoadAll(_dir.Path);

        Assert.That(set.Find("net")!.Plugins.Single().Type, Is.EqualTo("only"));
        Assert.That(set.Errors.Select(e => Path.GetFileName(e.Path)), Is.EqualTo(new[] { "20-empty.conflist", "30-strict.conflist" }));
        Assert.That(set.Errors[0].Error.Message, Does.Contain("no plugins"));
        Assert.That(set.Errors[1].Error.Message, Does.Contain("loadOnlyInlinedPlugins"));
    }

    [Test]
    public void ABrokenPluginFileBreaksOnlyItsNetwork()
    {
        _dir.Write("10-net.conflist", List("net", "inlined"));
        string bad = _dir.Write("net/10-a.conf", """{"type":""}""");
        _dir.Write("20-other.conflist", List("other", "x"));

        CniConfigSet set = CniConfigLoader.LoadAll(_dir.Path);

        Assert.That(set.Networks.Select(n => n.Name), Is.EqualTo(new[] { "other" }));
        Assert.That(set.Errors.Single().Error.Message, Does.Contain(bad));
    }

    [TestCase("true", true)]
    [TestCase("\"TRUE\"", true)]
    [TestCase("\"false\"", false)]
    [TestCase("false", false)]
    public void SwitchesAcceptBooleansAndBooleanStrings(string value, bool expected)
    {
        CniNetworkConfig network = CniNetworkConfig.Parse(Encoding.UTF8.GetBytes(
            $$"""{"cniVersion":"1.1.0","name":"n","disableCheck":{{value}},"disableGC":{{value}},"plugins":[{"type":"a"}]}"""));
        Assert.That(network.DisableCheck, Is.EqualTo(expected));
        Assert.That(network.DisableGC, Is.EqualTo(expected));
    }

    [Test]
    public void ABadSwitchValueIsNamed()
    {
        var ex = Assert.Throws<CniException>(() => CniNetworkConfig.Parse(Encoding.UTF8.GetBytes(
            """{"cniVersion":"1.1.0","name":"n","disableGC":"maybe","plugins":[{"type":"a"}]}""")))!;
        Assert.That(ex.Message, Does.Contain("disableGC").And.Contain("maybe"));
    }

    [TestCase("""{"cniVersion":"1.0.0","plugins":[{"type":"a"}]}""", "missing 'name'")]
    [TestCase("""{"cniVersion":"1.0.0","name":"../etc","plugins":[{"type":"a"}]}""", "invalid characters in network name")]
    [TestCase("""{"cniVersion":1,"name":"n","plugins":[{"type":"a"}]}""", "'cniVersion' must be a string")]
    [TestCase("""{"cniVersion":"1.0.0","name":"n","plugins":{}}""", "'plugins' must be an array")]
    [TestCase("""{"cniVersion":"1.0.0","name":"n","plugins":[]}""", "no plugins")]
    [TestCase("""{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"a","capabilities":{"ips":"yes"}}]}""", "capabilities.ips")]
    [TestCase("""[1,2]""", "expected a JSON object")]
    public void InvalidListsAreRefusedNamingTheField(string json, string expected)
    {
        var ex = Assert.Throws<CniException>(() => CniNetworkConfig.Parse(Encoding.UTF8.GetBytes(json), "/x/10.conflist"))!;
        Assert.That(ex.Message, Does.Contain(expected).And.StartWith("/x/10.conflist"));
    }

    [Test]
    public void CapabilitiesAreTheEnabledOnesSorted()
    {
        CniNetworkConfig network = CniNetworkConfig.Parse(Encoding.UTF8.GetBytes(
            """{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"a","name":"pm","capabilities":{"portMappings":true,"ips":true,"mac":false}}]}"""));
        Assert.That(network.Plugins[0].Capabilities, Is.EqualTo(new[] { "ips", "portMappings" }));
        Assert.That(network.Plugins[0].Description, Is.EqualTo("type=\"a\" name=\"pm\""));
    }
}
