using Cni.Plugins.Ipam.HostLocal.Addressing;

namespace Cni.Plugins.Ipam.HostLocal.Tests;

public class IpAddrTests
{
    [TestCase("10.0.0.1", "10.0.0.1")]
    [TestCase("0.0.0.0", "0.0.0.0")]
    [TestCase("255.255.255.255", "255.255.255.255")]
    [TestCase("::ffff:10.1.2.3", "10.1.2.3")]
    [TestCase("fd00::1", "fd00::1")]
    [TestCase("FD00:0:0:0:0:0:0:1", "fd00::1")]
    [TestCase("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1")]
    [TestCase("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1")]
    [TestCase("2001:0:0:1:0:0:0:1", "2001:0:0:1::1")]
    [TestCase("::", "::")]
    [TestCase("::1", "::1")]
    [TestCase("1::", "1::")]
    [TestCase("::1.2.3.4", "::102:304")]
    public void ParsesAndFormatsAsGoDoes(string text, string expected)
    {
        Assert.That(IpAddr.TryParse(text, out IpAddr address), Is.True);
        Assert.That(address.ToString(), Is.EqualTo(expected));
    }

    [TestCase("")]
    [TestCase("010.0.0.1")]
    [TestCase("1.2.3")]
    [TestCase("1.2.3.4.5")]
    [TestCase("256.0.0.1")]
    [TestCase("1.2.3.4 ")]
    [TestCase("fe80::1%eth0")]
    [TestCase("[::1]")]
    [TestCase("0x0a.0.0.1")]
    [TestCase("10.0.0.1/24")]
    [TestCase("../etc")]
    [TestCase("::ffff:010.1.2.3")]
    public void RejectsWhatGoRejects(string text) =>
        Assert.That(IpAddr.TryParse(text, out _), Is.False);

    [Test]
    public void NextCarriesAcrossOctetsAndGroups()
    {
        IpAddr.TryParse("10.0.0.255", out IpAddr v4);
        IpAddr.TryParse("fd00::ffff", out IpAddr v6);
        Assert.Multiple(() =>
        {
            Assert.That(v4.Next().ToString(), Is.EqualTo("10.0.1.0"));
            Assert.That(v6.Next().ToString(), Is.EqualTo("fd00::1:0"));
        });
    }

    [Test]
    public void RoundTripsThroughIPAddress()
    {
        IpAddr.TryParse("fd00::abcd", out IpAddr v6);
        IpAddr.TryParse("192.168.1.7", out IpAddr v4);
        Assert.Multiple(() =>
        {
            Assert.That(IpAddr.FromIPAddress(v6.ToIPAddress()), Is.EqualTo(v6));
            Assert.That(IpAddr.FromIPAddress(v4.ToIPAddress()), Is.EqualTo(v4));
            Assert.That(v4.ToIPAddress().ToString(), Is.EqualTo("192.168.1.7"));
        });
    }
}
