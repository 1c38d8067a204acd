using HeadyClouds.ServiceDefaults.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using SyncManager.Domain;
using SyncManager.Infrastructure;

namespace SyncManager.Apis;

public static class IntrospectionApi
{
    public static IEndpointRouteBuilder MapIntrospectionApi(this IEndpointRouteBuilder app)
    {
        // Internal: never routed by the gateway, and only the gateway's identity may call it.
        app.MapPost(TokenIntrospection.Path, Introspect)
            .WithTags("Internal")
            .RequireAuthorization(HeadyPolicies.GatewayService);
        return app;
    }

    private static async Task<Ok<IntrospectionResponse>> Introspect(
        IntrospectionRequest request, SyncManagerDbContext db, TimeProvider time, CancellationToken ct)
    {
        if (!TokenSecrets.LooksValid(request.Token))
        {
            return TypedResults.Ok(IntrospectionResponse.Inactive);
        }

        var hash = TokenSecrets.Hash(request.Token);
        var token = await db.ApiTokens.AsNoTracking().Include(t => t.User)
            .SingleOrDefaultAsync(t => t.Hash == hash, ct);
        var now = time.GetUtcNow();
        if (token?.User is null || !token.IsActive(now))
        {
            return TypedResults.Ok(IntrospectionResponse.Inactive);
        }

        return TypedResults.Ok(new IntrospectionResponse(
            true, token.UserId, token.User.Username, [token.User.Role], token.Scopes, token.Id, token.ExpiresAt));
    }
}
