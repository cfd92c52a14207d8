using Cni.Netlink.Rtnl;
using Cni.Plugins.TestSupport;

namespace Cni.Netlink.Tests.Protocol;

/// <summary>
/// The requests of RtNetlink.Devices.cs compared byte for byte with what iproute2 sent for the same operation, and
/// tun/tap details and aliases parsed from the kernel's replies (Golden/devices/*.strace, re-captured by
/// Golden/devices/capture.sh). nlmsg_seq and nlmsg_pid are zeroed on both sides.
/// </summary>
public class DeviceGoldenTests
{
    private static string Capture(string name) => Path.Combine(AppContext.BaseDirectory, "Golden", "devices", name + ".strace");

    private static List<byte[]> Sent(string capture, ushort type) =>
        StraceCapture.Datagrams(Capture(capture)).SelectMany(StraceCapture.Messages)
            .Where(m => StraceCapture.TypeOf(m) == type && StraceCapture.SeqOf(m) != 0)
            .Select(StraceCapture.Normalise)
            .ToList();

    private static byte[] Ours(Action<RtNetlink> operation)
    {
        var transport = new FakeTransport();
        using (var netlink = new RtNetlink(transport))
            operation(netlink);
        Assert.That(transport.Sent, Has.Count.EqualTo(1), "one request per operation");
        return StraceCapture.Normalise(transport.Sent[0]);
    }

    private static void AssertSame(string capture, byte[] ours)
    {
        List<byte[]> theirs = Sent(capture, StraceCapture.TypeOf(ours));
        Assert.That(theirs, Is.Not.Empty, $"capture {capture} holds no message of type {StraceCapture.TypeOf(ours)}");
        Assert.That(theirs.Any(t => t.AsSpan().SequenceEqual(ours)), Is.True,
            $"ours:\n{Convert.ToHexString(ours)}\niproute2 sent:\n{string.Join("\n", theirs.Select(Convert.ToHexString))}");
    }

    [Test]
    public void AddDummyMatchesIpLinkAddTypeDummy() => AssertSame("link-add-dummy", Ours(n => n.AddDummy("dummy0")));

    [Test]
    public void AddVrfMatchesIpLinkAddTypeVrfTable() => AssertSame("link-add-vrf", Ours(n => n.AddVrf("vrf0", 10)));

    [Test]
    public void SetAliasMatchesIpLinkSetAlias()
    {
        // The index of vethg0 in the capture run, read from iproute2's own request (ifinfomsg.ifi_index).
        byte[] theirs = Sent("link-set-alias", StraceNetlink.RtmNewLink).Single();
        int index = BitConverter.ToInt32(theirs, 16 + 4);
        AssertSame("link-set-alias", Ours(n => n.SetAlias(index, "uplink to rack 7")));
    }

    private static byte[] Reply(string capture) =>
        StraceCapture.Datagrams(Capture(capture)).SelectMany(StraceCapture.Messages).First(m => StraceCapture.TypeOf(m) == StraceNetlink.RtmNewLink);

    [Test]
    public void TunInfoOfATapWithOwnerGroupAndQueues()
    {
        TunInfo? info = DeviceRequests.ParseTunInfo(Reply("link-get-tap-owned"));
        Assert.That(info, Is.EqualTo(new TunInfo(IsTap: true, Owner: 1234, Group: 5678, MultiQueue: true, Persist: true, VnetHeader: false, PacketInfo: false)));
    }

    [Test]
    public void TunInfoOfAPlainTapHasNoOwnerOrGroup()
    {
        TunInfo? info = DeviceRequests.ParseTunInfo(Reply("link-get-tap-plain"));
        Assert.That(info, Is.EqualTo(new TunInfo(IsTap: true, Owner: null, Group: null, MultiQueue: false, Persist: true, VnetHeader: false, PacketInfo: false)));
    }

    [Test]
    public void AVethIsNoTunAndNoVrfAndCarriesItsAlias()
    {
        byte[] reply = Reply("link-get-veth-alias");
        Assert.That(DeviceRequests.ParseTunInfo(reply), Is.Null);
        Assert.That(DeviceRequests.ParseVrfTable(reply), Is.Null);
        Assert.That(Link.Parse(reply).Alias(), Is.EqualTo("uplink to rack 7"));
    }
}
