using HeadyClouds.Data;
using HeadyClouds.Data.Crypto;
using HeadyClouds.Data.ObjectStorage;
using HeadyClouds.ServiceDefaults.Audit;
using HeadyClouds.ServiceDefaults.Identity;
using Monorepo.Sync.Application;
using Monorepo.Sync.Infrastructure;

namespace Monorepo.Sync;

public static class MonorepoServices
{
    public const string DatabaseResource = "monorepo-db";
    public const string ObjectStoreResource = "objectstore";

    /// <summary>What the migration step needs: the database and the object store (it creates the bundle bucket).</summary>
    public static void AddMonorepoDatabase(this IHostApplicationBuilder builder)
    {
        builder.AddNpgsqlDbContext<MonorepoDbContext>(DatabaseResource);
        builder.Services.AddMeshDatabase<MonorepoDbContext>();
        // Beside the context: the sync's session-level advisory lock holds a connection of its own.
        builder.Services.AddMeshDataSource(builder.Configuration, DatabaseResource);
        builder.AddObjectStore(ObjectStoreResource, MirrorBundler.Bucket);
        builder.Services.AddSingleton(TimeProvider.System);
    }

    public static Task PrepareStorageAsync(IServiceProvider services, MonorepoDbContext db, CancellationToken ct) =>
        services.GetRequiredService<IObjectStore>().EnsureBucketAsync(MirrorBundler.Bucket, ct);

    public static void AddMonorepoServices(this IHostApplicationBuilder builder)
    {
        builder.AddMonorepoDatabase();
        builder.AddHeadyIdentity();
        // Forced ref updates go to SyncManager's hash-chained audit log too (the AppHost name of this service).
        builder.AddHeadyAuditClient("monorepo-sync");
        builder.Services.AddOpenApi();
        builder.Services.Configure<MonorepoOptions>(builder.Configuration.GetSection(MonorepoOptions.Section));
        builder.Services.AddSingleton(KeyRing.FromConfiguration(builder.Configuration));
        builder.Services.AddSingleton<EnvelopeEncryption>();
        builder.Services.AddSingleton<CredentialProtector>();
        builder.Services.AddSingleton<SyncQueue>();
        builder.Services.AddSingleton(new Monorepo.Sync.Git.GitCli());
        builder.Services.AddSingleton(sp => new Monorepo.Sync.Git.Mirror.MirrorEngine(
            sp.GetRequiredService<Monorepo.Sync.Git.GitCli>(),
            new Monorepo.Sync.Git.Mirror.MirrorEngineOptions { NetworkTimeout = sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<MonorepoOptions>>().Value.GitTimeout }));
        builder.Services.AddScoped<SyncRunner>();
        builder.Services.AddScoped<SplitRunner>();
        builder.Services.AddSingleton(sp => new Monorepo.Sync.Git.Split.SubtreeSplitter(sp.GetRequiredService<Monorepo.Sync.Git.GitCli>()));
        builder.Services.AddSingleton<ISplitEngine, SubtreeSplitEngine>();
        builder.Services.AddHostedService<SyncWorker>();
        builder.Services.AddScoped<MirrorBundler>();
    }
}
