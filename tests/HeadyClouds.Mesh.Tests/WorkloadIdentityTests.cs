using System.Net;
using System.Net.Http.Json;
using System.Security.Authentication;
using System.Security.Cryptography;
using HeadyClouds.ServiceDefaults.Mesh;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace HeadyClouds.Mesh.Tests;

/// <summary>The client library's bootstrap rules and its opt-in HttpClient transport.</summary>
public sealed class WorkloadIdentityTests(MeshServiceFixture mesh) : IClassFixture<MeshServiceFixture>
{
    [Fact]
    public async Task Bootstrap_RefusesACaItDoesNotTrust_WithoutSpendingTheJoinToken()
    {
        var token = await mesh.Ca.MintJoinTokenAsync("syncmanager");
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var otherCa = Certificates.NewCa(mesh.Ca.Authority.Active().Certificate.SubjectName, otherKey);
        // Anchored on another CA: the real CA's certificate does not validate, so the token is never sent.
        using var phished = Identity(token, otherCa.ExportCertificatePem());
        var error = await Assert.ThrowsAnyAsync<HttpRequestException>(() => phished.StartAsync(CancellationToken.None));
        Assert.IsType<AuthenticationException>(error.InnerException);
        Assert.Null(phished.Current);

        // The token is still good with the right anchor.
        using var genuine = Identity(token, mesh.Ca.TrustBundlePem);
        await genuine.StartAsync(CancellationToken.None);
        Assert.NotNull(genuine.Current);
        Assert.True(genuine.Current!.HasPrivateKey);
        await genuine.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Bootstrap_WithAWrongToken_FailsTheStart()
    {
        using var identity = Identity("hjt_wrong-token-000000000000000000000000000", mesh.Ca.TrustBundlePem);
        var error = await Assert.ThrowsAsync<MeshIdentityException>(() => identity.StartAsync(CancellationToken.None));
        Assert.Contains("401", error.Message);
        Assert.Null(identity.Current);
    }

    [Fact]
    public async Task UseMeshTransport_PresentsTheCertificate_OnlyOnTheClientsThatOptIn()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IMeshCredentials>(new StaticMeshCredentials(mesh.Gateway, mesh.Ca.TrustBundle));
        services.AddHttpClient("mesh", http => http.BaseAddress = mesh.Server.BaseAddress).UseMeshTransport("heady-me-sync");
        services.AddHttpClient("other", http => http.BaseAddress = mesh.Server.BaseAddress);
        await using var provider = services.BuildServiceProvider();
        var factory = provider.GetRequiredService<IHttpClientFactory>();

        using var response = await factory.CreateClient("mesh").GetAsync("/api/whoami");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("gateway", (await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("service").GetString());
        // A client that did not opt in keeps the system trust store: it neither trusts the internal CA nor presents a certificate.
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => factory.CreateClient("other").GetAsync("/api/whoami"));
    }

    [Fact]
    public async Task Enrollment_AsPemFiles_ForTheDataTier()
    {
        // What the AppHost does for PostgreSQL's and Redis's server certificates.
        var token = await mesh.Ca.MintJoinTokenAsync("postgres");
        var issued = await MeshEnrollment.RequestAsync(mesh.Ca.BaseAddress, new StaticMeshCredentials(null, mesh.Ca.TrustBundle), SpiffeId.ForService("postgres"), token);
        var directory = Path.Combine(mesh.Ca.StateDirectory, "postgres-tls");
        MeshEnrollment.WritePemFiles(issued, directory);

        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(directory, "key.pem")));
        }

        using var fromFiles = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(Path.Combine(directory, "cert.pem"), Path.Combine(directory, "key.pem"));
        Assert.Equal(issued.Certificate.Thumbprint, fromFiles.Thumbprint);
        Assert.True(fromFiles.HasPrivateKey);
        var bundle = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
        bundle.ImportFromPemFile(Path.Combine(directory, "ca.pem"));
        Assert.True(MeshCertificateValidator.Validate(fromFiles, bundle, MeshCertificateValidator.ServerAuth, out var error), error);
        Assert.Contains("localhost", fromFiles.Extensions.OfType<System.Security.Cryptography.X509Certificates.X509SubjectAlternativeNameExtension>().Single().EnumerateDnsNames());
    }

    private WorkloadIdentity Identity(string joinToken, string anchors) => new(Options.Create(new MeshOptions
    {
        ServiceName = "syncmanager",
        CaUrl = mesh.Ca.BaseAddress,
        JoinToken = joinToken,
        TrustAnchors = anchors,
        BootstrapTimeout = TimeSpan.FromSeconds(2),
    }), NullLogger<WorkloadIdentity>.Instance);
}
