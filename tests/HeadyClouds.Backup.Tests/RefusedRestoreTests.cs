using System.Security.Cryptography;
using HeadyClouds.Backup.Format;
using HeadyClouds.Backup.Targets;
using HeadyClouds.Data.Crypto;
using HeadyClouds.Data.ObjectStorage;
using HeadyClouds.Testing;
using Npgsql;

namespace HeadyClouds.Backup.Tests;

/// <summary>One backup (a database with rows, objects, a repository), taken and then wiped; each test damages a copy.</summary>
public sealed class BackedUpStack : IAsyncLifetime
{
    public byte[] Key { get; } = RandomNumberGenerator.GetBytes(32);

    public string Database { get; } = TestDatabases.NewName("bk_refuse");

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "h5-refuse-" + Guid.NewGuid().ToString("N")[..8]);

    public string Prefix { get; } = $"refuse-{Guid.NewGuid():N}/";

    public const string Bucket = "backup-tests-objects";

    public IObjectStore Store { get; } = new MinioObjectStore(MinioObjectStore.CreateClient(ObjectStoreSettings.Parse(TestServers.S3Raw)));

    public ObjectStoreTarget BucketTarget => new(Store, ObjectStoreTarget.DefaultBucket);

    public string BackupId { get; private set; } = "";

    public string Mirrors => Path.Combine(Root, "mirrors");

    public KeyRing Ring(byte[]? key = null) => new("backup-1", new Dictionary<string, byte[]> { ["backup-1"] = key ?? Key });

    public RestorePlan Plan => new()
    {
        Databases = new Dictionary<string, string> { ["app"] = TestDatabases.ConnectionString(Database) },
        ObjectStore = Store,
        RepositoriesPath = Mirrors,
    };

    public async Task InitializeAsync()
    {
        await TestDatabases.CreateAsync(Database);
        await using (var connection = new NpgsqlConnection(TestDatabases.ConnectionString(Database)))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                "CREATE TABLE items (id int PRIMARY KEY, body text); INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 5000) g", connection);
            await command.ExecuteNonQueryAsync();
        }

        await Store.EnsureBucketAsync(Bucket, CancellationToken.None);
        for (var i = 0; i < 5; i++)
        {
            var data = RandomNumberGenerator.GetBytes(100_000);
            await Store.PutAsync(Bucket, $"{Prefix}{i}", new MemoryStream(data), data.Length, CancellationToken.None);
        }

        GitCli.CreateMirror(Path.Combine(Root, "work"), Path.Combine(Mirrors, "repo.git"));
        await BucketTarget.EnsureBucketAsync(CancellationToken.None);
        var manifest = await new BackupRunner(TimeProvider.System).RunAsync(new BackupPlan
        {
            Target = BucketTarget,
            Keys = Ring(),
            SegmentSize = 64 * 1024,
            Databases = [new DatabaseSource("app", TestDatabases.ConnectionString(Database))],
            ObjectStore = Store,
            Objects = [new ObjectSource(Bucket, Prefix)],
            RepositoriesPath = Mirrors,
        }, CancellationToken.None);
        BackupId = manifest.BackupId;

        // The empty stack every test restores into.
        NpgsqlConnection.ClearAllPools();
        await TestDatabases.DropAsync(Database);
        await foreach (var item in Store.ListAsync(Bucket, Prefix, CancellationToken.None))
        {
            await Store.DeleteAsync(Bucket, item.Key, CancellationToken.None);
        }

        Directory.Delete(Mirrors, recursive: true);
    }

    /// <summary>Nothing was written: no database, no object, no repository.</summary>
    public async Task AssertNothingChangedAsync()
    {
        Assert.False(await TestDatabases.ExistsAsync(Database));
        await foreach (var item in Store.ListAsync(Bucket, Prefix, CancellationToken.None))
        {
            Assert.Fail($"object {item.Key} was written");
        }

        Assert.False(Directory.Exists(Path.Combine(Mirrors, "repo.git")));
    }

    public async Task DisposeAsync()
    {
        await BucketTarget.DeleteBackupAsync(BackupId, CancellationToken.None);
        await TestDatabases.DropAsync(Database);
        await foreach (var item in Store.ListAsync(Bucket, Prefix, CancellationToken.None))
        {
            await Store.DeleteAsync(Bucket, item.Key, CancellationToken.None);
        }

        if (Directory.Exists(Root))
        {
            Directory.Delete(Root, recursive: true);
        }
    }
}

/// <summary>A damaged or wrongly keyed backup, or an occupied destination: refused with a clear error and nothing written.</summary>
public sealed class RefusedRestoreTests(BackedUpStack fx) : IClassFixture<BackedUpStack>
{
    private Task<RestoreResult> RestoreAsync(byte[]? key = null) =>
        new Restorer().RestoreAsync(fx.BucketTarget, fx.Ring(key), fx.BackupId, fx.Plan, verifyOnly: false, CancellationToken.None);

