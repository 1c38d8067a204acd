using HeadyClouds.Data;
using SyncManager;
using SyncManager.Apis;
using SyncManager.Infrastructure;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();

if (builder.IsMigrationRun())
{
    builder.AddSyncManagerDatabase();
    await builder.RunMigrationsAsync<SyncManagerDbContext>(SyncManagerServices.SeedAsync);
    return;
}

builder.AddSyncManagerServices();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapOpenApi().AllowAnonymous();
app.MapUsersApi();
app.MapTokensApi();
app.MapIntrospectionApi();
app.MapJobsApi();
app.MapAuditApi();
app.Run();
