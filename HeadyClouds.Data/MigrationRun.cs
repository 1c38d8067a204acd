using HeadyClouds.ServiceDefaults.Mesh;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HeadyClouds.Data;

/// <summary>
/// The migration step: the AppHost starts each service once more with <c>--migrate</c>; that run applies the
/// EF Core migrations (creating the database if needed), seeds, and exits. The service itself waits for it to
/// complete, so no service ever runs against an old schema and no two replicas race to migrate.
/// </summary>
public static class MigrationRun
{
    public const string Argument = "--migrate";

    public static bool IsMigrationRun(this IHostApplicationBuilder builder) =>
        Environment.GetCommandLineArgs().Contains(Argument, StringComparer.Ordinal)
        || builder.Configuration.GetValue<bool>("Migrate");

    public static async Task RunMigrationsAsync<TContext>(
        this WebApplicationBuilder builder,
        Func<IServiceProvider, TContext, CancellationToken, Task>? seed = null)
        where TContext : DbContext
    {
        // In the mesh the migrator is a workload of its own (the AppHost gives it a join token): the database admits
        // only clients with a certificate of the internal CA, and the host is never run, so the identity is started here.
        var mesh = MeshMode.IsEnabled(builder.Configuration);
        if (mesh)
        {
            builder.AddMeshClientIdentity();
        }

        using var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("HeadyClouds.Migrations");
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var identity = mesh ? app.Services.GetRequiredService<WorkloadIdentity>() : null;
        if (identity is not null)
        {
            await identity.StartAsync(cts.Token);
        }

        try
        {
            await using var scope = app.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<TContext>();

            await MigrateAsync(db, logger, cts.Token);
            if (seed is not null)
            {
                await seed(scope.ServiceProvider, db, cts.Token);
            }

            logger.LogInformation("Database for {Context} is up to date", typeof(TContext).Name);
        }
        finally
        {
            if (identity is not null)
            {
                await identity.StopAsync(CancellationToken.None);
            }
        }
    }

    public static async Task MigrateAsync(DbContext db, ILogger logger, CancellationToken cancellationToken)
    {
        var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
        logger.LogInformation("Applying {Count} migration(s) to {Context}: {Migrations}",
            pending.Count, db.GetType().Name, string.Join(", ", pending));
        // EF Core (since 9) holds a database lock while migrating, so two migrators started at once
        // never apply the same migration twice.
        await db.Database.MigrateAsync(cancellationToken);
    }
}
