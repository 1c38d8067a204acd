using System.Security.Claims;
using System.Text.Encodings.Web;
using HeadyClouds.ServiceDefaults.Identity;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeadyClouds.ServiceDefaults.Mesh;

/// <summary>
/// The end user's identity as the gateway forwards it (<c>X-Heady-Identity</c>, decision 0002), accepted only when the
/// mTLS peer of this very connection is the gateway. The same header from any other certified caller is refused, so
/// a compromised service cannot act as a user by adding a header.
/// </summary>
public sealed class GatewayForwardedIdentityHandler(
    IOptionsMonitor<IdentityAssertionOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    TimeProvider time)
    : AuthenticationHandler<IdentityAssertionOptions>(options, logger, encoder)
{
    public const string SchemeName = "HeadyMeshUser";

    public const string ForwarderService = HeadyPolicies.GatewayServiceName;

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(HeadyHeaders.Identity, out var values))
        {
            return AuthenticateResult.NoResult();
        }

        var peer = await Context.AuthenticateAsync(MeshAuthentication.Scheme);
        if (!peer.Succeeded || peer.Principal.FindFirstValue(MeshClaims.SpiffeId) is null
            || peer.Principal.FindFirstValue(ClaimTypes.NameIdentifier) != ForwarderService)
        {
            var who = peer.Principal?.FindFirstValue(MeshClaims.SpiffeId) ?? "a caller without a valid mesh certificate";
            return Reject($"identity headers are accepted only from the gateway, not from {who}");
        }

        if (values.Count != 1)
        {
            return Reject("more than one identity assertion");
        }

        if (!IdentityAssertion.TryValidate(values[0], Options.Key, time.GetUtcNow(), out var identity, out var error))
        {
            return Reject(error);
        }

        // Services are identified by their certificate only: an assertion naming a service proves nothing here.
        if (identity!.Kind != CallerKind.User)
        {
            return Reject($"the gateway forwards end users only, not the service assertion '{identity.Subject}'");
        }

        var principal = identity!.ToPrincipal(SchemeName);
        ((ClaimsIdentity)principal.Identity!).AddClaim(new Claim(MeshClaims.ForwardedBy, peer.Principal!.FindFirstValue(MeshClaims.SpiffeId)!));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    private AuthenticateResult Reject(string reason)
    {
        Logger.LogWarning("Rejected forwarded identity: {Reason}", reason);
        return AuthenticateResult.Fail(reason);
    }
}

public static class GatewayForwardedIdentityExtensions
{
    /// <summary>
    /// Registers <see cref="GatewayForwardedIdentityHandler"/> with the identity-assertion key (<c>Identity:SigningKey</c>).
    /// Requires <see cref="MeshAuthentication.AddMeshAuthentication"/> (done by <c>AddMeshIdentity</c>).
    /// </summary>
    public static TBuilder AddGatewayForwardedIdentity<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var key = IdentityAssertion.KeyFromConfiguration(builder.Configuration["Identity:SigningKey"]);
        builder.Services.TryAddTimeProvider();
        builder.Services.AddAuthentication()
            .AddScheme<IdentityAssertionOptions, GatewayForwardedIdentityHandler>(GatewayForwardedIdentityHandler.SchemeName, o => o.Key = key);
        return builder;
    }

    /// <summary>An end user forwarded by the gateway over its mTLS connection (optionally with a token scope).</summary>
    public static AuthorizationPolicy ForwardedUserPolicy(string? scope = null)
    {
        var policy = new AuthorizationPolicyBuilder(GatewayForwardedIdentityHandler.SchemeName)
            .RequireAuthenticatedUser()
            .RequireClaim(HeadyClaims.Kind, "user")
            .RequireClaim(MeshClaims.ForwardedBy);
        if (scope is not null)
        {
            policy.RequireClaim(HeadyClaims.Scope, scope);
        }

        return policy.Build();
    }

    private static void TryAddTimeProvider(this IServiceCollection services)
    {
        if (!services.Any(d => d.ServiceType == typeof(TimeProvider)))
        {
            services.AddSingleton(TimeProvider.System);
        }
    }
}
