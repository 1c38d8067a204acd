using System.Security.Claims;
using HeadyClouds.ServiceDefaults.Identity;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Certificate;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeadyClouds.ServiceDefaults.Mesh;

public static class MeshClaims
{
    /// <summary>The peer's full SPIFFE ID; present only on principals made from a validated mTLS certificate.</summary>
    public const string SpiffeId = "heady:spiffe";

    public const string Serial = "heady:cert-serial";

    /// <summary>On a forwarded end user: the SPIFFE ID of the mTLS peer that forwarded it (the gateway).</summary>
    public const string ForwardedBy = "heady:forwarded-by";

    /// <summary>The certificate's notAfter (Unix seconds): checked by the mesh policies on every request.</summary>
    public const string NotAfter = "heady:cert-not-after";
}

/// <summary>
/// Authentication by the mTLS peer certificate: chain validated against the internal CA bundle only
/// (<c>ChainTrustValidationMode = CustomRootTrust</c>), client-auth EKU and validity checked on every request, then the
/// SPIFFE ID becomes a service caller (<see cref="CallerIdentity.ForService"/>), so the platform's service policies apply.
/// </summary>
public static partial class MeshAuthentication
{
    public const string Scheme = "HeadyMesh";

    public static AuthenticationBuilder AddMeshAuthentication(this IServiceCollection services, string trustDomain = SpiffeId.DefaultTrustDomain)
    {
        // Validation results are cached per certificate (a chain build per request costs more than the request);
        // the policies re-check the certificate's expiry on every request, so a cached result never outlives it.
        var builder = services.AddAuthentication().AddCertificate(Scheme).AddCertificateCache(cache =>
        {
            cache.CacheSize = 1024;
            cache.CacheEntryExpiration = TimeSpan.FromMinutes(2);
        });
        services.AddOptions<CertificateAuthenticationOptions>(Scheme).Configure<IMeshCredentials>((o, credentials) =>
        {
            o.AllowedCertificateTypes = CertificateTypes.Chained;
            o.ChainTrustValidationMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust;
            o.CustomTrustStore = credentials.TrustBundle;
            o.RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck;
            o.ValidateCertificateUse = true;
            o.ValidateValidityPeriod = true;
            o.Events = new CertificateAuthenticationEvents
            {
                OnCertificateValidated = context =>
                {
                    if (!SpiffeId.TryFromCertificate(context.ClientCertificate, out var id, out var error))
                    {
                        context.Fail(error);
                        return Task.CompletedTask;
                    }

                    if (id.TrustDomain != trustDomain)
                    {
                        context.Fail($"'{id}' is not in trust domain {trustDomain}");
                        return Task.CompletedTask;
                    }

                    var principal = CallerIdentity.ForService(id.ServiceName).ToPrincipal(Scheme);
                    var identity = (ClaimsIdentity)principal.Identity!;
                    identity.AddClaim(new Claim(MeshClaims.SpiffeId, id.ToString()));
                    identity.AddClaim(new Claim(MeshClaims.Serial, context.ClientCertificate.SerialNumber));
                    identity.AddClaim(new Claim(MeshClaims.NotAfter, new DateTimeOffset(context.ClientCertificate.NotAfter.ToUniversalTime()).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture)));
                    context.Principal = principal;
                    context.Success();
                    return Task.CompletedTask;
                },
                // The handler's own challenge is a bare 403; say what is missing, as a problem (RFC 7807).
                OnChallenge = async context =>
                {
                    context.HandleResponse();
                    context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                    await context.HttpContext.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                    {
                        HttpContext = context.HttpContext,
                        ProblemDetails =
                        {
                            Status = StatusCodes.Status401Unauthorized,
                            Title = "Unauthorized",
                            Detail = context.HttpContext.Connection.ClientCertificate is null
                                ? "A client certificate issued by the internal CA is required."
                                : "The client certificate was not accepted (see the service log for the reason).",
                        },
                    });
                },
                OnAuthenticationFailed = context =>
                {
                    LogRejected(context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(MeshAuthentication)), context.Exception.Message);
                    return Task.CompletedTask;
                },
            };
        });
        // The options hold a snapshot of the bundle: drop them when it changes (CA rollover) so the next request rebuilds.
        services.AddHostedService<TrustStoreRefresher>();
        return builder;
    }

    /// <summary>
    /// Only these services, authenticated by their mTLS certificate, may call the endpoints; any other certified caller
    /// gets 403. A service identity from another scheme (e.g. a signed assertion) does not count.
    /// </summary>
    public static TBuilder RequireCaller<TBuilder>(this TBuilder builder, params string[] services) where TBuilder : IEndpointConventionBuilder
    {
        if (services.Length == 0)
        {
            throw new ArgumentException("Name at least one service.", nameof(services));
        }

        return builder.RequireAuthorization(CallerPolicy(services));
    }

    public static AuthorizationPolicy CallerPolicy(params string[] services) => new AuthorizationPolicyBuilder(Scheme)
        .RequireAuthenticatedUser()
        .RequireClaim(HeadyClaims.Kind, "service")
        .RequireClaim(MeshClaims.SpiffeId)
        .RequireClaim(ClaimTypes.NameIdentifier, services)
        .RequireAssertion(CertificateStillValid)
        .Build();

    /// <summary>Any workload with a valid mesh certificate.</summary>
    public static AuthorizationPolicy AnyWorkloadPolicy() => new AuthorizationPolicyBuilder(Scheme)
        .RequireAuthenticatedUser()
        .RequireClaim(MeshClaims.SpiffeId)
        .RequireAssertion(CertificateStillValid)
        .Build();

    /// <summary>
    /// A connection keeps the certificate of its handshake and validation results are cached, so expiry is checked
    /// here, per request.
    /// </summary>
    private static bool CertificateStillValid(AuthorizationHandlerContext context) =>
        long.TryParse(context.User.FindFirstValue(MeshClaims.NotAfter), System.Globalization.CultureInfo.InvariantCulture, out var notAfter)
        && DateTimeOffset.FromUnixTimeSeconds(notAfter) > TimeProvider.System.GetUtcNow();

    [LoggerMessage(1, LogLevel.Warning, "Rejected mTLS peer: {Reason}")]
    private static partial void LogRejected(ILogger logger, string reason);

    private sealed class TrustStoreRefresher(IMeshCredentials credentials, IOptionsMonitorCache<CertificateAuthenticationOptions> cache) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            credentials.Changed += Refresh;
            Refresh();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            credentials.Changed -= Refresh;
            return Task.CompletedTask;
        }

        private void Refresh() => cache.TryRemove(Scheme);
    }
}
