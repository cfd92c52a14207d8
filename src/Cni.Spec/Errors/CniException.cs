namespace Cni.Spec;

/// <summary>
/// A CNI error: what a plugin reports as <c>{"code","msg","details"}</c> on stdout with a non-zero exit,
/// and what a caller gets back when a plugin it ran failed.
/// </summary>
public class CniException : Exception
{
    /// <summary>Creates an error with a well-known code.</summary>
    /// <param name="code">The error code.</param>
    /// <param name="message">A short message; it should name the field or variable at fault.</param>
    /// <param name="details">Longer details, or null/empty for none.</param>
    public CniException(CniErrorCode code, string message, string? details = null)
        : this((uint)code, message, details)
    {
    }

    /// <summary>Creates an error with any code, including plugin-specific codes (100 and up).</summary>
    /// <param name="code">The numeric error code.</param>
    /// <param name="message">A short message; it should name the field or variable at fault.</param>
    /// <param name="details">Longer details, or null/empty for none.</param>
    /// <param name="innerException">The exception that caused this one, if any.</param>
    public CniException(uint code, string message, string? details = null, Exception? innerException = null)
        : base(message, innerException)
    {
        NumericCode = code;
        Details = details ?? "";
    }

    /// <summary>The error code as the well-known enum (plugin-specific codes are simply out of the named range).</summary>
    public CniErrorCode Code => (CniErrorCode)NumericCode;

    /// <summary>The error code as it appears on the wire.</summary>
    public uint NumericCode { get; }

    /// <summary>Longer details; "" when there are none (and then omitted from the JSON).</summary>
    public string Details { get; }
}
