using HeadyClouds.Data.Crypto;
using HeadyClouds.ServiceDefaults.Identity;
using Monorepo.Sync.Application;
using Monorepo.Sync.Infrastructure;

namespace Monorepo.Sync;

public static class MonorepoServices
{
    public const string DatabaseResource = "monorepo-db";

    public static void AddMonorepoDatabase(this IHostApplicationBuilder builder)
    {
        builder.AddNpgsqlDbContext<MonorepoDbContext>(DatabaseResource);
        builder.Services.AddSingleton(TimeProvider.System);
    }

    public static void AddMonorepoServices(this IHostApplicationBuilder builder)
    {
        builder.AddMonorepoDatabase();
        builder.AddHeadyIdentity();
        builder.Services.AddOpenApi();
        builder.Services.Configure<MonorepoOptions>(builder.Configuration.GetSection(MonorepoOptions.Section));
        builder.Services.AddSingleton(KeyRing.FromConfiguration(builder.Configuration));
        builder.Services.AddSingleton<EnvelopeEncryption>();
        builder.Services.AddSingleton<CredentialProtector>();
        builder.Services.AddSingleton<SyncQueue>();
    }
}
