using System.Net;
using System.Net.Sockets;
using Cni.TestSupport;

namespace Cni.Netlink.Tests.Kernel;

/// <summary>Routing policy rules added, listed and deleted in a throwaway namespace.</summary>
[Category(Category.Kernel)]
public class RuleKernelTests
{
    [SetUp]
    public void RequireRoot() => TestEnvironment.RequireRoot();

    private static IPAddress Ip(string s) => IPAddress.Parse(s);

    [Test]
    public void RulesInBothFamilies()
    {
        using var scratch = new Scratch();
        var (_, nl) = scratch.NewNamespace();
        int before = nl.ListRules().Count;

        nl.AddRule(new Rule { Source = Ip("10.0.0.2"), Table = 100 });
        nl.AddRule(new Rule { Source = Ip("10.0.0.3"), Table = 1000, Priority = 500 });
        nl.AddRule(new Rule { Source = Ip("fd00::2"), Table = 100 });

        IReadOnlyList<Rule> v4 = nl.ListRules(AddressFamily.InterNetwork);
        Rule first = v4.Single(r => Ip("10.0.0.2").Equals(r.Source));
        Assert.Multiple(() =>
        {
            Assert.That(first.Table, Is.EqualTo(100u));
            Assert.That(first.SourcePrefixLength, Is.EqualTo(32));
            Assert.That(first.Priority, Is.EqualTo(32765u), "the kernel numbers a rule without priority just above main's 32766");
            Assert.That(v4.Single(r => Ip("10.0.0.3").Equals(r.Source)).Table, Is.EqualTo(1000u), "table over 255 through FRA_TABLE");
            Assert.That(v4.Single(r => Ip("10.0.0.3").Equals(r.Source)).Priority, Is.EqualTo(500u));
        });
        Rule v6 = nl.ListRules(AddressFamily.InterNetworkV6).Single(r => Ip("fd00::2").Equals(r.Source));
        Assert.That(v6.SourcePrefixLength, Is.EqualTo(128));
        Assert.That(nl.ListRules(), Has.Count.EqualTo(before + 3));

        var dup = Assert.Throws<NetlinkException>(() => nl.AddRule(new Rule { Source = Ip("10.0.0.3"), Table = 1000, Priority = 500 }))!;
        Assert.That(dup.IsExists, Is.True, dup.Message);

        // A dumped rule deletes exactly itself.
        nl.DeleteRule(first);
        nl.DeleteRule(new Rule { Source = Ip("10.0.0.3"), Table = 1000 });
        nl.DeleteRule(v6);
        Assert.That(nl.ListRules(), Has.Count.EqualTo(before));
        var gone = Assert.Throws<NetlinkException>(() => nl.DeleteRule(first))!;
        Assert.That(gone.IsNotFound, Is.True, gone.Message);
    }
}
