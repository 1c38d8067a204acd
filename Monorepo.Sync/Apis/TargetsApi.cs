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

public sealed record AddTargetRequest(string? Name, string? Url, CredentialRequest? Credential, string[]? ProtectedRefs);

public sealed record TargetResponse(Guid Id, string Name, string Url, string? CredentialKind, string[] ProtectedRefs,
    DateTimeOffset CreatedAt, DateTimeOffset? LastSuccessAt, string? LastError, int RefusedRefs, int LagCommits)
{
    public static TargetResponse From(SyncTarget t) =>
        new(t.Id, t.Name, t.Url, t.CredentialKind, t.ProtectedRefs, t.CreatedAt, t.LastSuccessAt, t.LastError, t.RefusedRefs, t.LagCommits);
}

public sealed record AddSplitRequest(string? Name, string? Prefix, string? SourceRef, string? Url, string? TargetRef, CredentialRequest? Credential);

public sealed record SplitResponse(Guid Id, string Name, string Prefix, string SourceRef, string Url, string TargetRef, string? CredentialKind,
    string? LastSplitHead, DateTimeOffset CreatedAt, DateTimeOffset? LastSuccessAt, string? LastError)
{
    public static SplitResponse From(SplitTarget s) =>
        new(s.Id, s.Name, s.Prefix, s.SourceRef, s.Url, s.TargetRef, s.CredentialKind, s.LastSplitHead, s.CreatedAt, s.LastSuccessAt, s.LastError);
}

public static partial class TargetsApi
{
    public static IEndpointRouteBuilder MapTargetsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/repositories/{id:guid}")
            .WithTags("Repository targets")
            .RequireAuthorization(HeadyPolicies.User);

        api.MapPost("/targets", AddTarget).RequireScope(RepositoriesApi.AdminScope);
        api.MapGet("/targets", ListTargets).RequireScope(RepositoriesApi.ReadScope);
        api.MapDelete("/targets/{targetId:guid}", RemoveTarget).RequireScope(RepositoriesApi.AdminScope);
        api.MapPost("/splits", AddSplit).RequireScope(RepositoriesApi.AdminScope);
        api.MapGet("/splits", ListSplits).RequireScope(RepositoriesApi.ReadScope);
        return app;
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\z")]
    private static partial Regex NamePattern();

    /// <summary>A relative directory: segments of printable characters, no '.', '..', empty segment or leading '/'.</summary>
    public static bool IsValidPrefix(string? prefix) =>
        prefix is { Length: >= 1 and <= 1024 }
        && !prefix.StartsWith('/') && !prefix.EndsWith('/')
        && !prefix.Any(c => char.IsControl(c) || c == '\\')
        && prefix.Split('/').All(segment => segment.Length > 0 && segment is not ("." or ".."));

    /// <summary>Name, URL and credential of a push destination (target or split); the credential when one was given.</summary>
    private static StoredCredential? ValidateRemote(string? name, string? url, CredentialRequest? credential, MonorepoOptions options, Validation v)
    {
        v.Require(name is not null && NamePattern().IsMatch(name), "name", "Name must be 1-100 characters: letters, digits, '.', '_' or '-'.");
        if (!GitRemoteUrl.TryValidate(url, options.AllowLocalRemotes, out var urlError))
        {
            v.Add("url", urlError);
        }

        return CredentialProtector.Validate(credential, url, "credential", v);
    }

    /// <summary>Saves; false when a unique name was taken (the caller answers 409).</summary>
    private static async Task<bool> SaveUniqueAsync(MonorepoDbContext db, CancellationToken ct)
    {
        try
        {
            await db.SaveChangesAsync(ct);
            return true;
        }
        catch (DbUpdateException e) when (e.IsUniqueViolation())
        {
            return false;
        }
    }

    public static bool IsValidFullRef(string? name) =>
        name is not null && name.StartsWith("refs/", StringComparison.Ordinal) && RepositoriesApi.IsValidRefPattern(name) && !name.Contains('*');

