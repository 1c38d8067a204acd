using System.Security.Cryptography;
using System.Text.Json;
using HeadyClouds.Testing;
using HeadyMe.Sync;
using HeadyMe.Sync.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using SyncManager.Audit;
using SyncManager.Jobs;
using SyncManager.Tests.Engine;

namespace SyncManager.Tests.HeadyMe;

/// <summary>HeadyMe.Sync in-process with a real envelope key, object store and Redis.</summary>
public sealed class HeadyMeFixture : ServiceFixture<HeadyMeDbContext>
{
    protected override string DatabaseResource => HeadyMeServices.DatabaseResource;

    protected override string ServiceName => "headyme";

    protected override bool UsesObjectStore => true;

    protected override bool UsesRedis => true;

    protected override IEnumerable<KeyValuePair<string, string>> ExtraSettings =>
    [
        new("Encryption:ActiveKeyId", "root-1"),
        new("Encryption:Keys:root-1", Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))),
    ];

    protected override async Task PrepareAsync(IServiceProvider services, HeadyMeDbContext db)
    {
        try
        {
            await HeadyMeServices.PrepareStorageAsync(services, db, CancellationToken.None);
        }
        catch (Minio.Exceptions.MinioException)
        {
            // Another test project's fixture created the shared bucket at the same moment.
        }
    }
}

/// <summary>SyncManager's key-rotation and maintenance jobs through HeadyMe.Sync's real internal endpoints.</summary>
public sealed class HeadyMeJobsTests(HeadyMeFixture fx) : IClassFixture<HeadyMeFixture>
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private async Task<(JobDatabase Database, EngineInstance Engine)> EngineAsync()
    {
        var database = await JobDatabase.CreateAsync();
        var engine = new EngineInstance(database, "replica-a", new FakeTimeProvider(T0), new Ledger(), services =>
        {
            services.AddKeyedSingleton(InternalServiceClient.HeadyMeClient, (sp, _) =>
                new InternalServiceClient(fx.Factory.CreateClient(), new ServiceIdentityKey(fx.SigningKey), TimeProvider.System));
            services.AddSingleton<IJobHandler, KeyRotationHandler>();
            services.AddSingleton<IJobHandler, WorkspaceMaintenanceHandler>();
            services.AddSingleton<AuditMetrics>();
            services.AddScoped<AuditLog>();
        });
        return (database, engine);
    }

    private static async Task<Guid> EnqueueAsync(JobDatabase database, string type)
    {
        var definition = await database.AddDefinitionAsync(T0, maxAttempts: 1);
        await using (var db = database.NewContext())
        {
            definition.Type = type;
            definition.Payload = "{}";
            db.JobDefinitions.Update(definition);
            await db.SaveChangesAsync();
        }

        return Assert.Single(await database.EnqueueAsync(definition, T0));
    }

    [Fact]
    public async Task KeyRotationJobRotatesTheKekAndIsAudited()
    {
        var (database, engine) = await EngineAsync();
        await using var _ = database;
        await using var __ = engine;
        var id = await EnqueueAsync(database, JobTypes.KeyRotation);

        Assert.True(await engine.Engine.ProcessNextAsync(CancellationToken.None));

        var job = await database.GetJobAsync(id);
        Assert.True(job.State == JobStates.Succeeded, job.LastError);
        Assert.False(string.IsNullOrEmpty(job.Result));
        await using var db = database.NewContext();
        var audit = await db.AuditLog.AsNoTracking().SingleAsync(e => e.EventType == "key.rotated");
        Assert.Equal(($"job:{id}", "headyme-sync"), (audit.Actor, audit.Subject));
        using var details = JsonDocument.Parse(audit.Details);
        Assert.Equal(JsonValueKind.Object, details.RootElement.GetProperty("answer").ValueKind);
    }

    [Fact]
    public async Task WorkspaceMaintenanceJobRunsRetentionAndGc()
    {
        var (database, engine) = await EngineAsync();
        await using var _ = database;
        await using var __ = engine;
        var id = await EnqueueAsync(database, JobTypes.WorkspaceMaintenance);

        Assert.True(await engine.Engine.ProcessNextAsync(CancellationToken.None));

        var job = await database.GetJobAsync(id);
        Assert.True(job.State == JobStates.Succeeded, job.LastError);
        Assert.StartsWith("{", job.Result);
    }

    [Fact]
    public async Task HeadyMeRefusesAnotherServiceIdentityAndTheJobDiesWithItsAnswer()
    {
        var database = await JobDatabase.CreateAsync();
        await using var _ = database;
        await using var engine = new EngineInstance(database, "replica-a", new FakeTimeProvider(T0), new Ledger(), services =>
        {
            // Signed correctly but with the wrong key: HeadyMe cannot authenticate it.
            services.AddKeyedSingleton(InternalServiceClient.HeadyMeClient, (sp, _) =>
                new InternalServiceClient(fx.Factory.CreateClient(), new ServiceIdentityKey(RandomNumberGenerator.GetBytes(32)), TimeProvider.System));
            services.AddSingleton<IJobHandler, WorkspaceMaintenanceHandler>();
        });
        var id = await EnqueueAsync(database, JobTypes.WorkspaceMaintenance);

        Assert.True(await engine.Engine.ProcessNextAsync(CancellationToken.None));

        var job = await database.GetJobAsync(id);
        Assert.Equal(JobStates.Dead, job.State);
        Assert.Contains("401", job.LastError);
    }
}
