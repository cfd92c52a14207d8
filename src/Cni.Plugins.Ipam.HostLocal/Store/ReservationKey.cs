using System.Text;

namespace Cni.Plugins.Ipam.HostLocal.Store;

/// <summary>
/// The content of a reservation file, as the reference writes and matches it: <c>containerId\r\nifname</c>
/// (older versions wrote the container id alone). Matching compares contents after Go's
/// <c>strings.TrimSpace</c>, which <see cref="TrimSpace"/> reproduces on UTF-8 bytes.
/// </summary>
internal static class ReservationKey
{
    /// <summary>The line break between container id and interface name.</summary>
    public const string LineBreak = "\r\n";

    /// <summary>The bytes written for a reservation (and matched for DEL, CHECK and GC).</summary>
    public static byte[] For(string containerId, string ifName) =>
        Encoding.UTF8.GetBytes(containerId.Trim() + LineBreak + ifName);

    /// <summary>The content of a reservation written before the interface name was recorded.</summary>
    public static byte[] Legacy(string containerId) => Encoding.UTF8.GetBytes(containerId.Trim());

    /// <summary>Go's <c>strings.TrimSpace</c> on UTF-8: strips Unicode white space from both ends.</summary>
    public static ReadOnlySpan<byte> TrimSpace(ReadOnlySpan<byte> text)
    {
        while (!text.IsEmpty)
        {
            if (Rune.DecodeFromUtf8(text, out Rune rune, out int length) != System.Buffers.OperationStatus.Done || !IsGoSpace(rune))
                break;
            text = text[length..];
        }
        while (!text.IsEmpty)
        {
            if (Rune.DecodeLastFromUtf8(text, out Rune rune, out int length) != System.Buffers.OperationStatus.Done || !IsGoSpace(rune))
                break;
            text = text[..^length];
        }
        return text;
    }

    /// <summary>Go's <c>unicode.IsSpace</c>.</summary>
    private static bool IsGoSpace(Rune rune) => rune.Value switch
    {
        '\t' or '\n' or '\v' or '\f' or '\r' or ' ' or 0x85 or 0xA0 => true,
        < 0x100 => false,
        _ => Rune.IsWhiteSpace(rune),
    };
}
