using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;
using Cni.Spec;
using Cni.Spec.Json;

namespace Cni.Plugins.Tuning;

/// <summary>
/// The interface settings as they were before ADD changed them, saved in <c>dataDir</c> as
/// <c>&lt;containerId&gt;_&lt;ifname&gt;.json</c> and restored by DEL. The file has the reference plugin's name and
/// JSON layout (keys <c>mac</c>, <c>promisc</c>, <c>mtu</c>, <c>allmulti</c>, <c>txQLen</c>, each present only when
/// ADD changed that setting, indented by one space), so a node can switch between the Go plugin and this one.
/// </summary>
public sealed class SavedLinkState
{
    /// <summary><c>mac</c>: the original MAC (lower case, colon separated); null when ADD did not change it.</summary>
    [JsonPropertyName("mac")] public string? Mac { get; set; }

    /// <summary><c>promisc</c>: the original promiscuous mode; null when not changed.</summary>
    [JsonPropertyName("promisc")] public bool? Promisc { get; set; }

    /// <summary><c>mtu</c>: the original MTU; 0 when not changed.</summary>
    [JsonPropertyName("mtu")] public int Mtu { get; set; }

    /// <summary><c>allmulti</c>: the original all-multicast mode; null when not changed.</summary>
    [JsonPropertyName("allmulti")] public bool? Allmulti { get; set; }

    /// <summary><c>txQLen</c>: the original transmit queue length; null when not changed.</summary>
    [JsonPropertyName("txQLen")] public int? TxQLen { get; set; }

    /// <summary>The file name for an attachment: <c>&lt;containerId&gt;_&lt;ifname&gt;.json</c>, as the reference.</summary>
    public static string FileName(string containerId, string ifName) => $"{containerId}_{ifName}.json";

    /// <summary>
    /// This state with every setting that <paramref name="earlier"/> (the file of an earlier ADD of the same attachment)
    /// holds taken from there: those are the values from before any tuning.
    /// </summary>
    public SavedLinkState WithOriginalsFrom(SavedLinkState earlier)
    {
        ArgumentNullException.ThrowIfNull(earlier);
        return new SavedLinkState
        {
            Mac = string.IsNullOrEmpty(earlier.Mac) ? Mac : earlier.Mac,
            Promisc = earlier.Promisc ?? Promisc,
            Mtu = earlier.Mtu != 0 ? earlier.Mtu : Mtu,
            Allmulti = earlier.Allmulti ?? Allmulti,
            TxQLen = earlier.TxQLen ?? TxQLen,
        };
    }

    /// <summary>
    /// The file's bytes, as Go's <c>json.MarshalIndent(v, "", " ")</c> prints the reference's struct: fields in its
    /// order, empty ones left out, no newline at the end.
    /// </summary>
    /// <remarks>
    /// Written by hand when the MAC needs no escaping (always, for a MAC read from the kernel): a
    /// <see cref="Utf8JsonWriter"/> with its default encoder builds the built-in encoders' tables on the first key it
    /// writes, about a million instructions, a third of a tuning ADD. Any other MAC text goes through the writer.
    /// </remarks>
    public byte[] ToJson()
    {
        if (Mac is not null && !IsPlain(Mac))
            return ToJsonWithWriter();
        var text = new System.Text.StringBuilder("{", 128);
        void Key(string key)
        {
            text.Append(text.Length == 1 ? "\n \"" : ",\n \"").Append(key).Append("\": ");
        }
        if (!string.IsNullOrEmpty(Mac))
        {
            Key("mac");
            text.Append('"').Append(Mac).Append('"');
        }
        if (Promisc is bool promisc)
        {
            Key("promisc");
            text.Append(promisc ? "true" : "false");
        }
        if (Mtu != 0)
        {
            Key("mtu");
            text.Append(Mtu.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        if (Allmulti is bool allmulti)
        {
            Key("allmulti");
            text.Append(allmulti ? "true" : "false");
        }
        if (TxQLen is int txQLen)
        {
            Key("txQLen");
            text.Append(txQLen.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        text.Append(text.Length == 1 ? "}" : "\n}");
        return System.Text.Encoding.UTF8.GetBytes(text.ToString());
    }

    // Characters that every JSON encoder (Go's included) prints as they are.
    private static bool IsPlain(string value)
    {
        foreach (char c in value)
        {
            if (c is < ' ' or > '~' or '"' or '\\' or '<' or '>' or '&' or '\'' or '+' or '`')
                return false;
        }
        return true;
    }

    private static readonly JsonWriterOptions GoIndent = new() { Indented = true, IndentSize = 1, NewLine = "\n" };

    /// <summary><see cref="ToJson"/> through <see cref="Utf8JsonWriter"/> (escaping any MAC text).</summary>
    internal byte[] ToJsonWithWriter()
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var w = new Utf8JsonWriter(buffer, GoIndent))
        {
            w.WriteStartObject();
            if (!string.IsNullOrEmpty(Mac))
                w.WriteString("mac"u8, Mac);
            if (Promisc is bool promisc)
                w.WriteBoolean("promisc"u8, promisc);
            if (Mtu != 0)
                w.WriteNumber("mtu"u8, Mtu);
            if (Allmulti is bool allmulti)
                w.WriteBoolean("allmulti"u8, allmulti);
            if (TxQLen is int txQLen)
                w.WriteNumber("txQLen"u8, txQLen);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads a saved file (keys matched case-insensitively, unknown keys ignored, as Go's decoder); null when it
    /// is not such a JSON object. Read with <see cref="JsonOptionReader"/>, not the serializer (start-up cost on DEL).</summary>
    public static SavedLinkState? TryParse(ReadOnlySpan<byte> json)
    {
        try
        {
            SavedLinkState state = JsonOptionReader.ReadObject(json, new SavedLinkState(), Read, "saved interface settings");
            return NothingAfterValue(json) ? state : null;
        }
        catch (CniException)
        {
            return null;
        }
    }

    private static bool Read(ref JsonOptionReader r, SavedLinkState s, string key)
    {
        switch (key)
        {
            case "mac": s.Mac = r.String(); return true;
            case "promisc": s.Promisc = r.NullableBool(); return true;
            case "mtu": s.Mtu = r.Int32(); return true;
            case "allmulti": s.Allmulti = r.NullableBool(); return true;
            case "txqlen": s.TxQLen = r.NullableInt32(); return true;
            default: return false;
        }
    }

    // The option reader stops at the object's end; a document with more after it is not the file ADD wrote.
    private static bool NothingAfterValue(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        try
        {
            reader.Read();
            reader.Skip();
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
