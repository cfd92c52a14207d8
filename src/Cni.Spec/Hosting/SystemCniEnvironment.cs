using System.Text;

namespace Cni.Spec;

/// <summary>The real process environment: <see cref="Environment"/> variables and the standard streams (UTF-8, no BOM).</summary>
/// <remarks>
/// The streams are the inherited descriptors 0, 1 and 2 used directly, without <see cref="Console"/>: a plugin runs for
/// a few milliseconds, and console set-up (terminal probing, signal handling thread) would be a measurable part of them.
/// </remarks>
public sealed class SystemCniEnvironment : ICniEnvironment
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private Stream? _stdin;
    private TextWriter? _stdout;
    private TextWriter? _stderr;

    /// <inheritdoc/>
    public string? GetVariable(string name) => Environment.GetEnvironmentVariable(name);

    /// <inheritdoc/>
    public Stream Stdin => _stdin ??= new FileDescriptorStream(0, write: false);

    /// <inheritdoc/>
    public TextWriter Stdout => _stdout ??= new StreamWriter(new FileDescriptorStream(1, write: true), Utf8, bufferSize: 4096) { AutoFlush = false };

    /// <inheritdoc/>
    public TextWriter Stderr => _stderr ??= new StreamWriter(new FileDescriptorStream(2, write: true), Utf8, bufferSize: 1024) { AutoFlush = true };
}
