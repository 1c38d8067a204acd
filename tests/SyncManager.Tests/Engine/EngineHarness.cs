using System.Collections.Concurrent;
using System.Text.Json;
using HeadyClouds.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using SyncManager.Infrastructure;
using SyncManager.Jobs;

namespace SyncManager.Tests.Engine;

/// <summary>A fresh database of the real PostgreSQL server with SyncManager's migrations; dropped at the end.</summary>
public sealed class JobDatabase : IAsyncLifetime, IAsyncDisposable
{
    public static async Task<JobDatabase> CreateAsync()
    {
        var db = new JobDatabase();
        await db.InitializeAsync();
        return db;
    }

    public string Name { get; } = TestDatabases.NewName("jobs");

    public string ConnectionString => TestDatabases.ConnectionString(Name);

    public async Task InitializeAsync()
    {
        await TestDatabases.CreateAsync(Name);
        await using var db = NewContext();
        await db.Database.MigrateAsync();
    }

    public Task DisposeAsync() => TestDatabases.DropAsync(Name);

    ValueTask IAsyncDisposable.DisposeAsync() => new(DisposeAsync());

    public SyncManagerDbContext NewContext() =>
        new(new DbContextOptionsBuilder<SyncManagerDbContext>().UseNpgsql(ConnectionString).Options);

    public async Task<JobDefinition> AddDefinitionAsync(DateTimeOffset now, string mode = "ok", int maxAttempts = 5, int backoffBase = 10,
        int backoffMax = 3600, int leaseSeconds = 30, string? cron = null, string timeZone = "UTC")
    {
        await using var db = NewContext();
        var d = new JobDefinition
        {
            Id = Guid.CreateVersion7(),
            Name = "test-" + Callers.Unique(),
            Type = TestHandler.TypeName,
            Cron = cron,
            TimeZone = timeZone,
            Payload = JsonSerializer.Serialize(new { mode }),
            MaxAttempts = maxAttempts,
            BackoffBaseSeconds = backoffBase,
            BackoffMaxSeconds = backoffMax,
            LeaseSeconds = leaseSeconds,
            CreatedAt = now,
            UpdatedAt = now,
        };
        d.NextRunAt = CronSchedule.NextRunFor(d, now);
        db.JobDefinitions.Add(d);
        await db.SaveChangesAsync();
        return d;
    }

    /// <summary>Enqueues on-demand runs as the API does.</summary>
    public async Task<List<Guid>> EnqueueAsync(JobDefinition d, DateTimeOffset now, int count = 1)
    {
        await using var db = NewContext();
        var ids = new List<Guid>();
        for (var i = 0; i < count; i++)
        {
            var id = Guid.CreateVersion7();
            Assert.Equal(1, await JobEngine.InsertJobAsync(db, d, JobTriggers.Api, null, null, now, CancellationToken.None, id));
            ids.Add(id);
        }

        return ids;
    }

    public async Task<Job> GetJobAsync(Guid id)
    {
        await using var db = NewContext();
        return await db.Jobs.AsNoTracking().Include(j => j.Attempts).SingleAsync(j => j.Id == id);
    }
}

/// <summary>What the test handler did, shared by every engine of a test (as the outside world would see it).</summary>
public sealed class Ledger
{
    public ConcurrentQueue<(Guid JobId, int Attempt, string Worker)> Starts { get; } = new();

    public ConcurrentQueue<(Guid JobId, int Attempt, string Worker)> Completions { get; } = new();

    /// <summary>Released by the test to let "block-first" attempts finish.</summary>
    public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completed when a handler has started (the test waits for it rather than sleeping).</summary>
    public TaskCompletionSource<(Guid JobId, string Worker)> Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// Behaviour by payload mode: ok; fail (always throws); permanent (PermanentJobException); block (until cancelled);
/// block-first (attempt 1 waits for the gate, later attempts succeed).
/// </summary>
public sealed class TestHandler(Ledger ledger) : IJobHandler
{
    public const string TypeName = "test";

    public string Type => TypeName;

    public async Task<string?> RunAsync(JobContext context, CancellationToken ct)
    {
        ledger.Starts.Enqueue((context.JobId, context.Attempt, context.Worker));
        ledger.Started.TrySetResult((context.JobId, context.Worker));
        switch (context.Payload.GetProperty("mode").GetString())
        {
            case "fail":
                throw new InvalidOperationException($"boom on attempt {context.Attempt}");
            case "permanent":
                throw new PermanentJobException("the payload names nothing that exists");
            case "block":
                await Task.Delay(Timeout.Infinite, ct);
                break;
            case "block-first" when context.Attempt == 1:
                // Ignores cancellation on purpose: a stalled worker that eventually finishes anyway.
                await ledger.Gate.Task;
                break;
        }

        ledger.Completions.Enqueue((context.JobId, context.Attempt, context.Worker));
        return $"done by {context.Worker}";
    }
}

/// <summary>One SyncManager replica's job engine in its own DI container (separate pools of scopes, own clock).</summary>
public sealed class EngineInstance : IAsyncDisposable
{
    private readonly ServiceProvider services;

    public EngineInstance(JobDatabase database, string worker, FakeTimeProvider time, Ledger ledger, Action<IServiceCollection>? configure = null)
    {
        Time = time;
        var collection = new ServiceCollection();
        collection.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        collection.AddMetrics();
        collection.AddSingleton<TimeProvider>(time);
        collection.AddDbContext<SyncManagerDbContext>(o => o.UseNpgsql(database.ConnectionString));
        collection.AddSingleton(Options.Create(new JobEngineOptions { WorkerId = worker, HeartbeatsPerLease = 3 }));
        collection.AddSingleton(ledger);
        collection.AddSingleton<IJobHandler, TestHandler>();
        collection.AddSingleton<JobHandlerRegistry>();
        collection.AddSingleton<JobMetrics>();
        collection.AddSingleton<JobEngine>();
        configure?.Invoke(collection);
        services = collection.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true });
        Engine = services.GetRequiredService<JobEngine>();
        Metrics = services.GetRequiredService<JobMetrics>();
    }

    public JobMetrics Metrics { get; }

    public JobEngine Engine { get; }

    public FakeTimeProvider Time { get; }

    public ValueTask DisposeAsync() => services.DisposeAsync();
}
