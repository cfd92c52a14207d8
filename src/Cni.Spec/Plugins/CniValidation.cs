namespace Cni.Spec;

/// <summary>
/// The spec's rules for names that end up in paths and kernel objects. Each method throws <see cref="CniException"/>
/// naming the field, with the code the Go skel uses. None of the accepted names can leave a directory:
/// they cannot contain '/' and cannot be "." or "..".
/// </summary>
public static class CniValidation
{
    /// <summary>The longest interface name the kernel accepts (IFNAMSIZ - 1).</summary>
    public const int MaxInterfaceNameLength = 15;

    /// <summary>True when <paramref name="name"/> matches <c>^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$</c> (checked character by
    /// character: no regex engine in a plugin's start-up, and no '$' that also matches before a final newline).</summary>
    public static bool IsValidName(string? name)
    {
        if (string.IsNullOrEmpty(name) || !char.IsAsciiLetterOrDigit(name[0]))
            return false;
        foreach (char c in name.AsSpan(1))
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '.' or '-'))
                return false;
        }
        return true;
    }

    /// <summary>Container id: missing is code 3 (unknown container), bad characters code 4, as Go's skel.</summary>
    public static void ValidateContainerId(string? containerId)
    {
        if (string.IsNullOrEmpty(containerId))
            throw new CniException(CniErrorCode.UnknownContainer, "missing container ID (CNI_CONTAINERID)");
        if (!IsValidName(containerId))
        {
            throw new CniException(CniErrorCode.InvalidEnvironmentVariables,
                "invalid characters in container ID (CNI_CONTAINERID): it must match ^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$", containerId);
        }
    }

    /// <summary>Network name: missing or bad characters are code 7 (invalid configuration), as Go's skel.</summary>
    public static void ValidateNetworkName(string? networkName)
    {
        if (string.IsNullOrEmpty(networkName))
            throw new CniException(CniErrorCode.InvalidNetworkConfig, "missing network name (name)");
        if (!IsValidName(networkName))
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig,
                "invalid characters in network name (name): it must match ^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$", networkName);
        }
    }

    /// <summary>
    /// Interface name: 1-15 characters, not "." or "..", no '/', ':' or whitespace; code 4, as Go's skel.
    /// </summary>
    public static void ValidateInterfaceName(string? ifName)
    {
        if (string.IsNullOrEmpty(ifName))
            throw new CniException(CniErrorCode.InvalidEnvironmentVariables, "interface name (CNI_IFNAME) is empty");
        if (System.Text.Encoding.UTF8.GetByteCount(ifName) > MaxInterfaceNameLength)
        {
            throw new CniException(CniErrorCode.InvalidEnvironmentVariables, "interface name (CNI_IFNAME) is too long",
                $"interface name should be less than {MaxInterfaceNameLength + 1} characters");
        }
        if (ifName is "." or "..")
            throw new CniException(CniErrorCode.InvalidEnvironmentVariables, "interface name (CNI_IFNAME) is . or ..", ifName);
        foreach (char c in ifName)
        {
            if (c is '/' or ':' || char.IsWhiteSpace(c))
            {
                throw new CniException(CniErrorCode.InvalidEnvironmentVariables,
                    "interface name (CNI_IFNAME) contains / or : or whitespace characters", ifName);
            }
        }
    }
}
