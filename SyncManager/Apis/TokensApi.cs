using System.Security.Claims;
using HeadyClouds.ServiceDefaults;
using HeadyClouds.ServiceDefaults.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using StackExchange.Redis;
using SyncManager.Audit;
using SyncManager.Domain;
using SyncManager.Infrastructure;

namespace SyncManager.Apis;

public sealed record CreateTokenRequest(string? Name, string[]? Scopes, int? ExpiresInDays, Guid? UserId);

/// <summary>Answer to a token creation: the only time the token itself is ever shown.</summary>
public sealed record CreatedTokenResponse(
    Guid Id, Guid UserId, string Name, string Token, string Prefix, string[] Scopes, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt);

public sealed record TokenResponse(
    Guid Id, Guid UserId, string Name, string Prefix, string[] Scopes, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt, bool Active)
{
    public static TokenResponse From(ApiToken t, DateTimeOffset now) =>
        new(t.Id, t.UserId, t.Name, t.Prefix, t.Scopes, t.CreatedAt, t.ExpiresAt, t.RevokedAt, t.IsActive(now));
}

public static class TokensApi
{
    public const int MaxExpiryDays = 366;
    public const int MaxActiveTokensPerUser = 100;

    /// <summary>Scopes a new token gets when the request names none.</summary>
    public static readonly string[] DefaultScopes = [TokenScopes.WorkspacesRead, TokenScopes.WorkspacesWrite, TokenScopes.ReposRead];

    public static IEndpointRouteBuilder MapTokensApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/tokens")
            .WithTags("Tokens")
            .RequireScope(TokenScopes.TokensManage);

