using Cni.TestSupport;

namespace Cni.Plugins.Sbr.Tests;

/// <summary>
/// Around every test of this project: the machine's root network namespace must end as it began (tests that change
/// the kernel work in private host namespaces). Fails the run when a link, rule or chain naming something a test
/// created (<see cref="TestEnvironment.UniqueName"/>) appeared there, or a forwarding sysctl changed (see
/// <see cref="RootNamespaceGuard"/>).
/// </summary>
[SetUpFixture]
public sealed class RootNamespaceGuardFixture
{
    private RootNamespaceGuard.Snapshot? _before;

    [OneTimeSetUp]
    public void TakeSnapshot() => _before = RootNamespaceGuard.Take();

    [OneTimeTearDown]
    public void CompareSnapshot() => RootNamespaceGuard.AssertUnchanged(_before);
}
