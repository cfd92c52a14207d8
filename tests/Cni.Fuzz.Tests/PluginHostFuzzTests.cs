using System.Net;
using System.Text;
using System.Text.Json;
using Cni.Fuzz.Tests.Fuzzing;
using Cni.Plugins.Bridge;
using Cni.Plugins.Ipam.Dhcp;
using Cni.Plugins.Ipam.HostLocal;
using Cni.Plugins.Ipam.HostLocal.Configuration;
using Cni.Plugins.Ipam.Static;
using Cni.Plugins.Ipvlan;
using Cni.Plugins.Macvlan;
using Cni.Plugins.Vlan;
using Cni.Plugins.Ptp;
using Cni.Plugins.Tuning;
using Cni.Plugins.Sbr;
using Cni.Plugins.Bandwidth;
using Cni.Plugins.Firewall;
using Cni.Plugins.Portmap;
using Cni.Plugins.HostDevice;
using Cni.Plugins.Tap;
using Cni.Plugins.Dummy;
using Cni.Plugins.Vrf;
using Cni.Spec;

namespace Cni.Fuzz.Tests;

/// <summary>
/// The plugin host (Go's skel) with fuzzed stdin and <c>CNI_*</c> variables, for every type the executable ships:
/// whatever comes in, stdout holds one CNI error JSON (exit 1) or a valid result (exit 0), no exception escapes, and
/// no error is the "unexpected" code 999 that stands for an exception the plugin did not foresee.
/// </summary>
/// <remarks>
/// The plugins run up to the end of their configuration reading and validation, which is all the input they parse
/// (the static plugin, which touches nothing, runs whole): the kernel and the disk are never changed, so the fuzzer is
/// safe to run as root on any machine.
/// </remarks>
public class PluginHostFuzzTests
{
    private const string MissingNetNs = "/var/run/netns/cni-fuzz-does-not-exist";

    private static readonly string[] Commands = ["ADD", "ADD", "ADD", "DEL", "CHECK", "CHECK", "GC", "STATUS", "VERSION", "add", ""];

    private static readonly string[] IfNames = ["eth0", "net1", "", ".", "..", "a/b", "a:b", "eth 0", "0123456789abcdef", "ethé"];

    private static readonly string[] ContainerIds = ["fuzz-container-1", "", "a", "x/y", "-dash", "_id", "id.with.dots", new string('c', 300)];

    /// <summary>Each shipped type, as it reads its configuration.</summary>
    public static IEnumerable<TestCaseData> Types()
    {
        yield return new TestCaseData("bridge").SetArgDisplayNames("bridge");
        yield return new TestCaseData("macvlan").SetArgDisplayNames("macvlan");
        yield return new TestCaseData("vlan").SetArgDisplayNames("vlan");
        yield return new TestCaseData("ipvlan").SetArgDisplayNames("ipvlan");
        yield return new TestCaseData("host-local").SetArgDisplayNames("host-local");
        yield return new TestCaseData("static").SetArgDisplayNames("static");
        foreach (string type in new[] { "ptp", "tuning", "bandwidth", "firewall", "portmap", "host-device", "tap", "dummy", "vrf", "sbr", "dhcp" })
            yield return new TestCaseData(type).SetArgDisplayNames(type);
    }

