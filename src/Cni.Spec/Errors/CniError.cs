using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;
using Cni.Spec.Json;

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

    /// <summary>
    /// Reads what a failed plugin printed on stdout as CNI error JSON: the one parser of <c>{"code","msg","details"}</c>
    /// for plugins executed (<see cref="PluginExecutor"/>, IPAM delegation) and run in process (Cni.Runtime). As
    /// libcni does, the fields must have their JSON types (a number for code, strings for msg and details); unknown
    /// fields are ignored. An object with neither a code nor a message is no error report.
    /// </summary>
    /// <param name="json">The plugin's stdout.</param>
    /// <param name="error">The error, when the output is one.</param>
    /// <returns>True when <paramref name="json"/> is CNI error JSON.</returns>
    public static bool TryParse(ReadOnlySpan<byte> json, [NotNullWhen(true)] out CniError? error)
    {
        error = null;
        CniError parsed;
        try
        {
            parsed = CniJson.Deserialize(json, CniJsonContext.Default.CniError, "plugin error");
        }
        catch (CniException)
        {
            return false;
        }
        if (parsed is null || (parsed.Code == 0 && string.IsNullOrEmpty(parsed.Msg)))
            return false;
        parsed.Msg ??= "";
        error = parsed;
        return true;
    }
}
