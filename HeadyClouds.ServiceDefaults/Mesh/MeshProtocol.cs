namespace HeadyClouds.ServiceDefaults.Mesh;

/// <summary>The CA's HTTP API, shared by the CA and the workload-identity client.</summary>
public static class MeshProtocol
{
    public const string IssuePath = "/v1/certificates";
    public const string RenewPath = "/v1/certificates/renew";
    public const string TrustBundlePath = "/v1/trust-bundle";

    /// <summary>The CA's own workload name (its serving certificate's SPIFFE ID).</summary>
    public const string CertificateAuthorityService = "certificate-authority";
}

/// <summary>First issuance: the one-time join token and a PKCS#10 CSR (PEM). The private key never leaves the workload.</summary>
public sealed record IssueCertificateRequest(string JoinToken, string Csr);

/// <summary>Renewal: a fresh CSR; the caller is authenticated by its current certificate over mTLS.</summary>
public sealed record RenewCertificateRequest(string Csr);

public sealed record IssuedCertificate(
    string SpiffeId,
    string Serial,
    string Certificate,
    DateTimeOffset NotBefore,
    DateTimeOffset NotAfter,
    IReadOnlyList<string> TrustBundle);

/// <summary>Every CA certificate a workload must trust now (PEM), including one published ahead of a rollover.</summary>
public sealed record TrustBundleResponse(IReadOnlyList<string> Certificates, string ActiveSerial);
