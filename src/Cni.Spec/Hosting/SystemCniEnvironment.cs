using System.Text;

namespace Cni.Spec;

/// <summary>The real process environment: <see cref="Environment"/> variables and the standard streams (UTF-8, no BOM).</summary>
public sealed class SystemCniEnvironment : ICniEnvironment
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    /// <inheritdoc/>
    public string? GetVariable(string name) => Environment.GetEnvironmentVariable(name);

    /// <inheritdoc/>
    public Stream Stdin { get; } = Console.OpenStandardInput();

    /// <inheritdoc/>
    public TextWriter Stdout { get; } = new StreamWriter(Console.OpenStandardOutput(), Utf8) { AutoFlush = false };

    /// <inheritdoc/>
    public TextWriter Stderr { get; } = new StreamWriter(Console.OpenStandardError(), Utf8) { AutoFlush = true };
}
