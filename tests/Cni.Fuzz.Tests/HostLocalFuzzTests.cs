using System.Text;
using Cni.Fuzz.Tests.Fuzzing;
using Cni.Plugins.Ipam.HostLocal;
using Cni.Plugins.Ipam.HostLocal.Configuration;
using Cni.Spec;

namespace Cni.Fuzz.Tests;

/// <summary>host-local's own readers: its configuration (with the CNI_ARGS <c>IP</c>), resolv.conf, and GC's list of valid attachments.</summary>
public class HostLocalFuzzTests
{
    private static readonly string?[] ArgsIps = [null, null, "10.1.2.10", "2001:db8:1::5", "10.1.2.10/24", "", "x", "10.1.2.1", "::ffff:10.1.2.10"];

    [Test]
    public void ConfigurationParsesOrFailsWithACniError()
    {
        List<byte[]> seeds = Corpus.Files("netconf", "host-local*");
        seeds.AddRange(Corpus.Files("netconf"));
        FuzzRun.Run("HostLocalConfigParser.Parse", seeds, (input, mutator) =>
        {
            string? ip = mutator.Next(6) == 0 ? mutator.MutateText(mutator.Pick(ArgsIps) ?? "10.1.2.10") : mutator.Pick(ArgsIps);
            HostLocalConfig config = HostLocalConfigParser.Parse(input, ip);
            foreach (var set in config.RangeSets)
                _ = set.ToString();
        }, Documented.Cni(Documented.ConfigCodes), iterations: FuzzRun.Iterations(10000));
    }

    [Test]
    public void ValidAttachmentsParseOrFailWithACniError()
    {
        FuzzRun.Run("HostLocalPlugin.ReadValidAttachments", Corpus.Files("netconf", "host-local-gc.json"), (input, unused) =>
        {
            if (!IsJson(input))
                return; // the host has parsed (and checked the text of) the configuration before GC reads it
            _ = HostLocalPlugin.ReadValidAttachments(input);
        }, Documented.Cni(CniErrorCode.InvalidNetworkConfig));
    }

    [Test]
    public void ResolvConfNeverCrashes()
    {
        FuzzRun.Run("ResolvConf.ParseLines", [Corpus.File1("resolv.conf")], (input, unused) =>
        {
            CniDns dns = ResolvConf.ParseLines(Encoding.UTF8.GetString(input).Split('\n'));
            _ = CniResultSerializer.Serialize(new CniResult { Dns = dns }, CniVersions.Latest);
        }, _ => false);
    }

    private static bool IsJson(byte[] input)
    {
        try
        {
            Cni.Spec.Json.JsonText.EnsureDecodable(input, "fuzz");
            using var doc = System.Text.Json.JsonDocument.Parse(input);
            return true;
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or CniException)
        {
            return false;
        }
    }
}
