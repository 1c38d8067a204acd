using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using HeadyClouds.ServiceDefaults.Mesh;
using HeadyClouds.Testing;

namespace HeadyClouds.Mesh.Tests;

/// <summary>CA rollover (a new CA published before it signs) and CA restarts (key from the token, state from the file).</summary>
public sealed class LifecycleTests(IsolatedCaFixture ca) : IClassFixture<IsolatedCaFixture>
{
    [Fact]
    public async Task Restart_KeepsTheCaKey_UsedTokensStayUsed_AndConfiguredTokensWork()
    {
        var before = ca.Authority.Active();
        var minted = await ca.MintJoinTokenAsync("gateway");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using (var client = ca.Client())
        {
            Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync(MeshProtocol.IssuePath, new IssueCertificateRequest(minted, CaFixture.Csr(key)))).StatusCode);
            // The configured (secret-parameter) token, once.
            using var configured = await client.PostAsJsonAsync(MeshProtocol.IssuePath, new IssueCertificateRequest(ca.ConfiguredJoinToken, CaFixture.Csr(key)));
            var issued = await configured.Content.ReadFromJsonAsync<IssuedCertificate>();
            Assert.Equal($"spiffe://headyclouds.internal/service/{IsolatedCaFixture.ConfiguredService}", issued!.SpiffeId);
        }

        await ca.RestartAsync();

        var after = ca.Authority.Active();
        Assert.Equal(before.Certificate.Thumbprint, after.Certificate.Thumbprint);
        Assert.Equal(before.Key!.ExportSubjectPublicKeyInfo(), after.Key!.ExportSubjectPublicKeyInfo());
        using var again = ca.Client();
        // Neither the minted nor the configured token works a second time, although configuration still names the latter.
        using var reuseMinted = await again.PostAsJsonAsync(MeshProtocol.IssuePath, new IssueCertificateRequest(minted, CaFixture.Csr(key)));
        await reuseMinted.AssertProblemAsync(HttpStatusCode.Unauthorized);
        using var reuseConfigured = await again.PostAsJsonAsync(MeshProtocol.IssuePath, new IssueCertificateRequest(ca.ConfiguredJoinToken, CaFixture.Csr(key)));
        await reuseConfigured.AssertProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Rollover_PublishesTheNewCaBeforeItSigns_AndWorkloadsFollowViaRenewal()
    {
        await using var server = await MeshWorkloadServer.StartAsync(ca, "heady-me-sync", await ca.MintJoinTokenAsync("heady-me-sync"));
        var old = ca.Authority.Active();
        Assert.Single(server.Identity.TrustBundle);

        // Publish the next CA, signing in 2 seconds.
        using (var admin = ca.OperatorClient())
        {
            using var rollover = await admin.PostAsJsonAsync("/v1/operator/rollover", new { publishForSeconds = 2 });
            var created = await rollover.AssertJsonAsync(HttpStatusCode.Created);
            Assert.Equal(old.Number + 1, created.GetProperty("generation").GetInt64());
            Assert.False(created.GetProperty("key").GetProperty("extractable").GetBoolean());
        }

        using (var client = ca.Client())
        {
            var bundle = await client.GetFromJsonAsync<TrustBundleResponse>(MeshProtocol.TrustBundlePath);
            Assert.Equal(2, bundle!.Certificates.Count);
            Assert.Equal(old.Certificate.SerialNumber, bundle.ActiveSerial);
        }

        // The bundle file (for the AppHost and the data tier) follows the rollover too.
        var file = new X509Certificate2Collection();
        file.ImportFromPemFile(Path.Combine(ca.StateDirectory, "trust-bundle.pem"));
        Assert.Equal(ca.TrustBundle.Select(c => c.Thumbprint).Order(), file.Select(c => c.Thumbprint).Order());
        Assert.Equal(2, file.Count);

        // Published, not yet signing: a certificate issued now still comes from the old CA.
        using (var early = await ca.EnrollAsync("syncmanager"))
        {
            Assert.Equal(old.Certificate.Subject, early.Issuer);
        }

        while (ca.Authority.Active().Number == old.Number)
        {
            await Task.Delay(100);
        }

        var next = ca.Authority.Active();
        using var gateway = await ca.EnrollAsync("gateway");
        Assert.Equal(next.Certificate.Subject, gateway.Issuer);

        // The service has not renewed since the rollover: it does not trust the new CA yet and refuses the handshake.
        using (var stale = Client(server, gateway, ca.TrustBundle))
        {
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => stale.GetAsync("/api/whoami"));
        }

        // One renewal brings the new bundle (the reason a publish period must exceed the renewal interval).
        await server.Identity.RenewAsync();
        Assert.Equal(2, server.Identity.TrustBundle.Count);
        Assert.Equal(next.Certificate.Subject, server.Identity.Current!.Issuer);
        using var fresh = Client(server, gateway, ca.TrustBundle);
        using var response = await fresh.GetAsync("/api/whoami");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static HttpClient Client(MeshWorkloadServer server, X509Certificate2 certificate, X509Certificate2Collection bundle)
    {
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero }
            .ConfigureMeshClient(new StaticMeshCredentials(certificate, bundle), "heady-me-sync");
        return new HttpClient(handler) { BaseAddress = server.BaseAddress };
    }
}

/// <summary>
/// Logging out affects every session of the process on the token, so this runs alone (a collection without
/// parallelization runs after the others), not in the middle of other fixtures' key generation.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TokenLogoutCollection
{
    public const string Name = "pkcs11-logout";
}

[Collection(TokenLogoutCollection.Name)]
public sealed class TokenLogoutTests(IsolatedCaFixture ca) : IClassFixture<IsolatedCaFixture>
{
    [Fact]
    public async Task TokenLogout_IsRecovered_OnTheNextSignature()
    {
        // The token logs the application out when its last session closes or the HSM restarts; signing must log in again.
        using (var other = new HeadyClouds.CertificateAuthority.Keys.Pkcs11KeyStore(SoftHsmToken.ModulePath, SoftHsmToken.Label, SoftHsmToken.Pin))
        {
            other.Logout();
        }

        using var certificate = await ca.EnrollAsync("gateway");
        Assert.True(MeshCertificateValidator.Validate(certificate, ca.TrustBundle, MeshCertificateValidator.ClientAuth, out var error), error);
        // Reading the key's attributes (private objects) after a logout works too.
        using (var other = new HeadyClouds.CertificateAuthority.Keys.Pkcs11KeyStore(SoftHsmToken.ModulePath, SoftHsmToken.Label, SoftHsmToken.Pin))
        {
            other.Logout();
        }

        Assert.False(ca.Keys.Describe(ca.Authority.Active().KeyLabel).Extractable);
    }
}
