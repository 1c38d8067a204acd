using System.Security.Claims;
using HeadyClouds.CertificateAuthority.Domain;
using HeadyClouds.CertificateAuthority.Infrastructure;
using HeadyClouds.ServiceDefaults;
using HeadyClouds.ServiceDefaults.Mesh;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HeadyClouds.CertificateAuthority.Apis;

/// <summary>
/// What workloads call: the trust bundle and first issuance (anonymous at the HTTP level: the join token is the
/// credential), and renewal (authenticated by the current certificate over mTLS).
/// </summary>
public static class EnrollmentApi
{
    public static IEndpointRouteBuilder MapEnrollmentApi(this IEndpointRouteBuilder app)
    {
        var open = app.MapGroup("").WithTags("Enrollment").AllowAnonymous();
        open.MapGet(MeshProtocol.TrustBundlePath, GetTrustBundle);
        open.MapPost(MeshProtocol.IssuePath, Issue);

        var workloads = app.MapGroup("").WithTags("Enrollment").RequireAuthorization(MeshAuthentication.AnyWorkloadPolicy());
        workloads.MapPost(MeshProtocol.RenewPath, Renew);
        return app;
    }

    private static Ok<TrustBundleResponse> GetTrustBundle(Authority authority) =>
        TypedResults.Ok(new TrustBundleResponse(authority.TrustBundle().Select(c => c.ExportCertificatePem()).ToList(), authority.Active().Certificate.SerialNumber));

    private static Results<Created<IssuedCertificate>, ProblemHttpResult> Issue(IssueCertificateRequest request, Authority authority)
    {
        if (!CertificateProfiles.TryReadCsr(request.Csr, out var publicKey, out var error))
        {
            return Problems.BadRequest(error);
        }

        // The CSR is checked first so that a malformed request does not burn the token.
        var issued = string.IsNullOrEmpty(request.JoinToken) ? null : authority.IssueWithJoinToken(request.JoinToken, publicKey!);
        if (issued is null)
        {
            // One answer for unknown, used and expired tokens: no oracle for which tokens exist.
            return TypedResults.Problem("The join token is unknown, expired or already used.", statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized");
        }

        return TypedResults.Created((string?)null, Describe(issued, authority));
    }

    private static Results<Ok<IssuedCertificate>, ProblemHttpResult> Renew(RenewCertificateRequest request, ClaimsPrincipal caller, Authority authority, CaStore store)
    {
        var serial = caller.FindFirstValue(MeshClaims.Serial)!;
        var service = caller.FindFirstValue(ClaimTypes.NameIdentifier)!;
        var record = store.FindIssued(serial);
        if (record is null)
        {
            return Problems.Forbidden($"Certificate {serial} was not issued by this CA; it cannot renew.");
        }

        if (record.RevokedAt is not null)
        {
            return Problems.Forbidden($"Certificate {serial} was revoked at {record.RevokedAt:o}; it cannot renew. The workload needs a new join token.");
        }

        if (record.Service != service)
        {
            return Problems.Forbidden($"Certificate {serial} was issued to '{record.Service}', not '{service}'.");
        }

        if (!CertificateProfiles.TryReadCsr(request.Csr, out var publicKey, out var error))
        {
            return Problems.BadRequest(error);
        }

        return TypedResults.Ok(Describe(authority.Issue(service, publicKey!, renewedFrom: serial), authority));
    }

    private static IssuedCertificate Describe(Issued issued, Authority authority) => new(
        issued.Id.ToString(),
        issued.Serial,
        issued.Certificate.ExportCertificatePem(),
        issued.Certificate.NotBefore.ToUniversalTime(),
        issued.Certificate.NotAfter.ToUniversalTime(),
        authority.TrustBundle().Select(c => c.ExportCertificatePem()).ToList());
}
