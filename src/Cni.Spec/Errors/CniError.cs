using System.Text.Json.Serialization;

namespace Cni.Spec;

/// <summary>The wire form of a CNI error: <c>{"code": 7, "msg": "...", "details": "..."}</c>, details omitted when empty.</summary>
public sealed class CniError
{
    /// <summary>The numeric error code.</summary>
    [JsonPropertyName("code")]
    public uint Code { get; set; }

    /// <summary>The short message.</summary>
    [JsonPropertyName("msg")]
    public string Msg { get; set; } = "";

    /// <summary>Longer details, omitted from the JSON when null or empty.</summary>
    [JsonPropertyName("details")]
    public string? Details { get; set; }

    /// <summary>The wire form of <paramref name="exception"/>.</summary>
    public static CniError From(CniException exception) =>
        new() { Code = exception.NumericCode, Msg = exception.Message, Details = exception.Details.Length == 0 ? null : exception.Details };

    /// <summary>This error as an exception that can be thrown.</summary>
    public CniException ToException() => new(Code, Msg ?? "", Details);
}
