using HeadyClouds.Data;
using HeadyMe.Sync;
using HeadyMe.Sync.Apis;
using HeadyMe.Sync.Infrastructure;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();

if (builder.IsMigrationRun())
{
    builder.AddHeadyMeDatabase();
    await builder.RunMigrationsAsync<HeadyMeDbContext>(HeadyMeServices.PrepareStorageAsync);
    return;
}

builder.AddHeadyMeServices();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapOpenApi().AllowAnonymous();
app.MapHeadyMeApis();
app.Run();
