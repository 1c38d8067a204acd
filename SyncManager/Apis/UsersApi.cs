using System.Security.Claims;
using System.Text.RegularExpressions;
using HeadyClouds.Data;
using HeadyClouds.ServiceDefaults;
using HeadyClouds.ServiceDefaults.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using SyncManager.Audit;
using SyncManager.Domain;
using SyncManager.Infrastructure;

namespace SyncManager.Apis;

public sealed record CreateUserRequest(string? Username, string? DisplayName, string? Role);

public sealed record UserResponse(Guid Id, string Username, string? DisplayName, string Role, DateTimeOffset CreatedAt)
{
    public static UserResponse From(User u) => new(u.Id, u.Username, u.DisplayName, u.Role, u.CreatedAt);
}

public static partial class UsersApi
{
    public const int MaxPageSize = 500;

    public static IEndpointRouteBuilder MapUsersApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/users")
            .WithTags("Users")
            .RequireAuthorization(HeadyPolicies.User);

        api.MapGet("/me", GetMe);
        api.MapPost("/", CreateUser).RequireAuthorization(HeadyPolicies.Admin);
        api.MapGet("/", ListUsers).RequireAuthorization(HeadyPolicies.Admin);
        api.MapGet("/{id:guid}", GetUser);
        return app;
    }

    [GeneratedRegex(@"^[a-z0-9][a-z0-9._-]{2,63}\z")] // \z, not $: $ also matches before a final newline
    public static partial Regex UsernamePattern();

    public static Validation Validate(CreateUserRequest request)
    {
        var v = new Validation();
        v.Require(request.Username is not null && UsernamePattern().IsMatch(request.Username), "username",
            "Username must be 3-64 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter or digit.");
        v.Require(request.DisplayName is null || (request.DisplayName.Length <= 200 && Validation.IsCleanText(request.DisplayName)),
            "displayName", "Display name must be at most 200 characters, without control characters or surrounding spaces.");
        v.Require(request.Role is null || Roles.All.Contains(request.Role), "role", $"Role must be one of: {string.Join(", ", Roles.All)}.");
        return v;
    }

    private static async Task<Results<Created<UserResponse>, ValidationProblem, ProblemHttpResult>> CreateUser(
        CreateUserRequest request, ClaimsPrincipal caller, SyncManagerDbContext db, AuditLog audit, TimeProvider time, CancellationToken ct)
    {
        var validation = Validate(request);
        if (!validation.IsValid)
        {
            return TypedResults.ValidationProblem(validation.Errors);
        }

        var user = new User
        {
            Id = Guid.CreateVersion7(),
            Username = request.Username!,
            DisplayName = request.DisplayName,
            Role = request.Role ?? Roles.User,
            CreatedAt = time.GetUtcNow(),
        };
        db.Users.Add(user);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException e) when (e.IsUniqueViolation())
        {
            return Problems.Conflict($"A user named '{request.Username}' already exists.");
        }

        await audit.AppendAsync(new AuditRecord(AuditingAuthorizationResultHandler.ActorOf(caller), AuditLog.SyncManagerService, "user.created",
            $"user:{user.Id}", new { user.Username, user.Role }), ct);

        return TypedResults.Created($"/api/v1/users/{user.Id}", UserResponse.From(user));
    }

    private static async Task<Ok<UserResponse[]>> ListUsers(
        SyncManagerDbContext db, CancellationToken ct, int? limit = null, string? after = null)
    {
        var take = Math.Clamp(limit ?? 100, 1, MaxPageSize);
        var query = db.Users.AsNoTracking().OrderBy(u => u.Username).AsQueryable();
        if (!string.IsNullOrEmpty(after))
        {
            query = query.Where(u => string.Compare(u.Username, after) > 0);
        }

        var users = await query.Take(take).ToListAsync(ct);
        return TypedResults.Ok(users.Select(UserResponse.From).ToArray());
    }

    private static async Task<Results<Ok<UserResponse>, ProblemHttpResult>> GetMe(
        ClaimsPrincipal caller, SyncManagerDbContext db, CancellationToken ct)
    {
        var user = await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Id == caller.UserId(), ct);
        if (user is null)
        {
            return Problems.NotFound("The calling user no longer exists.");
        }

        return TypedResults.Ok(UserResponse.From(user));
    }

    private static async Task<Results<Ok<UserResponse>, ProblemHttpResult>> GetUser(
        Guid id, ClaimsPrincipal caller, SyncManagerDbContext db, CancellationToken ct)
    {
        // Other users' records are invisible, not forbidden: a 404 does not confirm that an id exists.
        var visible = caller.IsInRole(Roles.Admin) || caller.UserId() == id;
        var user = visible ? await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Id == id, ct) : null;
        if (user is null)
        {
            return Problems.NotFound($"User {id} was not found.");
        }

        return TypedResults.Ok(UserResponse.From(user));
    }
}
