using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace HeadyClouds.ServiceDefaults.Mesh;

/// <summary>A certificate from the CA with its private key, and the trust bundle that came with it.</summary>
public sealed record MeshCertificate(X509Certificate2 Certificate, X509Certificate2Collection TrustBundle, string Serial);

/// <summary>
/// One exchange with the CA, for <see cref="WorkloadIdentity"/> and for whoever needs a certificate as files (the
/// AppHost for the data tier's PostgreSQL and Redis server certificates): a fresh P-256 key made here, a CSR sent, the
/// answer checked (identity, key, chain) before it is used.
/// </summary>
public static class MeshEnrollment
{
    /// <param name="presenter">Its <see cref="IMeshCredentials.TrustBundle"/> validates the CA; its current certificate is presented (renewal).</param>
    /// <param name="joinToken">First issuance; null for a renewal authenticated by the presented certificate.</param>
    public static async Task<MeshCertificate> RequestAsync(Uri caUrl, IMeshCredentials presenter, SpiffeId expected, string? joinToken, CancellationToken cancellationToken = default)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        // The CA ignores whatever a CSR asks for beyond the key; the subject is informational.
        var csr = new CertificateRequest($"CN={expected.ServiceName}", key, HashAlgorithmName.SHA256).CreateSigningRequestPem();

        // A new connection per request: it presents the certificate current now, and a pooled one could outlive it.
        using var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero };
        handler.ConfigureMeshClient(presenter, MeshProtocol.CertificateAuthorityService);
        using var client = new HttpClient(handler) { BaseAddress = caUrl, Timeout = TimeSpan.FromSeconds(30) };
        using var response = joinToken is null
            ? await client.PostAsJsonAsync(MeshProtocol.RenewPath, new RenewCertificateRequest(csr), cancellationToken)
            : await client.PostAsJsonAsync(MeshProtocol.IssuePath, new IssueCertificateRequest(joinToken, csr), cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new MeshIdentityException($"The CA refused {(joinToken is null ? "renewal" : "first issuance")} for {expected}: {(int)response.StatusCode} {body}");
        }

        var issued = await response.Content.ReadFromJsonAsync<IssuedCertificate>(cancellationToken)
            ?? throw new MeshIdentityException("The CA answered without a certificate.");
        return Accept(issued, key, expected);
    }

    /// <summary>Never install what we would refuse from a peer: right identity, our key, chains to the bundle.</summary>
    private static MeshCertificate Accept(IssuedCertificate issued, ECDsa key, SpiffeId expected)
    {
        var bundle = ParseBundle(issued.TrustBundle);
        using var publicOnly = X509Certificate2.CreateFromPem(issued.Certificate);
        if (!SpiffeId.TryFromCertificate(publicOnly, out var id, out var error) || id != expected)
        {
            throw new MeshIdentityException($"The CA issued a certificate for '{id?.ToString() ?? error}', expected {expected}.");
        }

        if (!MeshCertificateValidator.Validate(publicOnly, bundle, MeshCertificateValidator.ClientAuth, out error)
            || !MeshCertificateValidator.Validate(publicOnly, bundle, MeshCertificateValidator.ServerAuth, out error))
        {
            throw new MeshIdentityException($"The issued certificate does not validate against the CA bundle: {error}");
        }

        // CopyWithPrivateKey fails if the certificate is not for this key.
        var withKey = publicOnly.CopyWithPrivateKey(key);
        if (OperatingSystem.IsWindows())
        {
            // SChannel needs an exported-and-imported key; Linux (OpenSSL) uses the ephemeral key directly.
            var pfx = withKey.Export(X509ContentType.Pkcs12);
            withKey.Dispose();
            withKey = X509CertificateLoader.LoadPkcs12(pfx, null, X509KeyStorageFlags.EphemeralKeySet);
        }

        return new MeshCertificate(withKey, bundle, issued.Serial);
    }

    /// <summary>
    /// <c>cert.pem</c>, <c>key.pem</c> (PKCS#8, mode 0600 where the OS has modes) and <c>ca.pem</c> (the bundle) in
    /// <paramref name="directory"/>, each replaced atomically — the shape PostgreSQL (<c>ssl_cert_file</c>,
    /// <c>ssl_key_file</c>, <c>ssl_ca_file</c>) and Redis (<c>tls-cert-file</c>, <c>tls-key-file</c>,
    /// <c>tls-ca-cert-file</c>) read. <c>serial</c> is written last: whoever watches it (eng/local/postgres.sh and
    /// redis.sh) sees a complete, matching set once it changes.
    /// </summary>
    public static void WritePemFiles(MeshCertificate certificate, string directory)
    {
        Directory.CreateDirectory(directory);
        using var key = certificate.Certificate.GetECDsaPrivateKey()
            ?? throw new InvalidOperationException("The certificate has no EC private key.");
        Write(Path.Combine(directory, "key.pem"), key.ExportPkcs8PrivateKeyPem(), secret: true);
        Write(Path.Combine(directory, "cert.pem"), certificate.Certificate.ExportCertificatePem() + "\n", secret: false);
        Write(Path.Combine(directory, "ca.pem"), string.Concat(certificate.TrustBundle.Select(c => c.ExportCertificatePem() + "\n")), secret: false);
        Write(Path.Combine(directory, "serial"), certificate.Serial + "\n", secret: false);
    }

    public static X509Certificate2Collection ParseBundle(IEnumerable<string> pems)
    {
        var bundle = new X509Certificate2Collection();
        foreach (var pem in pems)
        {
            bundle.ImportFromPem(pem);
        }

        if (bundle.Count == 0)
        {
            throw new MeshIdentityException("The trust bundle is empty.");
        }

        return bundle;
    }

    private static void Write(string path, string content, bool secret)
    {
        var temp = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (secret && !OperatingSystem.IsWindows())
        {
            // Created 0600: never readable by others, not even between create and chmod.
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temp, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(content);
        }

        File.Move(temp, path, overwrite: true);
    }
}
