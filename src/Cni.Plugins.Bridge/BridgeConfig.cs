using System.Net.NetworkInformation;
using System.Text.Json.Serialization;
using Cni.Netlink;
using Cni.Plugins.Common;
using Cni.Spec;
using Cni.Spec.Json;

namespace Cni.Plugins.Bridge;

/// <summary>The bridge plugin's own keys in the network configuration, with the reference's names and defaults.</summary>
public sealed class BridgeConfig
{
    /// <summary>The default bridge name.</summary>
    public const string DefaultBridgeName = "cni0";

    /// <summary><c>bridge</c>: the bridge to create or use (default <c>cni0</c>).</summary>
    [JsonPropertyName("bridge")] public string? BridgeName { get; set; }

    /// <summary><c>isGateway</c>: give the bridge the gateway address of each subnet and enable forwarding.</summary>
    [JsonPropertyName("isGateway")] public bool IsGateway { get; set; }

    /// <summary><c>isDefaultGateway</c>: also route the container's default route through the bridge (implies isGateway).</summary>
    [JsonPropertyName("isDefaultGateway")] public bool IsDefaultGateway { get; set; }

    /// <summary><c>forceAddress</c>: replace a different IPv4 address already on the bridge instead of failing.</summary>
    [JsonPropertyName("forceAddress")] public bool ForceAddress { get; set; }

    /// <summary><c>ipMasq</c>: masquerade traffic from the container leaving its subnet.</summary>
    [JsonPropertyName("ipMasq")] public bool IpMasq { get; set; }

    /// <summary><c>ipMasqBackend</c>: <c>nftables</c> or <c>iptables</c>; nftables when available by default.</summary>
    [JsonPropertyName("ipMasqBackend")] public string? IpMasqBackend { get; set; }

    /// <summary><c>mtu</c>: MTU of the bridge (when created) and of both veth ends; 0 leaves the kernel default.</summary>
    [JsonPropertyName("mtu")] public int Mtu { get; set; }

    /// <summary><c>hairpinMode</c>: let frames go back out of the port they came in on.</summary>
    [JsonPropertyName("hairpinMode")] public bool HairpinMode { get; set; }

    /// <summary><c>promiscMode</c>: put the bridge in promiscuous mode (not with hairpinMode).</summary>
    [JsonPropertyName("promiscMode")] public bool PromiscMode { get; set; }

    /// <summary><c>vlan</c>: access VLAN of the port (untagged, PVID), 0 for none.</summary>
    [JsonPropertyName("vlan")] public int Vlan { get; set; }

    /// <summary><c>vlanTrunk</c>: tagged VLANs of the port (ids and ranges).</summary>
    [JsonPropertyName("vlanTrunk")] public List<VlanTrunkEntry>? VlanTrunk { get; set; }

    /// <summary><c>preserveDefaultVlan</c>: keep VLAN 1 on the port when vlan or vlanTrunk is set (default false, as the reference since plugins 1.8).</summary>
    [JsonPropertyName("preserveDefaultVlan")] public bool? PreserveDefaultVlan { get; set; }

    /// <summary><c>macspoofchk</c>: drop frames from the container whose source MAC is not its own.</summary>
    [JsonPropertyName("macspoofchk")] public bool MacSpoofCheck { get; set; }

    /// <summary><c>enabledad</c>: run IPv6 duplicate address detection in the container.</summary>
    [JsonPropertyName("enabledad")] public bool EnableDad { get; set; }

    /// <summary><c>disableContainerInterface</c>: leave the container interface down (L2 only, no IPAM).</summary>
    [JsonPropertyName("disableContainerInterface")] public bool DisableContainerInterface { get; set; }

    /// <summary><c>portIsolation</c>: isolate the host-side port (isolated ports cannot talk to each other).</summary>
    [JsonPropertyName("portIsolation")] public bool PortIsolation { get; set; }

    /// <summary><c>cni.dev/valid-attachments</c>: the attachments a GC keeps.</summary>
    [JsonPropertyName("cni.dev/valid-attachments")] public List<ValidAttachment>? ValidAttachments { get; set; }
}

/// <summary>One <c>vlanTrunk</c> entry: a single <c>id</c> and/or a <c>minID</c>..<c>maxID</c> range.</summary>
public sealed class VlanTrunkEntry
{
    /// <summary>First VLAN of a range.</summary>
    [JsonPropertyName("minID")] public int? MinId { get; set; }

    /// <summary>Last VLAN of a range.</summary>
    [JsonPropertyName("maxID")] public int? MaxId { get; set; }