    private async Task<string[]> SegmentKeysAsync(int part)
    {
        var keys = new List<string>();
        await foreach (var item in fx.Store.ListAsync(ObjectStoreTarget.DefaultBucket, $"{fx.BackupId}/parts/{part:D4}/", CancellationToken.None))
        {
            keys.Add(item.Key);
        }

        return keys.Order(StringComparer.Ordinal).ToArray();
    }

    private async Task<byte[]> GetAsync(string key)
    {
        using var buffer = new MemoryStream();
        Assert.True(await fx.Store.TryGetAsync(ObjectStoreTarget.DefaultBucket, key, buffer, CancellationToken.None));
        return buffer.ToArray();
    }

    private Task PutAsync(string key, byte[] data) =>
        fx.Store.PutAsync(ObjectStoreTarget.DefaultBucket, key, new MemoryStream(data), data.Length, CancellationToken.None);

    [Theory]
    [InlineData(0)] // the database dump
    [InlineData(1)] // the objects
    [InlineData(2)] // the repository bundle
    public async Task AFlippedByteInAnyPartIsRefusedAndNothingIsWritten(int part)
    {
        var keys = await SegmentKeysAsync(part);
        // The last segment of the part: everything before it would already have been restored by a restore that did not verify first.
        var key = keys[^1];
        var original = await GetAsync(key);
        var tampered = original.ToArray();
        tampered[tampered.Length / 2] ^= 0x40;
        await PutAsync(key, tampered);
        try
        {
            var e = await Assert.ThrowsAsync<BackupIntegrityException>(() => RestoreAsync());
            Assert.Contains("failed authentication", e.Message, StringComparison.Ordinal);
            await fx.AssertNothingChangedAsync();
        }
        finally
        {
            await PutAsync(key, original);
        }
    }

    [Fact]
    public async Task ATruncatedBackupIsRefusedAndNothingIsWritten()
    {
        var keys = await SegmentKeysAsync(2);
        var last = keys[^1];
        var original = await GetAsync(last);
        await fx.Store.DeleteAsync(ObjectStoreTarget.DefaultBucket, last, CancellationToken.None);
        try
        {
            var e = await Assert.ThrowsAsync<BackupIntegrityException>(() => RestoreAsync());
            Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
            await fx.AssertNothingChangedAsync();
        }
        finally
        {
            await PutAsync(last, original);
        }
    }

    [Fact]
    public async Task ASegmentObjectLargerThanAnySegmentIsRefused()
    {
        var key = (await SegmentKeysAsync(0))[0];
        var original = await GetAsync(key);
        await PutAsync(key, [.. original, .. RandomNumberGenerator.GetBytes(64 * 1024)]);
        try
        {
            var e = await Assert.ThrowsAsync<BackupIntegrityException>(() => RestoreAsync());
            Assert.Contains("larger than any segment", e.Message, StringComparison.Ordinal);
            await fx.AssertNothingChangedAsync();
        }
        finally
        {
            await PutAsync(key, original);
        }
    }

    [Fact]
    public async Task AWrongKeyIsRefusedAndNothingIsWritten()
    {
        var e = await Assert.ThrowsAsync<BackupIntegrityException>(() => RestoreAsync(RandomNumberGenerator.GetBytes(32)));

        Assert.Contains("wrong key", e.Message, StringComparison.Ordinal);
        await fx.AssertNothingChangedAsync();
    }

    [Fact]
    public async Task AnOccupiedDestinationIsRefusedAndNothingElseIsWritten()
    {
        // The repository's place is taken: the database and the objects (restored before it) must not be written either.
        Directory.CreateDirectory(Path.Combine(fx.Mirrors, "repo.git", "objects"));
        try
        {
            var e = await Assert.ThrowsAsync<RestoreRefusedException>(() => RestoreAsync());
            Assert.Contains("repo/repo.git", e.Message, StringComparison.Ordinal);
            Assert.Contains("nothing was written", e.Message, StringComparison.Ordinal);
            Assert.False(await TestDatabases.ExistsAsync(fx.Database));
        }
        finally
        {
            Directory.Delete(Path.Combine(fx.Mirrors, "repo.git"), recursive: true);
        }

        await fx.AssertNothingChangedAsync();
    }

    [Fact]
    public async Task AnIntactBackupVerifiesWithoutWriting()
    {
        var result = await new Restorer().RestoreAsync(fx.BucketTarget, fx.Ring(), fx.BackupId, fx.Plan, verifyOnly: true, CancellationToken.None);

        Assert.True(result.VerifiedOnly);
        Assert.Equal(["db/app", $"objects/{BackedUpStack.Bucket}/{fx.Prefix}", "repo/repo.git"], result.Manifest.Parts.Select(p => p.Name));
        await fx.AssertNothingChangedAsync();
    }
}
