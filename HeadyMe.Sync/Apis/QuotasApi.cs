using System.Security.Claims;
using HeadyClouds.ServiceDefaults;
using HeadyClouds.ServiceDefaults.Audit;
using HeadyClouds.ServiceDefaults.Identity;
using HeadyClouds.Sync.Core.Protocol;
using HeadyMe.Sync.Domain;
using HeadyMe.Sync.Infrastructure;
using HeadyMe.Sync.Quota;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace HeadyMe.Sync.Apis;

/// <summary>
/// Admins set per-user quota overrides; the effective limit is the override, else HeadyMe:QuotaBytes. Users live in
/// SyncManager, so any user id is accepted (an unknown one simply has the default and no usage).
/// </summary>
public static class QuotasApi
{
    public static IEndpointRouteBuilder MapQuotasApi(this IEndpointRouteBuilder app)
    {
        // Like SyncManager's admin APIs (users, jobs, audit): the admin role, no token scope.
        var api = app.MapGroup("/api/v1/admin/quotas")
            .WithTags("Admin")
            .RequireAuthorization(HeadyPolicies.Admin);
        api.MapGet("/{userId:guid}", GetQuota);
        api.MapPut("/{userId:guid}", PutQuota);
        api.MapDelete("/{userId:guid}", DeleteQuota);
        return app;
    }

    private static async Task<IResult> GetQuota(Guid userId, QuotaService quota, CancellationToken ct) =>
        TypedResults.Ok(Response(userId, await quota.StateAsync(userId, ct)));

    private static async Task<IResult> PutQuota(Guid userId, UserQuotaRequest request, ClaimsPrincipal caller, HeadyMeDbContext db,
        QuotaService quota, TimeProvider time, IAuditQueue audit, CancellationToken ct)
    {
        if (request.LimitBytes is not >= 0)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["limitBytes"] = [$"limitBytes is required: a number of bytes >= 0 (0 = no writes; {quota.DefaultLimitBytes} is the default). Use DELETE to go back to the default."],
            });
        }

        var limit = request.LimitBytes.Value;
        var row = await db.UserQuotas.SingleOrDefaultAsync(q => q.UserId == userId, ct);
        var previous = row?.LimitBytes;
        if (row is null)
        {
            db.UserQuotas.Add(new UserQuota { UserId = userId, LimitBytes = limit, UpdatedAt = time.GetUtcNow(), UpdatedBy = caller.UserId() });
        }
        else if (row.LimitBytes != limit)
        {
            row.LimitBytes = limit;
            row.UpdatedAt = time.GetUtcNow();
            row.UpdatedBy = caller.UserId();
        }

        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException e) when (e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
        {
            return Problems.Conflict($"The quota of user {userId} was set by another request at the same time; read it and try again.");
        }

        if (previous != limit)
        {
            audit.Enqueue(QuotaChanged(caller, userId, previous, limit, quota.DefaultLimitBytes));
        }

        return TypedResults.Ok(Response(userId, await quota.StateAsync(userId, ct)));
    }

    /// <summary>Back to the default; idempotent (no override is already the default, and is not audited as a change).</summary>
    private static async Task<IResult> DeleteQuota(Guid userId, ClaimsPrincipal caller, HeadyMeDbContext db, QuotaService quota, IAuditQueue audit,
        CancellationToken ct)
    {
        var removed = await db.UserQuotas.Where(q => q.UserId == userId).Select(q => (long?)q.LimitBytes).SingleOrDefaultAsync(ct);
        if (removed is not null && await db.UserQuotas.Where(q => q.UserId == userId).ExecuteDeleteAsync(ct) > 0)
        {
            audit.Enqueue(QuotaChanged(caller, userId, removed, null, quota.DefaultLimitBytes));
        }

        return TypedResults.NoContent();
    }

    private static UserQuotaResponse Response(Guid userId, QuotaState state) => new(userId, state.LimitBytes, state.UsedBytes, state.IsDefault);

    /// <summary>For the platform audit log: which admin changed whose override (null = the default, given as defaultBytes).</summary>
    private static AuditEvent QuotaChanged(ClaimsPrincipal caller, Guid userId, long? from, long? to, long defaultBytes) =>
        new($"user:{caller.UserId()}", "quota.changed", $"user:{userId}", new { userId, from, to, defaultBytes });
}
