using Cni.Netlink;
using Cni.Spec;

namespace Cni.Fuzz.Tests.Fuzzing;

/// <summary>The documented ways each parser refuses an input.</summary>
internal static class Documented
{
    /// <summary>A <see cref="CniException"/> with one of <paramref name="codes"/> and a one-line message.</summary>
    public static Func<Exception, bool> Cni(params CniErrorCode[] codes) => ex =>
        ex is CniException cni && codes.Contains(cni.Code) && IsGoodMessage(cni.Message);

    /// <summary>The codes of configuration errors: unsupported version (1), field (2), environment (4), decoding (6), invalid (7).</summary>
    public static readonly CniErrorCode[] ConfigCodes =
    [
        CniErrorCode.IncompatibleCniVersion, CniErrorCode.UnsupportedField, CniErrorCode.InvalidEnvironmentVariables,
        CniErrorCode.DecodingFailure, CniErrorCode.InvalidNetworkConfig,
    ];

    /// <summary>A reply parser's refusal: <see cref="NetlinkProtocolException"/>, or the <see cref="NetlinkException"/>
    /// that an NLMSG_ERROR reply carries.</summary>
    public static bool Netlink(Exception ex) => ex is NetlinkProtocolException or NetlinkException && IsGoodMessage(ex.Message);

    /// <summary>A message a runtime can show: not empty.</summary>
    public static bool IsGoodMessage(string message) => !string.IsNullOrWhiteSpace(message);
}
