namespace Cni.Spec.Tests;

public class CniArgsTests
{
    [Test]
    public void Pairs_are_parsed_in_order_and_the_last_value_wins()
    {
        CniArgs args = CniArgs.Parse("IP=10.0.0.1/24;GATEWAY=10.0.0.254;IP=10.0.0.2/24");

        Assert.That(args.Pairs.Select(p => p.Key), Is.EqualTo(new[] { "IP", "GATEWAY", "IP" }));
        Assert.That(args.Get("IP"), Is.EqualTo("10.0.0.2/24"));
        Assert.That(args.Get("ip"), Is.Null, "keys are case-sensitive, as Go's LoadArgs");
        Assert.That(args.ToString(), Is.EqualTo("IP=10.0.0.1/24;GATEWAY=10.0.0.254;IP=10.0.0.2/24"));
    }

    [TestCase(null)]
    [TestCase("")]
    public void Nothing_is_no_arguments(string? text) => Assert.That(CniArgs.Parse(text).Pairs, Is.Empty);

    [TestCase("IgnoreUnknown=1", true)]
    [TestCase("IgnoreUnknown=TRUE", true)]
    [TestCase("IgnoreUnknown=0", false)]
    [TestCase("IgnoreUnknown=false", false)]
    [TestCase("A=b", false)]
    public void IgnoreUnknown_accepts_go_booleans(string text, bool expected) =>
        Assert.That(CniArgs.Parse(text).IgnoreUnknown, Is.EqualTo(expected));

    [TestCase("A")]
    [TestCase("A=b=c")]
    [TestCase("=b")]
    [TestCase("IgnoreUnknown=maybe")]
    public void Malformed_pairs_are_code_4_naming_CNI_ARGS(string text)
    {
        var ex = Assert.Throws<CniException>(() => CniArgs.Parse(text));

        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.InvalidEnvironmentVariables));
        Assert.That(ex.Message, Does.StartWith("CNI_ARGS"));
    }

    [Test]
    public void Unknown_keys_are_refused_naming_them_unless_IgnoreUnknown()
    {
        var ex = Assert.Throws<CniException>(() => CniArgs.Parse("IP=1;K8S_POD_NAME=a;FOO=b").EnsureKnownKeys(["IP"]));
        Assert.That(ex!.Message, Does.Contain("\"K8S_POD_NAME\"").And.Contain("\"FOO\""));
        Assert.That(ex.Details, Does.Contain("IP"));

        Assert.DoesNotThrow(() => CniArgs.Parse("IP=1;FOO=b;IgnoreUnknown=1").EnsureKnownKeys(["IP"]));
        Assert.DoesNotThrow(() => CniArgs.Parse("IP=1;IgnoreUnknown=0").EnsureKnownKeys(["IP"]));
    }
}
