using HeadyClouds.Data;
using Monorepo.Sync;
using Monorepo.Sync.Apis;
using Monorepo.Sync.Infrastructure;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();

if (builder.IsMigrationRun())
{
    builder.AddMonorepoDatabase();
    await builder.RunMigrationsAsync<MonorepoDbContext>(MonorepoServices.PrepareStorageAsync);
    return;
}

builder.AddMonorepoServices();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapOpenApi().AllowAnonymous();
app.MapRepositoriesApi();
app.MapTargetsApi();
app.MapWebhooksApi();
app.MapSyncApi();
app.MapInternalApi();
app.Run();
