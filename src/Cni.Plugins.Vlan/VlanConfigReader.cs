using Cni.Spec.Json;

namespace Cni.Plugins.Vlan;

/// <summary>
/// Reads <see cref="VlanConfig"/> with <see cref="JsonOptionReader"/> rather than the serializer, whose metadata set-up
/// costs a short-lived plugin more than the rest of its run. Keys match case-insensitively, unknown keys are skipped, a
/// repeated key keeps its last value and a value of the wrong JSON type is a decoding failure (6) naming its JSON path,
/// exactly as the serializer context it replaces (kept in the test project, which compares the two).
/// </summary>
internal static class VlanConfigReader
{
    public static VlanConfig Read(ReadOnlySpan<byte> json) => JsonOptionReader.ReadObject(json, new VlanConfig(), Options);

    private static bool Options(ref JsonOptionReader r, VlanConfig o, string key)
    {
        switch (key)
        {
            case "master": o.Master = r.String(); return true;
            case "vlanid": o.VlanId = r.Int32(); return true;
            case "mtu": o.Mtu = r.Int32(); return true;
            case "linkincontainer": o.LinkInContainer = r.Bool(); return true;
            default: return false;
        }
    }
}
