using System.Security.Claims;
using HeadyClouds.ServiceDefaults;
using HeadyClouds.ServiceDefaults.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Monorepo.Sync.Application;
using Monorepo.Sync.Domain;
using Monorepo.Sync.Infrastructure;

namespace Monorepo.Sync.Apis;

public sealed record SyncRunResponse(Guid Id, string Trigger, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, string Outcome, string? Error, int RefsUpdated, int RefsRefused)
{
    public static SyncRunResponse From(SyncRun r) => new(r.Id, r.Trigger, r.StartedAt, r.FinishedAt, r.Outcome, r.Error, r.RefsUpdated, r.RefsRefused);
}

public sealed record SyncQueuedResponse(Guid RepositoryId, string Status);

public sealed record RepositoryStatusResponse(
    Guid Id, string Name, DateTimeOffset? LastRunAt, DateTimeOffset? LastSuccessAt, string? LastError, int ConsecutiveFailures,
    DateTimeOffset? NextAttemptAfter, TargetResponse[] Targets, SplitResponse[] Splits, SyncRunResponse? LastRun);

public sealed record AuditEntryResponse(long Id, Guid RunId, string Target, string Ref, string? OldId, string? NewId, string Kind, bool Forced, string Trigger, string? Message, DateTimeOffset At);

public static class SyncApi
{
    public static IEndpointRouteBuilder MapSyncApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/repositories/{id:guid}")
            .WithTags("Repository sync")
            .RequireAuthorization(HeadyPolicies.User);

        api.MapPost("/sync", Trigger).RequireScope(RepositoriesApi.AdminScope);
        api.MapGet("/status", Status).RequireScope(RepositoriesApi.ReadScope);
        api.MapGet("/runs", Runs).RequireScope(RepositoriesApi.ReadScope);
        api.MapGet("/audit", AuditLog).RequireScope(RepositoriesApi.ReadScope);
        api.MapPost("/bundles", CreateBundle).RequireScope(RepositoriesApi.AdminScope);
        return app;
    }

    /// <summary>
    /// Starts a run. By default it is queued (202); with <c>?wait=true</c> it runs in the request and the run comes back
    /// (200). Either way a repository runs once at a time: a trigger during a run answers 409.
    /// </summary>
    private static async Task<Results<Ok<SyncRunResponse>, Accepted<SyncQueuedResponse>, ProblemHttpResult>> Trigger(
        Guid id, ClaimsPrincipal caller, MonorepoDbContext db, SyncRunner runner, SyncQueue queue, IHostApplicationLifetime lifetime,
        CancellationToken ct, bool wait = false)
    {
        if (await db.FindOwnAsync(id, caller, ct) is null)
        {
            return Problems.NotFound($"Repository {id} was not found.");
        }

        if (!wait)
        {
            queue.Enqueue(id, SyncTriggers.Api);
            return TypedResults.Accepted($"/api/v1/repositories/{id}/runs", new SyncQueuedResponse(id, "queued"));
        }

        // The run belongs to the service, not to the HTTP request: a client that hangs up does not cancel it halfway.
        var (start, run) = await runner.RunAsync(id, SyncTriggers.Api, lifetime.ApplicationStopping);
        return start switch
        {
            SyncStart.Ran => TypedResults.Ok(SyncRunResponse.From(run!)),
            SyncStart.AlreadyRunning => Problems.Conflict($"A sync of repository {id} is already running; it was not started twice."),
            _ => Problems.NotFound($"Repository {id} was not found."),
        };
    }

    private static async Task<Results<Ok<RepositoryStatusResponse>, ProblemHttpResult>> Status(
        Guid id, ClaimsPrincipal caller, MonorepoDbContext db, CancellationToken ct)
    {
        var repository = await db.FindOwnAsync(id, caller, ct, withTargets: true);
        if (repository is null)
        {
            return Problems.NotFound($"Repository {id} was not found.");
        }

        var lastRun = await db.SyncRuns.AsNoTracking().Where(r => r.RepositoryId == id).OrderByDescending(r => r.StartedAt).FirstOrDefaultAsync(ct);
        return TypedResults.Ok(new RepositoryStatusResponse(
            repository.Id, repository.Name, repository.LastRunAt, repository.LastSuccessAt, repository.LastError, repository.ConsecutiveFailures,
            repository.NextAttemptAfter,
            repository.Targets.OrderBy(t => t.Name).Select(TargetResponse.From).ToArray(),
            repository.Splits.OrderBy(s => s.Name).Select(SplitResponse.From).ToArray(),
            lastRun is null ? null : SyncRunResponse.From(lastRun)));
    }

    private static async Task<Results<Ok<SyncRunResponse[]>, ProblemHttpResult>> Runs(
        Guid id, ClaimsPrincipal caller, MonorepoDbContext db, CancellationToken ct, int? limit = null)
    {
        if (await db.FindOwnAsync(id, caller, ct) is null)
        {
            return Problems.NotFound($"Repository {id} was not found.");
        }

        var runs = await db.SyncRuns.AsNoTracking().Where(r => r.RepositoryId == id)
            .OrderByDescending(r => r.StartedAt).Take(Math.Clamp(limit ?? 50, 1, 500)).ToListAsync(ct);
        return TypedResults.Ok(runs.Select(SyncRunResponse.From).ToArray());
    }

    /// <summary>Writes a bundle of the mirror to the object store (backups).</summary>
    private static async Task<Results<Created<BundleInfo>, ProblemHttpResult>> CreateBundle(
        Guid id, ClaimsPrincipal caller, MonorepoDbContext db, MirrorBundler bundler, CancellationToken ct)
    {
        if (await db.FindOwnAsync(id, caller, ct) is null)
        {
            return Problems.NotFound($"Repository {id} was not found.");
        }

        var bundle = await bundler.WriteAsync(id, ct);
        if (bundle is null)
        {
            return Problems.Conflict($"Repository {id} has no mirrored refs yet; run a sync first.");
        }

        return TypedResults.Created($"/api/v1/repositories/{id}/bundles/{Uri.EscapeDataString(bundle.Key)}", bundle);
    }

    /// <summary>The ref-update audit, newest first; page with <c>before</c> (an entry id).</summary>
    private static async Task<Results<Ok<AuditEntryResponse[]>, ProblemHttpResult>> AuditLog(
        Guid id, ClaimsPrincipal caller, MonorepoDbContext db, CancellationToken ct,
        string? target = null, string? @ref = null, long? before = null, int? limit = null)
    {
        if (await db.FindOwnAsync(id, caller, ct) is null)
        {
            return Problems.NotFound($"Repository {id} was not found.");
        }

        var query = db.RefUpdateAudit.AsNoTracking().Where(a => a.RepositoryId == id);
        if (target is not null)
        {
            query = query.Where(a => a.Target == target);
        }

        if (@ref is not null)
        {
            query = query.Where(a => a.Ref == @ref);
        }

        if (before is not null)
        {
            query = query.Where(a => a.Id < before);
        }

        var entries = await query.OrderByDescending(a => a.Id).Take(Math.Clamp(limit ?? 100, 1, 1000)).ToListAsync(ct);
        return TypedResults.Ok(entries.Select(a => new AuditEntryResponse(a.Id, a.RunId, a.Target, a.Ref, a.OldId, a.NewId, a.Kind, a.Forced, a.Trigger, a.Message, a.At)).ToArray());
    }
}
