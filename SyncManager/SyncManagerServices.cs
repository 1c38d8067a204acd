using HeadyClouds.Data;
using HeadyClouds.Backup;
using HeadyClouds.ServiceDefaults.Identity;
using HeadyClouds.ServiceDefaults.Mesh;
using Microsoft.AspNetCore.Authorization;
using SyncManager.Audit;
using SyncManager.Infrastructure;
using SyncManager.Jobs;

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
        builder.Services.AddMeshDatabase<SyncManagerDbContext>();
        builder.Services.Configure<BootstrapOptions>(builder.Configuration.GetSection(BootstrapOptions.Section));
        builder.Services.AddSingleton(TimeProvider.System);
    }

    /// <summary>The migration step's seeding: the first admin, then the default job definitions.</summary>
    public static async Task SeedAsync(IServiceProvider services, SyncManagerDbContext db, CancellationToken ct)
    {
        await AdminBootstrap.SeedAsync(services, db, ct);
        await DefaultJobs.SeedAsync(services, db, ct);
    }

    public static void AddSyncManagerServices(this IHostApplicationBuilder builder)
    {
        builder.AddSyncManagerDatabase();
        builder.AddRedisClient(RedisResource);
        builder.AddHeadyIdentity();
        builder.Services.AddOpenApi();
        builder.AddSyncManagerAudit();
        builder.AddSyncManagerJobs();
    }

    public static void AddSyncManagerAudit(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<AuditMetrics>();
        builder.Services.AddScoped<AuditLog>();
        // Refused authorizations (a non-admin on an admin endpoint...) are security events: audited, then answered as usual.
        builder.Services.AddSingleton<IAuthorizationMiddlewareResultHandler, AuditingAuthorizationResultHandler>();
    }

    /// <summary>The job engine, its handlers and its worker (see docs/syncmanager.md).</summary>
    public static void AddSyncManagerJobs(this IHostApplicationBuilder builder)
    {
        builder.Services.Configure<JobEngineOptions>(builder.Configuration.GetSection(JobEngineOptions.Section));
        var options = builder.Configuration.GetSection(JobEngineOptions.Section).Get<JobEngineOptions>() ?? new JobEngineOptions();
        var overMesh = MeshMode.IsEnabled(builder.Configuration);
        builder.Services.AddSingleton(new ServiceIdentityKey(IdentityAssertion.KeyFromConfiguration(builder.Configuration["Identity:SigningKey"]), overMesh));
        AddServiceClient(builder, InternalServiceClient.MonorepoClient, "monorepo-sync", options.MonorepoSyncAddress, options.CallTimeout, overMesh);
        AddServiceClient(builder, InternalServiceClient.HeadyMeClient, "headyme-sync", options.HeadyMeSyncAddress, options.CallTimeout, overMesh);

        builder.Services.AddSingleton<JobMetrics>();
        builder.Services.AddSingleton<CertificateMetrics>();
        builder.Services.AddSingleton<ICertificateSource, FileCertificateSource>();
        builder.Services.AddSingleton<IJobHandler, RepositorySyncHandler>();
        builder.Services.AddSingleton<IJobHandler, WorkspaceMaintenanceHandler>();
        builder.Services.AddSingleton<IJobHandler, KeyRotationHandler>();
        builder.Services.AddSingleton<IJobHandler, CertificateHealthHandler>();
        builder.Services.AddSingleton<IJobHandler, AuditVerifyHandler>();
        builder.Services.AddSingleton<IJobHandler, BackupHandler>();
        builder.Services.AddHeadyBackup(builder.Configuration);
        builder.Services.AddSingleton<JobHandlerRegistry>();
        builder.Services.AddSingleton<JobEngine>();
        builder.Services.AddHostedService<JobWorker>();
    }

    private static void AddServiceClient(IHostApplicationBuilder builder, string name, string service, string address, TimeSpan timeout, bool overMesh)
    {
#pragma warning disable EXTEXP0001 // RemoveAllResilienceHandlers: a job attempt is the retry unit; HTTP retries would double it
        var http = builder.Services.AddHttpClient(name, http =>
        {
            http.BaseAddress = new Uri(address);
            http.Timeout = timeout;
        }).RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001
        if (overMesh)
        {
            // The primary handler: our certificate out, only that service's certificate accepted back.
            http.UseMeshTransport(service);
        }

        builder.Services.AddKeyedSingleton(name, (sp, _) => new InternalServiceClient(
            sp.GetRequiredService<IHttpClientFactory>().CreateClient(name),
            sp.GetRequiredService<ServiceIdentityKey>(),
            sp.GetRequiredService<TimeProvider>()));
    }
}
