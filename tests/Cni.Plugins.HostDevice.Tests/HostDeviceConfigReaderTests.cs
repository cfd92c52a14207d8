using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Cni.Spec;
using Cni.Plugins.TestSupport;

namespace Cni.Plugins.HostDevice.Tests;

/// <summary>The serializer's reading of <see cref="HostDeviceConfig"/>, as the plugin read it before it had its own reader.</summary>
[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, NumberHandling = JsonNumberHandling.Strict, GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(HostDeviceConfig))]
internal sealed partial class SerializerHostDeviceContext : JsonSerializerContext;

/// <summary>
/// host-device reads its options with its own <see cref="Cni.Spec.Json.JsonOptionReader"/> code instead of the serializer
/// (start-up cost): on every input here, valid or not, it must give what the serializer gave, the same values or the
/// same CNI error (code and message, JSON path included).
/// </summary>
public class HostDeviceConfigReaderTests
{
    private static readonly string[] Extras =
    [
        "",
        ""","device":"eth1","hwaddr":"02:00:00:00:00:01","kernelpath":"/sys/devices/pci0000:00/x","pciBusID":"0000:00:19.0","runtimeConfig":{"deviceID":"0000:00:1a.0"}""",
        ""","DEVICE":"eth2","HwAddr":"02:00:00:00:00:02","KernelPath":"/sys/devices/y","PCIBUSID":"0000:01:00.0","RuntimeConfig":{"DeviceId":"0000:02:00.0"}""",
        ""","device":"a","Device":"b","runtimeConfig":{"deviceID":"x"},"runtimeConfig":{"other":1}""",
        ""","device":null,"hwaddr":null,"kernelpath":null,"pciBusID":null,"runtimeConfig":null""",
        ""","runtimeConfig":{"deviceID":null,"mac":"02:00:00:00:00:03","portMappings":[{"hostPort":80}]}""",
        ""","runtimeConfig":{}""",
        ""","unknown":{"deep":[1,2,{"x":"y"}]},"ipam":{"type":"static","addresses":[{"address":"10.0.0.2/24"}]},"device":"eth3" """,
        ""","runtimeConfig":{"deviceID":"a","DEVICEID":"b"}""",
        // wrong types, each a decoding failure naming the path (a runtimeConfig that is no object is refused by NetConf.Parse first)
        ""","device":5""",
        ""","device":["eth1"]""",
        ""","Device":true""",
        ""","hwaddr":{"a":1}""",
        ""","kernelpath":1.5""",
        ""","pciBusID":false""",
        ""","runtimeConfig":{"deviceID":7}""",
        ""","runtimeConfig":{"deviceID":["x"]}""",
        ""","RuntimeConfig":{"DeviceID":{"a":"b"}}""",
        ""","runtimeConfig":{"deviceID":"x"},"device":[] """,
        // values LoadConf refuses after reading (read alike, refused alike)
        ""","device":"a/b" """,
        ""","kernelpath":"/etc" """,
        ""","hwaddr":"zz" """,
        ""","pciBusID":"" """,
    ];

    private static CniRequest Request(string json) => OptionsDifferential.Request(json);

    private static string Outcome(Func<HostDeviceConfig> read) => OptionsDifferential.Outcome(read, SerializerHostDeviceContext.Default.HostDeviceConfig);

    [TestCaseSource(nameof(Extras))]
    public void ReadsWhatTheSerializerRead(string extra)
    {
        CniRequest request = Request($$"""{"cniVersion":"1.0.0","name":"n","type":"host-device"{{extra}}}""");
        string expected = Outcome(() => request.GetOptions<HostDeviceConfig>(SerializerHostDeviceContext.Default));
        string actual = Outcome(() => HostDeviceConfigReader.Read(request.RawConfig.Span));
        Assert.That(actual, Is.EqualTo(expected));
    }

    [TestCase("""{"cniVersion":"1.0.0","name":"n","type":"host-device","mac":"x",}""")]
    [TestCase("""{"cniVersion":"1.0.0","name":"n","type":"host-device","device":"eth1" "hwaddr":1}""")]
    public void MalformedJsonFailsAlike(string json)
    {
        CniRequest request = Request("""{"cniVersion":"1.0.0","name":"n","type":"host-device"}""");
        request = new CniRequest { Command = request.Command, Config = request.Config, RawConfig = Encoding.UTF8.GetBytes(json), Args = request.Args, Environment = request.Environment };
        string expected = Outcome(() => request.GetOptions<HostDeviceConfig>(SerializerHostDeviceContext.Default));
        string actual = Outcome(() => HostDeviceConfigReader.Read(request.RawConfig.Span));
        Assert.That(actual, Is.EqualTo(expected));
    }

    [Test]
    public void WrongTypesNameTheirPath()
    {
        CniException? ex = Assert.Throws<CniException>(() => HostDevicePlugin.LoadConf(Request("""{"cniVersion":"1.0.0","name":"n","type":"host-device","runtimeConfig":{"deviceID":1}}""")));
        Assert.That(ex!.Code, Is.EqualTo(CniErrorCode.DecodingFailure));
        Assert.That(ex.Message, Is.EqualTo("error decoding network configuration at $.runtimeConfig.deviceID: unexpected JSON value (wrong type)"));
    }
}
