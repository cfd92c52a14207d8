using System.Text.Json.Nodes;
using NUnit.Framework;

namespace Cni.Plugins.TestSupport;

/// <summary>How a test drives the plugin.</summary>
public enum Mode
{
    /// <summary>
    /// In process, through <see cref="Cni.Spec.CniPluginHost"/> with an in-memory environment. The "host" is the test's
    /// own namespace: for plugins that change the host, use it only for tests that do not (e.g. linkInContainer or
    /// configuration errors).
    /// </summary>
    InProcess,

    /// <summary>The published NativeAOT binary, run as a runtime runs it (see <see cref="PluginHarness.RunBinaryAsync"/>).</summary>
    Binary,
}

/// <summary>What one plugin invocation (or any process the harness ran) returned.</summary>
/// <param name="ExitCode">The process exit code (or the host's return value in process).</param>
/// <param name="Stdout">Everything written to standard output.</param>
/// <param name="Stderr">Everything written to standard error.</param>
public sealed record PluginOutput(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Standard output parsed as a JSON object (a CNI result or error).</summary>
    public JsonObject Json => JsonNode.Parse(Stdout)!.AsObject();

    /// <summary>Asserts exit code 0 (the message shows both streams); returns this for chaining.</summary>
    public PluginOutput AssertSuccess()
    {
        Assert.That(ExitCode, Is.EqualTo(0), $"plugin failed: {Stdout}\n{Stderr}");
        return this;
    }

    /// <summary>Asserts a CNI error with <paramref name="code"/> whose message contains <paramref name="fragment"/>; returns the message.</summary>
    public string AssertError(uint code, string fragment)
    {
        Assert.That(ExitCode, Is.EqualTo(1), $"expected failure, got: {Stdout}\n{Stderr}");
        JsonObject error = Json;
        string msg = error["msg"]!.GetValue<string>();
        Assert.Multiple(() =>
        {
            Assert.That(error["code"]!.GetValue<uint>(), Is.EqualTo(code), msg);
            Assert.That(msg, Does.Contain(fragment));
            Assert.That(Stdout, Does.Not.Contain("   at "), "no stack trace on stdout");
        });
        return msg;
    }
}
