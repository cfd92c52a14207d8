namespace Cni.Spec.Tests;

/// <summary>Error JSON against golden files printed by Go's <c>types.Error</c>.</summary>
public class ErrorJsonTests
{
    [TestCase("error.json", 4u, "required env variables [CNI_NETNS,CNI_IFNAME] missing", null)]
    [TestCase("error-with-details.json", 7u, "invalid network configuration at $.ipam.addresses[0].address: invalid CIDR address \"10.1.2.300/24\"", "some details")]
    public void Errors_print_like_go(string file, uint code, string msg, string? details)
    {
        var env = new InMemoryCniEnvironment([], "");

        CniPluginHost.WriteError(env, new CniException(code, msg, details));

        Assert.That(env.StdoutText, Is.EqualTo(GoldenFiles.Text(file)));
    }

    [TestCase("error.json", 4u, "")]
    [TestCase("error-with-details.json", 7u, "some details")]
    public void Go_error_json_reads_back_into_an_exception(string file, uint code, string details)
    {
        CniError error = System.Text.Json.JsonSerializer.Deserialize(GoldenFiles.Bytes(file), Json.CniJsonContext.Default.CniError)!;

        CniException ex = error.ToException();

        Assert.That(ex.NumericCode, Is.EqualTo(code));
        Assert.That(ex.Details, Is.EqualTo(details));
        Assert.That(CniError.From(ex).Details, Is.EqualTo(details.Length == 0 ? null : details));
    }

    [Test]
    public void Well_known_codes_have_the_spec_values()
    {
        Assert.Multiple(() =>
        {
            Assert.That((uint)CniErrorCode.IncompatibleCniVersion, Is.EqualTo(1));
            Assert.That((uint)CniErrorCode.UnsupportedField, Is.EqualTo(2));
            Assert.That((uint)CniErrorCode.UnknownContainer, Is.EqualTo(3));
            Assert.That((uint)CniErrorCode.InvalidEnvironmentVariables, Is.EqualTo(4));
            Assert.That((uint)CniErrorCode.IoFailure, Is.EqualTo(5));
            Assert.That((uint)CniErrorCode.DecodingFailure, Is.EqualTo(6));
            Assert.That((uint)CniErrorCode.InvalidNetworkConfig, Is.EqualTo(7));
            Assert.That((uint)CniErrorCode.TryAgainLater, Is.EqualTo(11));
            Assert.That((uint)CniErrorCode.PluginNotAvailable, Is.EqualTo(50));
            Assert.That((uint)CniErrorCode.PluginNotAvailableLimitedConnectivity, Is.EqualTo(51));
            Assert.That((uint)CniErrorCode.Internal, Is.EqualTo(999));
        });
    }

    [TestCase("error.json", 4u, "")]
    [TestCase("error-with-details.json", 7u, "some details")]
    public void TryParse_reads_go_error_json(string file, uint code, string details)
    {
        Assert.That(CniError.TryParse(GoldenFiles.Bytes(file), out CniError? error), Is.True);
        CniException ex = error!.ToException();
        Assert.Multiple(() =>
        {
            Assert.That(ex.NumericCode, Is.EqualTo(code));
            Assert.That(ex.Details, Is.EqualTo(details));
        });
    }

    [TestCase("""{"code":0,"msg":"only a message"}""", 0u, "only a message")]
    [TestCase("""{"code":11,"extra":[1,2]}""", 11u, "")]
    [TestCase("""{"code":7,"msg":null}""", 7u, "")]
    public void TryParse_accepts_a_code_or_a_message(string json, uint code, string msg)
    {
        Assert.That(CniError.TryParse(System.Text.Encoding.UTF8.GetBytes(json), out CniError? error), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(error!.Code, Is.EqualTo(code));
            Assert.That(error.Msg, Is.EqualTo(msg));
        });
    }

    [TestCase("")]
    [TestCase("not json")]
    [TestCase("[]")]
    [TestCase("{}")]
    [TestCase("""{"code":0,"msg":""}""")]
    [TestCase("""{"code":"7","msg":"code as a string"}""")]
    [TestCase("""{"code":-1,"msg":"negative"}""")]
    [TestCase("""{"code":7,"msg":42}""")]
    [TestCase("""{"cniVersion":"1.0.0","ips":[]}""")]
    public void TryParse_refuses_what_is_not_error_json(string json) =>
        Assert.That(CniError.TryParse(System.Text.Encoding.UTF8.GetBytes(json), out CniError? error), Is.False, () => $"parsed as {error?.Code} {error?.Msg}");
}
