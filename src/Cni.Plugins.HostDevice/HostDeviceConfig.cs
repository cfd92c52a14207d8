using System.Text.Json.Serialization;
using Cni.Spec.Json;

namespace Cni.Plugins.HostDevice;

/// <summary>The host-device plugin's own keys in the network configuration, with the reference's names.</summary>
public sealed class HostDeviceConfig
{
    /// <summary><c>device</c>: the name of the host link to move into the container.</summary>
    [JsonPropertyName("device")] public string? Device { get; set; }

    /// <summary><c>hwaddr</c>: the MAC of the host link to move.</summary>
    [JsonPropertyName("hwaddr")] public string? HwAddr { get; set; }

    /// <summary><c>kernelpath</c>: the device's sysfs path below <c>/sys/devices/</c>; its first network interface is moved.</summary>
    [JsonPropertyName("kernelpath")] public string? KernelPath { get; set; }

    /// <summary><c>pciBusID</c>: the PCI address (e.g. <c>0000:00:19.0</c>) whose network interface is moved.</summary>
    [JsonPropertyName("pciBusID")] public string? PciBusId { get; set; }

    /// <summary><c>runtimeConfig</c>: what the runtime passes (<c>deviceID</c>).</summary>
    [JsonPropertyName("runtimeConfig")] public HostDeviceRuntimeConfig? RuntimeConfig { get; set; }
}

/// <summary>The <c>runtimeConfig</c> keys host-device reads.</summary>
public sealed class HostDeviceRuntimeConfig
{
    /// <summary><c>deviceID</c>: a PCI address from a device plugin; it overrides <c>pciBusID</c>.</summary>
    [JsonPropertyName("deviceID")] public string? DeviceId { get; set; }
}

/// <summary>
/// Reads <see cref="HostDeviceConfig"/> with <see cref="JsonOptionReader"/> instead of the serializer, whose metadata
/// for the options types cost each run more than the rest of the plugin's configuration handling: keys
/// case-insensitive (as Go's decoder), numbers strict, unknown keys ignored, a repeated key keeps its last value.
/// </summary>
internal static class HostDeviceConfigReader
{
    public static HostDeviceConfig Read(ReadOnlySpan<byte> json) => JsonOptionReader.ReadObject(json, new HostDeviceConfig(), Options);

    private static bool Options(ref JsonOptionReader r, HostDeviceConfig o, string key)
    {
        switch (key)
        {
            case "device": o.Device = r.String(); return true;
            case "hwaddr": o.HwAddr = r.String(); return true;
            case "kernelpath": o.KernelPath = r.String(); return true;
            case "pcibusid": o.PciBusId = r.String(); return true;
            case "runtimeconfig": o.RuntimeConfig = r.Object(new HostDeviceRuntimeConfig(), RuntimeConfig); return true;
            default: return false;
        }
    }

    private static bool RuntimeConfig(ref JsonOptionReader r, HostDeviceRuntimeConfig c, string key)
    {
        if (key != "deviceid")
            return false;
        c.DeviceId = r.String();
        return true;
    }
}
