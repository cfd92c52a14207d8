using Cni.Netlink;
using Cni.Plugins.Common;
using Cni.TestSupport;

namespace Cni.Plugins.Common.Tests;

/// <summary>
/// <see cref="LinkRemoval"/> in a throwaway namespace: with a published plugin as the helper (how the plugins run it),
/// and the fallbacks to an in-process deletion. The policy is per test.
/// </summary>
[Category(Category.Kernel)]
[NonParallelizable]
public class LinkRemovalTests
{
    private string _ns = "";
    private NetNs? _handle;
    private RtNetlink? _netlink;
    private LinkRemovalPolicy _policy = LinkRemovalPolicy.InProcess;

    [SetUp]
    public void SetUp()
    {
        TestEnvironment.RequireRoot();
        _ns = TestEnvironment.UniqueName("lrm");
        _handle = NetNs.Create(_ns);
        _netlink = RtNetlink.Open(_handle);
    }

    [TearDown]
    public void TearDown()
    {
        _netlink?.Dispose();
        _handle?.Dispose();
        if (_ns.Length > 0 && NetNs.Exists(_ns))
            NetNs.Delete(_ns);
    }

    private (Link Veth, Link Peer) CreateVethPair()
    {
        _netlink!.AddVeth("lra0", "lrb0");
        return (_netlink.GetLink("lra0"), _netlink.GetLink("lrb0"));
    }

    [Test]
    public void The_helper_deletes_the_link_and_its_peer_and_returns_once_they_are_gone()
    {
        _policy = new LinkRemovalPolicy(TestEnvironment.RequirePublishedPlugin("bridge"));
        (Link veth, Link peer) = CreateVethPair();

        bool detached = _policy.Delete(_netlink!, _handle, veth);

        Assert.Multiple(() =>
        {
            Assert.That(detached, Is.True, "the helper should have taken over");
            Assert.That(_netlink!.FindLink(veth.Index), Is.Null);
            Assert.That(_netlink!.FindLink(peer.Index), Is.Null, "deleting one end of a veth deletes both");
        });
    }

    [Test]
    public void A_link_that_is_already_gone_is_success()
    {
        _policy = new LinkRemovalPolicy(TestEnvironment.RequirePublishedPlugin("bridge"));
        (Link veth, _) = CreateVethPair();
        _netlink!.DeleteLink(veth.Index);

        Assert.That(() => _policy.Delete(_netlink!, _handle, veth), Throws.Nothing);
    }

    [Test]
    public void A_deletion_the_kernel_refuses_is_reported_with_its_errno()
    {
        // The loopback device has no rtnl_link_ops: RTM_DELLINK answers EOPNOTSUPP.
        _policy = new LinkRemovalPolicy(TestEnvironment.RequirePublishedPlugin("bridge"));
        Link lo = _netlink!.GetLink("lo");

        var ex = Assert.Throws<NetlinkException>(() => _policy.Delete(_netlink!, _handle, lo));

        Assert.Multiple(() =>
        {
            Assert.That(ex!.Errno, Is.EqualTo(NetlinkException.EOPNOTSUPP), ex.Message);
            Assert.That(ex.Message, Does.Contain("lo"));
            Assert.That(_netlink!.FindLink("lo"), Is.Not.Null);
        });
    }

    [Test]
    public void Without_a_helper_the_link_is_deleted_in_process()
    {
        _policy = LinkRemovalPolicy.InProcess; // as in a runtime hosting the plugin in-process
        (Link veth, Link peer) = CreateVethPair();

        bool detached = _policy.Delete(_netlink!, _handle, veth);

        Assert.Multiple(() =>
        {
            Assert.That(detached, Is.False);
            Assert.That(_netlink!.FindLink(veth.Index), Is.Null);
            Assert.That(_netlink!.FindLink(peer.Index), Is.Null);
        });
    }

