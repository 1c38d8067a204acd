using System.Security.Claims;
using HeadyClouds.Data;
using HeadyClouds.ServiceDefaults;
using HeadyClouds.ServiceDefaults.Identity;
using HeadyMe.Sync.Domain;
using HeadyMe.Sync.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace HeadyMe.Sync.Apis;

public sealed record CreateWorkspaceRequest(string? Name);

public sealed record WorkspaceResponse(Guid Id, string Name, Guid OwnerId, string Role, DateTimeOffset CreatedAt);

public static class WorkspacesApi
{
    public const string ReadScope = "workspaces:read";
    public const string WriteScope = "workspaces:write";
    public const int MaxNameLength = 100;

    public static IEndpointRouteBuilder MapWorkspacesApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/workspaces")
            .WithTags("Workspaces")
            .RequireAuthorization(HeadyPolicies.User);

        api.MapPost("/", CreateWorkspace).RequireScope(WriteScope);
        api.MapGet("/", ListWorkspaces).RequireScope(ReadScope);
        api.MapGet("/{id:guid}", GetWorkspace).RequireScope(ReadScope);
        return app;
    }

    public static Validation Validate(CreateWorkspaceRequest request)
    {
        string? name;
        try
        {
            name = request.Name?.Normalize(System.Text.NormalizationForm.FormC);
        }
        catch (ArgumentException)
        {
            name = null; // invalid UTF-16 (a lone surrogate): Normalize throws, and such a name is simply not valid
        }

        var v = new Validation();
        v.Require(name is { Length: >= 1 and <= MaxNameLength } && Validation.IsCleanText(name) && name.IndexOfAny(['/', '\\']) < 0,
            "name", $"Name is required: 1-{MaxNameLength} characters, no control characters, slashes or surrounding spaces.");
        return v;
    }

    private static async Task<Results<Created<WorkspaceResponse>, ValidationProblem, ProblemHttpResult>> CreateWorkspace(
        CreateWorkspaceRequest request, ClaimsPrincipal caller, HeadyMeDbContext db, TimeProvider time, CancellationToken ct)
    {
        var validation = Validate(request);
        if (!validation.IsValid)
        {
            return TypedResults.ValidationProblem(validation.Errors);
        }

        var name = request.Name!.Normalize(System.Text.NormalizationForm.FormC);
        var userId = caller.UserId();
        var now = time.GetUtcNow();
        var workspace = new Workspace
        {
            Id = Guid.CreateVersion7(),
            Name = name,
            NormalizedName = Workspace.Normalize(name),
            OwnerId = userId,
            CreatedAt = now,
        };
        // The owner is a member like any other, so listing and access checks have a single path.
        workspace.Members.Add(new WorkspaceMember { WorkspaceId = workspace.Id, UserId = userId, Role = WorkspaceRoles.Owner, AddedAt = now });
        db.Workspaces.Add(workspace);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException e) when (e.IsUniqueViolation())
        {
            return Problems.Conflict($"You already own a workspace named '{name}' (names are compared without regard to case).");
        }

        return TypedResults.Created($"/api/v1/workspaces/{workspace.Id}",
            new WorkspaceResponse(workspace.Id, workspace.Name, workspace.OwnerId, WorkspaceRoles.Owner, workspace.CreatedAt));
    }

    private static async Task<Ok<WorkspaceResponse[]>> ListWorkspaces(ClaimsPrincipal caller, HeadyMeDbContext db, CancellationToken ct)
    {
        var userId = caller.UserId();
        var items = await (
            from m in db.WorkspaceMembers.AsNoTracking()
            join w in db.Workspaces.AsNoTracking() on m.WorkspaceId equals w.Id
            where m.UserId == userId
            orderby w.Name, w.Id
            select new WorkspaceResponse(w.Id, w.Name, w.OwnerId, m.Role, w.CreatedAt)).ToArrayAsync(ct);
        return TypedResults.Ok(items);
    }

    private static async Task<Results<Ok<WorkspaceResponse>, ProblemHttpResult>> GetWorkspace(
        Guid id, ClaimsPrincipal caller, HeadyMeDbContext db, CancellationToken ct)
    {
        var userId = caller.UserId();
        var item = await (
            from m in db.WorkspaceMembers.AsNoTracking()
            join w in db.Workspaces.AsNoTracking() on m.WorkspaceId equals w.Id
            where m.UserId == userId && w.Id == id
            select new WorkspaceResponse(w.Id, w.Name, w.OwnerId, m.Role, w.CreatedAt)).SingleOrDefaultAsync(ct);
        // Someone else's workspace is indistinguishable from a missing one.
        if (item is null)
        {
            return Problems.NotFound($"Workspace {id} was not found.");
        }

        return TypedResults.Ok(item);
    }
}