        api.MapPost("/", CreateToken);
        api.MapGet("/", ListTokens);
        api.MapDelete("/{id:guid}", RevokeToken);
        return app;
    }

    public static Validation Validate(CreateTokenRequest request)
    {
        var v = new Validation();
        v.Require(request.Name is { Length: >= 1 and <= 100 } && Validation.IsCleanText(request.Name), "name",
            "Name is required: 1-100 characters, without control characters or surrounding spaces.");
        var unknown = (request.Scopes ?? []).Where(s => !TokenScopes.All.Contains(s)).ToArray();
        v.Require(unknown.Length == 0, "scopes", $"Unknown scope(s): {string.Join(", ", unknown)}. Known: {string.Join(", ", TokenScopes.All)}.");
        v.Require(request.Scopes is null || request.Scopes.Length > 0, "scopes", "A token needs at least one scope; omit the field for the defaults.");
        v.Require(request.ExpiresInDays is null or (>= 1 and <= MaxExpiryDays), "expiresInDays", $"Expiry must be between 1 and {MaxExpiryDays} days.");
        return v;
    }

    private static async Task<Results<Created<CreatedTokenResponse>, ValidationProblem, ProblemHttpResult>> CreateToken(
        CreateTokenRequest request, ClaimsPrincipal caller, SyncManagerDbContext db, AuditLog audit, TimeProvider time, CancellationToken ct)
    {
        var validation = Validate(request);
        if (!validation.IsValid)
        {
            return TypedResults.ValidationProblem(validation.Errors);
        }

        var isAdmin = caller.IsInRole(Roles.Admin);
        var ownerId = request.UserId ?? caller.UserId();
        if (ownerId != caller.UserId() && !isAdmin)
        {
            return Problems.Forbidden("Only an admin may create tokens for another user.");
        }

        if (!await db.Users.AnyAsync(u => u.Id == ownerId, ct))
        {
            return Problems.NotFound($"User {ownerId} was not found.");
        }

        var scopes = (request.Scopes ?? DefaultScopes).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        // A token can only hand on what it holds itself (an admin may grant any scope).
        var held = caller.FindAll(HeadyClaims.Scope).Select(c => c.Value).ToHashSet(StringComparer.Ordinal);
        var escalated = scopes.Where(s => !held.Contains(s)).ToArray();
        if (!isAdmin && escalated.Length > 0)
        {
            return Problems.Forbidden($"The calling token does not hold the scope(s) it tries to grant: {string.Join(", ", escalated)}.");
        }

        var now = time.GetUtcNow();
        var active = await db.ApiTokens.CountAsync(t => t.UserId == ownerId && t.RevokedAt == null && (t.ExpiresAt == null || t.ExpiresAt > now), ct);
        if (active >= MaxActiveTokensPerUser)
        {
            return Problems.Conflict($"The user already has {active} active tokens; revoke some before creating more (limit {MaxActiveTokensPerUser}).");
        }

        var secret = TokenSecrets.Generate();
        var token = new ApiToken
        {
            Id = Guid.CreateVersion7(),
            UserId = ownerId,
            Name = request.Name!,
            Prefix = TokenSecrets.DisplayPrefix(secret),
            Hash = TokenSecrets.Hash(secret),
            Scopes = scopes,
            CreatedAt = now,
            ExpiresAt = request.ExpiresInDays is { } days ? now.AddDays(days) : null,
        };
        db.ApiTokens.Add(token);
        await db.SaveChangesAsync(ct);
        await audit.AppendAsync(new AuditRecord(AuditingAuthorizationResultHandler.ActorOf(caller), AuditLog.SyncManagerService, "token.issued",
            $"token:{token.Id}", new { userId = token.UserId, token.Name, token.Prefix, token.Scopes, token.ExpiresAt }), ct);

        return TypedResults.Created($"/api/v1/tokens/{token.Id}", new CreatedTokenResponse(
            token.Id, token.UserId, token.Name, secret, token.Prefix, token.Scopes, token.CreatedAt, token.ExpiresAt));
    }

    private static async Task<Results<Ok<TokenResponse[]>, ProblemHttpResult>> ListTokens(
        ClaimsPrincipal caller, SyncManagerDbContext db, TimeProvider time, CancellationToken ct, Guid? userId = null)
    {
        var ownerId = userId ?? caller.UserId();
        if (ownerId != caller.UserId() && !caller.IsInRole(Roles.Admin))
        {
            return Problems.Forbidden("Only an admin may list another user's tokens.");
        }

        var now = time.GetUtcNow();
        var tokens = await db.ApiTokens.AsNoTracking()
            .Where(t => t.UserId == ownerId)
            .OrderBy(t => t.CreatedAt)
            .ToListAsync(ct);
        return TypedResults.Ok(tokens.Select(t => TokenResponse.From(t, now)).ToArray());
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeToken(
        Guid id, ClaimsPrincipal caller, SyncManagerDbContext db, IConnectionMultiplexer redis, AuditLog audit, TimeProvider time,
        ILoggerFactory loggers, CancellationToken ct)
    {
        var token = await db.ApiTokens.SingleOrDefaultAsync(t => t.Id == id, ct);
        if (token is null || (token.UserId != caller.UserId() && !caller.IsInRole(Roles.Admin)))
        {
            return Problems.NotFound($"Token {id} was not found.");
        }

        var newlyRevoked = token.RevokedAt is null;
        if (newlyRevoked)
        {
            token.RevokedAt = time.GetUtcNow();
            await db.SaveChangesAsync(ct);
        }

        // Drop the gateway's cached answer so the revocation takes effect now, not when the cache entry expires.
        try
        {
            var cacheKey = TokenIntrospection.CacheKey(token.Hash);
            await redis.GetDatabase().KeyDeleteAsync(cacheKey);
            // Every gateway replica also keeps answers in memory; this tells them to forget this one.
            await redis.GetSubscriber().PublishAsync(RedisChannel.Literal(TokenIntrospection.EvictionChannel), cacheKey);
        }
        catch (RedisException e)
        {
            loggers.CreateLogger(typeof(TokensApi)).LogWarning(e,
                "Token {TokenId} is revoked but its cached introspection could not be evicted; it expires with the cache TTL", id);
        }

        // Audited after the eviction, so recording it never delays the revocation taking effect.
        if (newlyRevoked)
        {
            await audit.AppendAsync(new AuditRecord(AuditingAuthorizationResultHandler.ActorOf(caller), AuditLog.SyncManagerService, "token.revoked",
                $"token:{token.Id}", new { userId = token.UserId, token.Name, token.Prefix }), ct);
        }

        return TypedResults.NoContent();
    }
}
