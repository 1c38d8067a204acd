using System.Security.Claims;
using HeadyClouds.ServiceDefaults;
using HeadyClouds.ServiceDefaults.Audit;
using HeadyClouds.ServiceDefaults.Identity;
using HeadyClouds.Sync.Core.Protocol;
using HeadyMe.Sync.Domain;
using HeadyMe.Sync.Infrastructure;
using HeadyMe.Sync.Quota;
using Microsoft.EntityFrameworkCore;

namespace HeadyMe.Sync.Apis;

/// <summary>Members (owners manage them), retention policy (owners set it) and the caller's quota.</summary>
public static class MembersApi
{
    public const int MaxKeepVersions = 100_000;
    public const int MaxKeepDays = 36_500;

    public static IEndpointRouteBuilder MapMembersApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/workspaces/{id:guid}")
            .WithTags("Members")
            .RequireAuthorization(HeadyPolicies.User);
        api.MapGet("/members", ListMembers).RequireScope(WorkspacesApi.ReadScope);
        api.MapPut("/members/{userId:guid}", PutMember).RequireScope(WorkspacesApi.WriteScope);
        api.MapDelete("/members/{userId:guid}", DeleteMember).RequireScope(WorkspacesApi.WriteScope);
        api.MapGet("/retention", GetRetention).RequireScope(WorkspacesApi.ReadScope);
        api.MapPut("/retention", PutRetention).RequireScope(WorkspacesApi.WriteScope);

        app.MapGet("/api/v1/quota", GetQuota).WithTags("Members").RequireAuthorization(HeadyPolicies.User).RequireScope(WorkspacesApi.ReadScope);
        return app;
    }

    private static async Task<IResult> ListMembers(Guid id, ClaimsPrincipal caller, WorkspaceAccess access, HeadyMeDbContext db, CancellationToken ct) =>
        await access.RequireAsync(id, caller, WorkspaceRoles.Viewer, ct)
        ?? TypedResults.Ok(await db.WorkspaceMembers.AsNoTracking().Where(m => m.WorkspaceId == id).OrderBy(m => m.AddedAt).ThenBy(m => m.UserId)
            .Select(m => new MemberResponse(m.UserId, m.Role, m.AddedAt)).ToArrayAsync(ct));

    private static async Task<IResult> PutMember(Guid id, Guid userId, MemberRequest request, ClaimsPrincipal caller, WorkspaceAccess access,
        HeadyMeDbContext db, TimeProvider time, IAuditQueue audit, CancellationToken ct)
    {
        if (await access.RequireAsync(id, caller, WorkspaceRoles.Owner, ct) is { } denied)
        {
            return denied;
        }

        if (request.Role is null || !WorkspaceRoles.All.Contains(request.Role))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["role"] = ["role must be one of owner, editor, viewer."] });
        }

        var member = await db.WorkspaceMembers.SingleOrDefaultAsync(m => m.WorkspaceId == id && m.UserId == userId, ct);
        if (member is null)
        {
            member = new WorkspaceMember { WorkspaceId = id, UserId = userId, Role = request.Role, AddedAt = time.GetUtcNow() };
            db.WorkspaceMembers.Add(member);
        }
        else
        {
            if (member.Role == WorkspaceRoles.Owner && request.Role != WorkspaceRoles.Owner && await IsLastOwnerAsync(db, id, ct))
            {
                return Problems.Conflict($"User {userId} is the last owner of workspace {id}; make someone else an owner first.");
            }

            member.Role = request.Role;
        }

        var previousRole = db.Entry(member).State == EntityState.Added ? null : (string?)db.Entry(member).Property(m => m.Role).OriginalValue;
        await db.SaveChangesAsync(ct);
        if (previousRole != member.Role)
        {
            audit.Enqueue(MembershipChanged(caller, id, userId, previousRole, member.Role));
        }

        return TypedResults.Ok(new MemberResponse(member.UserId, member.Role, member.AddedAt));
    }

    private static async Task<IResult> DeleteMember(Guid id, Guid userId, ClaimsPrincipal caller, WorkspaceAccess access, HeadyMeDbContext db,
        IAuditQueue audit, CancellationToken ct)
    {
        if (await access.RequireAsync(id, caller, WorkspaceRoles.Owner, ct) is { } denied)
        {
            return denied;
        }

        var member = await db.WorkspaceMembers.SingleOrDefaultAsync(m => m.WorkspaceId == id && m.UserId == userId, ct);
        if (member is null)
        {
            return Problems.NotFound($"User {userId} is not a member of workspace {id}.");
        }

        if (member.Role == WorkspaceRoles.Owner && await IsLastOwnerAsync(db, id, ct))
        {
            return Problems.Conflict($"User {userId} is the last owner of workspace {id}; make someone else an owner first.");
        }

        db.WorkspaceMembers.Remove(member);
        await db.SaveChangesAsync(ct);
        audit.Enqueue(MembershipChanged(caller, id, userId, member.Role, null));
        return TypedResults.NoContent();
    }

    /// <summary>For the platform audit log: who changed whose role in which workspace (null role = not a member).</summary>
    private static AuditEvent MembershipChanged(ClaimsPrincipal caller, Guid workspaceId, Guid userId, string? from, string? to) =>
        new($"user:{caller.UserId()}", "membership.changed", $"workspace:{workspaceId}", new { userId, from, to });

    private static async Task<bool> IsLastOwnerAsync(HeadyMeDbContext db, Guid id, CancellationToken ct) =>
        await db.WorkspaceMembers.CountAsync(m => m.WorkspaceId == id && m.Role == WorkspaceRoles.Owner, ct) <= 1;

    private static async Task<IResult> GetRetention(Guid id, ClaimsPrincipal caller, WorkspaceAccess access, HeadyMeDbContext db, CancellationToken ct) =>
        await access.RequireAsync(id, caller, WorkspaceRoles.Viewer, ct)
        ?? TypedResults.Ok(await db.Workspaces.AsNoTracking().Where(w => w.Id == id).Select(w => new RetentionPolicy(w.KeepVersions, w.KeepDays)).SingleAsync(ct));

    private static async Task<IResult> PutRetention(Guid id, RetentionPolicy request, ClaimsPrincipal caller, WorkspaceAccess access, HeadyMeDbContext db, CancellationToken ct)
    {
        if (await access.RequireAsync(id, caller, WorkspaceRoles.Owner, ct) is { } denied)
        {
            return denied;
        }

        var v = new Validation();
        v.Require(request.KeepVersions is null or >= 1 and <= MaxKeepVersions, "keepVersions", $"keepVersions must be 1-{MaxKeepVersions} or null (no limit).");
        v.Require(request.KeepDays is null or >= 1 and <= MaxKeepDays, "keepDays", $"keepDays must be 1-{MaxKeepDays} or null (no limit).");
        if (!v.IsValid)
        {
            return TypedResults.ValidationProblem(v.Errors);
        }

        await db.Workspaces.Where(w => w.Id == id).ExecuteUpdateAsync(s => s
            .SetProperty(w => w.KeepVersions, request.KeepVersions)
            .SetProperty(w => w.KeepDays, request.KeepDays), ct);
        return TypedResults.Ok(request);
    }

    /// <summary>The caller's effective limit: an admin's override if set, else the default.</summary>
    private static async Task<IResult> GetQuota(ClaimsPrincipal caller, QuotaService quota, CancellationToken ct)
    {
        var state = await quota.StateAsync(caller.UserId(), ct);
        return TypedResults.Ok(new QuotaResponse(state.LimitBytes, state.UsedBytes));
    }
}
