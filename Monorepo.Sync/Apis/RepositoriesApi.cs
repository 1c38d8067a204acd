using System.Security.Claims;
using System.Text.RegularExpressions;
using HeadyClouds.Data;
using HeadyClouds.ServiceDefaults;
using HeadyClouds.ServiceDefaults.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Monorepo.Sync.Application;
using Monorepo.Sync.Domain;
using Monorepo.Sync.Infrastructure;

namespace Monorepo.Sync.Apis;

public sealed record RegisterRepositoryRequest(
    string? Name, string? SourceUrl, string? DefaultBranch, CredentialRequest? Credential = null, string[]? IncludeRefs = null, string[]? ExcludeRefs = null);

/// <summary>A repository as the API shows it: whether it has a credential, never the credential.</summary>
public sealed record RepositoryResponse(
    Guid Id, string Name, string SourceUrl, string? DefaultBranch, Guid OwnerId, DateTimeOffset CreatedAt,
    string? CredentialKind, string[] IncludeRefs, string[] ExcludeRefs)
{
    public static RepositoryResponse From(Repository r) =>
        new(r.Id, r.Name, r.SourceUrl, r.DefaultBranch, r.OwnerId, r.CreatedAt, r.SourceCredentialKind, r.IncludeRefs, r.ExcludeRefs);
}

/// <summary>Registration answer: the repository and, this once, the secret its source host signs webhooks with.</summary>
public sealed record RegisteredRepositoryResponse(
    Guid Id, string Name, string SourceUrl, string? DefaultBranch, Guid OwnerId, DateTimeOffset CreatedAt,
    string? CredentialKind, string[] IncludeRefs, string[] ExcludeRefs, string WebhookSecret, string WebhookPath)
{
    public static RegisteredRepositoryResponse From(Repository r, string webhookSecret) =>
        new(r.Id, r.Name, r.SourceUrl, r.DefaultBranch, r.OwnerId, r.CreatedAt, r.SourceCredentialKind, r.IncludeRefs, r.ExcludeRefs,
            webhookSecret, WebhooksApi.PathFor(r.Id));
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

    /// <summary>Ref patterns: under refs/, git-glob characters only.</summary>
    [GeneratedRegex(@"^refs/[A-Za-z0-9._/*+-]{1,250}\z")]
    private static partial Regex RefPatternPattern();

    /// <summary>The engine's own rules (<see cref="Git.Mirror.RefFilter.TryValidatePattern"/>), so nothing accepted here fails at sync time.</summary>
    public static bool IsValidRefPattern(string pattern) =>
        RefPatternPattern().IsMatch(pattern) && Git.Mirror.RefFilter.TryValidatePattern(pattern, out _);

    public static void ValidateRefPatterns(string[]? patterns, string field, Validation v)
    {
        if (patterns is null)
        {
            return;
        }

        v.Require(patterns.Length <= 100, field, "At most 100 ref patterns.");
        var bad = patterns.Where(p => p is null || !IsValidRefPattern(p)).ToArray();
        v.Require(bad.Length == 0, field, $"Ref patterns must start with 'refs/' and use letters, digits, '.', '_', '-', '+', '/' and '*': {string.Join(", ", bad)}.");
    }

    /// <summary>
    /// The egress policy (<see cref="RemoteHosts"/>) on a URL that passed every other check: it may look the name up in
    /// DNS, so it runs last and only on an otherwise valid request.
    /// </summary>
    internal static async Task CheckRemoteHostAsync(Validation v, string field, string? url, MonorepoOptions options, CancellationToken ct)
    {
        if (v.IsValid && await RemoteHosts.CheckAsync(url!, options.AllowPrivateNetworkRemotes, ct) is { } refused)
        {
            v.Add(field, refused);
        }
    }

    public static Validation Validate(RegisterRepositoryRequest request) => Validate(request, allowLocalRemotes: false, out _);

    public static Validation Validate(RegisterRepositoryRequest request, bool allowLocalRemotes, out StoredCredential? credential)
    {
        var v = new Validation();
        v.Require(request.Name is not null && NamePattern().IsMatch(request.Name) && request.Name is not ("." or ".."), "name",
            "Name must be 1-100 characters: letters, digits, '.', '_' or '-', starting with a letter or digit.");
        if (!GitRemoteUrl.TryValidate(request.SourceUrl, allowLocalRemotes, out var urlError))
        {
            v.Add("sourceUrl", urlError);
        }

        credential = CredentialProtector.Validate(request.Credential, request.SourceUrl, "credential", v);
        ValidateRefPatterns(request.IncludeRefs, "includeRefs", v);
        ValidateRefPatterns(request.ExcludeRefs, "excludeRefs", v);
        v.Require(request.IncludeRefs is null || request.IncludeRefs.Length > 0, "includeRefs", "Include at least one ref pattern, or omit the field for all branches and tags.");

        v.Require(request.DefaultBranch is null || BranchPattern().IsMatch(request.DefaultBranch), "defaultBranch",
            "Default branch is not a valid git branch name.");
        return v;
    }

    private static async Task<Results<Created<RegisteredRepositoryResponse>, ValidationProblem, ProblemHttpResult>> RegisterRepository(
        RegisterRepositoryRequest request, ClaimsPrincipal caller, MonorepoDbContext db, TimeProvider time,
        CredentialProtector protector, IOptions<MonorepoOptions> options, CancellationToken ct)
    {
        var validation = Validate(request, options.Value.AllowLocalRemotes, out var credential);
        await CheckRemoteHostAsync(validation, "sourceUrl", request.SourceUrl, options.Value, ct);
        if (!validation.IsValid)
        {
            return TypedResults.ValidationProblem(validation.Errors);
        }

        var id = Guid.CreateVersion7();
        var webhookSecret = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var repository = new Repository
        {
            Id = id,
            WebhookSecret = protector.SealSecret(webhookSecret, CredentialProtector.WebhookContext(id)),
            SourceCredential = credential is null ? null : protector.Seal(credential, CredentialProtector.SourceContext(id)),
            SourceCredentialKind = credential?.Kind,
            IncludeRefs = request.IncludeRefs ?? ["refs/heads/**", "refs/tags/**"],
            ExcludeRefs = request.ExcludeRefs ?? [],
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

        return TypedResults.Created($"/api/v1/repositories/{repository.Id}", RegisteredRepositoryResponse.From(repository, webhookSecret));
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
