using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using HeadyClouds.CertificateAuthority.Domain;
using HeadyClouds.ServiceDefaults.Mesh;

namespace HeadyClouds.CertificateAuthority.Hosting;

/// <summary>
/// The CA's own mesh credentials: it issues its serving certificate to itself (SPIFFE ID
/// <c>…/service/certificate-authority</c>) and renews it like any workload, at 50–70 % of its lifetime. Its trust
/// bundle is the CA's own, so renewals validate against exactly what the CA publishes.
/// </summary>
public sealed class CaServingIdentity : BackgroundService, IMeshCredentials
{
    private readonly Authority authority;
    private readonly TimeProvider time;
    private readonly ILogger<CaServingIdentity> logger;
    private volatile X509Certificate2? current;
    private volatile X509Certificate2Collection trustBundle;

    public CaServingIdentity(Authority authority, TimeProvider time, ILogger<CaServingIdentity> logger)
    {
        this.authority = authority;
        this.time = time;
        this.logger = logger;
        trustBundle = authority.TrustBundle();
        authority.BundleChanged += () =>
        {
            trustBundle = authority.TrustBundle();
            Changed?.Invoke();
        };
        // Issued at construction: Kestrel may take its first handshake before hosted services run.
        IssueSelf();
    }

    public X509Certificate2? Current => current;

    public X509Certificate2Collection TrustBundle => trustBundle;

    public event Action? Changed;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var certificate = current!;
            var due = RenewalSchedule.RenewAt(certificate.NotBefore.ToUniversalTime(), certificate.NotAfter.ToUniversalTime(), Random.Shared.NextDouble()) - time.GetUtcNow();
            try
            {
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due, time, stoppingToken);
                }

                IssueSelf();
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogError(e, "Renewing the CA's serving certificate failed; retrying");
                await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken);
            }
        }
    }

    private void IssueSelf()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var publicKey = new CertificateRequest("CN=" + MeshProtocol.CertificateAuthorityService, key, HashAlgorithmName.SHA256).PublicKey;
        var issued = authority.Issue(MeshProtocol.CertificateAuthorityService, publicKey, renewedFrom: null);
        using var publicOnly = issued.Certificate;
        current = publicOnly.CopyWithPrivateKey(key);
        trustBundle = authority.TrustBundle();
        Changed?.Invoke();
    }
}
