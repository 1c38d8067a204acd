using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HeadyClouds.AppHost;

/// <summary>
/// The gateway's public TLS certificate in development and tests: self-signed (ECDSA P-256, 90 days, SAN localhost,
/// 127.0.0.1, ::1), kept in the state directory and renewed when less than 14 days remain. Clients pin or trust
/// <c>cert.pem</c>. Production supplies its own certificate through the manifest's parameters.
/// </summary>
public static class GatewayCertificate
{
    public const string FolderName = "gateway-tls";
    public const string CertificateFile = "cert.pem";
    public const string KeyFile = "key.pem";

    public static (string CertificatePath, string KeyPath) EnsureDevelopmentCertificate(string stateDirectory)
    {
        var folder = Path.Combine(stateDirectory, FolderName);
        Directory.CreateDirectory(folder);
        var certPath = Path.Combine(folder, CertificateFile);
        var keyPath = Path.Combine(folder, KeyFile);

        if (File.Exists(certPath) && File.Exists(keyPath))
        {
            using var existing = X509Certificate2.CreateFromPemFile(certPath, keyPath);
            if (existing.NotAfter > DateTime.UtcNow.AddDays(14))
            {
                return (certPath, keyPath);
            }
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=HeadyClouds development gateway", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        san.AddIpAddress(IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(90));

        if (OperatingSystem.IsWindows())
        {
            File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        }
        else
        {
            // Created 0600, so the key is never readable by others, not even for a moment.
            File.Delete(keyPath);
            using var stream = new FileStream(keyPath, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
            using var writer = new StreamWriter(stream);
            writer.Write(key.ExportPkcs8PrivateKeyPem());
        }

        File.WriteAllText(certPath, certificate.ExportCertificatePem());
        return (certPath, keyPath);
    }

    /// <summary>
    /// Readiness of the gateway over its public HTTPS endpoint, trusting exactly the certificate the gateway serves
    /// (pinned by SHA-256), since the development certificate is in no trust store.
    /// </summary>
    public static async Task<HealthCheckResult> CheckHealthAsync(EndpointReference https, string certificatePath, CancellationToken ct)
    {
        using var expected = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(certificatePath, ct));
        var pin = expected.GetCertHash(HashAlgorithmName.SHA256);
        using var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, presented, _, _) =>
                presented is not null && presented.GetCertHash(HashAlgorithmName.SHA256).AsSpan().SequenceEqual(pin),
        };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await client.GetAsync(new Uri(new Uri(https.Url), "/health"), ct);
            return response.IsSuccessStatusCode ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy($"HTTP {(int)response.StatusCode}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return HealthCheckResult.Unhealthy(e.Message);
        }
    }
}
