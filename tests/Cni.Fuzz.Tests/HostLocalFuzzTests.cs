using System.Text;
using Cni.Fuzz.Tests.Fuzzing;
using Cni.Plugins.Ipam.HostLocal;
using Cni.Plugins.Ipam.HostLocal.Addressing;
using Cni.Plugins.Ipam.HostLocal.Configuration;
using Cni.Plugins.Ipam.HostLocal.Store;
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

    [Test]
    public void IndexAndDeltaParseOrAreRefused()
    {
        // A small index (IPv4, IPv6, an unknown content) and a delta against it; the fuzzer's bytes are mostly given a
        // valid checksum again, so that they reach the parsers instead of stopping at the checksum.
        var snapshot = new StoreSnapshot();
        snapshot.Set(IpAddr.V4(0x0a000002), "c1\r\neth0"u8.ToArray(), 11);
        snapshot.Set(IpAddr.V4(0x0a000003), null, 12);
        snapshot.Set(IpAddr.V6(UInt128.Parse("42540766411282592856903984951653826561")), "c2\r\neth1"u8.ToArray(), 13);
        var stamp = new DirStamp(1, 2, 1700000000, 5, 1700000000, 6);
        byte[] index = StoreIndex.Serialize(snapshot, stamp);
        StoreSnapshot loaded = StoreIndex.Deserialize(index, out _)!;
        loaded.Set(IpAddr.V4(0x0a000009), "c3\r\neth0"u8.ToArray(), 14);
        loaded.Remove(IpAddr.V4(0x0a000002));
        byte[] delta = StoreIndex.SerializeDelta(loaded, stamp with { MtimeNanoseconds = 7 });

        int indexesParsed = 0, deltasApplied = 0;
        FuzzRun.Run("StoreIndex.Deserialize+ApplyDelta", [index, delta], (input, mutator) =>
        {
            byte[] data = (byte[])input.Clone();
            if (data.Length >= 8 && mutator.Next(8) != 0)
                StoreIndex.Reseal(data);
            if (data.AsSpan().StartsWith("HLDLT"u8))
            {
                StoreSnapshot target = StoreIndex.Deserialize(index, out _)!;
                if (StoreIndex.ApplyDelta(data, target) is not null)
                {
                    Consume(target);
                    deltasApplied++;
                }
            }
            else if (StoreIndex.Deserialize(data, out DirStamp recorded) is { } parsed)
            {
                Consume(parsed);
                indexesParsed++;
                StoreSnapshot again = StoreIndex.Deserialize(StoreIndex.Serialize(parsed, recorded), out _)
                    ?? throw new InvalidOperationException("an index that parsed did not survive a round trip");
                if (again.Count != parsed.Count)
                    throw new InvalidOperationException("the round trip changed the entry count");
            }
        }, _ => false, iterations: FuzzRun.Iterations(20000));
        Assert.Multiple(() =>
        {
            // Mutated inputs that still parse: the fuzzer got past the checksum and the format checks.
            Assert.That(indexesParsed, Is.GreaterThan(2));
            Assert.That(deltasApplied, Is.GreaterThan(2));
        });
        TestContext.Out.WriteLine($"indexes parsed: {indexesParsed}, deltas applied: {deltasApplied}");

        static void Consume(StoreSnapshot s)
        {
            int n = 0;
            foreach (KeyValuePair<IpAddr, StoreSnapshot.Slot> e in s.Slots)
            {
                _ = e.Value.Content.Length;
                n++;
            }
            if (n != s.Count)
                throw new InvalidOperationException($"enumerated {n} entries of {s.Count}");
            _ = s.Find("c1\r\neth0"u8);
        }
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
