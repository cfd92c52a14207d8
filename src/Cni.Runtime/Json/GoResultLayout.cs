using System.Text;
using System.Text.Json.Nodes;

namespace Cni.Runtime.Json;

/// <summary>
/// Writes a result the way Go marshals libcni's result structs (not maps): fields in struct declaration order.
/// libcni injects <c>prevResult</c> as a struct, so a plugin's stdin carries the result in this order while the rest
/// of the configuration has sorted keys. Unknown keys follow, sorted.
/// </summary>
internal static class GoResultLayout
{
    private static readonly string[] Result = ["cniVersion", "interfaces", "ips", "routes", "dns", "ip4", "ip6"];
    private static readonly string[] Interface = ["name", "mac", "mtu", "sandbox", "socketPath", "pciID"];
    private static readonly string[] IPConfig = ["version", "interface", "address", "gateway"];
    private static readonly string[] IPConfig020 = ["ip", "gateway", "routes"];
    private static readonly string[] Route = ["dst", "gw", "mtu", "advmss", "priority", "table", "scope"];
    private static readonly string[] Dns = ["nameservers", "domain", "search", "options"];

    /// <summary>Appends <paramref name="result"/> (a result object) in Go struct order.</summary>
    public static void Write(StringBuilder builder, JsonNode? result) => WriteNode(builder, result, Result);

    private static void WriteNode(StringBuilder builder, JsonNode? node, string[]? order)
    {
        if (node is not JsonObject obj || order is null)
        {
            GoJson.Write(builder, node);
            return;
        }
        builder.Append('{');
        bool first = true;
        IEnumerable<string> keys = order.Where(obj.ContainsKey)
            .Concat(obj.Select(p => p.Key).Where(k => !order.Contains(k)).Order(StringComparer.Ordinal));
        foreach (string key in keys)
        {
            if (!first)
                builder.Append(',');
            first = false;
            GoJson.WriteString(builder, key);
            builder.Append(':');
            JsonNode? value = obj[key];
            string[]? childOrder = ChildOrder(order, key);
            if (value is JsonArray array && childOrder is not null)
            {
                builder.Append('[');
                for (int i = 0; i < array.Count; i++)
                {
                    if (i > 0)
                        builder.Append(',');
                    WriteNode(builder, array[i], childOrder);
                }
                builder.Append(']');
            }
            else
            {
                WriteNode(builder, value, childOrder);
            }
        }
        builder.Append('}');
    }

    private static string[]? ChildOrder(string[] parent, string key) => (parent == Result, key) switch
    {
        (true, "interfaces") => Interface,
        (true, "ips") => IPConfig,
        (true, "routes") => Route,
        (true, "dns") => Dns,
        (true, "ip4" or "ip6") => IPConfig020,
        (false, "routes") when parent == IPConfig020 => Route,
        _ => null,
    };
}
