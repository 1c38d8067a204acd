using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using HeadyClouds.ServiceDefaults.Mesh;
using HeadyClouds.Testing;

namespace HeadyClouds.Mesh.Tests;

/// <summary>The CA service itself: its key in the token, enrollment with join tokens, renewal, revocation, rollover.</summary>
public sealed class CertificateAuthorityTests(CaFixture ca) : IClassFixture<CaFixture>
{
    [Fact]
    public void CaKey_LivesInTheToken_SensitiveAndNonExtractable()
    {
        var active = ca.Authority.Active();
        var attributes = ca.Keys.Describe(active.KeyLabel);
        Assert.True(attributes.OnToken);
        Assert.True(attributes.Sensitive);
        Assert.False(attributes.Extractable);
        Assert.True(attributes.NeverExtractable);
        Assert.True(attributes.AlwaysSensitive);
        // And the key object refuses to hand out its private half.
        Assert.Throws<CryptographicException>(() => active.Key!.ExportParameters(includePrivateParameters: true));
        // The CA certificate's public key is the token's key.
        Assert.Equal(active.Key!.ExportSubjectPublicKeyInfo(), active.Certificate.PublicKey.ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public async Task CaKey_AttributesRead_ThroughAnIndependentPkcs11Session()
    {
        // Not through the CA's own code: a separate session on the token reads the private key's attributes.
        using var keys = new HeadyClouds.CertificateAuthority.Keys.Pkcs11KeyStore(SoftHsmToken.ModulePath, SoftHsmToken.Label, SoftHsmToken.Pin);
        var attributes = keys.Describe(ca.Authority.Active().KeyLabel);
        Assert.Equal((true, false), (attributes.Sensitive, attributes.Extractable));
        await Task.CompletedTask;
    }

    [Fact]
    public async Task JoinToken_IssuesTheBoundIdentity_AndIgnoresWhatTheCsrAsks()
    {
        var token = await ca.MintJoinTokenAsync("heady-me-sync");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        // The CSR asks to be a CA, the gateway, and for a year: all ignored.
        var csr = CaFixture.Csr(key, "gateway", request =>
        {
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            var san = new SubjectAlternativeNameBuilder();
            san.AddUri(new Uri("spiffe://headyclouds.internal/service/gateway"));
            san.AddDnsName("evil.example");
            request.CertificateExtensions.Add(san.Build());
        });
        using var client = ca.Client();
        using var response = await client.PostAsJsonAsync(MeshProtocol.IssuePath, new IssueCertificateRequest(token, csr));
        var json = await response.AssertJsonAsync(HttpStatusCode.Created);
        using var certificate = X509Certificate2.CreateFromPem(json.GetProperty("certificate").GetString()!);

        Assert.True(SpiffeId.TryFromCertificate(certificate, out var id, out _));
        Assert.Equal("spiffe://headyclouds.internal/service/heady-me-sync", id.ToString());
        Assert.Equal("CN=heady-me-sync", certificate.Subject);
        var constraints = certificate.Extensions.OfType<X509BasicConstraintsExtension>().Single();
        Assert.False(constraints.CertificateAuthority);
        var dns = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single().EnumerateDnsNames().ToList();
        Assert.DoesNotContain("evil.example", dns);
        Assert.Contains("heady-me-sync", dns);
        var usages = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value).ToList();
        Assert.Equal(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"], usages);
        Assert.Equal(key.ExportSubjectPublicKeyInfo(), certificate.PublicKey.ExportSubjectPublicKeyInfo());
        // Default lifetime 24 h (plus the small backdating for clock skew).
        var lifetime = certificate.NotAfter - certificate.NotBefore;
        Assert.InRange(lifetime, TimeSpan.FromHours(24), TimeSpan.FromHours(24) + TimeSpan.FromSeconds(1));
        Assert.True(MeshCertificateValidator.Validate(certificate, ca.TrustBundle, MeshCertificateValidator.ClientAuth, out var error), error);
    }

    [Fact]
    public async Task JoinToken_IsSingleUse()
    {
        var token = await ca.MintJoinTokenAsync("monorepo-sync");
        using var client = ca.Client();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var first = await client.PostAsJsonAsync(MeshProtocol.IssuePath, new IssueCertificateRequest(token, CaFixture.Csr(key)));
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);

        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var second = await client.PostAsJsonAsync(MeshProtocol.IssuePath, new IssueCertificateRequest(token, CaFixture.Csr(other)));
        var problem = await second.AssertProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Contains("unknown, expired or already used", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task WrongJoinToken_IsRefused()
    {
        await ca.MintJoinTokenAsync("syncmanager");
        using var client = ca.Client();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        foreach (var wrong in new[] { "hjt_" + new string('A', 43), "", "not-a-token" })
        {
            using var response = await client.PostAsJsonAsync(MeshProtocol.IssuePath, new IssueCertificateRequest(wrong, CaFixture.Csr(key)));
            await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
        }
    }

    [Fact]
    public async Task ExpiredJoinToken_IsRefused()
    {
        var token = await ca.MintJoinTokenAsync("syncmanager", lifetimeSeconds: 1);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = CaFixture.Csr(key);
        // Wait until the token's expiry has passed (a condition on the CA's clock, not a timing assertion).
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        using var client = ca.Client();
        using var response = await client.PostAsJsonAsync(MeshProtocol.IssuePath, new IssueCertificateRequest(token, csr));
        await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task MalformedOrForgedCsr_IsRefused_WithoutBurningTheToken()
    {
        var token = await ca.MintJoinTokenAsync("gateway");
        using var client = ca.Client();
        using var garbage = await client.PostAsJsonAsync(MeshProtocol.IssuePath, new IssueCertificateRequest(token, "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----"));
        await garbage.AssertProblemAsync(HttpStatusCode.BadRequest);

        // A CSR whose self-signature does not match: the requester does not hold the key.
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var der = new CertificateRequest("CN=x", key, HashAlgorithmName.SHA256).CreateSigningRequest();
        der[^5] ^= 0x55;
        using var forged = await client.PostAsJsonAsync(MeshProtocol.IssuePath, new IssueCertificateRequest(token, PemEncoding.WriteString("CERTIFICATE REQUEST", der)));
        await forged.AssertProblemAsync(HttpStatusCode.BadRequest);

        using var good = await client.PostAsJsonAsync(MeshProtocol.IssuePath, new IssueCertificateRequest(token, CaFixture.Csr(key)));
        Assert.Equal(HttpStatusCode.Created, good.StatusCode);
    }

    [Fact]
    public async Task JoinTokens_AreStoredOnlyAsHashes()
    {
        var token = await ca.MintJoinTokenAsync("gateway");
        var bytes = await File.ReadAllBytesAsync(Path.Combine(ca.StateDirectory, "ca.db"));
        var wal = Path.Combine(ca.StateDirectory, "ca.db-wal");
        var all = bytes.Concat(File.Exists(wal) ? await ReadSharedAsync(wal) : []).ToArray();
        Assert.Equal(-1, all.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(token)));
        Assert.NotEqual(-1, all.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(HeadyClouds.CertificateAuthority.Domain.JoinToken.Hash(token))));
        Assert.DoesNotContain(ca.Logs, line => line.Contains(token, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Renewal_WithTheCurrentCertificate_KeepsTheIdentity()
    {
        using var certificate = await ca.EnrollAsync("heady-me-sync");
        using var client = ca.Client(certificate);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var response = await client.PostAsJsonAsync(MeshProtocol.RenewPath, new RenewCertificateRequest(CaFixture.Csr(key, "gateway")));
        var renewed = (await response.Content.ReadFromJsonAsync<IssuedCertificate>())!;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("spiffe://headyclouds.internal/service/heady-me-sync", renewed.SpiffeId);
        Assert.NotEqual(certificate.SerialNumber, renewed.Serial);
    }

    [Fact]
    public async Task Renewal_WithoutClientCertificate_IsRefused()
    {
        using var client = ca.Client();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var response = await client.PostAsJsonAsync(MeshProtocol.RenewPath, new RenewCertificateRequest(CaFixture.Csr(key)));
        var problem = await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Contains("client certificate", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Renewal_WithSelfSignedOrForeignCertificate_IsRefusedAtTheHandshake()
    {
        using var selfSigned = Certificates.SelfSigned("heady-me-sync");
        using var foreign = Certificates.FromOtherCa("heady-me-sync", ca.Authority.Active().Certificate.SubjectName);
        foreach (var certificate in new[] { selfSigned, foreign })
        {
            using var client = ca.Client(certificate);
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.PostAsJsonAsync(MeshProtocol.RenewPath, new RenewCertificateRequest(CaFixture.Csr(key))));
        }
    }

    [Fact]
    public async Task RevokedCertificate_CannotRenew()
    {
        using var certificate = await ca.EnrollAsync("monorepo-sync");
        using (var admin = ca.OperatorClient())
        {
            using var revoke = await admin.PostAsJsonAsync("/v1/operator/revocations", new { serial = certificate.SerialNumber, reason = "key compromise drill" });
            Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        }

        using var client = ca.Client(certificate);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var response = await client.PostAsJsonAsync(MeshProtocol.RenewPath, new RenewCertificateRequest(CaFixture.Csr(key)));
        var problem = await response.AssertProblemAsync(HttpStatusCode.Forbidden);
        Assert.Contains("revoked", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task RevokingAnUnknownSerial_Is404()
    {
        using var admin = ca.OperatorClient();
        using var response = await admin.PostAsJsonAsync("/v1/operator/revocations", new { serial = "00AB" });
        await response.AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task OperatorApi_RefusesWorkloadsAndWrongTokens()
    {
        using var workload = await ca.EnrollAsync("gateway");
        using var viaCertificate = ca.Client(workload);
        using var wrongToken = ca.Client();
        wrongToken.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ca.OperatorToken + "x");
        using var anonymous = ca.Client();
        foreach (var client in new[] { viaCertificate, wrongToken, anonymous })
        {
            using var response = await client.PostAsJsonAsync("/v1/operator/join-tokens", new { service = "gateway" });
            Assert.Contains(response.StatusCode, new[] { HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden });
        }
    }

    [Fact]
    public async Task TrustBundle_IsPublic_AndListsTheCa()
    {
        using var client = ca.Client();
        var bundle = await client.GetFromJsonAsync<TrustBundleResponse>(MeshProtocol.TrustBundlePath);
        Assert.Contains(bundle!.Certificates, pem => X509Certificate2.CreateFromPem(pem).Thumbprint == ca.Authority.Active().Certificate.Thumbprint);
    }

    [Fact]
    public async Task TheCaItself_ServesOnlyTls13()
    {
        using var client = ca.Client(tweak: h => h.SslOptions.EnabledSslProtocols = System.Security.Authentication.SslProtocols.Tls12);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetAsync(MeshProtocol.TrustBundlePath));
    }

    private static async Task<byte[]> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var memory = new MemoryStream();
        await stream.CopyToAsync(memory);
        return memory.ToArray();
    }
}
