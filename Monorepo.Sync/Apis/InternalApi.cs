using HeadyClouds.ServiceDefaults;
using HeadyClouds.ServiceDefaults.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Monorepo.Sync.Application;
using Monorepo.Sync.Domain;

namespace Monorepo.Sync.Apis;

/// <summary>
/// Endpoints only SyncManager may call (its job engine runs scheduled repository syncs through them).
/// Never routed by the gateway; the policy refuses every other identity, users and services alike.
/// </summary>
public static class InternalApi
{
    public static IEndpointRouteBuilder MapInternalApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/internal/v1")
            .WithTags("Internal")
            .RequireAuthorization(HeadyPolicies.SyncManagerService);

        api.MapPost("/repositories/{id:guid}/sync", SyncRepository);
        return app;
    }

    /// <summary>
    /// Runs the sync in the request (SyncManager's job holds the lease and heartbeats meanwhile) and answers with the
    /// run; 409 when a run of that repository is in progress (the job retries later), 404 for an unknown repository.
    /// </summary>
    private static async Task<Results<Ok<SyncRunResponse>, ProblemHttpResult>> SyncRepository(
        Guid id, SyncRunner runner, CancellationToken ct)
    {
        // The caller's cancellation (SyncManager cancelling the job, or its lease lost) stops the run.
        var (start, run) = await runner.RunAsync(id, SyncTriggers.Schedule, ct);
        return start switch
        {
            SyncStart.Ran => TypedResults.Ok(SyncRunResponse.From(run!)),
            SyncStart.AlreadyRunning => Problems.Conflict($"A sync of repository {id} is already running; it was not started twice."),
            _ => Problems.NotFound($"Repository {id} was not found."),
        };
    }
}