    /// <summary>The plugin of <paramref name="type"/>, cut off after its configuration is read.</summary>
    internal static ICniPlugin ParseOnly(string type) => type switch
    {
        "bridge" => new ParseOnlyPlugin(new BridgePlugin(), r => BridgeSettings.Load(r)),
        "macvlan" => new MacvlanPlugin() is var macvlan ? new ParseOnlyPlugin(macvlan, r => macvlan.LoadConf(r, lookupMaster: r.Command != CniCommand.Del)) : null!,
        "vlan" => new VlanPlugin() is var vlan ? new ParseOnlyPlugin(vlan, r => vlan.LoadConf(r, lookupMaster: r.Command != CniCommand.Del)) : null!,
        "ipvlan" => new IpvlanPlugin() is var ipvlan ? new ParseOnlyPlugin(ipvlan, r => ipvlan.LoadConf(r, lookupMaster: r.Command == CniCommand.Add)) : null!,
        "ptp" => new ParseOnlyPlugin(new PtpPlugin(), r => PtpSettings.Load(r)),
        "tuning" => new TuningPlugin() is var tuning ? new ParseOnlyPlugin(tuning, r => tuning.LoadConf(r)) : null!,
        "bandwidth" => new ParseOnlyPlugin(new BandwidthPlugin(), r => BandwidthPlugin.LoadConf(r)),
        "firewall" => new ParseOnlyPlugin(new FirewallPlugin(), r => FirewallPlugin.LoadConf(r)),
        "portmap" => new ParseOnlyPlugin(new PortmapPlugin(), r => PortmapSettings.Load(r, iptablesInstalled: true, nftInstalled: true, forAdd: r.Command == CniCommand.Add)),
        "host-local" => new ParseOnlyPlugin(new HostLocalPlugin(), r =>
        {
            if (r.Command == CniCommand.Gc)
                HostLocalPlugin.ReadValidAttachments(r.RawConfig.Span);
            HostLocalConfigParser.Parse(r.RawConfig.Span, r.Args.Get("IP"));
        }),
        "sbr" => new ParseOnlyPlugin(new SbrPlugin(), r => SbrSettings.Load(r)),
        "dhcp" => new ParseOnlyPlugin(new DhcpPlugin(), r => DhcpSettings.Load(r)),
        "static" => new StaticPlugin(),
        "host-device" => new ParseOnlyPlugin(new HostDevicePlugin(), r => HostDevicePlugin.LoadConf(r)),
        "tap" => new TapPlugin() is var tap ? new ParseOnlyPlugin(tap, r => tap.LoadConf(r)) : null!,
        "dummy" => new ParseOnlyPlugin(new DummyPlugin(), r => DummyPlugin.LoadConf(r)),
        "vrf" => new ParseOnlyPlugin(new VrfPlugin(), r => VrfPlugin.LoadConf(r)),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    [TestCaseSource(nameof(Types))]
    public void StdinAndEnvironmentGiveAResultOrOneCniError(string type)
    {
        List<byte[]> seeds = Corpus.Files("netconf");
        ICniPlugin plugin = ParseOnly(type);
        List<string> cniArgs = Corpus.Lines("cniargs.txt").Select(Encoding.UTF8.GetString).ToList();
        FuzzRun.Run($"CniPluginHost {type}", seeds, (stdin, mutator) =>
        {
            var variables = new Dictionary<string, string>
            {
                ["CNI_COMMAND"] = mutator.Pick(Commands),
                ["CNI_CONTAINERID"] = mutator.Next(8) == 0 ? mutator.Pick(ContainerIds) : ContainerIds[0],
                ["CNI_NETNS"] = MissingNetNs,
                ["CNI_IFNAME"] = mutator.Next(8) == 0 ? mutator.Pick(IfNames) : IfNames[0],
                ["CNI_PATH"] = "/nonexistent/cni-fuzz/bin",
            };
            switch (mutator.Next(4))
            {
                case 0:
                    variables["CNI_ARGS"] = mutator.Pick(cniArgs);
                    break;
                case 1:
                    variables["CNI_ARGS"] = mutator.MutateText(mutator.Pick(cniArgs));
                    break;
            }
            // Retarget the seed at this plugin half of the time, so that its own keys get most of the mutations.
            if (mutator.Next(2) == 0)
                stdin = Retype(stdin, type);
            RunAndCheck(plugin, variables, stdin);
        }, _ => false, iterations: FuzzRun.Iterations(3000));
    }

    /// <summary>Runs the host once and checks the protocol's promises; throws <see cref="InvalidDataException"/> when one is broken.</summary>
    internal static void RunAndCheck(ICniPlugin plugin, Dictionary<string, string> variables, byte[] stdin)
    {
        var env = new InMemoryCniEnvironment(variables, stdin);
        int exit = CniPluginHost.RunAsync(plugin, env).GetAwaiter().GetResult();
        string stdout = env.StdoutText;
        string command = variables.GetValueOrDefault("CNI_COMMAND", "");
        if (exit == CniPluginHost.ExitFailure)
        {
            using JsonDocument doc = ParseStdout(stdout, "an error");
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("code", out JsonElement code) || !code.TryGetUInt32(out uint number)
                || !root.TryGetProperty("msg", out JsonElement msg) || msg.ValueKind != JsonValueKind.String || !Documented.IsGoodMessage(msg.GetString()!)
                || (root.TryGetProperty("details", out JsonElement details) && details.ValueKind != JsonValueKind.String))
                throw new InvalidDataException($"exit 1 without CNI error JSON on stdout: {stdout}");
            if (number == (uint)CniErrorCode.Internal)
                throw new InvalidDataException($"an unexpected exception inside the plugin (code 999): {stdout}\nstderr: {env.StderrText}");
            return;
        }
        if (exit != CniPluginHost.ExitSuccess)
            throw new InvalidDataException($"exit code {exit}");
        if (command == "VERSION")
        {
            using JsonDocument _ = ParseStdout(stdout, "the VERSION answer");
        }
        else if (command == "ADD")
        {
            // A result in the configuration's version: it must read back as one.
            _ = CniResultSerializer.Parse(Encoding.UTF8.GetBytes(stdout), version: null, "ADD result");
        }
        else if (stdout.Length != 0)
        {
            throw new InvalidDataException($"{command} succeeded but printed: {stdout}");
        }
    }

