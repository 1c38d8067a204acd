using System.Security.Claims;
using System.Text.Json;
using HeadyClouds.Data;
using HeadyClouds.ServiceDefaults;
using HeadyClouds.ServiceDefaults.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using SyncManager.Audit;
using SyncManager.Infrastructure;
using SyncManager.Jobs;

namespace SyncManager.Apis;

public sealed record JobDefinitionRequest(
    string? Name, string? Type, string? Cron, string? TimeZone, bool? Enabled, JsonElement? Payload,
    int? MaxAttempts, int? BackoffBaseSeconds, int? BackoffMaxSeconds, int? LeaseSeconds);

public sealed record JobDefinitionResponse(
    Guid Id, string Name, string Type, string? Cron, string TimeZone, bool Enabled, JsonElement Payload, int MaxAttempts,
    int BackoffBaseSeconds, int BackoffMaxSeconds, int LeaseSeconds, DateTimeOffset? NextRunAt, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static JobDefinitionResponse From(JobDefinition d) => new(d.Id, d.Name, d.Type, d.Cron, d.TimeZone, d.Enabled,
        JsonDocument.Parse(d.Payload).RootElement.Clone(), d.MaxAttempts, d.BackoffBaseSeconds, d.BackoffMaxSeconds, d.LeaseSeconds,
        d.NextRunAt, d.CreatedAt, d.UpdatedAt);
}

public sealed record TriggerJobRequest(string? IdempotencyKey);

public sealed record JobAttemptResponse(int Attempt, string Worker, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, double? DurationSeconds, string Outcome, string? Error);

public sealed record JobRunResponse(
    Guid Id, Guid DefinitionId, string Type, string State, string Trigger, DateTimeOffset? ScheduledFor, string? IdempotencyKey,
    int Attempt, int MaxAttempts, DateTimeOffset RunAfter, string? LeaseOwner, DateTimeOffset? LeaseExpiresAt, DateTimeOffset? HeartbeatAt,
    DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, DateTimeOffset? CancelRequestedAt,
    string? LastError, string? Result, JobAttemptResponse[]? Attempts)
{
    public static JobRunResponse From(Job j, bool withAttempts = false) => new(
        j.Id, j.DefinitionId, j.Type, j.State, j.Trigger, j.ScheduledFor, j.IdempotencyKey, j.Attempt, j.MaxAttempts, j.RunAfter,
        j.LeaseOwner, j.LeaseExpiresAt, j.HeartbeatAt, j.CreatedAt, j.StartedAt, j.FinishedAt, j.CancelRequestedAt, j.LastError, j.Result,
        withAttempts
            ? j.Attempts.OrderBy(a => a.Attempt).Select(a => new JobAttemptResponse(a.Attempt, a.Worker, a.StartedAt, a.FinishedAt,
                a.FinishedAt is { } f ? (f - a.StartedAt).TotalSeconds : null, a.Outcome, a.Error)).ToArray()
            : null);
}

/// <summary>Admin API of the job engine: definitions, on-demand runs (idempotent), run history, cancel, dead letters, requeue.</summary>
public static class JobsApi
{
    public const int MaxAttemptsLimit = 50;
    public const int MaxPayloadBytes = 16 * 1024;

    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/jobs")
            .WithTags("Jobs")
            .RequireAuthorization(HeadyPolicies.Admin);

