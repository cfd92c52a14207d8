namespace Cni.Spec;

/// <summary>What the plugin host reads and writes: environment variables, stdin, stdout and stderr. Tests use a fake.</summary>
public interface ICniEnvironment
{
    /// <summary>The value of an environment variable, or null when unset.</summary>
    string? GetVariable(string name);

    /// <summary>The network configuration arrives here.</summary>
    Stream Stdin { get; }

    /// <summary>Results and error JSON go here, nothing else.</summary>
    TextWriter Stdout { get; }

    /// <summary>Logs and diagnostics go here.</summary>
    TextWriter Stderr { get; }
}
