using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Time.Testing;
using SyncManager.Jobs;

namespace SyncManager.Tests.Engine;

/// <summary>The durable queue against the real PostgreSQL: two engine instances (separate DI containers) on one database.</summary>
public sealed class JobEngineTests
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task BurstOf200JobsOnTwoInstancesRunsEachExactlyOnce()
    {
        await using var database = await JobDatabase.CreateAsync();
        var ledger = new Ledger();
        var time = new FakeTimeProvider(T0);
        var definition = await database.AddDefinitionAsync(T0);
        var ids = await database.EnqueueAsync(definition, T0, 200);
        await using var a = new EngineInstance(database, "replica-a", time, ledger);
        await using var b = new EngineInstance(database, "replica-b", time, ledger);

        // Four loops per replica, each claiming until the queue is empty (as the worker's loops do).
        static async Task Drain(JobEngine engine)
        {
            while (await engine.ProcessNextAsync(CancellationToken.None))
            {
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 4).SelectMany(_ => new[] { Drain(a.Engine), Drain(b.Engine) }));

        Assert.Equal(200, ledger.Completions.Count);
        Assert.Equal(ids.Order(), ledger.Completions.Select(c => c.JobId).Order());
        Assert.All(ledger.Starts.GroupBy(s => s.JobId), g => Assert.Single(g));
        Assert.Contains(ledger.Completions, c => c.Worker == "replica-a");
        Assert.Contains(ledger.Completions, c => c.Worker == "replica-b");
        await using var db = database.NewContext();
        var jobs = await db.Jobs.AsNoTracking().Include(j => j.Attempts).ToListAsync();
        Assert.All(jobs, j =>
        {
            Assert.Equal(JobStates.Succeeded, j.State);
            Assert.Equal(1, j.Attempt);
            var attempt = Assert.Single(j.Attempts);
            Assert.Equal(AttemptOutcomes.Succeeded, attempt.Outcome);
            Assert.Null(j.LeaseOwner);
        });
    }

    [Fact]
    public async Task StalledWorkerLosesTheJobAfterLeaseExpiryAndItFinishesOnce()
    {
        await using var database = await JobDatabase.CreateAsync();
        var ledger = new Ledger();
        var definition = await database.AddDefinitionAsync(T0, mode: "block-first", leaseSeconds: 30);
        var id = Assert.Single(await database.EnqueueAsync(definition, T0));
        // Each replica has its own clock: replica A's never moves, so it never heartbeats (a frozen or dying process).
        var timeA = new FakeTimeProvider(T0);
        var timeB = new FakeTimeProvider(T0);
        await using var a = new EngineInstance(database, "replica-a", timeA, ledger);
        await using var b = new EngineInstance(database, "replica-b", timeB, ledger);

        var runA = a.Engine.ProcessNextAsync(CancellationToken.None);
        var started = await ledger.Started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal((id, "replica-a"), started);

        // Within the lease nobody else may take it.
        timeB.Advance(TimeSpan.FromSeconds(29));
        Assert.False(await b.Engine.ProcessNextAsync(CancellationToken.None));

        // After it, replica B reaps the lease and runs attempt 2 to the end.
        timeB.Advance(TimeSpan.FromSeconds(2));
        Assert.True(await b.Engine.ProcessNextAsync(CancellationToken.None));
        var job = await database.GetJobAsync(id);
        Assert.Equal(JobStates.Succeeded, job.State);
        Assert.Equal("done by replica-b", job.Result);

        // Replica A wakes up and finishes its stale attempt: fenced out, nothing recorded, the job stays finished once.
        ledger.Gate.SetResult();
        Assert.True(await runA.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(RunOutcome.LeaseLost, await a.Engine.ExecuteAsync(
            new ClaimedJob(id, definition.Id, TestHandler.TypeName, "{\"mode\":\"ok\"}", 1, 5, 10, 10, 30, "replica-a", T0.AddSeconds(30)), CancellationToken.None));

        job = await database.GetJobAsync(id);
        Assert.Equal(JobStates.Succeeded, job.State);
        Assert.Equal("done by replica-b", job.Result);
        Assert.Equal(2, job.Attempt);
        Assert.Collection(job.Attempts.OrderBy(x => x.Attempt),
            first =>
            {
                Assert.Equal(("replica-a", AttemptOutcomes.LeaseExpired), (first.Worker, first.Outcome));
                Assert.Contains("lease of worker replica-a expired", first.Error);
            },
            second => Assert.Equal(("replica-b", AttemptOutcomes.Succeeded), (second.Worker, second.Outcome)));
        Assert.Single(ledger.Completions, c => c.JobId == id && c.Worker == "replica-b");
    }

    [Fact]
    public async Task HeartbeatsExtendTheLeaseSoALiveWorkerKeepsItsJob()
    {
        await using var database = await JobDatabase.CreateAsync();
        var ledger = new Ledger();
        var definition = await database.AddDefinitionAsync(T0, mode: "block", leaseSeconds: 30);
        var id = Assert.Single(await database.EnqueueAsync(definition, T0));
        var time = new FakeTimeProvider(T0);
        await using var a = new EngineInstance(database, "replica-a", time, ledger);
        await using var b = new EngineInstance(database, "replica-b", time, ledger);
        using var stop = new CancellationTokenSource();

        var runA = a.Engine.ProcessNextAsync(stop.Token);
        await ledger.Started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        // Four heartbeats (every 10 s) take the clock past the first lease (30 s); each beat renews it. The clock is
        // stepped 1 s at a time until each beat lands: the worker registers its next heartbeat timer a moment after
        // writing a beat, and a fake clock moved past that moment would postpone the beat (a flaky test, not a bug).
        var lastBeat = T0;
        for (var beats = 0; beats < 4; beats++)
        {
            await WaitForAsync(async () =>
            {
                if ((await database.GetJobAsync(id)).HeartbeatAt is { } beat && beat > lastBeat)
                {
                    lastBeat = beat;
                    return true;
                }

                time.Advance(TimeSpan.FromSeconds(1));
                return false;
            });
        }

        Assert.True(time.GetUtcNow() > T0.AddSeconds(30), "the clock never passed the first lease");
        Assert.False(await b.Engine.ProcessNextAsync(CancellationToken.None));
        var job = await database.GetJobAsync(id);
        Assert.Equal(("replica-a", JobStates.Running, lastBeat.AddSeconds(30)), (job.LeaseOwner, job.State, job.LeaseExpiresAt));

        // Shutdown hands the job back without spending an attempt.
        await stop.CancelAsync();
        Assert.True(await runA.WaitAsync(TimeSpan.FromSeconds(30)));
        job = await database.GetJobAsync(id);
        Assert.Equal(JobStates.Pending, job.State);
        Assert.Equal(AttemptOutcomes.Interrupted, Assert.Single(job.Attempts).Outcome);
    }

    [Fact]
    public async Task FailuresRetryWithExponentialBackoffThenDeadLetterAfterMaxAttempts()
    {
        await using var database = await JobDatabase.CreateAsync();
        var ledger = new Ledger();
        var definition = await database.AddDefinitionAsync(T0, mode: "fail", maxAttempts: 3, backoffBase: 10, backoffMax: 3600);
        var id = Assert.Single(await database.EnqueueAsync(definition, T0));
        var time = new FakeTimeProvider(T0);
        await using var a = new EngineInstance(database, "replica-a", time, ledger);

        // Attempt 1 fails: next try between 5 and 10 s later (base 10 s, equal jitter).
        Assert.True(await a.Engine.ProcessNextAsync(CancellationToken.None));
        var job = await database.GetJobAsync(id);
        Assert.Equal((JobStates.Pending, 1), (job.State, job.Attempt));
        Assert.InRange(job.RunAfter, T0.AddSeconds(5), T0.AddSeconds(10));
        Assert.Contains("boom on attempt 1", job.LastError);

        // Not before that time.
        time.SetUtcNow(job.RunAfter.AddMilliseconds(-1));
        Assert.False(await a.Engine.ProcessNextAsync(CancellationToken.None));

        // Attempt 2 fails: between 10 and 20 s later.
        time.SetUtcNow(job.RunAfter);
        var second = time.GetUtcNow();
        Assert.True(await a.Engine.ProcessNextAsync(CancellationToken.None));
        job = await database.GetJobAsync(id);
        Assert.Equal((JobStates.Pending, 2), (job.State, job.Attempt));
        Assert.InRange(job.RunAfter, second.AddSeconds(10), second.AddSeconds(20));

        // Attempt 3 of 3 fails: dead letter, with every attempt's error kept.
        time.SetUtcNow(job.RunAfter);
        Assert.True(await a.Engine.ProcessNextAsync(CancellationToken.None));
        job = await database.GetJobAsync(id);
        Assert.Equal((JobStates.Dead, 3), (job.State, job.Attempt));
        Assert.Contains("attempt 3 of 3; dead-lettered", job.LastError);
        Assert.NotNull(job.FinishedAt);
        Assert.Equal([1, 2, 3], job.Attempts.OrderBy(x => x.Attempt).Select(x => x.Attempt));
        Assert.All(job.Attempts, x =>
        {
            Assert.Equal(AttemptOutcomes.Failed, x.Outcome);
            Assert.Contains($"boom on attempt {x.Attempt}", x.Error);
        });

        // Dead means no further attempt, however long we wait.
        time.Advance(TimeSpan.FromDays(1));
        Assert.False(await a.Engine.ProcessNextAsync(CancellationToken.None));
        Assert.Equal(3, ledger.Starts.Count);
    }

    [Fact]
    public async Task PermanentFailureGoesStraightToDeadLetter()
    {
        await using var database = await JobDatabase.CreateAsync();
        var ledger = new Ledger();
        var definition = await database.AddDefinitionAsync(T0, mode: "permanent", maxAttempts: 5);
        var id = Assert.Single(await database.EnqueueAsync(definition, T0));
        await using var a = new EngineInstance(database, "replica-a", new FakeTimeProvider(T0), ledger);

        Assert.True(await a.Engine.ProcessNextAsync(CancellationToken.None));

        var job = await database.GetJobAsync(id);
        Assert.Equal((JobStates.Dead, 1), (job.State, job.Attempt));
        Assert.Contains("the payload names nothing that exists", job.LastError);
    }

    [Fact]
    public async Task CancellingARunningJobFiresItsTokenAtTheNextHeartbeat()
    {
        await using var database = await JobDatabase.CreateAsync();
        var ledger = new Ledger();
        var definition = await database.AddDefinitionAsync(T0, mode: "block", leaseSeconds: 30);
        var id = Assert.Single(await database.EnqueueAsync(definition, T0));
        var time = new FakeTimeProvider(T0);
        await using var a = new EngineInstance(database, "replica-a", time, ledger);

        var run = a.Engine.ProcessNextAsync(CancellationToken.None);
        await ledger.Started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await using (var db = database.NewContext())
        {
            Assert.Equal(1, await JobEngine.RequestCancelAsync(db, id, time.GetUtcNow(), CancellationToken.None));
        }

        Assert.Equal(JobStates.Running, (await database.GetJobAsync(id)).State);
        // The next heartbeat (10 s) sees the request. Step the clock until the run ends: the heartbeat timer may be
        // registered a moment after the handler started, and a single 10 s jump could land before it.
        for (var i = 0; i < 600 && !run.IsCompleted; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.WhenAny(run, Task.Delay(50));
        }

        Assert.True(await run.WaitAsync(TimeSpan.FromSeconds(30)));

        var job = await database.GetJobAsync(id);
        Assert.Equal(JobStates.Cancelled, job.State);
        Assert.Equal(AttemptOutcomes.Cancelled, Assert.Single(job.Attempts).Outcome);
        Assert.Empty(ledger.Completions);
    }

    [Fact]
    public async Task CancelledPendingJobNeverRuns()
    {
        await using var database = await JobDatabase.CreateAsync();
        var ledger = new Ledger();
        var definition = await database.AddDefinitionAsync(T0);
        var id = Assert.Single(await database.EnqueueAsync(definition, T0));
        await using var a = new EngineInstance(database, "replica-a", new FakeTimeProvider(T0), ledger);
        await using (var db = database.NewContext())
        {
            Assert.Equal(1, await JobEngine.RequestCancelAsync(db, id, T0, CancellationToken.None));
            Assert.Equal(0, await JobEngine.RequestCancelAsync(db, id, T0, CancellationToken.None));
        }

        Assert.False(await a.Engine.ProcessNextAsync(CancellationToken.None));
        Assert.Equal(JobStates.Cancelled, (await database.GetJobAsync(id)).State);
        Assert.Empty(ledger.Starts);
    }

    [Fact]
    public async Task CronOccurrenceIsEnqueuedExactlyOnceAcrossReplicasAcrossDst()
    {
        await using var database = await JobDatabase.CreateAsync();
        var ledger = new Ledger();
        // 02:30 Berlin time daily; the night of 29 March 2026 has no 02:30 (clocks jump 02:00 → 03:00).
        var start = new DateTimeOffset(2026, 3, 28, 12, 0, 0, TimeSpan.Zero);
        var definition = await database.AddDefinitionAsync(start, cron: "30 2 * * *", timeZone: "Europe/Berlin");
        Assert.Equal(new DateTimeOffset(2026, 3, 29, 1, 0, 0, TimeSpan.Zero), definition.NextRunAt); // 03:00 CEST
        var time = new FakeTimeProvider(start);
        await using var a = new EngineInstance(database, "replica-a", time, ledger);
        await using var b = new EngineInstance(database, "replica-b", time, ledger);

        Assert.Equal(0, await a.Engine.ScheduleDueAsync(CancellationToken.None));
        time.SetUtcNow(new DateTimeOffset(2026, 3, 29, 1, 0, 5, TimeSpan.Zero));
        var counts = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => (i % 2 == 0 ? a : b).Engine.ScheduleDueAsync(CancellationToken.None)));
        Assert.Equal(1, counts.Sum());
        // The next day is back to 02:30 CEST = 00:30 UTC.
        time.SetUtcNow(new DateTimeOffset(2026, 3, 30, 0, 30, 0, TimeSpan.Zero));
        counts = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => (i % 2 == 0 ? a : b).Engine.ScheduleDueAsync(CancellationToken.None)));
        Assert.Equal(1, counts.Sum());

        await using var db = database.NewContext();
        var scheduled = await db.Jobs.AsNoTracking().Where(j => j.DefinitionId == definition.Id).OrderBy(j => j.ScheduledFor).Select(j => j.ScheduledFor).ToListAsync();
        Assert.Equal([new DateTimeOffset(2026, 3, 29, 1, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 3, 30, 0, 30, 0, TimeSpan.Zero)], scheduled);
        var stored = await db.JobDefinitions.AsNoTracking().SingleAsync(d => d.Id == definition.Id);
        Assert.Equal(new DateTimeOffset(2026, 3, 31, 0, 30, 0, TimeSpan.Zero), stored.NextRunAt);

        // The unique (definition, occurrence) holds even against a direct second insert.
        var d = await db.JobDefinitions.AsNoTracking().SingleAsync(x => x.Id == definition.Id);
        Assert.Equal(0, await JobEngine.InsertJobAsync(db, d, JobTriggers.Schedule, scheduled[0], null, time.GetUtcNow(), CancellationToken.None));
    }

    [Fact]
    public async Task MissedOccurrencesWhileDownAreEnqueuedOnceNotReplayed()
    {
        await using var database = await JobDatabase.CreateAsync();
        var ledger = new Ledger();
        var definition = await database.AddDefinitionAsync(T0, cron: "*/5 * * * *");
        var time = new FakeTimeProvider(T0);
        await using var a = new EngineInstance(database, "replica-a", time, ledger);

        time.Advance(TimeSpan.FromHours(1)); // twelve occurrences missed
        Assert.Equal(1, await a.Engine.ScheduleDueAsync(CancellationToken.None));
        Assert.Equal(0, await a.Engine.ScheduleDueAsync(CancellationToken.None));
        await using var db = database.NewContext();
        Assert.Equal(T0.AddMinutes(65), (await db.JobDefinitions.AsNoTracking().SingleAsync(d => d.Id == definition.Id)).NextRunAt);
    }

    [Fact]
    public async Task MetricsReportQueueDepthOldestPendingDeadLettersAndDurations()
    {
        await using var database = await JobDatabase.CreateAsync();
        var ledger = new Ledger();
        var time = new FakeTimeProvider(T0);
        var failing = await database.AddDefinitionAsync(T0, mode: "permanent");
        var ok = await database.AddDefinitionAsync(T0);
        await database.EnqueueAsync(failing, T0);
        await database.EnqueueAsync(ok, T0.AddSeconds(30), 3);
        await using var a = new EngineInstance(database, "replica-a", time, ledger);
        var durations = new List<(double Value, string Outcome)>();
        using var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == JobMetrics.MeterName && instrument.Name == "heady.jobs.duration")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            // The listener sees every engine in the process: keep this class's test type only (its tests run one at a time).
            string? type = null, outcome = null;
            foreach (var tag in tags)
            {
                type = tag.Key == "job.type" ? (string?)tag.Value : type;
                outcome = tag.Key == "job.outcome" ? (string?)tag.Value : outcome;
            }

            if (type == TestHandler.TypeName)
            {
                lock (durations)
                {
                    durations.Add((value, outcome!));
                }
            }
        });
        listener.Start();
        var metrics = a.Metrics;

        time.SetUtcNow(T0.AddSeconds(100));
        await using (var db = database.NewContext())
        {
            var before = await metrics.SampleAsync(db, time.GetUtcNow(), CancellationToken.None);
            Assert.Equal(new QueueSnapshot(4, 100, 0, 0, 0), before);
        }

        Assert.True(await a.Engine.ProcessNextAsync(CancellationToken.None)); // the oldest: the permanent failure
        await using (var db = database.NewContext())
        {
            var after = await metrics.SampleAsync(db, time.GetUtcNow(), CancellationToken.None);
            Assert.Equal(new QueueSnapshot(3, 70, 1, 0, 0), after);
        }

        Assert.Equal("dead", Assert.Single(durations).Outcome);
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        // Waits for the worker's asynchronous heartbeat to land (bounded so a broken engine fails instead of hanging).
        for (var i = 0; i < 600; i++)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail("condition not reached");
    }
}