        api.MapGet("/definitions", ListDefinitions);
        api.MapPost("/definitions", CreateDefinition);
        api.MapGet("/definitions/{id:guid}", GetDefinition);
        api.MapPut("/definitions/{id:guid}", UpdateDefinition);
        api.MapPost("/definitions/{id:guid}/runs", Trigger);
        api.MapGet("/runs", ListRuns);
        api.MapGet("/runs/{id:guid}", GetRun);
        api.MapPost("/runs/{id:guid}/cancel", Cancel);
        api.MapPost("/runs/{id:guid}/requeue", Requeue);
        api.MapGet("/dead-letters", DeadLetters);
        return app;
    }

    public static Validation Validate(JobDefinitionRequest r, IReadOnlyCollection<string> types)
    {
        var v = new Validation();
        v.Require(r.Name is not null && UsersApi.UsernamePattern().IsMatch(r.Name), "name",
            "Name is required: 3-64 characters, lower-case letters, digits, '.', '_' or '-'.");
        v.Require(r.Type is not null && types.Contains(r.Type), "type", $"Type must be one of: {string.Join(", ", types.Order(StringComparer.Ordinal))}.");
        if (r.Cron is not null && !CronSchedule.TryParse(r.Cron, r.TimeZone, out _, out _, out var cronError))
        {
            v.Add(cronError.StartsWith("Unknown time zone", StringComparison.Ordinal) ? "timeZone" : "cron", cronError);
        }
        else if (r.Cron is null && r.TimeZone is not null && !CronSchedule.TryParse("* * * * *", r.TimeZone, out _, out _, out var zoneError))
        {
            v.Add("timeZone", zoneError);
        }

        v.Require(r.Payload is null || (r.Payload.Value.ValueKind == JsonValueKind.Object && r.Payload.Value.GetRawText().Length <= MaxPayloadBytes),
            "payload", $"payload must be a JSON object of at most {MaxPayloadBytes} bytes.");
        v.Require(r.MaxAttempts is null or (>= 1 and <= MaxAttemptsLimit), "maxAttempts", $"maxAttempts must be between 1 and {MaxAttemptsLimit}.");
        v.Require(r.BackoffBaseSeconds is null or (>= 1 and <= 86400), "backoffBaseSeconds", "backoffBaseSeconds must be between 1 and 86400.");
        v.Require(r.BackoffMaxSeconds is null or (>= 1 and <= 7 * 86400), "backoffMaxSeconds", "backoffMaxSeconds must be between 1 and 604800.");
        v.Require(r.BackoffBaseSeconds is null || r.BackoffMaxSeconds is null || r.BackoffMaxSeconds >= r.BackoffBaseSeconds,
            "backoffMaxSeconds", "backoffMaxSeconds must not be less than backoffBaseSeconds.");
        v.Require(r.LeaseSeconds is null or (>= 10 and <= 3600), "leaseSeconds", "leaseSeconds must be between 10 and 3600.");
        return v;
    }

    private static void Apply(JobDefinition d, JobDefinitionRequest r, DateTimeOffset now)
    {
        d.Name = r.Name!;
        d.Type = r.Type!;
        d.Cron = r.Cron?.Trim();
        d.TimeZone = r.TimeZone ?? "UTC";
        d.Enabled = r.Enabled ?? true;
        d.Payload = r.Payload?.GetRawText() ?? "{}";
        d.MaxAttempts = r.MaxAttempts ?? 5;
        d.BackoffBaseSeconds = r.BackoffBaseSeconds ?? 30;
        d.BackoffMaxSeconds = Math.Max(r.BackoffMaxSeconds ?? 3600, d.BackoffBaseSeconds);
        d.LeaseSeconds = r.LeaseSeconds ?? 60;
        d.UpdatedAt = now;
        d.NextRunAt = CronSchedule.NextRunFor(d, now);
    }

    private static async Task<Ok<JobDefinitionResponse[]>> ListDefinitions(SyncManagerDbContext db, CancellationToken ct) =>
        TypedResults.Ok((await db.JobDefinitions.AsNoTracking().OrderBy(d => d.Name).ToListAsync(ct)).Select(JobDefinitionResponse.From).ToArray());

    private static async Task<Results<Ok<JobDefinitionResponse>, ProblemHttpResult>> GetDefinition(Guid id, SyncManagerDbContext db, CancellationToken ct) =>
        await db.JobDefinitions.AsNoTracking().SingleOrDefaultAsync(d => d.Id == id, ct) is { } d
            ? TypedResults.Ok(JobDefinitionResponse.From(d))
            : Problems.NotFound($"Job definition {id} was not found.");

    private static async Task<Results<Created<JobDefinitionResponse>, ValidationProblem, ProblemHttpResult>> CreateDefinition(
        JobDefinitionRequest request, ClaimsPrincipal caller, SyncManagerDbContext db, JobHandlerRegistry handlers, AuditLog audit, TimeProvider time, CancellationToken ct)
    {
        var validation = Validate(request, handlers.Types);
        if (!validation.IsValid)
        {
            return TypedResults.ValidationProblem(validation.Errors);
        }

        var now = time.GetUtcNow();
        var definition = new JobDefinition { Id = Guid.CreateVersion7(), Name = "", Type = "", CreatedAt = now };
        Apply(definition, request, now);
        db.JobDefinitions.Add(definition);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException e) when (e.IsUniqueViolation())
        {
            return Problems.Conflict($"A job definition named '{request.Name}' already exists.");
        }

        await audit.AppendAsync(new AuditRecord(AuditingAuthorizationResultHandler.ActorOf(caller), AuditLog.SyncManagerService, "job.definition.created",
            $"job-definition:{definition.Id}", new { definition.Name, definition.Type, definition.Cron, definition.TimeZone, definition.Enabled }), ct);
        return TypedResults.Created($"/api/v1/jobs/definitions/{definition.Id}", JobDefinitionResponse.From(definition));
    }

    private static async Task<Results<Ok<JobDefinitionResponse>, ValidationProblem, ProblemHttpResult>> UpdateDefinition(
        Guid id, JobDefinitionRequest request, ClaimsPrincipal caller, SyncManagerDbContext db, JobHandlerRegistry handlers, AuditLog audit, TimeProvider time, CancellationToken ct)
    {
        var validation = Validate(request, handlers.Types);
        if (!validation.IsValid)
        {
            return TypedResults.ValidationProblem(validation.Errors);
        }

        var definition = await db.JobDefinitions.SingleOrDefaultAsync(d => d.Id == id, ct);
        if (definition is null)
        {
            return Problems.NotFound($"Job definition {id} was not found.");
        }

        Apply(definition, request, time.GetUtcNow());
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException e) when (e.IsUniqueViolation())
        {
            return Problems.Conflict($"A job definition named '{request.Name}' already exists.");
        }

        await audit.AppendAsync(new AuditRecord(AuditingAuthorizationResultHandler.ActorOf(caller), AuditLog.SyncManagerService, "job.definition.updated",
            $"job-definition:{definition.Id}", new { definition.Name, definition.Type, definition.Cron, definition.TimeZone, definition.Enabled }), ct);
        return TypedResults.Ok(JobDefinitionResponse.From(definition));
    }

    /// <summary>
    /// Enqueues a run now (202). With an idempotency key, a repeated request returns the run the first one made (200)
    /// instead of enqueuing another; the same key for a different definition is a conflict.
    /// </summary>
    private static async Task<Results<Accepted<JobRunResponse>, Ok<JobRunResponse>, ValidationProblem, ProblemHttpResult>> Trigger(
        Guid id, TriggerJobRequest? request, ClaimsPrincipal caller, SyncManagerDbContext db, AuditLog audit, TimeProvider time, CancellationToken ct)
    {
        var key = request?.IdempotencyKey;
        if (key is not null && (key.Length is < 1 or > 200 || !Validation.IsCleanText(key)))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["idempotencyKey"] = ["idempotencyKey must be 1-200 characters without control characters."] });
        }

        var definition = await db.JobDefinitions.AsNoTracking().SingleOrDefaultAsync(d => d.Id == id, ct);
        if (definition is null)
        {
            return Problems.NotFound($"Job definition {id} was not found.");
        }

        var jobId = Guid.CreateVersion7();
        var inserted = await JobEngine.InsertJobAsync(db, definition, JobTriggers.Api, null, key, time.GetUtcNow(), ct, jobId);
        if (inserted == 0)
        {
            var existing = await db.Jobs.AsNoTracking().Include(j => j.Attempts).SingleAsync(j => j.IdempotencyKey == key, ct);
            return existing.DefinitionId == id
                ? TypedResults.Ok(JobRunResponse.From(existing, withAttempts: true))
                : Problems.Conflict($"Idempotency key '{key}' was already used for a run of another job definition ({existing.DefinitionId}).");
        }

        await audit.AppendAsync(new AuditRecord(AuditingAuthorizationResultHandler.ActorOf(caller), AuditLog.SyncManagerService, "job.triggered",
            $"job:{jobId}", new { definitionId = id, definition.Name, definition.Type, idempotencyKey = key }), ct);
        var job = await db.Jobs.AsNoTracking().Include(j => j.Attempts).SingleAsync(j => j.Id == jobId, ct);
        return TypedResults.Accepted($"/api/v1/jobs/runs/{jobId}", JobRunResponse.From(job, withAttempts: true));
    }

    /// <summary>Runs newest first; filter by state and definition; page with <c>before</c> (a run id: ids are time-ordered).</summary>
    private static async Task<Results<Ok<JobRunResponse[]>, ValidationProblem>> ListRuns(
        SyncManagerDbContext db, CancellationToken ct, string? state = null, Guid? definitionId = null, Guid? before = null, int? limit = null)
    {
        if (state is not null && !JobStates.All.Contains(state))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["state"] = [$"state must be one of: {string.Join(", ", JobStates.All)}."] });
        }

        var query = db.Jobs.AsNoTracking().Include(j => j.Attempts).AsQueryable();
        if (state is not null)
        {
            query = query.Where(j => j.State == state);
        }

        if (definitionId is not null)
        {
            query = query.Where(j => j.DefinitionId == definitionId);
        }

        if (before is not null)
        {
            query = query.Where(j => j.Id < before.Value);
        }

        var runs = await query.OrderByDescending(j => j.CreatedAt).ThenByDescending(j => j.Id).Take(Math.Clamp(limit ?? 50, 1, 500)).AsSplitQuery().ToListAsync(ct);
        return TypedResults.Ok(runs.Select(j => JobRunResponse.From(j, withAttempts: true)).ToArray());
    }

    private static async Task<Results<Ok<JobRunResponse>, ProblemHttpResult>> GetRun(Guid id, SyncManagerDbContext db, CancellationToken ct) =>
        await db.Jobs.AsNoTracking().Include(j => j.Attempts).SingleOrDefaultAsync(j => j.Id == id, ct) is { } job
            ? TypedResults.Ok(JobRunResponse.From(job, withAttempts: true))
            : Problems.NotFound($"Job run {id} was not found.");

    private static async Task<Ok<JobRunResponse[]>> DeadLetters(SyncManagerDbContext db, CancellationToken ct, int? limit = null)
    {
        var runs = await db.Jobs.AsNoTracking().Include(j => j.Attempts).Where(j => j.State == JobStates.Dead)
            .OrderByDescending(j => j.FinishedAt).Take(Math.Clamp(limit ?? 100, 1, 500)).AsSplitQuery().ToListAsync(ct);
        return TypedResults.Ok(runs.Select(j => JobRunResponse.From(j, withAttempts: true)).ToArray());
    }

    /// <summary>
    /// A pending run is cancelled at once; a running one is flagged and its worker's token fires at the next heartbeat
    /// (the run shows cancelRequestedAt until then). Finished runs cannot be cancelled (409).
    /// </summary>
    private static async Task<Results<Ok<JobRunResponse>, ProblemHttpResult>> Cancel(
        Guid id, ClaimsPrincipal caller, SyncManagerDbContext db, AuditLog audit, TimeProvider time, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var changed = await JobEngine.RequestCancelAsync(db, id, now, ct);
        var job = await db.Jobs.AsNoTracking().Include(j => j.Attempts).SingleOrDefaultAsync(j => j.Id == id, ct);
        if (job is null)
        {
            return Problems.NotFound($"Job run {id} was not found.");
        }

        if (changed == 0)
        {
            return Problems.Conflict($"Job run {id} is {job.State}; only pending or running runs can be cancelled.");
        }

        await audit.AppendAsync(new AuditRecord(AuditingAuthorizationResultHandler.ActorOf(caller), AuditLog.SyncManagerService, "job.cancelled",
            $"job:{id}", new { job.Type, stateWhenCancelled = job.State == JobStates.Cancelled ? "pending" : job.State }), ct);
        return TypedResults.Ok(JobRunResponse.From(job, withAttempts: true));
    }

    /// <summary>Puts a dead, failed or cancelled run back in the queue with a fresh set of attempts (history kept).</summary>
    private static async Task<Results<Ok<JobRunResponse>, ProblemHttpResult>> Requeue(
        Guid id, ClaimsPrincipal caller, SyncManagerDbContext db, AuditLog audit, TimeProvider time, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var changed = await db.Database.ExecuteSqlAsync($"""
            UPDATE jobs SET state = 'pending', run_after = {now}, finished_at = NULL, cancel_requested_at = NULL,
                max_attempts = jobs.attempt + d.max_attempts
            FROM job_definitions d
            WHERE jobs.id = {id} AND d.id = jobs.definition_id AND jobs.state IN ('dead', 'failed', 'cancelled')
            """, ct);
        var job = await db.Jobs.AsNoTracking().Include(j => j.Attempts).SingleOrDefaultAsync(j => j.Id == id, ct);
        if (job is null)
        {
            return Problems.NotFound($"Job run {id} was not found.");
        }

        if (changed == 0)
        {
            return Problems.Conflict($"Job run {id} is {job.State}; only dead, failed or cancelled runs can be requeued.");
        }

        await audit.AppendAsync(new AuditRecord(AuditingAuthorizationResultHandler.ActorOf(caller), AuditLog.SyncManagerService, "job.requeued",
            $"job:{id}", new { job.Type, job.MaxAttempts }), ct);
        return TypedResults.Ok(JobRunResponse.From(job, withAttempts: true));
    }
}
