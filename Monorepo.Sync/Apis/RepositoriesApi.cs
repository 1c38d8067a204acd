using System.Security.Claims;
using System.Text.RegularExpressions;
using HeadyClouds.Data;
using HeadyClouds.ServiceDefaults;
using HeadyClouds.ServiceDefaults.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Monorepo.Sync.Domain;
using Monorepo.Sync.Infrastructure;

namespace Monorepo.Sync.Apis;

public sealed record RegisterRepositoryRequest(string? Name, string? SourceUrl, string? DefaultBranch);

public sealed record RepositoryResponse(Guid Id, string Name, string SourceUrl, string? DefaultBranch, Guid OwnerId, DateTimeOffset CreatedAt)
{
    public static RepositoryResponse From(Repository r) => new(r.Id, r.Name, r.SourceUrl, r.DefaultBranch, r.OwnerId, r.CreatedAt);
}

public static partial class RepositoriesApi
{
    public const string ReadScope = "repos:read";
    public const string AdminScope = "repos:admin";

    public static IEndpointRouteBuilder MapRepositoriesApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/repositories")
            .WithTags("Repositories")
            .RequireAuthorization(HeadyPolicies.User);

        api.MapPost("/", RegisterRepository).RequireScope(AdminScope);
        api.MapGet("/", ListRepositories).RequireScope(ReadScope);
        api.MapGet("/{id:guid}", GetRepository).RequireScope(ReadScope);
        return app;
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\z")] // \z, not $: $ also matches before a final newline
    private static partial Regex NamePattern();

    /// <summary>A conservative subset of git's ref-name rules (git check-ref-format) for a branch name.</summary>
    [GeneratedRegex(@"^(?!/)(?!.*//)(?!.*\.\.)(?!.*@\{)(?!.*\.lock(/|$))(?!.*/\.)(?!\.)[^\x00-\x20~^:?*\[\\\x7f]{1,255}(?<![./])\z")]
    private static partial Regex BranchPattern();

    public static Validation Validate(RegisterRepositoryRequest request)
    {
        var v = new Validation();
        v.Require(request.Name is not null && NamePattern().IsMatch(request.Name) && request.Name is not ("." or ".."), "name",
            "Name must be 1-100 characters: letters, digits, '.', '_' or '-', starting with a letter or digit.");
        if (!GitRemoteUrl.TryValidate(request.SourceUrl, out var urlError))
        {
            v.Add("sourceUrl", urlError);
        }

        v.Require(request.DefaultBranch is null || BranchPattern().IsMatch(request.DefaultBranch), "defaultBranch",
            "Default branch is not a valid git branch name.");
        return v;
    }

    private static async Task<Results<Created<RepositoryResponse>, ValidationProblem, ProblemHttpResult>> RegisterRepository(
        RegisterRepositoryRequest request, ClaimsPrincipal caller, MonorepoDbContext db, TimeProvider time, CancellationToken ct)
    {
        var validation = Validate(request);
        if (!validation.IsValid)
        {
            return TypedResults.ValidationProblem(validation.Errors);
        }

        var repository = new Repository
        {
            Id = Guid.CreateVersion7(),
            Name = request.Name!,
            NormalizedName = request.Name!.ToUpperInvariant(),
            OwnerId = caller.UserId(),
            SourceUrl = request.SourceUrl!,
            DefaultBranch = request.DefaultBranch,
            CreatedAt = time.GetUtcNow(),
        };
        db.Repositories.Add(repository);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException e) when (e.IsUniqueViolation())
        {
            return Problems.Conflict($"You already have a repository named '{request.Name}' (names are compared without regard to case).");
        }

        return TypedResults.Created($"/api/v1/repositories/{repository.Id}", RepositoryResponse.From(repository));
    }

    private static async Task<Ok<RepositoryResponse[]>> ListRepositories(ClaimsPrincipal caller, MonorepoDbContext db, CancellationToken ct)
    {
        var userId = caller.UserId();
        var items = await db.Repositories.AsNoTracking()
            .Where(r => r.OwnerId == userId)
            .OrderBy(r => r.Name).ThenBy(r => r.Id)
            .ToListAsync(ct);
        return TypedResults.Ok(items.Select(RepositoryResponse.From).ToArray());
    }

    private static async Task<Results<Ok<RepositoryResponse>, ProblemHttpResult>> GetRepository(
        Guid id, ClaimsPrincipal caller, MonorepoDbContext db, CancellationToken ct)
    {
        var userId = caller.UserId();
        var repository = await db.Repositories.AsNoTracking().SingleOrDefaultAsync(r => r.Id == id && r.OwnerId == userId, ct);
        if (repository is null)
        {
            return Problems.NotFound($"Repository {id} was not found.");
        }

        return TypedResults.Ok(RepositoryResponse.From(repository));
    }
}
