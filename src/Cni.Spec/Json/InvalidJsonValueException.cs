using System.Text.Json;

namespace Cni.Spec.Json;

/// <summary>
/// Thrown by converters when the JSON is well formed but a value is not acceptable (an invalid address, say);
/// the host reports it as <see cref="CniErrorCode.InvalidNetworkConfig"/> rather than a decoding failure.
/// </summary>
public sealed class InvalidJsonValueException : JsonException
{
    /// <summary>Creates the exception with a message naming the bad value.</summary>
    public InvalidJsonValueException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message naming the bad value and the JSON path where it was found.</summary>
    internal InvalidJsonValueException(string message, string path) : base(message, path, null, null)
    {
    }
}
