using System.Text.Json.Nodes;

namespace Cni.Plugins.Portmap.Tests;

/// <summary>Configurations for portmap tests.</summary>
internal static class PortmapTestData
{
    public static JsonObject PrevResult(string version, string sandbox, params string[] addresses)
    {
        var ips = new JsonArray();
        foreach (string a in addresses)
        {
            var ip = new JsonObject { ["address"] = a, ["interface"] = 1 };
            if (version.StartsWith("0.3", StringComparison.Ordinal) || version == "0.4.0")
                ip["version"] = a.Contains(':') ? "6" : "4";
            ips.Add(ip);
        }
        return new JsonObject
        {
            ["cniVersion"] = version,
            ["interfaces"] = new JsonArray(new JsonObject { ["name"] = "cni0" }, new JsonObject { ["name"] = "eth0", ["sandbox"] = sandbox }),
            ["ips"] = ips,
        };
    }

    public static JsonObject Config(string network, string mappingsJson, string? extra = null, string version = "1.0.0", JsonObject? prev = null)
    {
        var conf = new JsonObject
        {
            ["cniVersion"] = version,
            ["name"] = network,
            ["type"] = "portmap",
            ["runtimeConfig"] = new JsonObject { ["portMappings"] = JsonNode.Parse(mappingsJson) },
        };
        if (extra is not null)
        {
            foreach ((string key, JsonNode? value) in JsonNode.Parse(extra)!.AsObject())
                conf[key] = value?.DeepClone();
        }
        if (prev is not null)
            conf["prevResult"] = prev.DeepClone();
        return conf;
    }
}
