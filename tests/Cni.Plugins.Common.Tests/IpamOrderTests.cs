using System.Text;
using Cni.Plugins.Common;
using Cni.Spec;
using Cni.TestSupport;

namespace Cni.Plugins.Common.Tests;

/// <summary>
/// <see cref="AddTransaction.MakeLinksWithIpamAsync"/> with script IPAM plugins that leave marks in a directory: a
/// <c>host-local</c> stand-in must run while the links are made, any other type only after them, and a failure on
/// either side must roll both back.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class IpamOrderTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("cni-ipam-order-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    /// <summary>An IPAM plugin named <paramref name="type"/>: ADD marks "started", waits for "go" when asked to, and
    /// answers one address (or fails when "fail" exists); DEL marks "released".</summary>
    private void WriteIpam(string type)
    {
        string path = Path.Combine(_dir, type);
        TestEnvironment.WriteExecutable(path, $$"""
            #!/bin/sh
            cat >/dev/null
            d='{{_dir}}'
            case "$CNI_COMMAND" in
            ADD)
              touch "$d/started"
              if [ -e "$d/wait-for-go" ]; then i=0; while [ ! -e "$d/go" ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done; fi
              if [ -e "$d/fail" ]; then echo '{"cniVersion":"1.0.0","code":11,"msg":"no address"}'; exit 1; fi
              echo '{"cniVersion":"1.0.0","ips":[{"address":"10.1.2.3/24"}]}' ;;
            DEL) touch "$d/released" ;;
            esac
            """);
    }

    private CniRequest Request(string type)
    {
        byte[] raw = Encoding.UTF8.GetBytes($$$"""{"cniVersion":"1.0.0","name":"n","type":"bridge","ipam":{"type":"{{{type}}}"}}""");
        return new CniRequest
        {
            Command = CniCommand.Add, Config = NetConf.Parse(raw), RawConfig = raw, NetNs = "/var/run/netns/x", IfName = "eth0",
            ContainerId = "c1", Path = [_dir], Environment = new InMemoryCniEnvironment([]),
        };
    }

    private bool Marked(string name) => File.Exists(Path.Combine(_dir, name));

    private void WaitForMark(string name)
    {
        for (int i = 0; i < 1000 && !Marked(name); i++)
            Thread.Sleep(10);
        Assert.That(Marked(name), Is.True, $"{name} never appeared");
    }

    [TestCase("host-local")]
    [TestCase("static")]
    public async Task An_ipam_plugin_that_never_uses_the_interface_runs_while_the_links_are_made(string type)
    {
        WriteIpam(type);
        File.WriteAllText(Path.Combine(_dir, "wait-for-go"), "");
        await using var tx = new AddTransaction();

        (string links, CniResult? ipam) = await tx.MakeLinksWithIpamAsync(Request(type), useIpam: true, () =>
        {
            WaitForMark("started"); // the IPAM plugin is already running while the links are made
            File.WriteAllText(Path.Combine(_dir, "go"), "");
            return "links";
        }, CancellationToken.None);

        Assert.That(links, Is.EqualTo("links"));
        Assert.That(ipam!.Ips.Single().Address.ToString(), Is.EqualTo("10.1.2.3/24"));
        tx.Commit();
    }

    [TestCase("dhcp")]
    [TestCase("whereabouts")]
    public async Task Any_other_ipam_plugin_runs_after_the_links_exist(string type)
    {
        WriteIpam(type);
        await using var tx = new AddTransaction();
        bool startedEarly = true;

        (_, CniResult? ipam) = await tx.MakeLinksWithIpamAsync(Request(type), useIpam: true, () =>
        {
            Thread.Sleep(100); // time enough for a plugin started too early to leave its mark
            startedEarly = Marked("started");
            return 0;
        }, CancellationToken.None);

        Assert.That(startedEarly, Is.False, "the IPAM plugin ran before the links were made");
        Assert.That(Marked("started"), Is.True);
        Assert.That(ipam, Is.Not.Null);
        tx.Commit();
    }

    [TestCase("host-local")]
    [TestCase("dhcp")]
    public async Task Failing_links_release_the_addresses(string type)
    {
        WriteIpam(type);
        var undone = new List<string>();
        async Task Add()
        {
            await using var tx = new AddTransaction();
            await tx.MakeLinksWithIpamAsync<int>(Request(type), useIpam: true, () =>
            {
                tx.OnRollback("links", () => undone.Add("links"));
                if (type == "host-local")
                    WaitForMark("started"); // fail while the IPAM plugin runs: its reservation must still be undone
                throw new CniException(CniErrorCode.Internal, "veth failed");
            }, CancellationToken.None);
        }

        var ex = Assert.ThrowsAsync<CniException>(Add);

        Assert.That(ex!.Message, Is.EqualTo("veth failed"));
        Assert.That(undone, Is.EqualTo(new[] { "links" }));
        // dhcp-like plugins never started, so there is nothing to release; host-local's reservation is released.
        Assert.That(Marked("released"), Is.EqualTo(type == "host-local"));
    }

    [TestCase("host-local")]
    [TestCase("dhcp")]
    public async Task A_failing_ipam_plugin_rolls_the_links_back(string type)
    {
        WriteIpam(type);
        File.WriteAllText(Path.Combine(_dir, "fail"), "");
        var undone = new List<string>();
        async Task Add()
        {
            await using var tx = new AddTransaction();
            await tx.MakeLinksWithIpamAsync(Request(type), useIpam: true, () =>
            {
                tx.OnRollback("links", () => undone.Add("links"));
                return 0;
            }, CancellationToken.None);
        }

        var ex = Assert.ThrowsAsync<CniException>(Add);

        Assert.That(ex!.Message, Does.Contain("no address"));
        Assert.That(undone, Is.EqualTo(new[] { "links" }));
    }

    [Test]
    public async Task Without_ipam_only_the_links_are_made()
    {
        await using var tx = new AddTransaction();
        (int links, CniResult? ipam) = await tx.MakeLinksWithIpamAsync(Request("host-local"), useIpam: false, () => 7, CancellationToken.None);
        Assert.That(links, Is.EqualTo(7));
        Assert.That(ipam, Is.Null);
        Assert.That(Marked("started"), Is.False);
        tx.Commit();
    }
}