    /// <summary>A single VLAN.</summary>
    [JsonPropertyName("id")] public int? Id { get; set; }
}

/// <summary>One entry of <c>cni.dev/valid-attachments</c>.</summary>
public sealed class ValidAttachment
{
    /// <summary>The container id.</summary>
    [JsonPropertyName("containerID")] public string ContainerId { get; set; } = "";

    /// <summary>The interface name.</summary>
    [JsonPropertyName("ifname")] public string IfName { get; set; } = "";
}

/// <summary>
/// Reads <see cref="BridgeConfig"/> from the network configuration with <see cref="JsonOptionReader"/>: keys
/// case-insensitive (as Go's decoder), numbers strict, unknown keys ignored. The bridge runs on every pod start, and
/// the serializer's metadata for these types cost each run more than the rest of its configuration handling.
/// </summary>
internal static class BridgeConfigReader
{
    public static BridgeConfig Read(ReadOnlySpan<byte> json) => JsonOptionReader.ReadObject(json, new BridgeConfig(), Options);

    private static bool Options(ref JsonOptionReader r, BridgeConfig o, string key)
    {
        switch (key)
        {
            case "bridge": o.BridgeName = r.String(); return true;
            case "isgateway": o.IsGateway = r.Bool(); return true;
            case "isdefaultgateway": o.IsDefaultGateway = r.Bool(); return true;
            case "forceaddress": o.ForceAddress = r.Bool(); return true;
            case "ipmasq": o.IpMasq = r.Bool(); return true;
            case "ipmasqbackend": o.IpMasqBackend = r.String(); return true;
            case "mtu": o.Mtu = r.Int32(); return true;
            case "hairpinmode": o.HairpinMode = r.Bool(); return true;
            case "promiscmode": o.PromiscMode = r.Bool(); return true;
            case "vlan": o.Vlan = r.Int32(); return true;
            case "vlantrunk": o.VlanTrunk = r.List(static (ref JsonOptionReader r) => r.Object(new VlanTrunkEntry(), TrunkEntry)!); return true; // a null item stays null, refused by CollectTrunk
            case "preservedefaultvlan": o.PreserveDefaultVlan = r.NullableBool(); return true;
            case "macspoofchk": o.MacSpoofCheck = r.Bool(); return true;
            case "enabledad": o.EnableDad = r.Bool(); return true;
            case "disablecontainerinterface": o.DisableContainerInterface = r.Bool(); return true;
            case "portisolation": o.PortIsolation = r.Bool(); return true;
            case "cni.dev/valid-attachments": o.ValidAttachments = r.List(static (ref JsonOptionReader r) => r.Object(new ValidAttachment(), Attachment)!); return true;
            default: return false;
        }
    }

    private static bool TrunkEntry(ref JsonOptionReader r, VlanTrunkEntry e, string key)
    {
        switch (key)
        {
            case "minid": e.MinId = r.NullableInt32(); return true;
            case "maxid": e.MaxId = r.NullableInt32(); return true;
            case "id": e.Id = r.NullableInt32(); return true;
            default: return false;
        }
    }

    private static bool Attachment(ref JsonOptionReader r, ValidAttachment a, string key)
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
/// A validated bridge configuration: every check happens here, before the plugin touches the kernel, and each
/// failure is a CNI error naming the key.
/// </summary>
public sealed class BridgeSettings
{
    /// <summary>The network name.</summary>
    public required string Network { get; init; }

    /// <summary>The raw options.</summary>
    public required BridgeConfig Options { get; init; }

    /// <summary>The bridge name.</summary>
    public required string BridgeName { get; init; }

    /// <summary>True when <c>ipam</c> names a plugin; otherwise the attachment is L2 only.</summary>
    public bool IsLayer3 { get; init; }

    /// <summary>isGateway, or isDefaultGateway which implies it.</summary>
    public bool IsGateway { get; init; }

    /// <summary>The trunk VLANs, sorted and distinct.</summary>
    public IReadOnlyList<int> TrunkVlans { get; init; } = [];

    /// <summary>Whether the bridge needs VLAN filtering (vlan or vlanTrunk set).</summary>
    public bool VlanFiltering => Options.Vlan != 0 || Options.VlanTrunk is not null;

    /// <summary>preserveDefaultVlan: false unless set, for full VLAN isolation (the reference changed its default to
    /// false in plugins 1.8, containernetworking/plugins#1181).</summary>
    public bool PreserveDefaultVlan => Options.PreserveDefaultVlan ?? false;

