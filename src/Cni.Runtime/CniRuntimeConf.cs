using System.Text.Json.Nodes;

namespace Cni.Runtime;

/// <summary>
/// One attachment's runtime arguments (libcni's <c>RuntimeConf</c>): the container, its network namespace, the
/// interface name, <c>CNI_ARGS</c> pairs and the capability arguments offered to plugins that declare them.
/// </summary>
public sealed class CniRuntimeConf
{
    /// <summary>The container id (<c>CNI_CONTAINERID</c>).</summary>
    public required string ContainerId { get; init; }

    /// <summary>The network namespace path (<c>CNI_NETNS</c>); may be null for DEL.</summary>
    public string? NetNs { get; init; }

    /// <summary>The interface name inside the container (<c>CNI_IFNAME</c>).</summary>
    public string IfName { get; init; } = "eth0";

    /// <summary><c>CNI_ARGS</c> as ordered pairs.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Args { get; init; } = [];

    /// <summary>
    /// Capability arguments (<c>portMappings</c>, <c>ips</c>, <c>mac</c>, ...): each plugin receives, in
    /// <c>runtimeConfig</c>, only the keys its configuration enables in <c>capabilities</c>.
    /// </summary>
    public JsonObject? CapabilityArgs { get; init; }

    /// <summary><see cref="Args"/> in <c>CNI_ARGS</c> form, <c>K=V;K=V</c>.</summary>
    public string ArgsString => string.Join(';', Args.Select(p => $"{p.Key}={p.Value}"));

    /// <summary>
    /// Parses <c>CNI_ARGS</c> text strictly, as cnitool does: every pair must be <c>KEY=VALUE</c> with both parts
    /// non-empty. Throws <see cref="Cni.Spec.CniException"/> (code 4) naming the bad pair.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> ParseArgs(string? text)
    {
        if (string.IsNullOrEmpty(text))
            return [];
        var pairs = new List<KeyValuePair<string, string>>();
        foreach (string pair in text.Split(';'))
        {
            string[] kv = pair.Split('=');
            if (kv.Length != 2 || kv[0].Length == 0 || kv[1].Length == 0)
                throw new Cni.Spec.CniException(Cni.Spec.CniErrorCode.InvalidEnvironmentVariables, $"invalid CNI_ARGS pair \"{pair}\": expected KEY=VALUE");
            pairs.Add(new(kv[0], kv[1]));
        }
        return pairs;
    }
}

/// <summary>An attachment that GC must keep: the container id and interface name (<c>cni.dev/valid-attachments</c>).</summary>
/// <param name="ContainerId">The container id.</param>
/// <param name="IfName">The interface name.</param>
public sealed record CniGcAttachment(string ContainerId, string IfName);