    [TestCase("/nonexistent/helper", TestName = "A helper that cannot start falls back to deleting in-process")]
    [TestCase("/bin/true", TestName = "A helper that exits 0 without deleting falls back to deleting in-process")]
    public void Helper_failures_fall_back_to_an_in_process_deletion(string helper)
    {
        _policy = new LinkRemovalPolicy(helper);
        (Link veth, _) = CreateVethPair();

        bool detached = _policy.Delete(_netlink!, _handle, veth);

        Assert.Multiple(() =>
        {
            Assert.That(detached, Is.False);
            Assert.That(_netlink!.FindLink(veth.Index), Is.Null);
        });
    }

    [TestCase("exit 1", TestName = "A helper that fails without the error protocol falls back to deleting in-process")]
    [TestCase("echo '0 not a kernel error' >&2; exit 1", TestName = "A helper reporting errno 0 falls back to deleting in-process")]
    [TestCase("kill -9 $$", TestName = "A helper that is killed falls back to deleting in-process")]
    [TestCase("exit 139", TestName = "A helper that crashes falls back to deleting in-process")]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void Helpers_that_end_without_the_error_protocol_fall_back(string script)
    {
        string dir = Directory.CreateTempSubdirectory("cni-helper-").FullName;
        try
        {
            string helper = Path.Combine(dir, "helper");
            TestEnvironment.WriteExecutable(helper, "#!/bin/sh\n" + script + "\n");
            _policy = new LinkRemovalPolicy(helper);
            (Link veth, _) = CreateVethPair();

            bool detached = true;
            Assert.That(() => detached = _policy.Delete(_netlink!, _handle, veth), Throws.Nothing, "the DEL must not fail");
            Assert.Multiple(() =>
            {
                Assert.That(detached, Is.False);
                Assert.That(_netlink!.FindLink(veth.Index), Is.Null);
            });
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void A_link_in_the_calling_threads_namespace_is_deleted_when_no_namespace_is_given()
    {
        // The host-side path of bridge DEL: ns null means the calling thread's namespace, so run it on a thread inside ours.
        _policy = new LinkRemovalPolicy(TestEnvironment.RequirePublishedPlugin("bridge"));
        (Link veth, _) = CreateVethPair();

        bool detached = _handle!.Run(() =>
        {
            using RtNetlink here = RtNetlink.Open();
            return _policy.Delete(here, null, veth);
        });

        Assert.Multiple(() =>
        {
            Assert.That(detached, Is.True);
            Assert.That(_netlink!.FindLink(veth.Index), Is.Null);
        });
    }
}

/// <summary><see cref="LinkRemoval.TryRunHelper"/> as a plugin's Main calls it (no kernel needed).</summary>
[NonParallelizable]
public class LinkRemovalHelperSwitchTests
{
    [TestCase(null, true)]
    [TestCase("0", true)]
    [TestCase("1", false)]
    public void A_plugin_executable_uses_the_helper_unless_the_runtime_turned_it_off(string? setting, bool enabled)
    {
        Dictionary<string, string> environment = setting is null ? [] : new() { [LinkRemoval.DisableVariable] = setting };

        LinkRemovalPolicy policy = LinkRemovalPolicy.ForThisExecutable(environment);

        Assert.That(policy.HelperExecutable, enabled ? Is.EqualTo("/proc/self/exe") : Is.Null);
    }

    [Test]
    public void Without_the_helper_argument_Main_goes_on_as_the_plugin()
    {
        bool ranAsHelper = LinkRemoval.TryRunHelper([], out int code);
        Assert.That((ranAsHelper, code), Is.EqualTo((false, 0)));
        Assert.That(LinkRemovalPolicy.InProcess.HelperExecutable, Is.Null);
    }

    [TestCase("x")]
    [TestCase("0")]
    [TestCase("-3")]
    public void The_helper_refuses_a_bad_index(string index)
    {
        bool ranAsHelper = LinkRemoval.TryRunHelper([LinkRemoval.HelperArgument, index], out int code);
        Assert.That((ranAsHelper, code), Is.EqualTo((true, 1)));
    }
}
