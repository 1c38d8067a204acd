using HeadyClouds.Data;
using HeadyClouds.Data.Crypto;
using HeadyClouds.Data.ObjectStorage;
using HeadyClouds.ServiceDefaults.Audit;
using HeadyClouds.ServiceDefaults.Identity;
using HeadyMe.Sync.Apis;
using HeadyMe.Sync.Changes;
using HeadyMe.Sync.Crypto;
using HeadyMe.Sync.Files;
using HeadyMe.Sync.Infrastructure;
using HeadyMe.Sync.Maintenance;
using HeadyMe.Sync.Quota;
using HeadyMe.Sync.Storage;
using Npgsql;

namespace HeadyMe.Sync;

public static class HeadyMeServices
{
    public const string DatabaseResource = "headyme-db";
    public const string ObjectStoreResource = "objectstore";
    public const string RedisResource = "redis";

    /// <summary>Where encrypted chunks are kept.</summary>
    public const string ChunkBucket = "headyme-chunks";

    /// <summary>What the migration step needs: the database and the object store (it creates the chunk bucket).</summary>
    public static void AddHeadyMeDatabase(this IHostApplicationBuilder builder)
    {
        builder.AddNpgsqlDbContext<HeadyMeDbContext>(DatabaseResource);
        builder.Services.AddMeshDatabase<HeadyMeDbContext>();
        builder.AddObjectStore(ObjectStoreResource, ChunkBucket);
        builder.Services.AddSingleton(TimeProvider.System);
    }

    /// <summary>Part of the migration step: storage is prepared before the service starts, like the schema.</summary>
    public static Task PrepareStorageAsync(IServiceProvider services, HeadyMeDbContext db, CancellationToken ct) =>
        services.GetRequiredService<IObjectStore>().EnsureBucketAsync(ChunkBucket, ct);

    public static void AddHeadyMeServices(this IHostApplicationBuilder builder)
    {
        builder.AddHeadyMeDatabase();
        builder.AddHeadyIdentity();
        // Membership and quota changes go to SyncManager's hash-chained audit log (the AppHost name of this service).
        builder.AddHeadyAuditClient("headyme-sync");
        // Redis only wakes long polls sooner (they fall back to polling the database), so it is not part of readiness.
        builder.AddRedisClient(RedisResource, settings => settings.DisableHealthChecks = true);
        builder.Services.AddOpenApi();
        builder.Services.Configure<HeadyMeOptions>(builder.Configuration.GetSection(HeadyMeOptions.Section));
        // The sync engine's hot paths are set-based SQL on Npgsql directly; EF Core owns the model and migrations.
        builder.Services.AddMeshDataSource(builder.Configuration, DatabaseResource);
        builder.Services.AddSingleton(KeyRing.FromConfiguration(builder.Configuration));
        builder.Services.AddSingleton<KeyService>();
        builder.Services.AddSingleton<ChunkStore>();
        builder.Services.AddSingleton<FileStore>();
        builder.Services.AddSingleton<QuotaService>();
        builder.Services.AddSingleton<WorkspaceAccess>();
        builder.Services.AddSingleton<MaintenanceService>();
        builder.Services.AddSingleton<ChangeNotifier>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ChangeNotifier>());
    }

    public static WebApplication MapHeadyMeApis(this WebApplication app)
    {
        app.MapWorkspacesApi();
        app.MapMembersApi();
        app.MapQuotasApi();
        app.MapSyncApi();
        app.MapInternalApi();
        return app;
    }
}