    private static async Task<Results<Created<TargetResponse>, ValidationProblem, ProblemHttpResult>> AddTarget(
        Guid id, AddTargetRequest request, ClaimsPrincipal caller, MonorepoDbContext db, CredentialProtector protector,
        IOptions<MonorepoOptions> options, TimeProvider time, CancellationToken ct)
    {
        var repository = await db.FindOwnAsync(id, caller, ct);
        if (repository is null)
        {
            return Problems.NotFound($"Repository {id} was not found.");
        }

        var v = new Validation();
        var credential = ValidateRemote(request.Name, request.Url, request.Credential, options.Value, v);
        RepositoriesApi.ValidateRefPatterns(request.ProtectedRefs, "protectedRefs", v);
        await RepositoriesApi.CheckRemoteHostAsync(v, "url", request.Url, options.Value, ct);
        if (!v.IsValid)
        {
            return TypedResults.ValidationProblem(v.Errors);
        }

        var targetId = Guid.CreateVersion7();
        var target = new SyncTarget
        {
            Id = targetId,
            RepositoryId = repository.Id,
            Name = request.Name!,
            Url = request.Url!,
            Credential = credential is null ? null : protector.Seal(credential, CredentialProtector.TargetContext(targetId)),
            CredentialKind = credential?.Kind,
            ProtectedRefs = request.ProtectedRefs ?? [],
            CreatedAt = time.GetUtcNow(),
        };
        db.SyncTargets.Add(target);
        if (!await SaveUniqueAsync(db, ct))
        {
            return Problems.Conflict($"Repository {id} already has a target named '{request.Name}'.");
        }

        return TypedResults.Created($"/api/v1/repositories/{id}/targets/{targetId}", TargetResponse.From(target));
    }

    private static async Task<Results<Ok<TargetResponse[]>, ProblemHttpResult>> ListTargets(
        Guid id, ClaimsPrincipal caller, MonorepoDbContext db, CancellationToken ct)
    {
        var repository = await db.FindOwnAsync(id, caller, ct, withTargets: true);
        if (repository is null)
        {
            return Problems.NotFound($"Repository {id} was not found.");
        }

        return TypedResults.Ok(repository.Targets.OrderBy(t => t.Name).Select(TargetResponse.From).ToArray());
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RemoveTarget(
        Guid id, Guid targetId, ClaimsPrincipal caller, MonorepoDbContext db, CancellationToken ct)
    {
        var repository = await db.FindOwnAsync(id, caller, ct, withTargets: true);
        var target = repository?.Targets.SingleOrDefault(t => t.Id == targetId);
        if (target is null)
        {
            return Problems.NotFound($"Target {targetId} of repository {id} was not found.");
        }

        db.SyncTargets.Remove(target);
        await db.SaveChangesAsync(ct);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Created<SplitResponse>, ValidationProblem, ProblemHttpResult>> AddSplit(
        Guid id, AddSplitRequest request, ClaimsPrincipal caller, MonorepoDbContext db, CredentialProtector protector,
        IOptions<MonorepoOptions> options, TimeProvider time, CancellationToken ct)
    {
        var repository = await db.FindOwnAsync(id, caller, ct);
        if (repository is null)
        {
            return Problems.NotFound($"Repository {id} was not found.");
        }

        var v = new Validation();
        var credential = ValidateRemote(request.Name, request.Url, request.Credential, options.Value, v);
        v.Require(IsValidPrefix(request.Prefix), "prefix", "Prefix must be a relative directory such as 'packages/ui' (no leading or trailing '/', no '.' or '..' segments).");
        v.Require(IsValidFullRef(request.SourceRef), "sourceRef", "Source ref must be a full ref name such as 'refs/heads/main'.");
        v.Require(request.TargetRef is null || IsValidFullRef(request.TargetRef), "targetRef", "Target ref must be a full ref name such as 'refs/heads/main'.");
        await RepositoriesApi.CheckRemoteHostAsync(v, "url", request.Url, options.Value, ct);
        if (!v.IsValid)
        {
            return TypedResults.ValidationProblem(v.Errors);
        }

        var splitId = Guid.CreateVersion7();
        var split = new SplitTarget
        {
            Id = splitId,
            RepositoryId = repository.Id,
            Name = request.Name!,
            Prefix = request.Prefix!,
            SourceRef = request.SourceRef!,
            TargetRef = request.TargetRef ?? request.SourceRef!,
            Url = request.Url!,
            Credential = credential is null ? null : protector.Seal(credential, CredentialProtector.SplitContext(splitId)),
            CredentialKind = credential?.Kind,
            CreatedAt = time.GetUtcNow(),
        };
        db.SplitTargets.Add(split);
        if (!await SaveUniqueAsync(db, ct))
        {
            return Problems.Conflict($"Repository {id} already has a split named '{request.Name}'.");
        }

        return TypedResults.Created($"/api/v1/repositories/{id}/splits/{splitId}", SplitResponse.From(split));
    }

    private static async Task<Results<Ok<SplitResponse[]>, ProblemHttpResult>> ListSplits(
        Guid id, ClaimsPrincipal caller, MonorepoDbContext db, CancellationToken ct)
    {
        var repository = await db.FindOwnAsync(id, caller, ct, withTargets: true);
        if (repository is null)
        {
            return Problems.NotFound($"Repository {id} was not found.");
        }

        return TypedResults.Ok(repository.Splits.OrderBy(s => s.Name).Select(SplitResponse.From).ToArray());
    }
}