    private static JsonDocument ParseStdout(string stdout, string what)
    {
        try
        {
            return JsonDocument.Parse(stdout);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"stdout is not {what} in JSON ({ex.Message}): {stdout}");
        }
    }

    /// <summary><paramref name="stdin"/> with <c>type</c> (and, for the IPAM types, <c>ipam.type</c>) set to <paramref name="type"/>, when it is a JSON object.</summary>
    private static byte[] Retype(byte[] stdin, string type)
    {
        try
        {
            if (System.Text.Json.Nodes.JsonNode.Parse(stdin) is not System.Text.Json.Nodes.JsonObject obj)
                return stdin;
            obj["type"] = type;
            return Encoding.UTF8.GetBytes(obj.ToJsonString());
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException or InvalidOperationException)
        {
            return stdin;
        }
    }

    /// <summary>A plugin that reads and validates its configuration as the real one does, reads prevResult when
    /// given, and stops there: ADD returns prevResult (or a fixed result), so the host's result conversion is fuzzed too.</summary>
    internal sealed class ParseOnlyPlugin(ICniPlugin real, Action<CniRequest> load) : CniPlugin
    {
        public override PluginInfo Info => real.Info;

        public override Task<CniResult> AddAsync(CniRequest request, CancellationToken cancellationToken)
        {
            load(request);
            CniResult result = request.Config.PrevResult ?? new CniResult
            {
                Interfaces = [new CniInterface { Name = request.IfName, Sandbox = request.NetNs }],
                Ips = [new CniIPConfig { Interface = 0, Address = IPPrefix.Parse("10.99.0.2/24"), Gateway = IPAddress.Parse("10.99.0.1") }],
            };
            return Task.FromResult(result);
        }

        public override Task DelAsync(CniRequest request, CancellationToken cancellationToken)
        {
            load(request);
            return Task.CompletedTask;
        }

        public override Task CheckAsync(CniRequest request, CancellationToken cancellationToken)
        {
            load(request);
            _ = request.Config.PrevResult;
            return Task.CompletedTask;
        }

        public override Task GcAsync(CniRequest request, CancellationToken cancellationToken)
        {
            load(request);
            return Task.CompletedTask;
        }

        public override Task StatusAsync(CniRequest request, CancellationToken cancellationToken)
        {
            load(request);
            return Task.CompletedTask;
        }
    }
}
