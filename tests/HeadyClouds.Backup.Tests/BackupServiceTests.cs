using System.Security.Cryptography;
using HeadyClouds.Backup.Format;
using HeadyClouds.Data.ObjectStorage;
using HeadyClouds.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace HeadyClouds.Backup.Tests;

/// <summary>
/// The configured service, as SyncManager's backup job and the console run it: configuration binding, the bucket plus
/// the directory copy, listing, retention over days of runs, restore from either copy.
/// </summary>
public sealed class BackupServiceTests : IAsyncLifetime
{
    private readonly string database = TestDatabases.NewName("bk_svc");
    private readonly string bucket = "svc-" + Guid.NewGuid().ToString("N")[..12];
    private readonly string directory = Path.Combine(Path.GetTempPath(), "h5-svc-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 11, 1, 1, 0, 0, TimeSpan.Zero));

    public async Task InitializeAsync()
    {
        await TestDatabases.CreateAsync(database);
        await using var connection = new NpgsqlConnection(TestDatabases.ConnectionString(database));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 300) g", connection);
        await command.ExecuteNonQueryAsync();
    }

    private BackupService Service()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:objectstore"] = TestServers.S3Raw,
            ["ConnectionStrings:app-db"] = TestDatabases.ConnectionString(database),
            ["Backup:Bucket"] = bucket,
            ["Backup:Directory"] = directory,
            ["Backup:Databases:0"] = "app-db",
            ["Backup:KeepDaily"] = "3",
            ["Backup:KeepWeekly"] = "0",
            ["Backup:KeepMonthly"] = "0",
            ["Backup:Encryption:ActiveKeyId"] = "backup-1",
            ["Backup:Encryption:Keys:backup-1"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        }).Build();
        var services = new ServiceCollection().AddSingleton<TimeProvider>(time).AddHeadyBackup(configuration).BuildServiceProvider();
        return services.GetRequiredService<BackupService>();
    }

    [Fact]
    public async Task DailyRunsKeepTheConfiguredNumberInBothCopiesAndEitherCopyRestores()
    {
        var service = Service();
        var ids = new List<string>();
        for (var day = 0; day < 5; day++)
        {
            var summary = await service.RunAsync(CancellationToken.None);
            ids.Add(summary.Manifest.BackupId);
            Assert.Contains($"backup {summary.Manifest.BackupId}: 1 parts", summary.ToString(), StringComparison.Ordinal);
            time.Advance(TimeSpan.FromDays(1));
        }

        // Retention ran after every backup: the 3 newest days remain, in the bucket and in the directory.
        var expected = ids.TakeLast(3).ToArray();
        Assert.Equal(expected, (await service.ListAsync(service.Target("bucket"), CancellationToken.None)).Select(b => b.Id));
        Assert.Equal(expected, (await service.ListAsync(service.Target("directory"), CancellationToken.None)).Select(b => b.Id));
        Assert.All(await service.ListAsync(service.Target(), CancellationToken.None), b => Assert.True(b.Complete));

        // Occupied destination: refused.
        await Assert.ThrowsAsync<RestoreRefusedException>(() => service.RestoreAsync(ids[^1], verifyOnly: false, "bucket", CancellationToken.None));

        // A pruned backup is gone; the newest verifies from the directory and restores from it.
        await Assert.ThrowsAsync<BackupIntegrityException>(() => service.RestoreAsync(ids[0], verifyOnly: true, "bucket", CancellationToken.None));
        NpgsqlConnection.ClearAllPools();
        await TestDatabases.DropAsync(database);
        var result = await service.RestoreAsync(ids[^1], verifyOnly: false, "directory", CancellationToken.None);
        Assert.Equal(["db/app-db"], result.Restored);
        await using var connection = new NpgsqlConnection(TestDatabases.ConnectionString(database));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM t WHERE v = 'row ' || id", connection);
        Assert.Equal(300L, await command.ExecuteScalarAsync());
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await TestDatabases.DropAsync(database);
        var store = new MinioObjectStore(MinioObjectStore.CreateClient(ObjectStoreSettings.Parse(TestServers.S3Raw)));
        await foreach (var item in store.ListAsync(bucket, "", CancellationToken.None))
        {
            await store.DeleteAsync(bucket, item.Key, CancellationToken.None);
        }

        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
