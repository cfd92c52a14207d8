using System.Text.Json.Serialization;
using Cni.Plugins.Common;
using Cni.Spec;
using Cni.Spec.Json;

namespace Cni.Plugins.Ptp;

/// <summary>The ptp plugin's own keys in the network configuration, with the reference's names and defaults.</summary>
public sealed class PtpConfig
{
    /// <summary><c>ipMasq</c>: masquerade traffic from the container's addresses leaving their subnet.</summary>
    [JsonPropertyName("ipMasq")] public bool IpMasq { get; set; }

    /// <summary><c>ipMasqBackend</c>: <c>nftables</c> or <c>iptables</c>; nftables when installed by default.</summary>
    [JsonPropertyName("ipMasqBackend")] public string? IpMasqBackend { get; set; }

    /// <summary><c>mtu</c>: MTU of both veth ends; 0 leaves the kernel default.</summary>
    [JsonPropertyName("mtu")] public int Mtu { get; set; }

    /// <summary><c>cni.dev/valid-attachments</c>: the attachments a GC keeps.</summary>
    [JsonPropertyName("cni.dev/valid-attachments")] public List<PtpAttachment>? ValidAttachments { get; set; }
}

/// <summary>One entry of <c>cni.dev/valid-attachments</c>.</summary>
public sealed class PtpAttachment
{
    /// <summary>The container id.</summary>
    [JsonPropertyName("containerID")] public string ContainerId { get; set; } = "";

    /// <summary>The interface name.</summary>
    [JsonPropertyName("ifname")] public string IfName { get; set; } = "";
}

/// <summary>
/// Reads <see cref="PtpConfig"/> with <see cref="JsonOptionReader"/> instead of the serializer (whose metadata would cost
/// a short-lived plugin more than the rest of its run): the same values and the same errors as the serializer with
/// case-insensitive keys and strict numbers (checked against it in the tests).
/// </summary>
internal static class PtpConfigReader
{
    public static PtpConfig Read(ReadOnlySpan<byte> json) => JsonOptionReader.ReadObject(json, new PtpConfig(), Options);

    private static bool Options(ref JsonOptionReader r, PtpConfig o, string key)
    {
        switch (key)
        {
            case "ipmasq": o.IpMasq = r.Bool(); return true;
            case "ipmasqbackend": o.IpMasqBackend = r.String(); return true;
            case "mtu": o.Mtu = r.Int32(); return true;
            case "cni.dev/valid-attachments": o.ValidAttachments = r.List(static (ref JsonOptionReader r) => r.Object(new PtpAttachment(), Attachment)!); return true; // a null item stays null, refused by Load
            default: return false;
        }
    }

    private static bool Attachment(ref JsonOptionReader r, PtpAttachment a, string key)
    {
        switch (key)
        {
            case "containerid": a.ContainerId = r.String()!; return true; // null as the serializer sets it
            case "ifname": a.IfName = r.String()!; return true;
            default: return false;
        }
    }
}

/// <summary>
/// A validated ptp configuration: every check happens here, before the plugin touches the kernel or the IPAM store,
/// and each failure is a CNI error naming the key.
/// </summary>
public sealed class PtpSettings
{
    /// <summary>The network name.</summary>
    public required string Network { get; init; }

    /// <summary>The raw options.</summary>
    public required PtpConfig Options { get; init; }

    /// <summary>The MTU to set, or null for the kernel default.</summary>
    public int? Mtu => Options.Mtu > 0 ? Options.Mtu : null;

    /// <summary>The masquerade backend (resolved when ipMasq is on or the key is set, to validate it).</summary>
    public MasqueradeBackend? MasqBackend { get; init; }

    /// <summary>Reads and validates the configuration of <paramref name="request"/>.</summary>
    /// <exception cref="CniException">A key is invalid (code 7, or 6 for a value of the wrong JSON type); the message names it.</exception>
    public static PtpSettings Load(CniRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        PtpConfig o = PtpConfigReader.Read(request.RawConfig.Span);
        if (o.Mtu < 0 || o.Mtu > 65535 || o.Mtu is > 0 and < 68)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid MTU {o.Mtu} (mtu): must be between 68 and 65535, or 0 for the kernel default");
        // ptp always routes addresses: an IPAM plugin is required (the reference fails to run an empty IPAM type).
        if (!Ipam.IsConfigured(request))
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "ptp needs an IPAM plugin for the container's addresses (ipam.type)");
        MasqueradeBackend? backend = o.IpMasq || !string.IsNullOrEmpty(o.IpMasqBackend) ? IpMasquerade.ParseBackend(o.IpMasqBackend) : null;
        foreach (PtpAttachment a in o.ValidAttachments ?? [])
        {
            if (a is null || string.IsNullOrEmpty(a.ContainerId) || string.IsNullOrEmpty(a.IfName))
                throw new CniException(CniErrorCode.InvalidNetworkConfig, "every entry needs containerID and ifname (cni.dev/valid-attachments)");
        }
        return new PtpSettings { Network = request.Config.Name, Options = o, MasqBackend = backend };
    }
}
