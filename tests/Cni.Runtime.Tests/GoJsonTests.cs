using System.Text.Json.Nodes;
using Cni.Runtime.Json;

namespace Cni.Runtime.Tests;

public class GoJsonTests
{
    [Test]
    public void ObjectsAreCompactWithKeysSortedBytewise()
    {
        JsonNode node = JsonNode.Parse("""{ "b": [1, {"z": true, "a": null}], "B": "x", "a": {} }""")!;
        Assert.That(GoJson.SerializeToString(node), Is.EqualTo("""{"B":"x","a":{},"b":[1,{"a":null,"z":true}]}"""));
    }

    [Test]
    public void StringsAreEscapedAsGoDoes()
    {
        var node = JsonValue.Create("<a&b>\"\\\n\t\r\u0001\u2028é€😀");
        Assert.That(GoJson.SerializeToString(node), Is.EqualTo("\"\\u003ca\\u0026b\\u003e\\\"\\\\\\n\\t\\r\\u0001\\u2028é€😀\""));
    }

    [TestCase("8080", "8080")]
    [TestCase("1.5", "1.5")]
    [TestCase("-0.25", "-0.25")]
    [TestCase("1e20", "100000000000000000000")]
    [TestCase("1e21", "1e+21")]
    [TestCase("0.000001", "0.000001")]
    [TestCase("0.0000001", "1e-7")]
    [TestCase("123456789012", "123456789012")]
    [TestCase("1.0", "1")]
    [TestCase("0", "0")]
    public void NumbersArePrintedAsGoFloat64(string input, string expected)
    {
        Assert.That(GoJson.SerializeToString(JsonNode.Parse(input)), Is.EqualTo(expected));
    }
}