    /// <summary>The container MAC requested by the runtime, if any (read for ADD only).</summary>
    public PhysicalAddress? Mac { get; init; }

    /// <summary>The masquerade backend (resolved even when ipMasq is off, to validate the key).</summary>
    public MasqueradeBackend? MasqBackend { get; init; }

    /// <summary>Reads and validates the configuration of <paramref name="request"/>.</summary>
    public static BridgeSettings Load(CniRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        BridgeConfig o = BridgeConfigReader.Read(request.RawConfig.Span);
        string bridge = string.IsNullOrEmpty(o.BridgeName) ? BridgeConfig.DefaultBridgeName : o.BridgeName;
        try
        {
            RtNetlink.ValidateName(bridge);
        }
        catch (ArgumentException)
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid bridge name \"{bridge}\" (bridge): 1-15 characters, no '/', ':' or whitespace");
        }
        if (o.Vlan is < 0 or > 4094)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid VLAN ID {o.Vlan} (must be between 0 and 4094) (vlan)");
        IReadOnlyList<int> trunk = CollectTrunk(o.VlanTrunk);
        if (o.Vlan > 0 && o.VlanTrunk is not null && trunk.Count > 0)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "cannot set vlan and vlanTrunk at the same time");
        if (o.Mtu < 0 || o.Mtu > 65535)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid MTU {o.Mtu} (mtu): must be between 68 and 65535, or 0 for the kernel default");
        if (o.Mtu is > 0 and < 68)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid MTU {o.Mtu} (mtu): must be between 68 and 65535, or 0 for the kernel default");
        if (o.HairpinMode && o.PromiscMode)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "cannot set hairpin mode and promiscuous mode at the same time (hairpinMode, promiscMode)");
        bool layer3 = Ipam.IsConfigured(request);
        if (o.DisableContainerInterface && layer3)
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "cannot use IPAM when the container interface is disabled (disableContainerInterface, ipam)");
        if (o.Vlan > 0 && (o.IsGateway || o.IsDefaultGateway))
        {
            string gatewayName = $"{bridge}.{o.Vlan}";
            if (gatewayName.Length > CniValidation.MaxInterfaceNameLength)
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"bridge name \"{bridge}\" is too long for a VLAN gateway interface \"{gatewayName}\" (bridge, vlan)");
        }
        MasqueradeBackend? backend = o.IpMasq || !string.IsNullOrEmpty(o.IpMasqBackend) ? IpMasquerade.ParseBackend(o.IpMasqBackend) : null;
        return new BridgeSettings
        {
            Network = request.Config.Name,
            Options = o,
            BridgeName = bridge,
            IsLayer3 = layer3,
            IsGateway = o.IsGateway || o.IsDefaultGateway,
            TrunkVlans = trunk,
            // Only ADD uses the MAC: a bad one must not make DEL (which runtimes send after a failed ADD) fail too.
            Mac = request.Command == CniCommand.Add ? MacAddressArgs.Resolve(request) : null,
            MasqBackend = backend,
        };
    }

    /// <summary>The VLAN ids of <c>vlanTrunk</c>, validated, sorted and distinct.</summary>
    public static IReadOnlyList<int> CollectTrunk(List<VlanTrunkEntry>? entries)
    {
        if (entries is null)
            return [];
        var set = new SortedSet<int>();
        foreach (VlanTrunkEntry? e in entries)
        {
            if (e is null)
                throw Invalid("vlanTrunk entries must be objects, not null (vlanTrunk)"); // the reference dereferences it and panics
            switch (e.MinId, e.MaxId)
            {
                case (int min, int max):
                    if (min is <= 0 or > 4094) throw Invalid("incorrect trunk minID parameter (vlanTrunk.minID)");
                    if (max is <= 0 or > 4094) throw Invalid("incorrect trunk maxID parameter (vlanTrunk.maxID)");
                    if (max < min) throw Invalid("minID is greater than maxID in trunk parameter (vlanTrunk)");
                    for (int v = min; v <= max; v++) set.Add(v);
                    break;
                case (null, int):
                    throw Invalid("minID and maxID should be configured simultaneously, minID is missing (vlanTrunk)");
                case (int, null):
                    throw Invalid("minID and maxID should be configured simultaneously, maxID is missing (vlanTrunk)");
            }
            if (e.Id is int id)
            {
                if (id is <= 0 or > 4094) throw Invalid("incorrect trunk id parameter (vlanTrunk.id)");
                set.Add(id);
            }
        }
        return [.. set];
    }

    private static CniException Invalid(string message) => new(CniErrorCode.InvalidNetworkConfig, message);
}
