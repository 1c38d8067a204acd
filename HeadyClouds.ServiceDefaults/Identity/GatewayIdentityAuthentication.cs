using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using HeadyClouds.ServiceDefaults.Mesh;

namespace HeadyClouds.ServiceDefaults.Identity;

public sealed class IdentityAssertionOptions : AuthenticationSchemeOptions
{
    public byte[] Key { get; set; } = [];
}

/// <summary>Authenticates a request by the signed identity assertion the gateway (or a peer service) attached.</summary>
public sealed class IdentityAssertionHandler(
    IOptionsMonitor<IdentityAssertionOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    TimeProvider time)
    : AuthenticationHandler<IdentityAssertionOptions>(options, logger, encoder)
{
    public const string SchemeName = "HeadyIdentity";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(HeadyHeaders.Identity, out var values))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (values.Count != 1)
        {
            return Task.FromResult(Reject("more than one identity assertion"));
        }

        if (!IdentityAssertion.TryValidate(values[0], Options.Key, time.GetUtcNow(), out var identity, out var error))
        {
            return Task.FromResult(Reject(error));
        }

        return Task.FromResult(AuthenticateResult.Success(
            new AuthenticationTicket(identity!.ToPrincipal(SchemeName), SchemeName)));
    }

    private AuthenticateResult Reject(string reason)
    {
        Logger.LogWarning("Rejected identity assertion: {Reason}", reason);
        return AuthenticateResult.Fail(reason);
    }
}

public static class IdentityAssertionExtensions
{
    /// <summary>
    /// Authentication by signed identity assertion, with the platform's policies; the fallback policy
    /// requires an authenticated caller so an endpoint without explicit authorization is never open.
    /// </summary>
    public static TBuilder AddHeadyIdentity<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        if (Mesh.MeshMode.IsEnabled(builder.Configuration))
        {
            return builder.AddMeshPolicies();
        }

        var key = IdentityAssertion.KeyFromConfiguration(builder.Configuration["Identity:SigningKey"]);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddAuthentication(IdentityAssertionHandler.SchemeName)
            .AddScheme<IdentityAssertionOptions, IdentityAssertionHandler>(IdentityAssertionHandler.SchemeName, o => o.Key = key);
        builder.Services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy(HeadyPolicies.User, p => p.RequireClaim(HeadyClaims.Kind, "user"))
            .AddPolicy(HeadyPolicies.Admin, p => p.RequireClaim(HeadyClaims.Kind, "user").RequireRole("admin"))
            .AddPolicy(HeadyPolicies.GatewayService, p => p
                .RequireClaim(HeadyClaims.Kind, "service")
                .RequireClaim(System.Security.Claims.ClaimTypes.NameIdentifier, HeadyPolicies.GatewayServiceName))
            .AddPolicy(HeadyPolicies.SyncManagerService, p => p
                .RequireClaim(HeadyClaims.Kind, "service")
                .RequireClaim(System.Security.Claims.ClaimTypes.NameIdentifier, HeadyPolicies.SyncManagerServiceName));
        return builder;
    }

    /// <summary>
    /// Mesh mode (<see cref="Mesh.MeshMode"/>): the same policy names, now meaning the mTLS peer. Service policies accept
    /// only the certificate's identity (scheme <c>HeadyMesh</c>); <c>User</c>/<c>Admin</c> and <c>RequireScope</c> read the
    /// default scheme, which yields an end user only when the assertion came over the gateway's mTLS connection.
    /// </summary>
    private static TBuilder AddMeshPolicies<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.AddMeshIdentity();
        builder.AddGatewayForwardedIdentity();
        builder.Services.AddAuthentication(Mesh.MeshMode.Scheme)
            .AddPolicyScheme(Mesh.MeshMode.Scheme, "mTLS peer or gateway-forwarded user", o => o.ForwardDefaultSelector = context =>
                context.Request.Headers.ContainsKey(HeadyHeaders.Identity) ? Mesh.GatewayForwardedIdentityHandler.SchemeName : Mesh.MeshAuthentication.Scheme);
        builder.Services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy(HeadyPolicies.User, p => p.RequireClaim(HeadyClaims.Kind, "user").RequireClaim(Mesh.MeshClaims.ForwardedBy))
            .AddPolicy(HeadyPolicies.Admin, p => p.RequireClaim(HeadyClaims.Kind, "user").RequireClaim(Mesh.MeshClaims.ForwardedBy).RequireRole("admin"))
            .AddPolicy(HeadyPolicies.GatewayService, Mesh.MeshAuthentication.CallerPolicy(HeadyPolicies.GatewayServiceName))
            .AddPolicy(HeadyPolicies.SyncManagerService, Mesh.MeshAuthentication.CallerPolicy(HeadyPolicies.SyncManagerServiceName));
        return builder;
    }
}
