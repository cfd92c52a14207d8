namespace Cni.Spec;

/// <summary>The well-known CNI error codes (spec section "Error"); plugins may use their own codes from 100 up.</summary>
public enum CniErrorCode : uint
{
    /// <summary>The configuration's <c>cniVersion</c> is not supported by the plugin.</summary>
    IncompatibleCniVersion = 1,

    /// <summary>A field of the configuration is not supported; the message names it.</summary>
    UnsupportedField = 2,

    /// <summary>The container is unknown or does not exist.</summary>
    UnknownContainer = 3,

    /// <summary>A necessary environment variable (<c>CNI_COMMAND</c>, <c>CNI_CONTAINERID</c>, ...) is missing or invalid; the message names it.</summary>
    InvalidEnvironmentVariables = 4,

    /// <summary>An I/O failure, for example reading stdin.</summary>
    IoFailure = 5,

    /// <summary>Stdin could not be decoded (not JSON, wrong types).</summary>
    DecodingFailure = 6,

    /// <summary>The network configuration is invalid; the message names the field.</summary>
    InvalidNetworkConfig = 7,

    /// <summary>A transient failure: the runtime should retry later.</summary>
    TryAgainLater = 11,

    /// <summary>STATUS: the plugin is not available, no ADD may be attempted.</summary>
    PluginNotAvailable = 50,

    /// <summary>STATUS: the plugin is not available; existing containers may have limited connectivity.</summary>
    PluginNotAvailableLimitedConnectivity = 51,

    /// <summary>An unexpected internal failure.</summary>
    Internal = 999,
}
