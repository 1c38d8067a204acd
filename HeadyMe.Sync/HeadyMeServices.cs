using HeadyClouds.Data.ObjectStorage;
using HeadyClouds.ServiceDefaults.Identity;
using HeadyMe.Sync.Infrastructure;

namespace HeadyMe.Sync;

public static class HeadyMeServices
{
    public const string DatabaseResource = "headyme-db";
    public const string ObjectStoreResource = "objectstore";

    /// <summary>Where encrypted chunks are kept.</summary>
    public const string ChunkBucket = "headyme-chunks";

    /// <summary>What the migration step needs: the database and the object store (it creates the chunk bucket).</summary>
    public static void AddHeadyMeDatabase(this IHostApplicationBuilder builder)
    {
        builder.AddNpgsqlDbContext<HeadyMeDbContext>(DatabaseResource);
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
        builder.Services.AddOpenApi();
    }
}
