using HeadyClouds.ServiceDefaults.Identity;
using HeadyMe.Sync.Infrastructure;

namespace HeadyMe.Sync;

public static class HeadyMeServices
{
    public const string DatabaseResource = "headyme-db";

    public static void AddHeadyMeDatabase(this IHostApplicationBuilder builder)
    {
        builder.AddNpgsqlDbContext<HeadyMeDbContext>(DatabaseResource);
        builder.Services.AddSingleton(TimeProvider.System);
    }

    public static void AddHeadyMeServices(this IHostApplicationBuilder builder)
    {
        builder.AddHeadyMeDatabase();
        builder.AddHeadyIdentity();
        builder.Services.AddOpenApi();
    }
}
