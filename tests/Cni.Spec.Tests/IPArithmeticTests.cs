using System.Net;
using System.Net.Sockets;

namespace Cni.Spec.Tests;

/// <summary>The one home of address arithmetic the plugins share.</summary>
public class IPArithmeticTests
{
    [TestCase("10.1.2.3", "10.1.2.4")]
    [TestCase("10.1.2.255", "10.1.3.0")]
    [TestCase("255.255.255.255", "0.0.0.0")]
    [TestCase("fd00::", "fd00::1")]
    [TestCase("fd00::ffff", "fd00::1:0")]
    [TestCase("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::")]
    public void Next_carries_and_wraps_within_the_family(string address, string expected) =>
        Assert.That(IPArithmetic.Next(IPAddress.Parse(address)).ToString(), Is.EqualTo(expected));

    [TestCase("10.1.2.3", 24, "10.1.2.0", "10.1.2.255")]
    [TestCase("10.1.2.3", 32, "10.1.2.3", "10.1.2.3")]
    [TestCase("10.1.2.3", 0, "0.0.0.0", "255.255.255.255")]
    [TestCase("10.1.2.130", 25, "10.1.2.128", "10.1.2.255")]
    [TestCase("fd00:1:2:3::42", 64, "fd00:1:2:3::", "fd00:1:2:3:ffff:ffff:ffff:ffff")]
    [TestCase("fd00::42", 127, "fd00::42", "fd00::43")]
    [TestCase("fd00::42", 128, "fd00::42", "fd00::42")]
    public void Network_and_last_address_of_a_prefix(string address, int prefixLength, string network, string last)
    {
        IPAddress ip = IPAddress.Parse(address);
        Assert.Multiple(() =>
        {
            Assert.That(IPArithmetic.Network(ip, prefixLength).ToString(), Is.EqualTo(network));
            Assert.That(IPArithmetic.LastAddress(ip, prefixLength).ToString(), Is.EqualTo(last));
        });
    }

    [Test]
    public void Numbers_are_big_endian_and_round_trip()
    {
        Assert.Multiple(() =>
        {
            Assert.That(IPArithmetic.ToNumber(IPAddress.Parse("10.0.0.1")), Is.EqualTo((UInt128)0x0A000001));
            Assert.That(IPArithmetic.ToNumber(IPAddress.Parse("::1")), Is.EqualTo(UInt128.One));
            Assert.That(IPArithmetic.FromNumber(0x0A000001, AddressFamily.InterNetwork).ToString(), Is.EqualTo("10.0.0.1"));
            Assert.That(IPArithmetic.FromNumber(new UInt128(0xfd00_0000_0000_0000, 5), AddressFamily.InterNetworkV6).ToString(), Is.EqualTo("fd00::5"));
            Assert.That(IPArithmetic.Add(IPAddress.Parse("10.0.0.250"), 10).ToString(), Is.EqualTo("10.0.1.4"));
            Assert.That(IPArithmetic.MaskOf(24, 32), Is.EqualTo((UInt128)0xFFFFFF00));
            Assert.That(IPArithmetic.MaskOf(0, 128), Is.EqualTo(UInt128.Zero));
        });
    }

    [Test]
    public void Lengths_out_of_range_are_refused()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => IPArithmetic.Network(IPAddress.Parse("10.0.0.1"), 33), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(() => IPArithmetic.LastAddress(IPAddress.Parse("fd00::1"), -1), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(() => IPArithmetic.MaskOf(8, 64), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(() => IPArithmetic.FromNumber(1, AddressFamily.Unix), Throws.TypeOf<ArgumentOutOfRangeException>());
        });
    }
}
