using System.Text;
using Cni.Fuzz.Tests.Fuzzing;
using Cni.Runtime;
using Cni.Spec;
using Cni.TestSupport;

namespace Cni.Fuzz.Tests;

/// <summary>
/// Cni.Runtime's parsers of outside bytes: configuration lists and legacy configurations (files an administrator or
/// another program writes into /etc/cni/net.d) and cached results (files under /var/lib/cni, possibly left by libcni).
/// </summary>
public class RuntimeFuzzTests
{
    private static readonly Func<Exception, bool> ConfigError =
        Documented.Cni(CniErrorCode.IncompatibleCniVersion, CniErrorCode.DecodingFailure, CniErrorCode.InvalidNetworkConfig);

    private static List<byte[]> ConfigSeeds() => [.. Corpus.Files("conflist"), .. Corpus.Files("netconf")];

    [Test]
    public void ConfigurationListsParseOrFailWithACniError()
    {
        FuzzRun.Run("CniNetworkConfig.Parse", ConfigSeeds(), (input, unused) =>
        {
            CniNetworkConfig network = CniNetworkConfig.Parse(input, "/etc/cni/net.d/fuzz.conflist");
            foreach (CniPluginConfig plugin in network.Plugins)
            {
                _ = plugin.Description;
                _ = plugin.ToString();
                _ = plugin.ToJsonObject();
            }
        }, ConfigError);
    }

    [Test]
    public void LegacyConfigurationsParseOrFailWithACniError()
    {
        FuzzRun.Run("CniNetworkConfig.FromLegacyConf", ConfigSeeds(), (input, unused) =>
        {
            CniNetworkConfig network = CniNetworkConfig.FromLegacyConf(input, "/etc/cni/net.d/fuzz.conf");
            _ = network.Plugins[0].ToString();
        }, ConfigError);
    }

    [Test]
    public void PluginConfigurationFilesParseOrFailWithACniError()
    {
        FuzzRun.Run("CniPluginConfig.Parse", ConfigSeeds(), (input, unused) =>
        {
            CniPluginConfig plugin = CniPluginConfig.Parse(input, "/etc/cni/net.d/fuzz/10-plugin.conf");
            _ = plugin.Description;
            _ = plugin.ToString();
        }, ConfigError);
    }

    /// <summary>A directory of broken files loads what it can and reports the rest: it never throws.</summary>
    [Test]
    public void ConfigurationDirectoryLoadsWhatItCanAndNeverThrows()
    {
        string dir = Path.Combine(Path.GetTempPath(), TestEnvironment.UniqueName("fuzzconf"));
        Directory.CreateDirectory(dir);
        try
        {
            string[] names = ["10-a.conflist", "20-b.conf", "30-c.json"];
            FuzzRun.Run("CniConfigLoader.LoadAll", ConfigSeeds(), (input, mutator) =>
            {
                foreach (string name in names)
                    File.Delete(Path.Combine(dir, name));
                File.WriteAllBytes(Path.Combine(dir, mutator.Pick(names)), input);
                File.WriteAllBytes(Path.Combine(dir, mutator.Pick(names)), mutator.Next());
                CniConfigSet set = CniConfigLoader.LoadAll(dir);
                foreach (CniConfigFileError error in set.Errors)
                {
                    if (!Documented.IsGoodMessage(error.ToString()))
                        throw new InvalidDataException("a configuration error without a message");
                }
            }, _ => false, iterations: FuzzRun.Iterations(400));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Parsing a cache entry answers true or false, whatever the file holds.</summary>
    [Test]
    public void CacheEntriesParseOrAreSkipped()
    {
        FuzzRun.Run("CniResultCache.TryParseEntry", Corpus.Files("cache"), (input, unused) =>
        {
            if (CniResultCache.TryParseEntry(input, "/var/lib/cni/results/fuzz", out CniCachedAttachment? entry))
                _ = entry.Result?.ToJsonString();
        }, _ => false);
    }

    /// <summary>A cached result reads, converted to any version, or fails with a CNI error.</summary>
    [Test]
    public void CachedResultsReadOrFailWithACniError()
    {
        string dir = Path.Combine(Path.GetTempPath(), TestEnvironment.UniqueName("fuzzcache"));
        var cache = new CniResultCache(dir);
        Directory.CreateDirectory(cache.ResultsDirectory);
        string path = cache.GetPath("net", "abc123", "eth0");
        string?[] versions = [null, .. CniVersions.All];
        try
        {
            FuzzRun.Run("CniResultCache.ReadResult", [.. Corpus.Files("cache"), .. Corpus.Files("results")], (input, mutator) =>
            {
                File.WriteAllBytes(path, input);
                _ = cache.ReadResult("net", "abc123", "eth0", mutator.Pick(versions));
                _ = cache.Read("net", "abc123", "eth0");
                _ = cache.ListAttachments(mutator.Next(2) == 0 ? null : "abc123");
            }, ConfigError, iterations: FuzzRun.Iterations(1000));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void VersionNegotiationNeverCrashes()
    {
        byte[][] seeds = [.. CniVersions.All.Select(Encoding.UTF8.GetBytes), "1.0"u8.ToArray(), "v1.0.0"u8.ToArray(), "1.2.3.4"u8.ToArray()];
        FuzzRun.Run("CniVersionNegotiation.Negotiate", seeds, (input, mutator) =>
        {
            string declared = Encoding.UTF8.GetString(input);
            var list = new List<string>();
            for (int i = mutator.Next(4); i > 0; i--)
                list.Add(mutator.Next(2) == 0 ? mutator.Pick(CniVersions.All) : mutator.MutateText(mutator.Pick(CniVersions.All)));
            _ = CniVersionNegotiation.Negotiate(declared, list);
        }, ConfigError);
    }
}
