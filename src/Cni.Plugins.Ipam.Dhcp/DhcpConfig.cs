using System.Globalization;
using System.Text.Json.Serialization;
using Cni.Plugins.Ipam.Dhcp.Protocol;
using Cni.Spec;

namespace Cni.Plugins.Ipam.Dhcp;

/// <summary>The keys the dhcp plugin reads from the whole configuration (an IPAM plugin gets its caller's).</summary>
internal sealed class DhcpNetConf
{
    [JsonPropertyName("name")]
    public string? Name { get; set; }

    [JsonPropertyName("ipam")]
    public DhcpIpamConfig? Ipam { get; set; }

    /// <summary><c>cni.dev/valid-attachments</c>: the attachments a GC keeps.</summary>
    [JsonPropertyName("cni.dev/valid-attachments")]
    public List<DhcpValidAttachment>? ValidAttachments { get; set; }
}

/// <summary>One entry of <c>cni.dev/valid-attachments</c>.</summary>
internal sealed class DhcpValidAttachment
{
    [JsonPropertyName("containerID")]
    public string? ContainerId { get; set; }

    [JsonPropertyName("ifname")]
    public string? IfName { get; set; }
}

/// <summary>The <c>ipam</c> section.</summary>
internal sealed class DhcpIpamConfig
{
    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("daemonSocketPath")]
    public string? DaemonSocketPath { get; set; }

    [JsonPropertyName("provide")]
    public List<DhcpProvideOption>? Provide { get; set; }

    [JsonPropertyName("request")]
    public List<DhcpRequestOption>? Request { get; set; }
}

/// <summary>An option the client sends: a fixed <c>value</c>, or the value of the <c>CNI_ARGS</c> key <c>fromArg</c>.</summary>
internal sealed class DhcpProvideOption
{
    [JsonPropertyName("option")]
    public string? Option { get; set; }

    [JsonPropertyName("value")]
    public string? Value { get; set; }

    [JsonPropertyName("fromArg")]
    public string? FromArg { get; set; }
}

/// <summary>An option the client asks the server for (parameter request list); <c>skipDefault</c> drops the default
/// request of router and subnet mask.</summary>
internal sealed class DhcpRequestOption
{
    [JsonPropertyName("skipDefault")]
    public bool SkipDefault { get; set; }

    [JsonPropertyName("option")]
    public string? Option { get; set; }
}

/// <summary>Source-generated metadata for the dhcp plugin's options.</summary>
[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(DhcpNetConf))]
internal sealed partial class DhcpConfigJsonContext : JsonSerializerContext
{
}

/// <summary>The dhcp plugin's configuration, validated: where the daemon listens, and the options every message of
/// this attachment carries.</summary>
internal sealed class DhcpSettings
{
    /// <summary>Where the daemon listens unless <c>ipam.daemonSocketPath</c> says otherwise.</summary>
    public const string DefaultSocketPath = "/run/cni/dhcp.sock";

    private static readonly Dictionary<string, byte> OptionNames = new(StringComparer.Ordinal)
    {
        ["dhcp-client-identifier"] = (byte)DhcpOptionCode.ClientIdentifier,
        ["subnet-mask"] = (byte)DhcpOptionCode.SubnetMask,
        ["routers"] = (byte)DhcpOptionCode.Router,
        ["host-name"] = (byte)DhcpOptionCode.HostName,
        ["user-class"] = (byte)DhcpOptionCode.UserClass,
        ["vendor-class-identifier"] = (byte)DhcpOptionCode.VendorClassIdentifier,
    };

    /// <summary>The network name (part of the client identifier).</summary>
    public required string NetworkName { get; init; }

    /// <summary>The daemon's socket.</summary>
    public required string SocketPath { get; init; }

    /// <summary>The provided options then the parameter request list, in the order they go on the wire.</summary>
    public required IReadOnlyList<DhcpOption> ExtraOptions { get; init; }

    /// <summary>The client identifiers of <c>cni.dev/valid-attachments</c> (GC keeps their leases).</summary>
    public IReadOnlyList<string> ValidClientIds { get; init; } = [];

    /// <summary>Reads and validates the configuration; bad values fail with code 7 naming the field.</summary>
    public static DhcpSettings Load(CniRequest request) =>
        Load(request.GetOptions<DhcpNetConf>(DhcpConfigJsonContext.Default), request.Args);

