using System.Text;

namespace Cni.Spec.Tests;

/// <summary>Reads the golden files copied next to the test assembly.</summary>
internal static class GoldenFiles
{
    public static string Dir => Path.Combine(AppContext.BaseDirectory, "Golden");

    /// <summary>The file's text with a trailing newline removed (the only normalization allowed).</summary>
    public static string Text(string name) => File.ReadAllText(Path.Combine(Dir, name)).TrimEnd('\n');

    public static byte[] Bytes(string name) => Encoding.UTF8.GetBytes(Text(name));

    public static bool Exists(string name) => File.Exists(Path.Combine(Dir, name));
}
