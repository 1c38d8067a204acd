using System.Security.Claims;
using HeadyClouds.ServiceDefaults.Identity;

namespace HeadyClouds.UnitTests.Identity;

public sealed class CallerIdentityClaimsTests
{
    private const string Scheme = "HeadyIdentity";
    private static readonly Guid UserId = Guid.Parse("0193a1b2-0000-7000-8000-000000000042");

    [Fact]
    public void UserIdentityBecomesAnAuthenticatedPrincipalWithEveryClaim()
    {
        var identity = new CallerIdentity(CallerKind.User, UserId.ToString(), "alice", ["admin"], ["workspaces:read", "repos:admin"], "tid-1");

        var principal = identity.ToPrincipal(Scheme);

        Assert.True(principal.Identity!.IsAuthenticated);
        Assert.Equal(Scheme, principal.Identity.AuthenticationType);
        Assert.Equal("alice", principal.Identity.Name);
        Assert.Equal(UserId.ToString(), principal.FindFirstValue(ClaimTypes.NameIdentifier));
        Assert.Equal("user", principal.FindFirstValue(HeadyClaims.Kind));
        Assert.True(principal.IsInRole("admin"));
        Assert.False(principal.IsInRole("user"));
        Assert.Equal(["workspaces:read", "repos:admin"], principal.FindAll(HeadyClaims.Scope).Select(c => c.Value));
        Assert.Equal("tid-1", principal.FindFirstValue(HeadyClaims.TokenId));
        Assert.Equal(UserId, principal.UserId());
    }

    [Fact]
    public void EachRoleAndScopeIsItsOwnClaim()
    {
        var identity = new CallerIdentity(CallerKind.User, UserId.ToString(), "bob", ["user", "auditor"], ["a", "b", "c"]);

        var principal = identity.ToPrincipal(Scheme);

        Assert.Equal(2, principal.FindAll(ClaimTypes.Role).Count());
        Assert.True(principal.IsInRole("auditor"));
        Assert.Equal(3, principal.FindAll(HeadyClaims.Scope).Count());
    }

    [Fact]
    public void NoTokenIdMeansNoTokenIdClaim()
    {
        var principal = new CallerIdentity(CallerKind.User, UserId.ToString(), "bob", [], []).ToPrincipal(Scheme);

        Assert.Null(principal.FindFirst(HeadyClaims.TokenId));
        Assert.Empty(principal.FindAll(ClaimTypes.Role));
        Assert.Empty(principal.FindAll(HeadyClaims.Scope));
    }

    [Fact]
    public void ServiceIdentityHasServiceKindAndIsNoUser()
    {
        var principal = CallerIdentity.ForService(HeadyPolicies.GatewayServiceName).ToPrincipal(Scheme);

        Assert.True(principal.Identity!.IsAuthenticated);
        Assert.Equal("service", principal.FindFirstValue(HeadyClaims.Kind));
        Assert.Equal("gateway", principal.FindFirstValue(ClaimTypes.NameIdentifier));
        Assert.Equal("gateway", principal.Identity.Name);
        Assert.Throws<InvalidOperationException>(() => principal.UserId());
    }

    [Fact]
    public void ServiceWhoseNameIsAGuidIsStillNoUser()
    {
        var principal = new CallerIdentity(CallerKind.Service, UserId.ToString(), "svc", [], []).ToPrincipal(Scheme);

        Assert.Throws<InvalidOperationException>(() => principal.UserId());
    }

    [Fact]
    public void UserWhoseSubjectIsNoGuidHasNoUserId()
    {
        var principal = new CallerIdentity(CallerKind.User, "alice", "alice", [], []).ToPrincipal(Scheme);

        Assert.Throws<InvalidOperationException>(() => principal.UserId());
    }

    [Fact]
    public void AnonymousPrincipalHasNoUserId()
    {
        Assert.Throws<InvalidOperationException>(() => new ClaimsPrincipal(new ClaimsIdentity()).UserId());
    }

    [Fact]
    public void IntrospectionCacheKeyOfTheTokenEqualsTheKeyOfItsStoredHash()
    {
        // The gateway caches under CacheKey(token); SyncManager evicts CacheKey(hash) on revocation: they must agree.
        var token = SyncManager.Domain.TokenSecrets.Generate();

        Assert.Equal(TokenIntrospection.CacheKey(token), TokenIntrospection.CacheKey(SyncManager.Domain.TokenSecrets.Hash(token)));
        Assert.StartsWith("heady:introspect:", TokenIntrospection.CacheKey(token), StringComparison.Ordinal);
        Assert.Matches("^heady:introspect:[0-9a-f]{64}$", TokenIntrospection.CacheKey(token));
        Assert.DoesNotContain(token, TokenIntrospection.CacheKey(token), StringComparison.Ordinal);
    }
}
