using Cni.Plugins.Ipam.HostLocal.Store;

namespace Cni.Plugins.Ipam.HostLocal.Tests;

/// <summary>
/// The store's options come through the plugin's constructor: two plugins in one process, each with its own, do not
/// share a switch (they were process-wide statics that tests flipped).
/// </summary>
public class StoreOptionsTests
{
    private TempDir _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDir();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private string IndexPath => Path.Combine(_dir.Path, StoreIndex.CacheDirectoryName, "testnet");

    [Test]
    public async Task TwoPluginsInOneProcessKeepTheirOwnIndexThreshold()
    {
        Harness indexed = Harness.InProcessWith(new HostLocalStoreOptions { IndexMinEntries = 1 });
        Harness plain = Harness.InProcess;

        PluginRun first = await plain.RunAsync("ADD", Configs.Dual(_dir.Path, "1.0.0"), containerId: "a");
        Assert.That(first.ExitCode, Is.Zero, first.ToString());
        Assert.That(File.Exists(IndexPath), Is.False, "the default threshold (1024) is far above two reservations");

        PluginRun second = await indexed.RunAsync("ADD", Configs.Dual(_dir.Path, "1.0.0"), containerId: "b");
        Assert.That(second.ExitCode, Is.Zero, second.ToString());
        Assert.That(File.Exists(IndexPath), Is.True, "a plugin built with IndexMinEntries = 1 keeps the index");

        PluginRun third = await plain.RunAsync("ADD", Configs.Dual(_dir.Path, "1.0.0"), containerId: "c");
        Assert.That(third.ExitCode, Is.Zero, third.ToString());
        Assert.That(File.Exists(IndexPath), Is.False, "the default plugin removes an index below half its threshold");

        // DEL and GC of the indexed plugin release through the one release path, index or not.
        PluginRun del = await indexed.RunAsync("DEL", Configs.Dual(_dir.Path, "1.0.0"), containerId: "a");
        Assert.That(del.ExitCode, Is.Zero, del.ToString());
        Assert.That(_dir.Files().Keys.Where(k => k.Contains("10.10.0.")).Order(), Is.EqualTo(new[] { "testnet/10.10.0.3", "testnet/10.10.0.4" }));
    }

    [TestCase(0)]
    [TestCase(-5)]
    public void AnIndexThresholdBelowOneIsRefused(int entries) =>
        Assert.That(() => new HostLocalStoreOptions { IndexMinEntries = entries }, Throws.TypeOf<ArgumentOutOfRangeException>());

    [Test]
    public void ThePluginNeedsItsOptions() =>
        Assert.That(() => new HostLocalPlugin(null!), Throws.ArgumentNullException);
}
