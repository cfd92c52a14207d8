using System.Net;
using System.Net.Sockets;

namespace Cni.Spec.Tests;

public class IPPrefixTests
{
    [TestCase("10.1.2.3/24", "10.1.2.3/24", "10.1.2.0/24")]
    [TestCase("0.0.0.0/0", "0.0.0.0/0", "0.0.0.0/0")]
    [TestCase("2001:DB8::1/64", "2001:db8::1/64", "2001:db8::/64")]
    [TestCase("3ffe:ffff:0:01ff::1/64", "3ffe:ffff:0:1ff::1/64", "3ffe:ffff:0:1ff::/64")]
    [TestCase("192.168.1.77/32", "192.168.1.77/32", "192.168.1.77/32")]
    [TestCase("10.255.255.255/9", "10.255.255.255/9", "10.128.0.0/9")]
    public void Parse_keeps_host_bits_and_Network_clears_them(string text, string canonical, string network)
    {
        IPPrefix prefix = IPPrefix.Parse(text);

        Assert.That(prefix.ToString(), Is.EqualTo(canonical));
        Assert.That(prefix.Network.ToString(), Is.EqualTo(network));
    }

    [TestCase("10.1.2.3")]
    [TestCase("10.1.2.3/33")]
    [TestCase("10.1.2.3/-1")]
    [TestCase("10.1.2.3/024")]
    [TestCase("10.1.2/24")]
    [TestCase("010.1.2.3/24")]
    [TestCase("0x0a.1.2.3/24")]
    [TestCase("10.1.2.256/24")]
    [TestCase("fe80::1%eth0/64")]
    [TestCase("2001:db8::1/129")]
    [TestCase("/24")]
    [TestCase("10.1.2.3/")]
    [TestCase("10.1.2.3/ 24")]
    [TestCase("")]
    public void Parse_is_as_strict_as_go(string text) => Assert.That(IPPrefix.TryParse(text, out _), Is.False);

    [Test]
    public void Contains_checks_family_and_prefix()
    {
        IPPrefix prefix = IPPrefix.Parse("10.1.2.3/24");

        Assert.That(prefix.Contains(IPAddress.Parse("10.1.2.254")), Is.True);
        Assert.That(prefix.Contains(IPAddress.Parse("10.1.3.1")), Is.False);
        Assert.That(prefix.Contains(IPAddress.Parse("::ffff:10.1.2.9")), Is.True);
        Assert.That(IPPrefix.Parse("2001:db8::/32").Contains(IPAddress.Parse("10.1.2.3")), Is.False);
        Assert.That(prefix.Family, Is.EqualTo(AddressFamily.InterNetwork));
        Assert.That(prefix.ToIPNetwork(), Is.EqualTo(IPNetwork.Parse("10.1.2.0/24")));
    }

    [Test]
    public void Mapped_ipv4_folds_to_ipv4_like_go()
    {
        Assert.That(IPPrefix.Parse("::ffff:10.1.2.3/120").ToString(), Is.EqualTo("10.1.2.3/24"));
        Assert.That(IPText.ParseAddressOrNull("::ffff:10.1.2.3")!.ToString(), Is.EqualTo("10.1.2.3"));
    }
}
