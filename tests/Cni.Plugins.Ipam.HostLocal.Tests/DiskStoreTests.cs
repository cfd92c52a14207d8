using System.Runtime.InteropServices;
using System.Text;
using Cni.Plugins.Ipam.HostLocal.Addressing;
using Cni.Plugins.Ipam.HostLocal.Store;
using Cni.Spec;

namespace Cni.Plugins.Ipam.HostLocal.Tests;

public partial class DiskStoreTests
{
    private TempDir _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDir();
        _options = HostLocalStoreOptions.Default;
    }

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private string NetDir => Path.Combine(_dir.Path, "net");

    /// <summary>The store options of this test (each test has its own instance of this fixture's state).</summary>
    private HostLocalStoreOptions _options = HostLocalStoreOptions.Default;

    private DiskStore OpenLocked()
    {
        DiskStore store = DiskStore.Open(_dir.Path, "net", create: true, _options)!;
        store.Lock();
        return store;
    }

    private static IpAddr Ip(string text) => FakeView.Ip(text);

    /// <summary>Lowers the index threshold for the stores this test opens (the index tests use a handful of files).</summary>
    private void IndexFrom(int entries) => _options = new HostLocalStoreOptions { IndexMinEntries = entries, Clock = _options.Clock };

    /// <summary>A wall clock that reads what the test sets.</summary>
    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private string IndexPath => Path.Combine(_dir.Path, StoreIndex.CacheDirectoryName, "net");

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(int fd, int operation);

    [Test]
    public void ReservationHoldsIdCrLfIfnameAndNothingElseIsLeftBehind()
    {
        using (DiskStore store = OpenLocked())
        {
            Assert.That(store.TryReserve(Ip("10.0.0.5"), ReservationKey.For("ctr", "eth0")), Is.True);
            Assert.That(store.TryReserve(Ip("fd00::5"), ReservationKey.For("ctr", "eth0")), Is.True);
            store.WriteLastReserved(0, Ip("10.0.0.5"));
            store.WriteLastReserved(1, Ip("fd00::5"));
        }
        Assert.That(Directory.GetFileSystemEntries(NetDir).Select(Path.GetFileName).Order(StringComparer.Ordinal),
            Is.EqualTo(new[] { "10.0.0.5", "fd00::5", "last_reserved_ip.0", "last_reserved_ip.1", "lock" }));
        Assert.Multiple(() =>
        {
            Assert.That(File.ReadAllBytes(Path.Combine(NetDir, "10.0.0.5")), Is.EqualTo("ctr\r\neth0"u8.ToArray()));
            Assert.That(File.ReadAllBytes(Path.Combine(NetDir, "fd00::5")), Is.EqualTo("ctr\r\neth0"u8.ToArray()));
            Assert.That(File.ReadAllBytes(Path.Combine(NetDir, "last_reserved_ip.0")), Is.EqualTo("10.0.0.5"u8.ToArray()));
            Assert.That(File.ReadAllBytes(Path.Combine(NetDir, "last_reserved_ip.1")), Is.EqualTo("fd00::5"u8.ToArray()));
            Assert.That(File.GetUnixFileMode(Path.Combine(NetDir, "lock")),
                Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute));
            Assert.That(File.GetUnixFileMode(NetDir) & UnixFileMode.OtherWrite, Is.EqualTo(UnixFileMode.None));
        });
    }

    [Test]
    public void WithoutOTmpFileANamedTemporaryIsLinkedAndRemoved()
    {
        _options = new HostLocalStoreOptions { UseUnnamedTempFiles = false };
        Directory.CreateDirectory(NetDir);
        File.WriteAllText(Path.Combine(NetDir, "10.0.0.6"), "someone\r\neth0");
        using DiskStore store = OpenLocked();
        Assert.Multiple(() =>
        {
            Assert.That(store.TryReserve(Ip("10.0.0.5"), ReservationKey.For("ctr", "eth0")), Is.True);
            Assert.That(store.TryReserve(Ip("10.0.0.6"), ReservationKey.For("ctr", "eth0")), Is.False);
            Assert.That(File.ReadAllBytes(Path.Combine(NetDir, "10.0.0.5")), Is.EqualTo("ctr\r\neth0"u8.ToArray()));
            Assert.That(File.ReadAllText(Path.Combine(NetDir, "10.0.0.6")), Is.EqualTo("someone\r\neth0"));
            Assert.That(Directory.GetFiles(NetDir).Select(Path.GetFileName).Order(StringComparer.Ordinal),
                Is.EqualTo(new[] { "10.0.0.5", "10.0.0.6", "lock" }), "the temporary file is gone");
        });
    }

    [Test]
    public void APreparedReservationIsWrittenBeforeTheLockAndNamedOnceUnderIt()
    {
        Directory.CreateDirectory(NetDir);
        File.WriteAllText(Path.Combine(NetDir, "10.0.0.6"), "someone\r\neth0");
        using DiskStore store = DiskStore.Open(_dir.Path, "net", create: true, _options)!;
        using PreparedReservation prepared = store.Prepare(ReservationKey.For("ctr", "eth0"))
            ?? throw new InconclusiveException("this file system makes no unnamed (O_TMPFILE) files");
        Assert.That(Directory.GetFiles(NetDir).Select(Path.GetFileName), Is.EquivalentTo(new[] { "10.0.0.6" }), "nothing is visible before it is named");
        Assert.Throws<InvalidOperationException>(() => store.TryReserve(Ip("10.0.0.5"), prepared, out _), "naming needs the lock");

        store.Lock();
        Assert.Multiple(() =>
        {
            Assert.That(store.TryReserve(Ip("10.0.0.6"), prepared, out ulong taken), Is.False, "a taken name");
            Assert.That(taken, Is.Zero);
            Assert.That(File.ReadAllText(Path.Combine(NetDir, "10.0.0.6")), Is.EqualTo("someone\r\neth0"), "never overwritten");
            Assert.That(store.TryReserve(Ip("10.0.0.5"), prepared, out ulong inode), Is.True, "the same file, at the next address");
            Assert.That(inode, Is.EqualTo(prepared.Inode).And.Not.Zero);
            Assert.That(File.ReadAllBytes(Path.Combine(NetDir, "10.0.0.5")), Is.EqualTo("ctr\r\neth0"u8.ToArray()));
            Assert.That(File.GetUnixFileMode(Path.Combine(NetDir, "10.0.0.5")),
                Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead));
            Assert.Throws<InvalidOperationException>(() => store.TryReserve(Ip("10.0.0.7"), prepared, out _), "named once");
        });
    }

    [Test]
    public void APreparedReservationNeverNamedLeavesNothing()
    {
        using (DiskStore store = DiskStore.Open(_dir.Path, "net", create: true, _options)!)
        {
            using PreparedReservation? prepared = store.Prepare(ReservationKey.For("ctr", "eth0"));
            store.Lock();
        }
        Assert.That(Directory.GetFileSystemEntries(NetDir).Select(Path.GetFileName), Is.EquivalentTo(new[] { "lock" }));
    }

    [Test]
    public void WithoutOTmpFileNothingIsPrepared()
    {
        _options = new HostLocalStoreOptions { UseUnnamedTempFiles = false };
        using DiskStore store = DiskStore.Open(_dir.Path, "net", create: true, _options)!;
        Assert.That(store.Prepare(ReservationKey.For("ctr", "eth0")), Is.Null);
    }

    [Test]
    public void AnExistingNameIsNeverOverwritten()
    {
        Directory.CreateDirectory(NetDir);
        File.WriteAllText(Path.Combine(NetDir, "10.0.0.5"), "someone\r\neth0");
        using DiskStore store = OpenLocked();
        Assert.That(store.TryReserve(Ip("10.0.0.5"), ReservationKey.For("me", "eth0")), Is.False);
        Assert.Multiple(() =>
        {
            Assert.That(File.ReadAllText(Path.Combine(NetDir, "10.0.0.5")), Is.EqualTo("someone\r\neth0"));
            Assert.That(Directory.GetFiles(NetDir).Select(Path.GetFileName), Is.EquivalentTo(new[] { "10.0.0.5", "lock" }), "no temporary file is left");
        });
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [Test]
    public void LockIsAnFlockOnTheLockFile()
    {
        string lockPath = Path.Combine(NetDir, "lock");
        using (OpenLocked())
        {
            int fd = Open(lockPath, 0);
            try
            {
                Assert.That(Flock(fd, 2 | 4), Is.EqualTo(-1), "LOCK_EX|LOCK_NB must fail while the store holds the lock");
            }
            finally
            {
                Close(fd);
            }
        }
        int after = Open(lockPath, 0);
        try
        {
            Assert.That(Flock(after, 2 | 4), Is.Zero, "the lock is released on dispose");
        }
        finally
        {
            Close(after);
        }
    }

    [TestCase("../escape")]
    [TestCase("..")]
    [TestCase("a/b")]
    [TestCase("/abs")]
    [TestCase("")]
    public void RefusesNetworkNamesThatLeaveTheDataDirectory(string network)
    {
        Assert.That(() => DiskStore.Open(_dir.Path, network, create: true), Throws.TypeOf<CniException>());
        Assert.That(Directory.GetFileSystemEntries(_dir.Path), Is.Empty);
        Assert.That(Directory.Exists(Path.Combine(_dir.Path, "..", "escape")), Is.False);
    }

    [Test]
    public void MissingNetworkDirectoryIsNotCreatedWithoutCreate()
    {
        Assert.That(DiskStore.Open(_dir.Path, "net", create: false), Is.Null);
        Assert.That(Directory.Exists(NetDir), Is.False);
    }

    [Test]
    public void ScanReadsCanonicalAddressNamesOnly()
    {
        Directory.CreateDirectory(NetDir);
        File.WriteAllText(Path.Combine(NetDir, "10.0.0.2"), "a\r\neth0\n");
        File.WriteAllText(Path.Combine(NetDir, "010.0.0.3"), "b\r\neth0");
        File.WriteAllText(Path.Combine(NetDir, "fd00:0::4"), "c\r\neth0");
        File.WriteAllText(Path.Combine(NetDir, "last_reserved_ip.0"), "10.0.0.2");
        Directory.CreateDirectory(Path.Combine(NetDir, "10.0.0.9"));
        using DiskStore store = OpenLocked();
        StoreSnapshot s = store.Scan();
        Assert.Multiple(() =>
        {
            Assert.That(s.Slots.Keys.Select(k => k.ToString()), Is.EquivalentTo(new[] { "10.0.0.2", "10.0.0.9" }));
            Assert.That(s.ContentOf(Ip("10.0.0.2")), Is.EqualTo("a\r\neth0"u8.ToArray()), "content is trimmed as the reference trims it");
            Assert.That(s.ContentOf(Ip("10.0.0.9")), Is.Null, "a directory named like an address is taken but owned by nobody");
            Assert.That(store.ReadLastReserved(0), Is.EqualTo(Ip("10.0.0.2")));
            Assert.That(store.ReadLastReserved(1), Is.Null);
        });
    }

    [Test]
    public void IndexIsUsedUntilTheDirectoryChanges()
    {
        IndexFrom(1);
        using (DiskStore store = OpenLocked())
        {
            StoreSnapshot s = store.Load();
            Assert.That(store.LoadedFromIndex, Is.False);
            store.TryReserve(Ip("10.0.0.2"), ReservationKey.For("a", "eth0"));
            s.Set(Ip("10.0.0.2"), ReservationKey.For("a", "eth0"));
            store.SaveIndex(s, changed: true);
        }
        Assert.That(File.Exists(Path.Combine(_dir.Path, StoreIndex.CacheDirectoryName, "net")), Is.True);
        using (DiskStore store = OpenLocked())
        {
            StoreSnapshot s = store.Load();
            Assert.That(store.LoadedFromIndex, Is.True);
            Assert.That(s.Slots.Keys, Is.EquivalentTo(new[] { Ip("10.0.0.2") }));
        }

        // Another writer (the Go plugin, an administrator) adds a file: the index no longer describes the directory.
        File.WriteAllText(Path.Combine(NetDir, "10.0.0.3"), "go\r\neth0");
        using (DiskStore store = OpenLocked())
        {
            StoreSnapshot s = store.Load();
            Assert.That(store.LoadedFromIndex, Is.False);
            Assert.That(s.ContentOf(Ip("10.0.0.3")), Is.EqualTo("go\r\neth0"u8.ToArray()));
        }
    }

    [Test]
    public void AStaleIndexStillSparesReadingTheFilesThatDidNotChange()
    {
        IndexFrom(1);
        using (DiskStore store = OpenLocked())
        {
            foreach (string ip in new[] { "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5" })
                store.TryReserve(Ip(ip), ReservationKey.For("old" + ip[^1], "eth0"));
            store.SaveIndex(store.Scan(), changed: true);
            Assert.That(store.LastScanFilesRead, Is.EqualTo(4));
        }

        // Behind our back: one file added, one removed, one removed and created again with another owner.
        File.WriteAllText(Path.Combine(NetDir, "10.0.0.9"), "added\r\neth0");
        File.Delete(Path.Combine(NetDir, "10.0.0.3"));
        File.Delete(Path.Combine(NetDir, "10.0.0.4"));
        File.WriteAllText(Path.Combine(NetDir, "10.0.0.4"), "reused\r\neth0");

        using DiskStore again = OpenLocked();
        StoreSnapshot s = again.Load();
        Assert.Multiple(() =>
        {
            Assert.That(again.LoadedFromIndex, Is.False);
            Assert.That(again.LastScanFilesRead, Is.EqualTo(2), "only the added and the re-created file are read");
            Assert.That(s.Slots.Keys.Select(k => k.ToString()).Order(StringComparer.Ordinal),
                Is.EqualTo(new[] { "10.0.0.2", "10.0.0.4", "10.0.0.5", "10.0.0.9" }));
            Assert.That(s.ContentOf(Ip("10.0.0.2")), Is.EqualTo("old2\r\neth0"u8.ToArray()));
            Assert.That(s.ContentOf(Ip("10.0.0.4")), Is.EqualTo("reused\r\neth0"u8.ToArray()));
            Assert.That(s.ContentOf(Ip("10.0.0.9")), Is.EqualTo("added\r\neth0"u8.ToArray()));
        });
    }

    [Test]
    public void CorruptIndexFallsBackToReadingTheFiles()
    {
        IndexFrom(1);
        using (DiskStore store = OpenLocked())
        {
            store.TryReserve(Ip("10.0.0.2"), ReservationKey.For("a", "eth0"));
            StoreSnapshot s = store.Scan();
            store.SaveIndex(s, changed: true);
        }
        string index = Path.Combine(_dir.Path, StoreIndex.CacheDirectoryName, "net");
        byte[] bytes = File.ReadAllBytes(index);
        bytes[^20] ^= 0x55;
        File.WriteAllBytes(index, bytes);
        using DiskStore again = OpenLocked();
        StoreSnapshot loaded = again.Load();
        Assert.Multiple(() =>
        {
            Assert.That(again.LoadedFromIndex, Is.False);
            Assert.That(loaded.ContentOf(Ip("10.0.0.2")), Is.EqualTo("a\r\neth0"u8.ToArray()));
        });
    }

    [Test]
    public void ASmallNetworkGetsNoIndexAndReadsItsFilesEveryTime()
    {
        Assert.That(_options.IndexMinEntries, Is.EqualTo(HostLocalStoreOptions.DefaultIndexMinEntries));
        using (DiskStore store = OpenLocked())
        {
            StoreSnapshot s = store.Load();
            foreach (string ip in new[] { "10.0.0.2", "10.0.0.3", "10.0.0.4" })
            {
                Assert.That(store.TryReserve(Ip(ip), ReservationKey.For("c" + ip[^1], "eth0")), Is.True);
                s.Set(Ip(ip), ReservationKey.For("c" + ip[^1], "eth0"));
            }
            store.SaveIndex(s, changed: true);
        }
        Assert.That(Directory.Exists(Path.Combine(_dir.Path, StoreIndex.CacheDirectoryName)), Is.False, "no index, not even its folder");
        using DiskStore again = OpenLocked();
        StoreSnapshot loaded = again.Load();
        Assert.Multiple(() =>
        {
            Assert.That(again.LoadedFromIndex, Is.False);
            Assert.That(again.ContentsAreCurrent, Is.True, "every file was read under this lock");
            Assert.That(again.LastScanFilesRead, Is.EqualTo(3));
            Assert.That(loaded.Find(ReservationKey.For("c3", "eth0")), Is.EqualTo(new[] { Ip("10.0.0.3") }));
        });
    }

    [Test]
    public void TheIndexAppearsAtTheThresholdAndGoesBelowHalfOfIt()
    {
        IndexFrom(4);
        var key = ReservationKey.For("c", "eth0");
        void Run(Action<DiskStore, StoreSnapshot> change)
        {
            using DiskStore store = OpenLocked();
            StoreSnapshot s = store.Load();
            change(store, s);
            store.SaveIndex(s, changed: true);
        }
        void Add(DiskStore store, StoreSnapshot s, string ip)
        {
            Assert.That(store.TryReserve(Ip(ip), key), Is.True);
            s.Set(Ip(ip), key);
        }
        void Drop(DiskStore store, StoreSnapshot s, string ip)
        {
            Assert.That(store.Remove(Ip(ip)), Is.True);
            s.Remove(Ip(ip));
        }
        bool LoadsFromIndex()
        {
            using DiskStore store = OpenLocked();
            store.Load();
            return store.LoadedFromIndex;
        }

        Run((st, s) => { Add(st, s, "10.0.0.2"); Add(st, s, "10.0.0.3"); Add(st, s, "10.0.0.4"); });
        Assert.That(File.Exists(IndexPath), Is.False, "3 entries: below the threshold");
        Run((st, s) => Add(st, s, "10.0.0.5"));
        Assert.That(File.Exists(IndexPath), Is.True, "4 entries: at the threshold");
        Assert.That(LoadsFromIndex(), Is.True);

        Run((st, s) => { Drop(st, s, "10.0.0.5"); Drop(st, s, "10.0.0.4"); });
        Assert.That(File.Exists(IndexPath), Is.True, "2 entries: an existing index is kept down to half the threshold");
        Assert.That(LoadsFromIndex(), Is.True, "and kept up to date");

        Run((st, s) => Drop(st, s, "10.0.0.3"));
        Assert.That(File.Exists(IndexPath), Is.False, "1 entry: below half the threshold, the index goes");
        using DiskStore last = OpenLocked();
        Assert.That(last.Load().Slots.Keys, Is.EquivalentTo(new[] { Ip("10.0.0.2") }));
    }

    [Test]
    public void LastReservedIsRewrittenInPlaceAndCutToItsNewLength()
    {
        using (DiskStore store = OpenLocked())
            store.WriteLastReserved(0, Ip("10.0.0.254"));
        long firstLength = new FileInfo(Path.Combine(NetDir, "last_reserved_ip.0")).Length;
        using (DiskStore store = OpenLocked())
        {
            store.WriteLastReserved(0, Ip("10.0.0.2"));
            Assert.That(store.ReadLastReserved(0), Is.EqualTo(Ip("10.0.0.2")));
        }
        Assert.That(firstLength, Is.EqualTo(10));
        Assert.That(File.ReadAllBytes(Path.Combine(NetDir, "last_reserved_ip.0")), Is.EqualTo("10.0.0.2"u8.ToArray()),
            "a shorter address leaves no tail of the longer one");
        Assert.That(Directory.GetFileSystemEntries(NetDir).Select(Path.GetFileName).Order(StringComparer.Ordinal),
            Is.EqualTo(new[] { "last_reserved_ip.0", "lock" }), "no temporary file");
    }

    [Test]
    public void FilesLargerThanTheFirstReadBufferAreReadWholeAndHugeOnesAreOwnedByNobody()
    {
        Directory.CreateDirectory(NetDir);
        string big = new string('x', 4096) + "\r\n" + new string('y', 3000); // over the 4 KB first read
        string exact = new string('z', 4096);                                 // exactly fills it
        File.WriteAllText(Path.Combine(NetDir, "10.0.0.2"), "  " + big + "\n");
        File.WriteAllText(Path.Combine(NetDir, "10.0.0.3"), exact);
        File.WriteAllText(Path.Combine(NetDir, "10.0.0.4"), new string('h', 64 * 1024 + 1)); // no reservation is that long
        File.WriteAllText(Path.Combine(NetDir, "10.0.0.5"), "small\r\neth0");
        using DiskStore store = OpenLocked();
        StoreSnapshot s = store.Load();
        Assert.Multiple(() =>
        {
            Assert.That(s.ContentOf(Ip("10.0.0.2")), Is.EqualTo(Encoding.ASCII.GetBytes(big)));
            Assert.That(s.ContentOf(Ip("10.0.0.3")), Is.EqualTo(Encoding.ASCII.GetBytes(exact)));
            Assert.That(s.Contains(Ip("10.0.0.4")) && s.ContentOf(Ip("10.0.0.4")) is null, Is.True, "taken, owner unknown");
            Assert.That(s.ContentOf(Ip("10.0.0.5")), Is.EqualTo("small\r\neth0"u8.ToArray()), "the buffer grown for a large file still reads small ones");
            Assert.That(store.ReadEntry(Ip("10.0.0.2")), Is.EqualTo(Encoding.ASCII.GetBytes(big)));
            Assert.That(store.ReadEntry(Ip("10.0.0.5")), Is.EqualTo("small\r\neth0"u8.ToArray()));
        });
    }

    [Test]
    public void ADirectoryLargerThanTheFirstDirectoryReadIsReadWhole()
    {
        Directory.CreateDirectory(NetDir);
        for (int i = 0; i < 600; i++) // ~600 names of 30+ bytes each: several directory reads, the buffer grows
            File.WriteAllText(Path.Combine(NetDir, $"10.0.{i >> 8}.{i & 255}"), $"c{i}\r\neth0");
        using DiskStore store = OpenLocked();
        StoreSnapshot s = store.Load();
        Assert.Multiple(() =>
        {
            Assert.That(s.Count, Is.EqualTo(600));
            Assert.That(s.ContentOf(Ip("10.0.2.87")), Is.EqualTo("c599\r\neth0"u8.ToArray()));
            Assert.That(store.LastScanFilesRead, Is.EqualTo(600));
        });
    }

    [Test]
    public void IndexRoundTripsEveryEntry()
    {
        var s = new StoreSnapshot();
        s.Set(Ip("10.0.0.2"), "a\r\neth0"u8.ToArray());
        s.Set(Ip("fd00::2"), Encoding.UTF8.GetBytes("b"));
        s.Set(Ip("10.0.0.3"), null);
        var stamp = new DirStamp(1, 2, 3, 4, 5, 6);
        StoreSnapshot? back = StoreIndex.Deserialize(StoreIndex.Serialize(s, stamp), stamp);
        Assert.That(back, Is.Not.Null);
        Assert.Multiple(() =>
        {
            Assert.That(back!.Slots.Keys, Is.EquivalentTo(s.Slots.Keys));
            Assert.That(back.ContentOf(Ip("10.0.0.2")), Is.EqualTo("a\r\neth0"u8.ToArray()));
            Assert.That(back.ContentOf(Ip("10.0.0.3")), Is.Null);
            Assert.That(StoreIndex.Deserialize(StoreIndex.Serialize(s, stamp), stamp with { MtimeNanoseconds = 5 }), Is.Null);
        });
    }

    /// <summary>One run that reserves <paramref name="ip"/> and records the index (threshold lowered to one entry).</summary>
    private void ReserveAndSaveIndex(string ip)
    {
        using DiskStore store = OpenLocked();
        StoreSnapshot s = store.Load();
        Assert.That(store.TryReserve(Ip(ip), ReservationKey.For("c", "eth0")), Is.True);
        s.Set(Ip(ip), ReservationKey.For("c", "eth0"));
        store.SaveIndex(s, changed: true);
    }

    [Test]
    public void TheIndexIsNotWrittenThroughALinkedCacheFolder()
    {
        IndexFrom(1);
        string elsewhere = Path.Combine(_dir.Path, "elsewhere");
        Directory.CreateDirectory(elsewhere);
        Directory.CreateDirectory(NetDir);
        File.CreateSymbolicLink(Path.Combine(_dir.Path, StoreIndex.CacheDirectoryName), elsewhere);
        ReserveAndSaveIndex("10.0.0.2");
        Assert.That(Directory.GetFileSystemEntries(elsewhere), Is.Empty, "nothing written where the link points");
        Assert.That(File.ReadAllBytes(Path.Combine(NetDir, "10.0.0.2")), Is.EqualTo("c\r\neth0"u8.ToArray()), "the reservation itself is made");
    }

    [Test]
    public void TheIndexIsNotWrittenThroughALinkedTemporaryFile()
    {
        IndexFrom(1);
        string victim = Path.Combine(_dir.Path, "victim");
        File.WriteAllText(victim, "precious");
        string cache = Path.Combine(_dir.Path, StoreIndex.CacheDirectoryName);
        Directory.CreateDirectory(cache);
        Directory.CreateDirectory(NetDir);
        File.CreateSymbolicLink(Path.Combine(cache, ".net.tmp"), victim);
        ReserveAndSaveIndex("10.0.0.2");
        Assert.Multiple(() =>
        {
            Assert.That(File.ReadAllText(victim), Is.EqualTo("precious"));
            Assert.That(File.Exists(Path.Combine(cache, ".net.tmp")), Is.False, "the link is replaced, and the temporary renamed");
            Assert.That(new FileInfo(IndexPath).LinkTarget, Is.Null, "the index is a file of its own");
        });
        using DiskStore again = OpenLocked();
        again.Load();
        Assert.That(again.LoadedFromIndex, Is.True);
    }

    [Test]
    public void ALinkInPlaceOfTheIndexIsNeitherReadNorFollowed()
    {
        IndexFrom(1);
        ReserveAndSaveIndex("10.0.0.2");
        string elsewhere = Path.Combine(_dir.Path, "elsewhere-index");
        File.Move(IndexPath, elsewhere);
        File.CreateSymbolicLink(IndexPath, elsewhere);
        using (DiskStore store = OpenLocked())
        {
            store.Load();
            Assert.That(store.LoadedFromIndex, Is.False, "a link is not an index");
        }
        Assert.That(File.Exists(elsewhere), Is.True);
    }

    [Test]
    public void AnIndexStampedLaterThanTheClockIsDropped()
    {
        IndexFrom(1);
        ReserveAndSaveIndex("10.0.0.2");
        // The clock was set back an hour since the index was written: a change made now could carry a time the
        // index already saw, so neither the index nor its per-file times can be trusted.
        HostLocalStoreOptions withIndex = _options;
        _options = new HostLocalStoreOptions { IndexMinEntries = 1, Clock = new FixedClock(DateTimeOffset.UtcNow.AddHours(-1)) };
        using (DiskStore store = OpenLocked())
        {
            StoreSnapshot s = store.Load();
            Assert.Multiple(() =>
            {
                Assert.That(store.LoadedFromIndex, Is.False);
                Assert.That(store.ContentsAreCurrent, Is.True, "every file read again");
                Assert.That(s.ContentOf(Ip("10.0.0.2")), Is.EqualTo("c\r\neth0"u8.ToArray()));
            });
        }
        _options = withIndex;
        using DiskStore later = OpenLocked();
        later.Load();
        Assert.That(later.LoadedFromIndex, Is.True, "with the clock right again the index is used");
    }

    [Test]
    public void AfterAnotherWriterAnAllocatingLoadReadsOnlyTheNewFiles()
    {
        IndexFrom(1);
        using (DiskStore store = OpenLocked())
        {
            foreach (string ip in new[] { "10.0.0.2", "10.0.0.3", "10.0.0.4" })
                store.TryReserve(Ip(ip), ReservationKey.For("old" + ip[^1], "eth0"));
            store.SaveIndex(store.Scan(), changed: true);
        }

        // Another writer adds one file and removes one: the index is stale.
        File.WriteAllText(Path.Combine(NetDir, "10.0.0.9"), "added\r\neth0");
        File.Delete(Path.Combine(NetDir, "10.0.0.3"));

        using (DiskStore store = OpenLocked())
        {
            StoreSnapshot s = store.Load(exact: false);
            Assert.Multiple(() =>
            {
                Assert.That(store.LoadedFromIndex, Is.False);
                Assert.That(store.LastScanFilesRead, Is.EqualTo(1), "only the new file is read");
                Assert.That(s.Slots.Keys.Select(k => k.ToString()).Order(StringComparer.Ordinal),
                    Is.EqualTo(new[] { "10.0.0.2", "10.0.0.4", "10.0.0.9" }), "the names are exact");
                Assert.That(s.ContentOf(Ip("10.0.0.2")), Is.EqualTo("old2\r\neth0"u8.ToArray()));
                Assert.That(s.ContentOf(Ip("10.0.0.9")), Is.EqualTo("added\r\neth0"u8.ToArray()));
                Assert.That(s.UncheckedSince, Is.Not.Null, "the unchanged files' owners are not checked");
            });
            store.SaveIndex(s, changed: false);
        }

        // The index written from it is current, but says its owners are unchecked: ADD uses it as it is, an exact
        // load (DEL, CHECK, GC) checks each file, and then writes it back checked.
        using (DiskStore store = OpenLocked())
        {
            StoreSnapshot s = store.Load(exact: false);
            Assert.That(store.LoadedFromIndex, Is.True);
            Assert.That(s.UncheckedSince, Is.Not.Null);
        }
        using (DiskStore store = OpenLocked())
        {
            StoreSnapshot s = store.Load();
            Assert.Multiple(() =>
            {
                Assert.That(store.LoadedFromIndex, Is.False);
                Assert.That(s.UncheckedSince, Is.Null);
                Assert.That(store.LastScanFilesRead, Is.EqualTo(1), "the file added after the old index is read again, the others are statx'd");
            });
            store.SaveIndex(s, changed: false);
        }
        using (DiskStore store = OpenLocked())
        {
            StoreSnapshot s = store.Load();
            Assert.That(store.LoadedFromIndex, Is.True, "checked: exact loads use it directly");
            Assert.That(s.UncheckedSince, Is.Null);
        }
    }

    [Test]
    public void AnExactLoadReadsAFileTheIndexKnewUnderTheSameInodeButOlder()
    {
        // A file removed and created again under its name can get the freed inode number back: an allocating load
        // cannot tell, the exact load must (its ctime is later than what the index checked).
        IndexFrom(1);
        DirStamp stamp;
        using (DiskStore store = OpenLocked())
        {
            store.TryReserve(Ip("10.0.0.2"), ReservationKey.For("now", "eth0"));
            stamp = store.StatDirectory();
        }
        using (DiskStore store = OpenLocked())
        {
            StoreSnapshot real = store.Scan();
            var forged = new StoreSnapshot { UncheckedSince = (0, 0) }; // checked before the file existed
            forged.Set(Ip("10.0.0.2"), ReservationKey.For("before", "eth0"), real.Slots[Ip("10.0.0.2")].Inode);
            Directory.CreateDirectory(Path.Combine(_dir.Path, StoreIndex.CacheDirectoryName));
            File.WriteAllBytes(IndexPath, StoreIndex.Serialize(forged, stamp));
        }
        using (DiskStore store = OpenLocked())
        {
            Assert.That(store.Load(exact: false).ContentOf(Ip("10.0.0.2")), Is.EqualTo(ReservationKey.For("before", "eth0")),
                "the allocating load takes the index's word");
        }
        using (DiskStore store = OpenLocked())
        {
            Assert.That(store.Load().ContentOf(Ip("10.0.0.2")), Is.EqualTo(ReservationKey.For("now", "eth0")),
                "the exact load reads the file");
        }
    }

    private string DeltaPath => Path.Combine(_dir.Path, StoreIndex.CacheDirectoryName, StoreIndex.DeltaPrefix + "net");

    /// <summary>One run that reserves <paramref name="add"/> and releases <paramref name="drop"/>, as ADD and DEL do.</summary>
    private void Change(string[] add, string[] drop, bool exact = true)
    {
        using DiskStore store = OpenLocked();
        StoreSnapshot s = store.Load(exact);
        foreach (string ip in add)
        {
            Assert.That(store.TryReserve(Ip(ip), ReservationKey.For("c" + ip, "eth0"), out ulong inode), Is.True);
            Assert.That(inode, Is.Not.Zero);
            s.Set(Ip(ip), ReservationKey.For("c" + ip, "eth0"), inode);
        }
        foreach (string ip in drop)
            Assert.That(store.ReleaseIfOwnedBy(s, Ip(ip), ReservationKey.For("c" + ip, "eth0")), Is.True);
        store.SaveIndex(s, changed: true);
    }

    private void AssertLoadsFromIndex(params string[] expected)
    {
        using DiskStore store = OpenLocked();
        StoreSnapshot s = store.Load();
        Assert.Multiple(() =>
        {
            Assert.That(store.LoadedFromIndex, Is.True, "the index (with its delta) describes the directory");
            Assert.That(s.Slots.Keys.Select(k => k.ToString()).Order(StringComparer.Ordinal), Is.EqualTo(expected.Order(StringComparer.Ordinal)));
            foreach (string ip in expected)
                Assert.That(s.ContentOf(Ip(ip)), Is.EqualTo(ReservationKey.For("c" + ip, "eth0")), ip);
        });
    }

    [Test]
    public void AFewChangesAreWrittenAsADeltaAndTheIndexIsLeftAsItWas()
    {
        IndexFrom(1);
        Change(["10.0.0.2", "10.0.0.3", "10.0.0.4"], []);
        Assert.That(File.Exists(DeltaPath), Is.False, "the first index is written whole");
        byte[] index = File.ReadAllBytes(IndexPath);

        Change(["10.0.0.5"], []);
        Assert.Multiple(() =>
        {
            Assert.That(File.ReadAllBytes(IndexPath), Is.EqualTo(index), "the index itself is not rewritten");
            Assert.That(File.Exists(DeltaPath), Is.True);
            Assert.That(new FileInfo(DeltaPath).Length, Is.LessThan(200));
        });
        AssertLoadsFromIndex("10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5");

        Change([], ["10.0.0.3"]);
        Change(["10.0.0.6"], ["10.0.0.5"]);
        Assert.That(File.ReadAllBytes(IndexPath), Is.EqualTo(index));
        AssertLoadsFromIndex("10.0.0.2", "10.0.0.4", "10.0.0.6");
    }

    [Test]
    public void ManyChangesWriteTheWholeIndexAgainAndDropTheDelta()
    {
        IndexFrom(1);
        Change(["10.0.0.2"], []);
        Change(["10.0.0.3"], []);
        Assert.That(File.Exists(DeltaPath), Is.True);
        string[] many = [.. Enumerable.Range(10, DiskStore.MaxDeltaEntries(0) + 1).Select(i => $"10.0.1.{i}")];
        Change(many, []);
        Assert.That(File.Exists(DeltaPath), Is.False, "more changes than a delta holds: the index is written whole");
        AssertLoadsFromIndex([.. many, "10.0.0.2", "10.0.0.3"]);
    }

    [Test]
    public void ADeltaWrittenAgainstAnotherIndexIsIgnored()
    {
        IndexFrom(1);
        Change(["10.0.0.2"], []);
        Change(["10.0.0.3"], []);
        byte[] oldDelta = File.ReadAllBytes(DeltaPath);

        // The index is written whole again (here: lost and rebuilt), and the old delta put back beside it.
        File.Delete(IndexPath);
        File.Delete(DeltaPath);
        Change(["10.0.0.4"], []);
        Assert.That(File.Exists(DeltaPath), Is.False);
        File.WriteAllBytes(DeltaPath, oldDelta);
        AssertLoadsFromIndex("10.0.0.2", "10.0.0.3", "10.0.0.4");
    }

    [Test]
    public void ADamagedDeltaIsIgnoredAndTheFilesChangedSinceTheIndexAreRead()
    {
        IndexFrom(1);
        Change(["10.0.0.2", "10.0.0.3"], []);
        Change(["10.0.0.4"], ["10.0.0.2"]);
        byte[] delta = File.ReadAllBytes(DeltaPath);
        delta[^12] ^= 0x40;
        File.WriteAllBytes(DeltaPath, delta);
        using DiskStore store = OpenLocked();
        StoreSnapshot s = store.Load();
        Assert.Multiple(() =>
        {
            Assert.That(store.LoadedFromIndex, Is.False, "the index alone is older than the directory");
            Assert.That(store.LastScanFilesRead, Is.EqualTo(1), "only the file created after the index is read");
            Assert.That(s.Slots.Keys.Select(k => k.ToString()).Order(StringComparer.Ordinal), Is.EqualTo(new[] { "10.0.0.3", "10.0.0.4" }));
            Assert.That(s.ContentOf(Ip("10.0.0.4")), Is.EqualTo(ReservationKey.For("c10.0.0.4", "eth0")));
        });
    }

    [Test]
    public void AfterAnotherWriterOnlyWhatItChangedGoesIntoTheDelta()
    {
        IndexFrom(1);
        Change(["10.0.0.2", "10.0.0.3", "10.0.0.4"], []);
        byte[] index = File.ReadAllBytes(IndexPath);
        File.WriteAllText(Path.Combine(NetDir, "10.0.0.9"), "c10.0.0.9\r\neth0");
        File.Delete(Path.Combine(NetDir, "10.0.0.3"));

        using (DiskStore store = OpenLocked())
        {
            StoreSnapshot s = store.Load(exact: false);
            Assert.That(s.Changes, Is.Not.Null);
            Assert.That(s.Changes!.Keys.Select(k => k.ToString()).Order(StringComparer.Ordinal), Is.EqualTo(new[] { "10.0.0.3", "10.0.0.9" }));
            store.SaveIndex(s, changed: false);
        }
        Assert.That(File.ReadAllBytes(IndexPath), Is.EqualTo(index), "a delta, not the whole index");
        using (DiskStore store = OpenLocked())
        {
            StoreSnapshot s = store.Load(exact: false);
            Assert.Multiple(() =>
            {
                Assert.That(store.LoadedFromIndex, Is.True);
                Assert.That(s.UncheckedSince, Is.Not.Null, "the delta keeps the owners' unchecked mark");
                Assert.That(s.Slots.Keys.Select(k => k.ToString()).Order(StringComparer.Ordinal), Is.EqualTo(new[] { "10.0.0.2", "10.0.0.4", "10.0.0.9" }));
            });
        }
        AssertLoadsFromIndexAfterCheck();

        void AssertLoadsFromIndexAfterCheck()
        {
            using (DiskStore store = OpenLocked())
            {
                StoreSnapshot s = store.Load();
                Assert.That(s.UncheckedSince, Is.Null);
                store.SaveIndex(s, changed: false);
            }
            AssertLoadsFromIndex("10.0.0.2", "10.0.0.4", "10.0.0.9");
        }
    }

    [Test]
    public void AFileOfTheDeltaChangedUnderTheSameInodeIsReadByTheExactLoad()
    {
        IndexFrom(1);
        Change(["10.0.0.2"], []);
        Change(["10.0.0.3"], []); // in the delta, with its inode number
        Assert.That(File.Exists(DeltaPath), Is.True);

        // Another writer: a new file, and 10.0.0.3 given another owner under the same inode number (what a removal
        // and a creation that gets the freed inode back look like; rewriting in place keeps the number for sure).
        File.WriteAllText(Path.Combine(NetDir, "10.0.0.9"), "other\r\neth0");
        File.WriteAllText(Path.Combine(NetDir, "10.0.0.3"), "reused\r\neth0");

        using (DiskStore store = OpenLocked())
        {
            StoreSnapshot s = store.Load(exact: false);
            Assert.Multiple(() =>
            {
                Assert.That(store.LastScanFilesRead, Is.EqualTo(1), "only the new name is read");
                Assert.That(s.ContentOf(Ip("10.0.0.3")), Is.EqualTo(ReservationKey.For("c10.0.0.3", "eth0")), "the delta's word, inode unchanged");
                Assert.That(s.UncheckedSince, Is.Not.Null);
            });
            store.SaveIndex(s, changed: false);
        }
        Assert.That(File.Exists(DeltaPath), Is.True, "still a delta");
        using (DiskStore store = OpenLocked())
        {
            StoreSnapshot s = store.Load();
            Assert.Multiple(() =>
            {
                Assert.That(s.UncheckedSince, Is.Null);
                Assert.That(s.ContentOf(Ip("10.0.0.3")), Is.EqualTo("reused\r\neth0"u8.ToArray()), "its ctime is later: read again");
                Assert.That(s.ContentOf(Ip("10.0.0.2")), Is.EqualTo(ReservationKey.For("c10.0.0.2", "eth0")));
            });
        }
    }

    [Test]
    public void AnIndexOfAnOlderFormatIsNotTrusted()
    {
        IndexFrom(1);
        Change(["10.0.0.2"], []);
        byte[] bytes = File.ReadAllBytes(IndexPath);
        "HLIDX002"u8.CopyTo(bytes); // the version before this one (unsorted, another checksum)
        File.WriteAllBytes(IndexPath, bytes);
        using (DiskStore store = OpenLocked())
        {
            StoreSnapshot s = store.Load();
            Assert.Multiple(() =>
            {
                Assert.That(store.LoadedFromIndex, Is.False);
                Assert.That(store.LastScanFilesRead, Is.EqualTo(1));
                Assert.That(s.ContentOf(Ip("10.0.0.2")), Is.EqualTo(ReservationKey.For("c10.0.0.2", "eth0")));
            });
            store.SaveIndex(s, changed: false);
        }
        AssertLoadsFromIndex("10.0.0.2");
    }

    [Test]
    public void RemoveReportsWhetherTheFileExisted()
    {
        using DiskStore store = OpenLocked();
        store.TryReserve(Ip("10.0.0.2"), ReservationKey.For("a", "eth0"));
        Assert.Multiple(() =>
        {
            Assert.That(store.Remove(Ip("10.0.0.2")), Is.True);
            Assert.That(store.Remove(Ip("10.0.0.2")), Is.False);
            Assert.That(File.Exists(Path.Combine(NetDir, "10.0.0.2")), Is.False);
        });
    }
}
