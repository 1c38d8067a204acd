using HeadyClouds.Testing;
using SyncManager.Infrastructure;

namespace SyncManager.Tests.Api;

/// <summary>SyncManager's HTTP pipeline on a fresh database; the job worker is off so runs stay where the API put them.</summary>
public class SyncManagerApiFixture : ServiceFixture<SyncManagerDbContext>
{
    protected override string DatabaseResource => SyncManagerServices.DatabaseResource;

    protected override string ServiceName => "syncmanager";

    protected override bool UsesRedis => true;

    protected override IEnumerable<KeyValuePair<string, string>> ExtraSettings => [new("Jobs:WorkerEnabled", "false")];

    /// <summary>What the migration step seeds after the schema: the first admin (none configured here) and the default jobs.</summary>
    protected override Task PrepareAsync(IServiceProvider services, SyncManagerDbContext db) =>
        SyncManagerServices.SeedAsync(services, db, CancellationToken.None);
}

/// <summary>A separate database for tests that break the audit chain on purpose.</summary>
public sealed class TamperFixture : SyncManagerApiFixture;
