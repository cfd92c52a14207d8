namespace Cni.Spec.Tests;

public class CniVersionsTests
{
    [Test]
    public void All_versions_oldest_first_and_latest_is_1_1_0()
    {
        Assert.That(CniVersions.All, Is.EqualTo(new[] { "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0" }));
        Assert.That(CniVersions.Latest, Is.EqualTo("1.1.0"));
        Assert.That(CniVersions.Default, Is.EqualTo("0.1.0"));
    }

    [TestCase("0.4.0", "0.4.0", true)]
    [TestCase("1.0.0", "0.4.0", true)]
    [TestCase("0.3.1", "0.4.0", false)]
    [TestCase("1.1", "1.1.0", true)]
    [TestCase("0.10.0", "0.4.0", true)]
    public void IsAtLeast_compares_numerically(string version, string minimum, bool expected) =>
        Assert.That(CniVersions.IsAtLeast(version, minimum), Is.EqualTo(expected));

    [TestCase("")]
    [TestCase("x.y.z")]
    [TestCase("1.0.0.0")]
    [TestCase("v1.0.0")]
    [TestCase("1.-1.0")]
    public void Malformed_versions_are_decoding_failures_naming_cniVersion(string version)
    {
        var ex = Assert.Throws<CniException>(() => CniVersions.Parse(version));

        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.DecodingFailure));
        Assert.That(ex.Message, Does.Contain("cniVersion"));
    }
}
