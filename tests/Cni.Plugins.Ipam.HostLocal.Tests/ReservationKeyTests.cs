using System.Text;
using Cni.Plugins.Ipam.HostLocal.Store;

namespace Cni.Plugins.Ipam.HostLocal.Tests;

public class ReservationKeyTests
{
    [Test]
    public void KeyIsIdCrLfIfname() =>
        Assert.That(ReservationKey.For("abc", "eth0"), Is.EqualTo("abc\r\neth0"u8.ToArray()));

    [TestCase(" \t abc\r\neth0\n\n", "abc\r\neth0")]
    [TestCase("\u00a0id\u3000", "id")]
    [TestCase("\r\n", "")]
    [TestCase("a b", "a b")]
    public void TrimsWhiteSpaceAsGoDoes(string content, string expected) =>
        Assert.That(Encoding.UTF8.GetString(ReservationKey.TrimSpace(Encoding.UTF8.GetBytes(content))), Is.EqualTo(expected));

    [Test]
    public void StopsAtInvalidUtf8() =>
        Assert.That(ReservationKey.TrimSpace([0xff, (byte)' ', (byte)'a']).ToArray(), Is.EqualTo(new byte[] { 0xff, (byte)' ', (byte)'a' }));
}
