using System.Net;
using System.Text.Json.Nodes;

namespace Cni.Spec.Tests;

/// <summary>A plugin that records what the host handed it and does what the test says.</summary>
internal sealed class RecordingPlugin : CniPlugin
{
    public PluginInfo PluginInfo { get; set; } = PluginInfo.Default;

    public override PluginInfo Info => PluginInfo;

    public List<CniRequest> Requests { get; } = [];

    public Func<CniRequest, CniResult>? OnAdd { get; set; }

    public Exception? Throw { get; set; }

    public override Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
    {
        Record(request);
        return Task.FromResult(OnAdd?.Invoke(request) ?? new CniResult
        {
            Ips = [new CniIPConfig { Address = IPPrefix.Parse("10.0.0.2/24"), Gateway = IPAddress.Parse("10.0.0.1") }],
        });
    }

    public override Task DelAsync(CniRequest request, CancellationToken cancellationToken) => Done(request);

    public override Task CheckAsync(CniRequest request, CancellationToken cancellationToken) => Done(request);

    public override Task GcAsync(CniRequest request, CancellationToken cancellationToken) => Done(request);

    public override Task StatusAsync(CniRequest request, CancellationToken cancellationToken) => Done(request);

    private Task Done(CniRequest request)
    {
        Record(request);
        return Task.CompletedTask;
    }

    private void Record(CniRequest request)
    {
        Requests.Add(request);
        if (Throw is not null)
            throw Throw;
    }
}

/// <summary>Runs the host with a fake environment and gives back exit code, stdout and stderr.</summary>
internal static class HostKit
{
    public const string Config = """{"cniVersion":"1.0.0","name":"testnet","type":"fake"}""";

    public static Dictionary<string, string> AddVariables(string command = "ADD") => new()
    {
        ["CNI_COMMAND"] = command,
        ["CNI_CONTAINERID"] = "container-1",
        ["CNI_NETNS"] = "/var/run/netns/test",
        ["CNI_IFNAME"] = "eth0",
        ["CNI_PATH"] = "/opt/cni/bin:/usr/lib/cni",
    };

    public static HostRun Run(ICniPlugin plugin, IDictionary<string, string> variables, string stdin = Config)
    {
        var env = new InMemoryCniEnvironment(variables, stdin);
        int exit = CniPluginHost.RunAsync(plugin, env).GetAwaiter().GetResult();
        return new HostRun(exit, env.StdoutText, env.StderrText);
    }
}

internal sealed record HostRun(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>The error printed on stdout (fails the test when stdout is not error JSON).</summary>
    public (uint Code, string Msg, string? Details) Error
    {
        get
        {
            JsonObject error = JsonNode.Parse(Stdout)!.AsObject();
            return ((uint)error["code"]!, (string)error["msg"]!, (string?)error["details"]);
        }
    }
}
