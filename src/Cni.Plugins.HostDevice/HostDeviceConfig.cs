using System.Text.Json.Serialization;

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

/// <summary>Source-generated JSON metadata for the host-device configuration (keys case-insensitive, as Go's decoder).</summary>
[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, NumberHandling = JsonNumberHandling.Strict, GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(HostDeviceConfig))]
internal sealed partial class HostDeviceJsonContext : JsonSerializerContext;
