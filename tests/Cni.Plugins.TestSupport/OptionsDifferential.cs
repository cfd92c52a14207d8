using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Cni.Spec;

namespace Cni.Plugins.TestSupport;

/// <summary>
/// What the plugins' differential option tests share: each compares a plugin's <c>JsonOptionReader</c> reader with the
/// serializer context it replaced, on the same configuration bytes, through <see cref="Outcome{T}"/>.
/// </summary>
public static class OptionsDifferential
{
    /// <summary>An ADD request carrying <paramref name="json"/> as its configuration (parsed by the host's reader).</summary>
    public static CniRequest Request(string json)
    {
        byte[] raw = Encoding.UTF8.GetBytes(json);
        return new CniRequest
        {
            Command = CniCommand.Add,
            Config = NetConf.Parse(raw),
            RawConfig = raw,
            Args = CniArgs.Parse(null),
            Environment = new InMemoryCniEnvironment([]),
        };
    }

    /// <summary>
    /// What <paramref name="read"/> gives, as text to compare: "ok " and the options serialized with
    /// <paramref name="typeInfo"/>, or "error CODE: MESSAGE" for the CNI error it throws.
    /// </summary>
    public static string Outcome<T>(Func<T> read, JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(read);
        try
        {
            return "ok " + JsonSerializer.Serialize(read(), typeInfo);
        }
        catch (CniException ex)
        {
            return $"error {(int)ex.Code}: {ex.Message}";
        }
    }
}
