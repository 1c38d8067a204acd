using HeadyClouds.CertificateAuthority.Domain;
using HeadyClouds.CertificateAuthority.Hosting;
using HeadyClouds.CertificateAuthority.Infrastructure;
using HeadyClouds.CertificateAuthority.Keys;
using HeadyClouds.ServiceDefaults;
using HeadyClouds.ServiceDefaults.Mesh;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HeadyClouds.CertificateAuthority.Apis;

public sealed record MintJoinTokenRequest(string Service, int? LifetimeSeconds);

public sealed record MintedJoinToken(string Service, string SpiffeId, string Token, DateTimeOffset ExpiresAt);

public sealed record RevokeRequest(string Serial, string? Reason);

public sealed record RolloverRequest(int PublishForSeconds);

public sealed record CaGenerationView(long Generation, string KeyLabel, string Serial, string Certificate, DateTimeOffset NotAfter, DateTimeOffset ActivatesAt, CaKeyAttributes Key);

public sealed record IssuedView(string Serial, string Service, DateTimeOffset NotBefore, DateTimeOffset NotAfter, DateTimeOffset IssuedAt, string? RenewedFrom, DateTimeOffset? RevokedAt);

/// <summary>Operators (and the AppHost) only: join tokens, revocation, CA rollover, inventory.</summary>
public static class OperatorApi
{
    public static IEndpointRouteBuilder MapOperatorApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/operator").WithTags("Operator").RequireAuthorization(OperatorAuthenticationHandler.Policy);
        group.MapPost("/join-tokens", MintJoinToken);
        group.MapPost("/revocations", Revoke);
        group.MapGet("/certificates", ListCertificates);
        group.MapGet("/ca", ListGenerations);
        group.MapPost("/rollover", Rollover);
        return app;
    }

    private static Results<Created<MintedJoinToken>, ProblemHttpResult> MintJoinToken(MintJoinTokenRequest request, Authority authority, TimeProvider time)
    {
        if (!SpiffeId.IsValidServiceName(request.Service))
        {
            return Problems.BadRequest("service must be lower-case letters, digits and '-', at most 63 characters.");
        }

        if (request.LifetimeSeconds is < 1 or > 7 * 24 * 3600)
        {
            return Problems.BadRequest("lifetimeSeconds must be between 1 and 604800.");
        }

        TimeSpan? lifetime = request.LifetimeSeconds is null ? null : TimeSpan.FromSeconds(request.LifetimeSeconds.Value);
        var now = time.GetUtcNow();
        var token = authority.MintJoinToken(request.Service, lifetime);
        var expires = now + (lifetime ?? authority.JoinTokenLifetime);
        return TypedResults.Created((string?)null, new MintedJoinToken(request.Service, SpiffeId.ForService(request.Service, authority.TrustDomain).ToString(), token, expires));
    }

    private static Results<NoContent, ProblemHttpResult> Revoke(RevokeRequest request, CaStore store, TimeProvider time, ILogger<Authority> logger)
    {
        var serial = request.Serial?.Trim().ToUpperInvariant() ?? "";
        if (serial.Length == 0 || store.FindIssued(serial) is null)
        {
            return Problems.NotFound($"No certificate with serial '{request.Serial}' was issued by this CA.");
        }

        store.Revoke(serial, time.GetUtcNow(), request.Reason);
        logger.LogWarning("Certificate {Serial} revoked: {Reason}", serial, request.Reason ?? "(no reason given)");
        return TypedResults.NoContent();
    }

    private static Ok<List<IssuedView>> ListCertificates(string? service, CaStore store) =>
        TypedResults.Ok(store.ListIssued(service).Select(r => new IssuedView(r.Serial, r.Service, r.NotBefore, r.NotAfter, r.IssuedAt, r.RenewedFrom, r.RevokedAt)).ToList());

    private static Ok<List<CaGenerationView>> ListGenerations(Authority authority, ICaKeyStore keys) =>
        TypedResults.Ok(authority.Generations.Select(g => new CaGenerationView(
            g.Number, g.KeyLabel, g.Certificate.SerialNumber, g.Certificate.ExportCertificatePem(), g.Certificate.NotAfter.ToUniversalTime(), g.ActivatesAt, keys.Describe(g.KeyLabel))).ToList());

    /// <summary>
    /// A new CA generation, in the bundle now, signing after <c>publishForSeconds</c>. That must exceed the longest
    /// renewal interval (the leaf lifetime) so every workload has fetched the new CA before it signs a peer's certificate.
    /// </summary>
    private static Results<Created<CaGenerationView>, ProblemHttpResult> Rollover(RolloverRequest request, Authority authority, ICaKeyStore keys, TimeProvider time)
    {
        if (request.PublishForSeconds < 0)
        {
            return Problems.BadRequest("publishForSeconds must not be negative.");
        }

        var g = authority.Rollover(time.GetUtcNow().AddSeconds(request.PublishForSeconds));
        return TypedResults.Created((string?)null, new CaGenerationView(
            g.Number, g.KeyLabel, g.Certificate.SerialNumber, g.Certificate.ExportCertificatePem(), g.Certificate.NotAfter.ToUniversalTime(), g.ActivatesAt, keys.Describe(g.KeyLabel)));
    }
}
