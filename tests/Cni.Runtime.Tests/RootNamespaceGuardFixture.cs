using Cni.TestSupport;

namespace Cni.Runtime.Tests;

/// <summary>
/// Around every test of this project: the machine's root network namespace must end as it began (the kernel and
/// interop tests work in private host namespaces). Fails the run when a link, rule or chain naming one of the tests' bridges, networks or
/// containers appeared there, or a forwarding sysctl changed (see <see cref="RootNamespaceGuard"/>).
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
