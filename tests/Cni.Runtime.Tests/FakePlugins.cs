using Cni.TestSupport;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Cni.Spec;

namespace Cni.Runtime.Tests;

/// <summary>What a fake plugin saw in one call.</summary>
internal sealed record RecordedCall(string Plugin, CniCommand Command, string ContainerId, string? NetNs, string IfName, string Args, string Stdin)
{
    public JsonObject Config => JsonNode.Parse(Stdin)!.AsObject();
}

/// <summary>A log shared by the fake plugins of one test, in call order.</summary>
internal sealed class CallLog
{
    private readonly ConcurrentQueue<RecordedCall> _calls = new();

    public void Add(RecordedCall call) => _calls.Enqueue(call);

    public IReadOnlyList<RecordedCall> Calls => [.. _calls];
}

/// <summary>
/// An in-process plugin that records every call and, on ADD, returns its configured result (by default the
/// prevResult with one more interface named after the plugin, or a fresh result with one address).
/// </summary>
internal class RecordingPlugin(string name, CallLog log) : CniPlugin
{
    public Func<CniRequest, CniResult>? OnAdd { get; set; }

    public CniException? Fail { get; set; }

    public CniCommand? FailOn { get; set; }

    public TimeSpan? Hang { get; set; }

    public override PluginInfo Info { get; } = new() { About = $"fake {name}" };

    private async Task RecordAsync(CniRequest request, CancellationToken cancellationToken)
    {
        string stdin = Encoding.UTF8.GetString(request.RawConfig.Span);
        log.Add(new RecordedCall(name, request.Command, request.ContainerId, request.NetNs, request.IfName, request.Args.ToString(), stdin));
        if (Hang is { } hang)
            await Task.Delay(hang, cancellationToken);
        if (Fail is not null && (FailOn is null || FailOn == request.Command))
            throw Fail;
    }

    public override async Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
    {
        await RecordAsync(request, cancellationToken);
        if (OnAdd is not null)
            return OnAdd(request);
        CniResult result = request.Config.PrevResult?.Clone() ?? new CniResult
        {
            Ips = [new CniIPConfig { Address = IPPrefix.Parse("10.1.2.3/24"), Gateway = System.Net.IPAddress.Parse("10.1.2.1") }],
        };
        result.Interfaces.Add(new CniInterface { Name = name, Mac = "02:00:00:00:00:01" });
        return result;
    }

    public override Task DelAsync(CniRequest request, CancellationToken cancellationToken) => RecordAsync(request, cancellationToken);

    public override Task CheckAsync(CniRequest request, CancellationToken cancellationToken) => RecordAsync(request, cancellationToken);

    public override Task GcAsync(CniRequest request, CancellationToken cancellationToken) => RecordAsync(request, cancellationToken);

    public override Task StatusAsync(CniRequest request, CancellationToken cancellationToken) => RecordAsync(request, cancellationToken);
}

/// <summary>Writes shell-script plugins that log their environment and stdin and print a canned result.</summary>
internal static class ShellPlugin
{
    /// <summary>
    /// Creates an executable <paramref name="type"/> in <paramref name="binDir"/>. Each call appends to
    /// <c>&lt;binDir&gt;/calls.log</c> one line "TYPE COMMAND CONTAINERID NETNS IFNAME ARGS" and saves stdin as
    /// <c>&lt;binDir&gt;/stdin.N</c>. ADD prints <c>&lt;binDir&gt;/TYPE.result</c>; when <c>&lt;binDir&gt;/TYPE.fail</c>
    /// exists, every command prints it and exits 1. VERSION prints the supported versions.
    /// </summary>
    public static string Create(string binDir, string type)
    {
        Directory.CreateDirectory(binDir);
        string path = Path.Combine(binDir, type);
        TestEnvironment.WriteExecutable(path, $$"""
            #!/bin/sh
            dir=$(dirname "$0")
            if [ "$CNI_COMMAND" = VERSION ]; then
              echo '{"cniVersion":"1.1.0","supportedVersions":["0.3.1","0.4.0","1.0.0","1.1.0"]}'
              exit 0
            fi
            n=$(ls "$dir" | grep -c '^stdin\.')
            cat > "$dir/stdin.$n"
            echo "{{type}} $CNI_COMMAND ${CNI_CONTAINERID:--} ${CNI_NETNS:--} ${CNI_IFNAME:--} ${CNI_ARGS:--}" >> "$dir/calls.log"
            if [ -f "$dir/{{type}}.fail" ]; then cat "$dir/{{type}}.fail"; exit 1; fi
            if [ "$CNI_COMMAND" = ADD ]; then cat "$dir/{{type}}.result"; fi
            exit 0
            """);
        return path;
    }

    public static string[] Calls(string binDir)
    {
        string log = Path.Combine(binDir, "calls.log");
        return File.Exists(log) ? File.ReadAllLines(log) : [];
    }

    public static string Stdin(string binDir, int index) => File.ReadAllText(Path.Combine(binDir, $"stdin.{index}"));
}
