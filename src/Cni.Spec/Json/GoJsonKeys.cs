using System.Text;

namespace Cni.Spec;

/// <summary>
/// How Go's encoding/json matches a JSON object key to a struct field, which is how the reference plugins and libcni
/// read a configuration: case-insensitively under Unicode simple case folding (so <c>"CNIVersion"</c> and
/// <c>"cniverſion"</c> are <c>cniVersion</c>), and, when several keys match one field, the last one in the document wins.
/// The one definition every reader of configuration keys here uses.
/// </summary>
public static class GoJsonKeys
{
    /// <summary>True when Go would decode key <paramref name="key"/> into a field named <paramref name="field"/>.</summary>
    public static bool Matches(ReadOnlySpan<char> key, ReadOnlySpan<char> field)
    {
        if (key.SequenceEqual(field))
            return true;
        while (true)
        {
            bool moreKey = Rune.DecodeFromUtf16(key, out Rune k, out int kLength) != System.Buffers.OperationStatus.NeedMoreData && key.Length > 0;
            bool moreField = Rune.DecodeFromUtf16(field, out Rune f, out int fLength) != System.Buffers.OperationStatus.NeedMoreData && field.Length > 0;
            if (!moreKey || !moreField)
                return moreKey == moreField;
            if (Fold(k) != Fold(f))
                return false;
            key = key[kLength..];
            field = field[fLength..];
        }
    }

    /// <summary>The representative Go folds <paramref name="r"/> to (the smallest rune of its simple-folding orbit):
    /// ASCII letters to upper case; the two non-ASCII runes that fold onto ASCII letters, 'ſ' (U+017F) and the Kelvin
    /// sign (U+212A), to 'S' and 'K'; other runes to the smallest of their upper- and lower-case forms.</summary>
    private static int Fold(Rune r)
    {
        int v = r.Value;
        if (v < 0x80)
            return v is >= 'a' and <= 'z' ? v - ('a' - 'A') : v;
        if (v == 0x17F)
            return 'S';
        if (v == 0x212A)
            return 'K';
        // U+0130 and U+0131 fold to nothing else in Go (their case pairs leave ASCII): keep them apart from 'i'.
        if (v is 0x130 or 0x131)
            return v;
        return Math.Min(v, Math.Min(Rune.ToUpperInvariant(r).Value, Rune.ToLowerInvariant(r).Value));
    }
}
