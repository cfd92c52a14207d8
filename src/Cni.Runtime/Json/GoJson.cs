using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Cni.Runtime.Json;

/// <summary>
/// Writes JSON exactly as Go's <c>encoding/json</c> marshals generic values (<c>map[string]interface{}</c>, slices,
/// float64 numbers): compact, object keys sorted byte-wise, HTML-safe escaping (<c>&lt; &gt; &amp;</c> as
/// <c>\u003c</c> ...), U+2028/U+2029 escaped, numbers in Go's float64 form. libcni writes its cache and the
/// configurations it hands to plugins this way; writing the same bytes keeps both runtimes interchangeable.
/// </summary>
internal static class GoJson
{
    /// <summary>The Go marshalling of <paramref name="node"/> as UTF-8 bytes.</summary>
    public static byte[] Serialize(JsonNode? node) => Encoding.UTF8.GetBytes(SerializeToString(node));

    /// <summary>The Go marshalling of <paramref name="node"/>.</summary>
    public static string SerializeToString(JsonNode? node)
    {
        var builder = new StringBuilder();
        Write(builder, node);
        return builder.ToString();
    }

    /// <summary>Appends the Go marshalling of <paramref name="node"/>.</summary>
    public static void Write(StringBuilder builder, JsonNode? node)
    {
        switch (node)
        {
            case null:
                builder.Append("null");
                break;
            case JsonObject obj:
                builder.Append('{');
                bool first = true;
                foreach (KeyValuePair<string, JsonNode?> property in obj.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    if (!first)
                        builder.Append(',');
                    first = false;
                    WriteString(builder, property.Key);
                    builder.Append(':');
                    Write(builder, property.Value);
                }
                builder.Append('}');
                break;
            case JsonArray array:
                builder.Append('[');
                for (int i = 0; i < array.Count; i++)
                {
                    if (i > 0)
                        builder.Append(',');
                    Write(builder, array[i]);
                }
                builder.Append(']');
                break;
            case JsonValue value:
                WriteValue(builder, value);
                break;
        }
    }

    private static void WriteValue(StringBuilder builder, JsonValue value)
    {
        switch (value.GetValueKind())
        {
            case JsonValueKind.String:
                WriteString(builder, value.GetValue<string>());
                break;
            case JsonValueKind.True:
                builder.Append("true");
                break;
            case JsonValueKind.False:
                builder.Append("false");
                break;
            case JsonValueKind.Number:
                builder.Append(FormatNumber(ReadDouble(value)));
                break;
            default:
                builder.Append("null");
                break;
        }
    }

    private static double ReadDouble(JsonValue value)
    {
        if (value.TryGetValue(out double d))
            return d;
        if (value.TryGetValue(out JsonElement element) && element.TryGetDouble(out d))
            return d;
        if (value.TryGetValue(out long l))
            return l;
        if (value.TryGetValue(out int i))
            return i;
        if (value.TryGetValue(out uint u))
            return u;
        if (value.TryGetValue(out ulong ul))
            return ul;
        if (value.TryGetValue(out decimal m))
            return (double)m;
        if (value.TryGetValue(out float f))
            return f;
        return double.Parse(value.ToJsonString(), CultureInfo.InvariantCulture);
    }

    /// <summary>A float64 as Go prints it: shortest round-trip digits, 'f' form unless below 1e-6 or from 1e21 on.</summary>
    internal static string FormatNumber(double d)
    {
        if (double.IsNaN(d) || double.IsInfinity(d))
            throw new InvalidOperationException("JSON cannot hold NaN or infinity");
        if (d == 0)
            return "0";
        double abs = Math.Abs(d);
        string shortest = d.ToString("R", CultureInfo.InvariantCulture); // e.g. "1.5", "1E+21", "1E-07"
        (string digits, int exponent, bool negative) = Decompose(shortest);
        if (abs < 1e21 && abs >= 1e-6)
        {
            // Fixed notation with exactly the shortest digits.
            var sb = new StringBuilder();
            if (negative)
                sb.Append('-');
            int pointPosition = exponent + 1; // digits d0.d1d2... x 10^exponent
            if (pointPosition <= 0)
            {
                sb.Append("0.").Append('0', -pointPosition).Append(digits);
            }
            else if (pointPosition >= digits.Length)
            {
                sb.Append(digits).Append('0', pointPosition - digits.Length);
            }
            else
            {
                sb.Append(digits, 0, pointPosition).Append('.').Append(digits, pointPosition, digits.Length - pointPosition);
            }
            return sb.ToString();
        }
        // Exponent form as Go: d.ddde+XX with at least two exponent digits, then Go trims "e-07" to "e-7".
        var e = new StringBuilder();
        if (negative)
            e.Append('-');
        e.Append(digits[0]);
        if (digits.Length > 1)
            e.Append('.').Append(digits, 1, digits.Length - 1);
        e.Append('e').Append(exponent < 0 ? '-' : '+');
        e.Append(Math.Abs(exponent).ToString(CultureInfo.InvariantCulture));
        return e.ToString();
    }

    private static (string Digits, int Exponent, bool Negative) Decompose(string text)
    {
        bool negative = text.StartsWith('-');
        if (negative)
            text = text[1..];
        int exponent = 0;
        int ePos = text.IndexOfAny(['E', 'e']);
        if (ePos >= 0)
        {
            exponent = int.Parse(text[(ePos + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            text = text[..ePos];
        }
        int dot = text.IndexOf('.');
        string intPart = dot >= 0 ? text[..dot] : text;
        string fracPart = dot >= 0 ? text[(dot + 1)..] : "";
        string all = intPart + fracPart;
        int leadingZeros = 0;
        while (leadingZeros < all.Length - 1 && all[leadingZeros] == '0')
            leadingZeros++;
        string digits = all[leadingZeros..].TrimEnd('0');
        if (digits.Length == 0)
            digits = "0";
        // value = 0.all x 10^(intPart.Length) x 10^exponent; first significant digit at position leadingZeros.
        int decimalExponent = exponent + intPart.Length - 1 - leadingZeros;
        return (digits, decimalExponent, negative);
    }

    /// <summary>Appends <paramref name="text"/> as a Go JSON string literal.</summary>
    public static void WriteString(StringBuilder builder, string text)
    {
        const string hex = "0123456789abcdef";
        builder.Append('"');
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            switch (c)
            {
                case '"':
                    builder.Append("\\\"");
                    break;
                case '\\':
                    builder.Append("\\\\");
                    break;
                case '\n':
                    builder.Append("\\n");
                    break;
                case '\r':
                    builder.Append("\\r");
                    break;
                case '\t':
                    builder.Append("\\t");
                    break;
                case '\b':
                    builder.Append("\\b");
                    break;
                case '\f':
                    builder.Append("\\f");
                    break;
                case '<' or '>' or '&' or '\u2028' or '\u2029':
                    builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
                default:
                    if (c < 0x20)
                    {
                        builder.Append("\\u00").Append(hex[c >> 4]).Append(hex[c & 0xF]);
                    }
                    else if (char.IsSurrogate(c) && !(char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])))
                    {
                        builder.Append('\ufffd'); // Go replaces invalid UTF-8 (here: a lone surrogate) with U+FFFD.
                    }
                    else if (char.IsHighSurrogate(c))
                    {
                        builder.Append(c).Append(text[++i]);
                    }
                    else
                    {
                        builder.Append(c);
                    }
                    break;
            }
        }
        builder.Append('"');
    }
}
