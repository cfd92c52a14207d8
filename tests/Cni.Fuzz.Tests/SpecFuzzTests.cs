using System.Text;
using Cni.Fuzz.Tests.Fuzzing;
using Cni.Spec;
using Cni.Spec.Json;

namespace Cni.Fuzz.Tests;

/// <summary>
/// Cni.Spec's parsers of outside bytes: the network configuration (and its prevResult, read lazily), results of every
/// version and their conversion to every other, CNI_ARGS, and the error and VERSION JSON a delegated plugin prints.
/// </summary>
public class SpecFuzzTests
{
    private static readonly string[] Versions = [.. CniVersions.All];

    private static List<byte[]> NetConfSeeds() => [.. Corpus.Files("netconf"), .. Corpus.Files("results")];

    private static List<byte[]> ResultSeeds() => [.. Corpus.Files("results"), .. Corpus.Files("netconf", "*prev*")];

    [Test]
    public void NetworkConfigurationParsesOrFailsWithACniError()
    {
        FuzzRun.Run("NetConf.Parse", NetConfSeeds(), (input, unused) =>
        {
            NetConf conf = NetConf.Parse(input);
            _ = conf.PrevResult; // converted on first use: its errors are CNI errors too
            _ = conf.ToJsonBytes();
        }, Documented.Cni(Documented.ConfigCodes));
    }

    /// <summary>The serializer-free fast path reads exactly what the serializer reads, for every input it takes.</summary>
    [Test]
    public void NetConfFastPathAgreesWithTheSerializer()
    {
        FuzzRun.Run("NetConfReader.TryRead", NetConfSeeds(), (input, unused) =>
        {
            // As the host calls it: after the text is checked and nested keys are made unique.
            JsonText.EnsureDecodable(input, "network configuration");
            input = JsonText.LastNestedKeyWins(input) ?? input;
            NetConf? fast = NetConfReader.TryRead(input, out string? _, out string? _);
            if (fast is null)
                return;
            NetConf slow = NetConf.Parse(input);
            string a = Encoding.UTF8.GetString(NetConfReader.Complete(fast).ToJsonBytes());
            string b = Encoding.UTF8.GetString(slow.ToJsonBytes());
            if (a != b)
                throw new InvalidDataException($"fast path and serializer disagree:\n fast: {a}\n slow: {b}");
        }, Documented.Cni(Documented.ConfigCodes));
    }

    [Test]
    public void ResultsOfEveryVersionParseAndConvertOrFailWithACniError()
    {
        FuzzRun.Run("CniResultSerializer.Parse", ResultSeeds(), (input, mutator) =>
        {
            string? version = mutator.Next(3) == 0 ? null : mutator.Pick(Versions);
            CniResult result = CniResultSerializer.Parse(input, version, "prevResult");
            // Every parsed result converts to every version (0.1.0/0.2.0 refuse a result without addresses, code 1)
            // and the conversion reads back.
            foreach (string to in Versions)
            {
                byte[] json;
                try
                {
                    json = CniResultSerializer.SerializeToUtf8Bytes(result, to);
                }
                catch (CniException ex) when (ex.Code == CniErrorCode.IncompatibleCniVersion && result.Ips.Count == 0)
                {
                    continue;
                }
                _ = CniResultSerializer.Parse(json, to, "converted result");
            }
        }, Documented.Cni(CniErrorCode.IncompatibleCniVersion, CniErrorCode.DecodingFailure, CniErrorCode.InvalidNetworkConfig));
    }

    /// <summary>The serializer-free result reader builds what the serializer builds, for every input it takes.</summary>
    [Test]
    public void ResultFastPathAgreesWithTheSerializer()
    {
        FuzzRun.Run("ResultReader.TryRead", ResultSeeds(), (input, mutator) =>
        {
            string? version = mutator.Next(3) == 0 ? null : mutator.Pick(Versions);
            CniResult? fast = ResultReader.TryRead(input, version);
            if (fast is null)
                return;
            CniResult slow = CniResultSerializer.ParseWithSerializer(input, version, "result");
            string a = CniResultSerializer.Serialize(fast, CniVersions.Latest);
            string b = CniResultSerializer.Serialize(slow, CniVersions.Latest);
            if (a != b || fast.CniVersion != slow.CniVersion)
                throw new InvalidDataException($"fast path and serializer disagree:\n fast: {a}\n slow: {b}");
        }, Documented.Cni(CniErrorCode.IncompatibleCniVersion, CniErrorCode.DecodingFailure, CniErrorCode.InvalidNetworkConfig));
    }

    [Test]
    public void CniArgsParseOrFailWithInvalidEnvironment()
    {
        FuzzRun.Run("CniArgs.Parse", Corpus.Lines("cniargs.txt"), (input, unused) =>
        {
            CniArgs args = CniArgs.Parse(Encoding.UTF8.GetString(input));
            args.EnsureKnownKeys(["IP", "MAC", "GATEWAY"]);
            _ = args.Get("IP");
            _ = args.ToString();
        }, Documented.Cni(CniErrorCode.InvalidEnvironmentVariables));
    }

    /// <summary>Whatever a failed delegated plugin prints, reading it gives a CNI error, never an exception.</summary>
    [Test]
    public void DelegatedPluginErrorOutputAlwaysBecomesACniError()
    {
        FuzzRun.Run("PluginExecutor.PluginError", [.. Corpus.Files("errors"), .. Corpus.Files("results")], (input, mutator) =>
        {
            byte[] stderr = mutator.Next(4) == 0 ? input : [];
            CniException error = PluginExecutor.PluginError("/opt/cni/bin/fuzz", "exit 1", input, stderr);
            if (!Documented.IsGoodMessage(error.Message) && error.NumericCode == 0)
                throw new InvalidDataException("a plugin error without code or message");
        }, _ => false);
    }

    [Test]
    public void DelegatedPluginVersionOutputParsesOrFailsWithACniError()
    {
        byte[][] seeds =
        [
            """{"cniVersion":"1.1.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}"""u8.ToArray(),
            """{"cniVersion":"0.2.0","supportedVersions":["0.1.0","0.2.0"]}"""u8.ToArray(),
        ];
        FuzzRun.Run("PluginVersionInfo", seeds, (input, unused) =>
            CniJson.Deserialize(input, CniJsonContext.Default.PluginVersionInfo, "VERSION output of fuzz"),
            Documented.Cni(CniErrorCode.DecodingFailure, CniErrorCode.InvalidNetworkConfig));
    }
}
