namespace Cni.Spec.Tests;

public class CniValidationTests
{
    [TestCase("a")]
    [TestCase("0")]
    [TestCase("abc-123_x.y")]
    [TestCase("a..b")]
    public void Valid_names(string name)
    {
        Assert.DoesNotThrow(() => CniValidation.ValidateContainerId(name));
        Assert.DoesNotThrow(() => CniValidation.ValidateNetworkName(name));
    }

    [TestCase("-a")]
    [TestCase(".")]
    [TestCase("..")]
    [TestCase("../x")]
    [TestCase("a/b")]
    [TestCase("a b")]
    [TestCase("a\n")]
    [TestCase("é")]
    [TestCase("_a")]
    public void Invalid_names(string name)
    {
        var id = Assert.Throws<CniException>(() => CniValidation.ValidateContainerId(name));
        Assert.That(id!.Code, Is.EqualTo(CniErrorCode.InvalidEnvironmentVariables));
        Assert.That(id.Message, Does.Contain("CNI_CONTAINERID"));

        var net = Assert.Throws<CniException>(() => CniValidation.ValidateNetworkName(name));
        Assert.That(net!.Code, Is.EqualTo(CniErrorCode.InvalidNetworkConfig));
        Assert.That(net.Message, Does.Contain("network name"));
    }

    [Test]
    public void Missing_container_id_is_unknown_container() =>
        Assert.That(Assert.Throws<CniException>(() => CniValidation.ValidateContainerId(""))!.Code, Is.EqualTo(CniErrorCode.UnknownContainer));

    [TestCase("eth0")]
    [TestCase("a")]
    [TestCase("abcdefghijklmno")]
    [TestCase("veth.1-x_y@z")]
    public void Valid_interface_names(string name) => Assert.DoesNotThrow(() => CniValidation.ValidateInterfaceName(name));

    [TestCase("")]
    [TestCase("abcdefghijklmnop")]
    [TestCase(".")]
    [TestCase("..")]
    [TestCase("a/b")]
    [TestCase("a:b")]
    [TestCase("a b")]
    [TestCase("a\tb")]
    [TestCase("ééééééééé")]
    public void Invalid_interface_names(string name)
    {
        var ex = Assert.Throws<CniException>(() => CniValidation.ValidateInterfaceName(name));

        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.InvalidEnvironmentVariables));
        Assert.That(ex.Message, Does.Contain("CNI_IFNAME"));
    }
}
