using HeadyClouds.ServiceDefaults.Identity;
using HeadyMe.Sync.Crypto;
using HeadyMe.Sync.Maintenance;

namespace HeadyMe.Sync.Apis;

/// <summary>Jobs SyncManager's job engine runs on schedule; never routed by the gateway.</summary>
public static class InternalApi
{
    public static IEndpointRouteBuilder MapInternalApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/internal/v1")
            .WithTags("Internal")
            .RequireAuthorization(HeadyPolicies.SyncManagerService);
        api.MapPost("/maintenance", async (MaintenanceService maintenance, CancellationToken ct) => TypedResults.Ok(await maintenance.RunAsync(ct)));
        api.MapPost("/keys/rotate", async (KeyService keys, CancellationToken ct) => TypedResults.Ok(await keys.RotateAsync(ct)));
        return app;
    }
}
