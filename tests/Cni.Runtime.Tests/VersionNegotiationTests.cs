using System.Text;
using Cni.Spec;

namespace Cni.Runtime.Tests;

public class VersionNegotiationTests
{
    [TestCase("1.0.0", new string[0], "1.0.0")]
    [TestCase("", new string[0], "")]
    [TestCase("1.0.0", new[] { "0.4.0", "1.1.0" }, "1.1.0")]
    [TestCase("0.4.0", new[] { "1.0.0", "0.3.1" }, "1.0.0")]
    [TestCase("1.1.0", new[] { "0.3.1" }, "1.1.0")]
    [TestCase("", new[] { "0.4.0", "2.0.0", "1.0.0" }, "1.0.0")]
    [TestCase("9.0.0", new[] { "1.0.0", "1.2.0" }, "1.0.0")]
    public void TheHighestVersionThisLibraryImplementsWins(string cniVersion, string[] cniVersions, string expected)
    {
        Assert.That(CniVersionNegotiation.Negotiate(cniVersion, cniVersions), Is.EqualTo(expected));
    }

    [Test]
    public void AMalformedEntryIsNamedWithItsIndex()
    {
        var ex = Assert.Throws<CniException>(() => CniVersionNegotiation.Negotiate("1.0.0", ["1.0.0", "one"]))!;
        Assert.That(ex.Message, Does.Contain("\"one\"").And.Contain("index 1"));
    }

    [Test]
    public void OnlyNewerVersionsIsAnIncompatibleVersion()
    {
        var ex = Assert.Throws<CniException>(() => CniVersionNegotiation.Negotiate("", ["2.0.0", "1.2.0"]))!;
        Assert.That(ex.Code, Is.EqualTo(CniErrorCode.IncompatibleCniVersion));
    }

    [Test]
    public void AListUsesTheNegotiatedVersionAndKeepsWhatWasWritten()
    {
        CniNetworkConfig network = CniNetworkConfig.Parse(Encoding.UTF8.GetBytes(
            """{"cniVersion":"0.4.0","cniVersions":["1.0.0","1.1.0","3.0.0"],"name":"n","plugins":[{"type":"a"}]}"""));
        Assert.That(network.CniVersion, Is.EqualTo("1.1.0"));
        Assert.That(network.DeclaredCniVersion, Is.EqualTo("0.4.0"));
        Assert.That(network.CniVersions, Is.EqualTo(new[] { "1.0.0", "1.1.0", "3.0.0" }));
    }

    [Test]
    public void PluginsAreCalledWithTheNegotiatedVersion()
    {
        CniNetworkConfig network = CniNetworkConfig.Parse(Encoding.UTF8.GetBytes(
            """{"cniVersion":"0.4.0","cniVersions":["1.1.0"],"name":"n","plugins":[{"type":"a","cniVersion":"0.3.1"}]}"""));
        string config = Encoding.UTF8.GetString(CniRuntime.BuildConfig(network, network.Plugins[0], null, null));
        Assert.That(config, Is.EqualTo("""{"cniVersion":"1.1.0","name":"n","type":"a"}"""));
    }
}
