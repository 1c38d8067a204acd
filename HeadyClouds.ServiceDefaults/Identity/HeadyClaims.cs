using System.Security.Claims;

namespace HeadyClouds.ServiceDefaults.Identity;

public static class HeadyClaims
{
    public const string Kind = "heady:kind";
    public const string Scope = "scope";
    public const string TokenId = "heady:tid";

    public static ClaimsPrincipal ToPrincipal(this CallerIdentity identity, string scheme)
    {
        var claims = new List<Claim>
        {
            new(ClaimTypes.NameIdentifier, identity.Subject),
            new(ClaimTypes.Name, identity.Name),
            new(Kind, identity.Kind == CallerKind.User ? "user" : "service"),
        };
        claims.AddRange(identity.Roles.Select(r => new Claim(ClaimTypes.Role, r)));
        claims.AddRange(identity.Scopes.Select(s => new Claim(Scope, s)));
        if (identity.TokenId is not null)
        {
            claims.Add(new Claim(TokenId, identity.TokenId));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, scheme, ClaimTypes.Name, ClaimTypes.Role));
    }

    /// <summary>The calling user's id; only valid on endpoints that require <see cref="HeadyPolicies.User"/>.</summary>
    public static Guid UserId(this ClaimsPrincipal principal) =>
        Guid.TryParse(principal.FindFirstValue(ClaimTypes.NameIdentifier), out var id) && principal.FindFirstValue(Kind) == "user"
            ? id
            : throw new InvalidOperationException("The caller is not an authenticated user.");
}
