using System.Diagnostics;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using SyncManager.Infrastructure;

namespace SyncManager.Jobs;

public enum HeartbeatResult
{
    Renewed,
    CancelRequested,
    LeaseLost,
}

public enum RunOutcome
{
    Succeeded,
    Retrying,
    Dead,
    Cancelled,
    Interrupted,
    LeaseLost,
}

/// <summary>A job this worker holds the lease of (attempt number and lease owner fence every later write).</summary>
public sealed record ClaimedJob(Guid Id, Guid DefinitionId, string Type, string Payload, int Attempt, int MaxAttempts,
    int BackoffBaseSeconds, int BackoffMaxSeconds, int LeaseSeconds, string Worker, DateTimeOffset LeaseExpiresAt)
{
    public TimeSpan Lease => TimeSpan.FromSeconds(LeaseSeconds);
}

/// <summary>
/// The durable queue in PostgreSQL. Claiming takes one due pending job with <c>FOR UPDATE SKIP LOCKED</c> and sets a
/// lease; the running worker renews it by heartbeat; every write after the claim is fenced by (lease owner, attempt),
/// so a worker whose lease expired and was taken over can neither renew nor complete. Expired leases are reaped back
/// to pending (or dead when no attempts are left). All times come from the injected <see cref="TimeProvider"/>.
/// See docs/decisions/0007-job-engine.md.
/// </summary>
public sealed class JobEngine(
    IServiceScopeFactory scopes,
    IOptions<JobEngineOptions> options,
    JobHandlerRegistry handlers,
    JobMetrics metrics,
    TimeProvider time,
    ILogger<JobEngine> logger)
{
    public const int MaxErrorLength = 4000;

    private readonly string worker = options.Value.WorkerId
        ?? $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..6]}";

    public string WorkerId => worker;

    /// <summary>Enqueues the due cron occurrence of every scheduled definition, once across all replicas.</summary>
    public async Task<int> ScheduleDueAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SyncManagerDbContext>();
        var now = time.GetUtcNow();
        var strategy = db.Database.CreateExecutionStrategy();
        return await strategy.ExecuteAsync(async () =>
        {
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            // Row locks: another replica's scheduler skips a definition this one is enqueuing.
            var due = await db.JobDefinitions
                .FromSql($"SELECT * FROM job_definitions WHERE enabled AND cron IS NOT NULL AND next_run_at <= {now} ORDER BY next_run_at FOR UPDATE SKIP LOCKED")
                .ToListAsync(ct);
            var enqueued = 0;
            foreach (var definition in due)
            {
                // A replica that was down for several occurrences enqueues the oldest missed one, then moves on to
                // the next occurrence after now: missed runs are not replayed one by one.
                enqueued += await InsertJobAsync(db, definition, JobTriggers.Schedule, definition.NextRunAt, null, now, ct);
                definition.NextRunAt = CronSchedule.NextRunFor(definition, now);
            }

            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
            return enqueued;
        });
    }

    /// <summary>Inserts a run of the definition; 0 when that occurrence or idempotency key already exists.</summary>
    internal static Task<int> InsertJobAsync(SyncManagerDbContext db, JobDefinition d, string trigger, DateTimeOffset? scheduledFor,
        string? idempotencyKey, DateTimeOffset now, CancellationToken ct, Guid? id = null)
    {
        var jobId = id ?? Guid.CreateVersion7();
        return db.Database.ExecuteSqlAsync($"""
            INSERT INTO jobs (id, definition_id, type, payload, state, trigger, scheduled_for, idempotency_key, attempt, max_attempts,
                              backoff_base_seconds, backoff_max_seconds, lease_seconds, run_after, created_at)
            VALUES ({jobId}, {d.Id}, {d.Type}, {d.Payload}, 'pending', {trigger}, {scheduledFor}, {idempotencyKey}, 0, {d.MaxAttempts},
                    {d.BackoffBaseSeconds}, {d.BackoffMaxSeconds}, {d.LeaseSeconds}, {now}, {now})
            ON CONFLICT DO NOTHING
            """, ct);
    }

    /// <summary>
    /// Cancels a pending run at once; flags a running one, whose worker sees the flag at its next heartbeat and
    /// cancels the handler's token. 0 when the run is not pending or running.
    /// </summary>
    public static Task<int> RequestCancelAsync(SyncManagerDbContext db, Guid id, DateTimeOffset now, CancellationToken ct) =>
        db.Database.ExecuteSqlAsync($"""
            UPDATE jobs SET cancel_requested_at = COALESCE(cancel_requested_at, {now}),
                state = CASE WHEN state = 'pending' THEN 'cancelled' ELSE state END,
                finished_at = CASE WHEN state = 'pending' THEN {now} ELSE finished_at END
            WHERE id = {id} AND state IN ('pending', 'running')
            """, ct);

    /// <summary>Returns jobs whose lease expired to the queue (their worker died or stalled); dead when out of attempts.</summary>
    public async Task<int> ReapExpiredAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SyncManagerDbContext>();
        var now = time.GetUtcNow();
        var reaped = await db.Database.SqlQuery<ReapedRow>($"""
            WITH expired AS (
                SELECT id FROM jobs WHERE state = 'running' AND lease_expires_at < {now} FOR UPDATE SKIP LOCKED
            ), j AS (
                UPDATE jobs SET
                    state = CASE WHEN jobs.cancel_requested_at IS NOT NULL THEN 'cancelled'
                                 WHEN jobs.attempt >= jobs.max_attempts THEN 'dead' ELSE 'pending' END,
                    run_after = {now},
                    last_error = 'attempt ' || jobs.attempt || ': lease of worker ' || jobs.lease_owner || ' expired (no heartbeat)',
                    finished_at = CASE WHEN jobs.cancel_requested_at IS NOT NULL OR jobs.attempt >= jobs.max_attempts THEN {now} END,
                    lease_owner = NULL, lease_expires_at = NULL
                FROM expired WHERE jobs.id = expired.id
                RETURNING jobs.id, jobs.attempt, jobs.state, jobs.type, jobs.last_error
            ), a AS (
                UPDATE job_attempts SET finished_at = {now}, outcome = 'lease-expired', error = j.last_error
                FROM j WHERE job_attempts.job_id = j.id AND job_attempts.attempt = j.attempt
            )
            SELECT id AS "Id", state AS "State", type AS "Type" FROM j
            """).ToListAsync(ct);
        foreach (var row in reaped)
        {
            logger.LogWarning("Job {JobId} ({Type}): lease expired without heartbeat; now {State}", row.Id, row.Type, row.State);
            if (row.State == JobStates.Dead)
            {
                metrics.DeadLettered(row.Type);
            }
        }

        return reaped.Count;
    }

    private sealed record ReapedRow(Guid Id, string State, string Type);

    /// <summary>Takes the oldest due pending job, if any, with a fresh lease held by this worker.</summary>
    public async Task<ClaimedJob?> TryClaimAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SyncManagerDbContext>();
        var now = time.GetUtcNow();
        var claimed = await db.Jobs.FromSql($"""
            WITH next AS (
                SELECT id FROM jobs WHERE state = 'pending' AND run_after <= {now}
                ORDER BY run_after, created_at LIMIT 1 FOR UPDATE SKIP LOCKED
            ), claimed AS (
                UPDATE jobs SET state = 'running', attempt = jobs.attempt + 1, lease_owner = {worker},
                    lease_expires_at = {now} + make_interval(secs => jobs.lease_seconds), heartbeat_at = {now},
                    started_at = COALESCE(jobs.started_at, {now})
                FROM next WHERE jobs.id = next.id
                RETURNING jobs.*
            ), attempt AS (
                INSERT INTO job_attempts (job_id, attempt, worker, started_at, outcome)
                SELECT id, attempt, {worker}, {now}, 'running' FROM claimed
            )
            SELECT * FROM claimed
            """).AsNoTracking().ToListAsync(ct);
        if (claimed.Count == 0)
        {
            return null;
        }

        var j = claimed[0];
        return new ClaimedJob(j.Id, j.DefinitionId, j.Type, j.Payload, j.Attempt, j.MaxAttempts, j.BackoffBaseSeconds,
            j.BackoffMaxSeconds, j.LeaseSeconds, worker, j.LeaseExpiresAt!.Value);
    }

    /// <summary>Renews the lease; tells the worker to stop when the job was cancelled or the lease is no longer its own.</summary>
    public async Task<HeartbeatResult> HeartbeatAsync(ClaimedJob job, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SyncManagerDbContext>();
        var now = time.GetUtcNow();
        var expires = now + job.Lease;
        var rows = await db.Database.SqlQuery<HeartbeatRow>($"""
            UPDATE jobs SET heartbeat_at = {now}, lease_expires_at = {expires}
            WHERE id = {job.Id} AND state = 'running' AND lease_owner = {job.Worker} AND attempt = {job.Attempt}
            RETURNING cancel_requested_at AS "CancelRequestedAt"
            """).ToListAsync(ct);
        return rows.Count == 0 ? HeartbeatResult.LeaseLost
            : rows[0].CancelRequestedAt is not null ? HeartbeatResult.CancelRequested
            : HeartbeatResult.Renewed;
    }

    private sealed record HeartbeatRow(DateTimeOffset? CancelRequestedAt);

    /// <summary>Reaps, claims and runs one job; false when nothing was due.</summary>
    public async Task<bool> ProcessNextAsync(CancellationToken ct)
    {
        await ReapExpiredAsync(ct);
        var job = await TryClaimAsync(ct);
        if (job is null)
        {
            return false;
        }

        await ExecuteAsync(job, ct);
        return true;
    }

    /// <summary>
    /// Runs the handler while heartbeating every lease/N. The handler's token fires when the job is cancelled, the
    /// lease is lost (or cannot be renewed before it expires), or <paramref name="stopping"/> fires (shutdown).
    /// </summary>
    public async Task<RunOutcome> ExecuteAsync(ClaimedJob job, CancellationToken stopping)
    {
        var handler = handlers.Find(job.Type);
        using var run = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        using var heartbeats = new CancellationTokenSource();
        var started = time.GetTimestamp();
        HeartbeatResult? stopReason = null;
        string? result = null;
        Exception? failure = null;

        var handlerTask = handler is null
            ? Task.FromException<string?>(new PermanentJobException($"No handler for job type '{job.Type}' in this SyncManager version."))
            : Task.Run(() => handler.RunAsync(new JobContext(job.Id, job.DefinitionId, job.Type, ParsePayload(job.Payload), job.Attempt, job.Worker), run.Token), CancellationToken.None);

        var interval = job.Lease / Math.Max(2, options.Value.HeartbeatsPerLease);
        var leaseExpires = job.LeaseExpiresAt;
        while (!handlerTask.IsCompleted)
        {
            var tick = Task.Delay(interval, time, heartbeats.Token);
            await Task.WhenAny(handlerTask, tick);
            if (handlerTask.IsCompleted)
            {
                break;
            }

            HeartbeatResult beat;
            try
            {
                var now = time.GetUtcNow();
                beat = await HeartbeatAsync(job, CancellationToken.None);
                if (beat == HeartbeatResult.Renewed)
                {
                    leaseExpires = now + job.Lease;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Cannot reach the database: keep going while the lease we hold is still valid, stop once it is not,
                // because by then another replica may have taken the job.
                logger.LogWarning(e, "Job {JobId}: heartbeat failed", job.Id);
                beat = time.GetUtcNow() >= leaseExpires ? HeartbeatResult.LeaseLost : HeartbeatResult.Renewed;
            }

            if (beat != HeartbeatResult.Renewed)
            {
                stopReason = beat;
                await run.CancelAsync();
                break;
            }
        }

        await heartbeats.CancelAsync();
        try
        {
            result = await handlerTask;
        }
        catch (Exception e)
        {
            failure = e;
        }

        var elapsed = time.GetElapsedTime(started);
        if (stopReason == HeartbeatResult.LeaseLost)
        {
            logger.LogWarning("Job {JobId}: lease lost during attempt {Attempt}; another worker owns it now, nothing recorded", job.Id, job.Attempt);
            metrics.Finished(job.Type, "lease-lost", elapsed);
            return RunOutcome.LeaseLost;
        }

        RunOutcome outcome;
        if (stopReason == HeartbeatResult.CancelRequested)
        {
            outcome = await CompleteAsync(job, JobStates.Cancelled, AttemptOutcomes.Cancelled, "cancelled by an admin", null, null) ? RunOutcome.Cancelled : RunOutcome.LeaseLost;
        }
        else if (failure is null)
        {
            outcome = await CompleteAsync(job, JobStates.Succeeded, AttemptOutcomes.Succeeded, null, Truncate(result), null) ? RunOutcome.Succeeded : RunOutcome.LeaseLost;
        }
        else if (stopping.IsCancellationRequested && failure is OperationCanceledException)
        {
            // Shutdown, not the job's fault: hand it back at once and do not count the attempt against it.
            outcome = await CompleteAsync(job, JobStates.Pending, AttemptOutcomes.Interrupted, "worker shut down during the attempt", null, time.GetUtcNow(), refundAttempt: true)
                ? RunOutcome.Interrupted : RunOutcome.LeaseLost;
        }
        else
        {
            var error = Describe(failure);
            var permanent = failure is PermanentJobException;
            if (permanent || job.Attempt >= job.MaxAttempts)
            {
                var reason = permanent ? error : $"{error} (attempt {job.Attempt} of {job.MaxAttempts}; dead-lettered)";
                outcome = await CompleteAsync(job, JobStates.Dead, AttemptOutcomes.Failed, reason, null, null) ? RunOutcome.Dead : RunOutcome.LeaseLost;
                if (outcome == RunOutcome.Dead)
                {
                    metrics.DeadLettered(job.Type);
                }
            }
            else
            {
                var retryAt = time.GetUtcNow() + RetryPolicy.Delay(job.Attempt, job.BackoffBaseSeconds, job.BackoffMaxSeconds, Random.Shared.NextDouble());
                outcome = await CompleteAsync(job, JobStates.Pending, AttemptOutcomes.Failed, error, null, retryAt) ? RunOutcome.Retrying : RunOutcome.LeaseLost;
            }

            logger.LogWarning(failure, "Job {JobId} ({Type}) attempt {Attempt} failed: {Outcome}", job.Id, job.Type, job.Attempt, outcome);
            metrics.Failed(job.Type);
        }

        metrics.Finished(job.Type, outcome.ToString().ToLowerInvariant(), elapsed);
        return outcome;
    }

    /// <summary>Records the attempt's end and the job's next state, only while this worker still holds the lease.</summary>
    private async Task<bool> CompleteAsync(ClaimedJob job, string state, string attemptOutcome, string? error, string? result,
        DateTimeOffset? runAfter, bool refundAttempt = false)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SyncManagerDbContext>();
        var now = time.GetUtcNow();
        var terminal = state is not JobStates.Pending;
        DateTimeOffset? finished = terminal ? now : null;
        var truncated = Truncate(error);
        // Cancellation requested while the handler was finishing wins over a retry: the admin asked it to stop.
        var rows = await db.Database.ExecuteSqlAsync($"""
            WITH j AS (
                UPDATE jobs SET
                    state = CASE WHEN {state} = 'pending' AND cancel_requested_at IS NOT NULL THEN 'cancelled' ELSE {state} END,
                    finished_at = CASE WHEN {state} = 'pending' AND cancel_requested_at IS NOT NULL THEN {now} ELSE {finished} END,
                    run_after = COALESCE({runAfter}, run_after),
                    last_error = COALESCE({truncated}, last_error),
                    result = {result},
                    lease_owner = NULL, lease_expires_at = NULL,
                    max_attempts = max_attempts + CASE WHEN {refundAttempt} THEN 1 ELSE 0 END
                WHERE id = {job.Id} AND state = 'running' AND lease_owner = {job.Worker} AND attempt = {job.Attempt}
                RETURNING id
            )
            UPDATE job_attempts SET finished_at = {now}, outcome = {attemptOutcome}, error = {truncated}
            FROM j WHERE job_attempts.job_id = j.id AND job_attempts.attempt = {job.Attempt}
            """, CancellationToken.None);
        if (rows == 0)
        {
            logger.LogWarning("Job {JobId}: attempt {Attempt} ended ({Outcome}) after its lease was taken over; not recorded", job.Id, job.Attempt, attemptOutcome);
        }

        return rows > 0;
    }

    private static JsonElement ParsePayload(string payload)
    {
        using var doc = JsonDocument.Parse(payload);
        return doc.RootElement.Clone();
    }

    private static string Describe(Exception e) => e switch
    {
        OperationCanceledException => "the attempt was cancelled (timeout)",
        _ => $"{e.GetType().Name}: {e.Message}",
    };

    private static string? Truncate(string? text) => text is { Length: > MaxErrorLength } ? text[..MaxErrorLength] + "…" : text;
}