    /// <summary>Validates parsed options with the request's <c>CNI_ARGS</c>.</summary>
    internal static DhcpSettings Load(DhcpNetConf conf, CniArgs args)
    {
        DhcpIpamConfig ipam = conf.Ipam ?? throw Invalid("ipam: missing the ipam section");
        string socket = string.IsNullOrEmpty(ipam.DaemonSocketPath) ? DefaultSocketPath : ipam.DaemonSocketPath;
        if (!socket.StartsWith('/'))
            throw Invalid($"ipam.daemonSocketPath: \"{socket}\" is not an absolute path");
        if (socket.Contains('\0', StringComparison.Ordinal) || System.Text.Encoding.UTF8.GetByteCount(socket) > 107)
            throw Invalid($"ipam.daemonSocketPath: \"{socket}\" is not usable as a unix socket path (at most 107 bytes)");
        return new DhcpSettings
        {
            NetworkName = conf.Name ?? "",
            SocketPath = socket,
            ExtraOptions = PrepareOptions(ipam, args),
            ValidClientIds = (conf.ValidAttachments ?? [])
                .Select((a, i) => a is { ContainerId: { Length: > 0 } id, IfName: { Length: > 0 } ifName }
                    ? ClientId(id, conf.Name ?? "", ifName)
                    : throw Invalid($"cni.dev/valid-attachments[{i}]: needs containerID and ifname"))
                .ToList(),
        };
    }

    /// <summary>The provided options (a <c>fromArg</c> found in <c>CNI_ARGS</c> wins over <c>value</c>) and the
    /// parameter request list (configured codes, then router and subnet mask unless a request says skipDefault).</summary>
    internal static List<DhcpOption> PrepareOptions(DhcpIpamConfig ipam, CniArgs args)
    {
        var options = new List<DhcpOption>();
        void Put(byte code, byte[] value)
        {
            int index = options.FindIndex(o => o.Code == code);
            if (index >= 0)
                options[index] = new DhcpOption(code, value);
            else
                options.Add(new DhcpOption(code, value));
        }

        List<DhcpProvideOption> provide = ipam.Provide ?? [];
        for (int i = 0; i < provide.Count; i++)
        {
            DhcpProvideOption item = provide[i] ?? throw Invalid($"ipam.provide[{i}]: null");
            byte code = ParseOptionName(item.Option, $"ipam.provide[{i}].option");
            if (!string.IsNullOrEmpty(item.Value))
            {
                byte[] value = System.Text.Encoding.UTF8.GetBytes(item.Value);
                if (value.Length > 255)
                    throw Invalid($"ipam.provide[{i}].value: value too long for option \"{item.Option}\" ({value.Length} bytes, at most 255)");
                Put(code, value);
            }
            if (!string.IsNullOrEmpty(item.FromArg) && args.Get(item.FromArg) is { } fromArg)
            {
                byte[] value = System.Text.Encoding.UTF8.GetBytes(fromArg);
                if (value.Length > 255)
                    throw Invalid($"ipam.provide[{i}].fromArg: value too long for option \"{item.Option}\" from CNI_ARGS \"{item.FromArg}\" ({value.Length} bytes, at most 255)");
                Put(code, value);
            }
        }

        var requested = new List<byte>();
        bool skipDefault = false;
        List<DhcpRequestOption> request = ipam.Request ?? [];
        for (int i = 0; i < request.Count; i++)
        {
            DhcpRequestOption item = request[i] ?? throw Invalid($"ipam.request[{i}]: null");
            skipDefault |= item.SkipDefault;
            if (string.IsNullOrEmpty(item.Option))
                continue;
            byte code = ParseOptionName(item.Option, $"ipam.request[{i}].option");
            if (!requested.Contains(code))
                requested.Add(code);
        }
        if (!skipDefault)
        {
            foreach (byte code in new[] { (byte)DhcpOptionCode.Router, (byte)DhcpOptionCode.SubnetMask })
            {
                if (!requested.Contains(code))
                    requested.Add(code);
            }
        }
        if (requested.Count > 0)
            Put((byte)DhcpOptionCode.ParameterRequestList, requested.ToArray());
        return options;
    }

    /// <summary>An option given by name (dhcp-options(5) names the reference knows) or by number 0-255.</summary>
    internal static byte ParseOptionName(string? name, string field)
    {
        if (string.IsNullOrEmpty(name))
            throw Invalid($"{field}: missing option name or number");
        if (OptionNames.TryGetValue(name, out byte code))
            return code;
        if (byte.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out code))
        {
            if (code is 0 or 255)
                throw Invalid($"{field}: option {code} is {(code == 0 ? "pad" : "end")}, which carries no value");
            return code;
        }
        throw Invalid($"{field}: can not parse option \"{name}\": neither a known name ({string.Join(", ", OptionNames.Keys)}) nor a number 0-255");
    }

    /// <summary>The client identifier text: <c>containerID/network/ifname</c>, cut to 254 bytes, as the reference.</summary>
    public static string ClientId(string containerId, string network, string ifName)
    {
        string id = containerId + "/" + network + "/" + ifName;
        return id.Length > 254 ? id[..254] : id;
    }

    private static CniException Invalid(string message) => new(CniErrorCode.InvalidNetworkConfig, "dhcp: " + message);
}
