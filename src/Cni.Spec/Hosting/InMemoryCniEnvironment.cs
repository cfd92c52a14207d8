using System.Text;

namespace Cni.Spec;

/// <summary>
/// An environment held in memory: given variables and stdin bytes, collected stdout and stderr. Used to run a plugin
/// in process (runtimes embedding plugins, tests) exactly as it would run as an executable.
/// </summary>
public sealed class InMemoryCniEnvironment : ICniEnvironment
{
    private readonly Dictionary<string, string> _variables;

    /// <summary>Creates an environment with <paramref name="variables"/> and <paramref name="stdin"/>.</summary>
    public InMemoryCniEnvironment(IEnumerable<KeyValuePair<string, string>> variables, ReadOnlyMemory<byte> stdin = default)
    {
        _variables = new Dictionary<string, string>(variables, StringComparer.Ordinal);
        Stdin = new MemoryStream(stdin.ToArray(), writable: false);
    }

    /// <summary>Creates an environment with <paramref name="variables"/> and UTF-8 <paramref name="stdin"/> text.</summary>
    public InMemoryCniEnvironment(IEnumerable<KeyValuePair<string, string>> variables, string stdin)
        : this(variables, Encoding.UTF8.GetBytes(stdin))
    {
    }

    /// <inheritdoc/>
    public string? GetVariable(string name) => _variables.GetValueOrDefault(name);

    /// <inheritdoc/>
    public Stream Stdin { get; }

    /// <inheritdoc/>
    public TextWriter Stdout { get; } = new StringWriter { NewLine = "\n" };

    /// <inheritdoc/>
    public TextWriter Stderr { get; } = new StringWriter { NewLine = "\n" };

    /// <summary>Everything written to stdout so far.</summary>
    public string StdoutText => Stdout.ToString()!;

    /// <summary>Everything written to stderr so far.</summary>
    public string StderrText => Stderr.ToString()!;
}
