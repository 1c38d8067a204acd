using HeadyClouds.ServiceDefaults.Identity;
using SyncManager.Infrastructure;

namespace SyncManager;

public static class SyncManagerServices
{
    public const string DatabaseResource = "syncmanager-db";
    public const string RedisResource = "redis";

    /// <summary>What the migration step needs: the database and the bootstrap settings.</summary>
    public static void AddSyncManagerDatabase(this IHostApplicationBuilder builder)
    {
        // Retries stay on for transient faults; code that opens a transaction runs it through the execution strategy.
        builder.AddNpgsqlDbContext<SyncManagerDbContext>(DatabaseResource);
        builder.Services.Configure<BootstrapOptions>(builder.Configuration.GetSection(BootstrapOptions.Section));
        builder.Services.AddSingleton(TimeProvider.System);
    }

    public static void AddSyncManagerServices(this IHostApplicationBuilder builder)
    {
        builder.AddSyncManagerDatabase();
        builder.AddRedisClient(RedisResource);
        builder.AddHeadyIdentity();
        builder.Services.AddOpenApi();
    }
}
