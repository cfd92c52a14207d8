using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;

namespace Cni.Spec.Json;

/// <summary>
/// A JSON encoder for the start-up fast paths, which only write "plain" strings (see <see cref="IsPlain(string)"/>):
/// those print the same under every JSON encoder, so any encoder gives the bytes the serializer gives.
/// </summary>
/// <remarks>
/// It exists because the built-in ones are expensive to create: the first string a <see cref="System.Text.Json.Utf8JsonWriter"/>
/// writes with its default encoder (or <see cref="JavaScriptEncoder.UnsafeRelaxedJsonEscaping"/>) builds the tables of
/// both built-in JavaScript encoders, 64K code points, about a million instructions per plugin run. Characters that
/// are not plain are escaped as <c>\uXXXX</c>, so the output stays valid JSON whatever reaches it.
/// </remarks>
internal sealed class PlainJsonEncoder : JavaScriptEncoder
{
    public static readonly PlainJsonEncoder Instance = new();

    private PlainJsonEncoder()
    {
    }

    /// <summary>Printable ASCII except the characters JSON or HTML-safe encoders escape: <c>" \ &lt; &gt; &amp; ' + `</c>.</summary>
    public static bool IsPlain(int c) => c is >= ' ' and <= '~' and not ('"' or '\\' or '<' or '>' or '&' or '\'' or '+' or '`');

    /// <summary>Whether every character of <paramref name="value"/> is plain.</summary>
    public static bool IsPlain(string value)
    {
        foreach (char c in value)
        {
            if (!IsPlain(c))
                return false;
        }
        return true;
    }

    public override int MaxOutputCharactersPerInputCharacter => 12; // a surrogate pair as two \uXXXX

    public override unsafe int FindFirstCharacterToEncode(char* text, int textLength)
    {
        for (int i = 0; i < textLength; i++)
        {
            if (!IsPlain(text[i]))
                return i;
        }
        return -1;
    }

    public override int FindFirstCharacterToEncodeUtf8(ReadOnlySpan<byte> utf8Text)
    {
        for (int i = 0; i < utf8Text.Length; i++)
        {
            if (!IsPlain(utf8Text[i]))
                return i;
        }
        return -1;
    }

    public override unsafe bool TryEncodeUnicodeScalar(int unicodeScalar, char* buffer, int bufferLength, out int numberOfCharactersWritten)
    {
        Span<char> utf16 = stackalloc char[2];
        int units = new Rune(unicodeScalar).EncodeToUtf16(utf16);
        numberOfCharactersWritten = 0;
        if (bufferLength < units * 6)
            return false;
        for (int u = 0; u < units; u++)
        {
            buffer[numberOfCharactersWritten++] = '\\';
            buffer[numberOfCharactersWritten++] = 'u';
            ((int)utf16[u]).TryFormat(new Span<char>(buffer + numberOfCharactersWritten, 4), out _, "X4", CultureInfo.InvariantCulture);
            numberOfCharactersWritten += 4;
        }
        return true;
    }

    public override bool WillEncode(int unicodeScalar) => !IsPlain(unicodeScalar);
}
