using System.Text;

namespace Cni.Fuzz.Tests.Fuzzing;

/// <summary>The seed inputs checked into <c>Corpus/</c> (copied next to the test assembly).</summary>
internal static class Corpus
{
    public static string Dir => Path.Combine(AppContext.BaseDirectory, "Corpus");

    /// <summary>Every file of <c>Corpus/<paramref name="folder"/></c>, sorted by name, whose name matches <paramref name="pattern"/>.</summary>
    public static List<byte[]> Files(string folder, string pattern = "*") =>
        Directory.GetFiles(Path.Combine(Dir, folder), pattern).Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToList();

    /// <summary>The lines of a text file of <c>Corpus/</c>.</summary>
    public static List<byte[]> Lines(string file) =>
        File.ReadAllLines(Path.Combine(Dir, file)).Where(l => l.Length > 0).Select(Encoding.UTF8.GetBytes).ToList();

    /// <summary>A file of <c>Corpus/</c>.</summary>
    public static byte[] File1(string file) => File.ReadAllBytes(Path.Combine(Dir, file));
}
