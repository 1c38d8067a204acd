using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using HeadyClouds.CertificateAuthority.Domain;
using HeadyClouds.CertificateAuthority.Keys;
using HeadyClouds.ServiceDefaults.Mesh;
using HeadyClouds.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HeadyClouds.Mesh.Tests;

/// <summary>
/// The real CA (its Program, its Kestrel on loopback TLS 1.3) with its key in the shared SoftHSM token under a
/// key-label prefix of its own, and its state in a fresh SQLite file.
/// </summary>
public class CaFixture : IAsyncLifetime
{
    private CaFactory? factory;

    public string OperatorToken { get; } = "op-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    public string KeyLabelPrefix { get; } = "ca-" + Guid.NewGuid().ToString("N")[..12];

    public string StateDirectory { get; } = Path.Combine(Path.GetTempPath(), "heady-ca-" + Guid.NewGuid().ToString("N"));

    protected virtual TimeSpan LeafLifetime => TimeSpan.FromHours(24);

    public Uri BaseAddress { get; private set; } = null!;

    public System.Collections.Concurrent.ConcurrentQueue<string> Logs { get; } = new();

    public IServiceProvider Services => factory!.Services;

    public Authority Authority => Services.GetRequiredService<Authority>();

    public ICaKeyStore Keys => Services.GetRequiredService<ICaKeyStore>();

    public Task InitializeAsync() => StartAsync();

    /// <summary>Stops the CA and starts it again on the same state file and token keys (a process restart).</summary>
    public async Task RestartAsync()
    {
        await factory!.DisposeAsync();
        await StartAsync();
    }

    protected virtual IEnumerable<KeyValuePair<string, string>> ExtraSettings => [];

    private async Task StartAsync()
    {
        var settings = new Dictionary<string, string>
        {
            ["urls"] = "https://127.0.0.1:0",
            ["CertificateAuthority:StatePath"] = Path.Combine(StateDirectory, "ca.db"),
            ["CertificateAuthority:TrustBundlePath"] = Path.Combine(StateDirectory, "trust-bundle.pem"),
            ["CertificateAuthority:LeafLifetime"] = LeafLifetime.ToString("c"),
            ["CertificateAuthority:ClockSkew"] = "00:00:00.200",
            ["CertificateAuthority:OperatorToken"] = OperatorToken,
            ["CertificateAuthority:Pkcs11:ModulePath"] = SoftHsmToken.ModulePath,
            ["CertificateAuthority:Pkcs11:TokenLabel"] = SoftHsmToken.Label,
            ["CertificateAuthority:Pkcs11:Pin"] = SoftHsmToken.Pin,
            ["CertificateAuthority:Pkcs11:KeyLabelPrefix"] = KeyLabelPrefix,
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in ExtraSettings)
        {
            settings[key] = value;
        }

        factory = new CaFactory(settings, Logs);
        factory.UseKestrel();
        factory.StartServer();
        var addresses = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        BaseAddress = new Uri(addresses.Single(a => a.StartsWith("https://", StringComparison.Ordinal)));
        await Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (factory is not null)
        {
            await factory.DisposeAsync();
        }

        try
        {
            Directory.Delete(StateDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public X509Certificate2Collection TrustBundle => Authority.TrustBundle();

    public string TrustBundlePem => string.Join("\n", TrustBundle.Select(c => c.ExportCertificatePem()));

    /// <summary>A client of the CA that trusts the CA bundle (server validated) and presents <paramref name="certificate"/>, if any.</summary>
    public HttpClient Client(X509Certificate2? certificate = null, Action<SocketsHttpHandler>? tweak = null)
    {
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero };
        handler.ConfigureMeshClient(new StaticMeshCredentials(certificate, TrustBundle), MeshProtocol.CertificateAuthorityService);
        tweak?.Invoke(handler);
        return new HttpClient(handler) { BaseAddress = BaseAddress };
    }

    public HttpClient OperatorClient()
    {
        var client = Client();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", OperatorToken);
        return client;
    }

    public async Task<string> MintJoinTokenAsync(string service, int? lifetimeSeconds = null)
    {
        using var client = OperatorClient();
        using var response = await client.PostAsJsonAsync("/v1/operator/join-tokens", new { service, lifetimeSeconds });
        var json = await response.AssertJsonAsync(System.Net.HttpStatusCode.Created);
        return json.GetProperty("token").GetString()!;
    }

    /// <summary>Enrolls <paramref name="service"/> the way a workload does: fresh key, CSR, join token.</summary>
    public async Task<X509Certificate2> EnrollAsync(string service)
    {
        var token = await MintJoinTokenAsync(service);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var client = Client();
        using var response = await client.PostAsJsonAsync(MeshProtocol.IssuePath, new IssueCertificateRequest(token, Csr(key, service)));
        var issued = await response.Content.ReadFromJsonAsync<IssuedCertificate>();
        Assert.True(response.IsSuccessStatusCode, $"enrollment of {service}: {(int)response.StatusCode}");
        using var publicOnly = X509Certificate2.CreateFromPem(issued!.Certificate);
        return publicOnly.CopyWithPrivateKey(key);
    }

    public static string Csr(ECDsa key, string commonName = "workload", Action<CertificateRequest>? extend = null)
    {
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        extend?.Invoke(request);
        return request.CreateSigningRequestPem();
    }

    /// <summary>A certificate signed by this CA's real key with chosen dates (e.g. already expired).</summary>
    public X509Certificate2 IssueDirect(string service, DateTimeOffset now, TimeSpan lifetime)
    {
        var active = Authority.Active();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var publicKey = new CertificateRequest("CN=x", key, HashAlgorithmName.SHA256).PublicKey;
        using var certificate = CertificateProfiles.CreateWorkloadCertificate(publicKey, SpiffeId.ForService(service), ["localhost"], active.Certificate, active.Key!, now, lifetime, TimeSpan.Zero, CertificateProfiles.NewSerial());
        return certificate.CopyWithPrivateKey(key);
    }

    private sealed class CaFactory(IReadOnlyDictionary<string, string> settings, System.Collections.Concurrent.ConcurrentQueue<string> logs) : WebApplicationFactory<Authority>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.ConfigureServices(services => services.AddLogging(logging => logging.AddProvider(new CollectingLoggerProvider(logs))));
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }
        }
    }
}

/// <summary>A CA of its own, for tests that change its state (rollover, restart) and with a configured join token.</summary>
public sealed class IsolatedCaFixture : CaFixture
{
    public const string ConfiguredService = "monorepo-sync";

    public string ConfiguredJoinToken { get; } = "configured-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    protected override IEnumerable<KeyValuePair<string, string>> ExtraSettings =>
        [new($"CertificateAuthority:JoinTokens:{ConfiguredService}", ConfiguredJoinToken)];
}

/// <summary>The development fallback: software CA key behind the explicit insecure flag.</summary>
public sealed class InsecureCaFixture : CaFixture
{
    protected override IEnumerable<KeyValuePair<string, string>> ExtraSettings =>
        [new("CertificateAuthority:InsecureSoftwareKey", "true"), new("CertificateAuthority:Pkcs11:TokenLabel", "")];
}

/// <summary>A CA issuing certificates of a few seconds, for renewal and rotation.</summary>
public sealed class ShortLivedCaFixture : CaFixture
{
    protected override TimeSpan LeafLifetime => TimeSpan.FromSeconds(10);
}
