using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gateway.Yarp.Edge;
using HeadyClouds.Testing;
using HeadyClouds.IntegrationTests.SyncManager;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace HeadyClouds.IntegrationTests.Gateway;

/// <summary>
/// Two gateway replicas in-process, sharing the real Redis, in front of a real SyncManager (real PostgreSQL): the
/// gateways' introspection calls and forwarded requests go to the SyncManager test server, and every forwarded
/// request is counted, so a test can prove that a request never reached a service.
/// Limits are set low so bursts are cheap. Each test uses its own client address (the <c>X-Test-Peer</c> header,
/// honoured only by this fixture) and its own tokens, so the shared Redis buckets never mix tests.
/// </summary>
public sealed class GatewayFixture : IAsyncLifetime
{
    public const string PeerHeader = "X-Test-Peer";
    public const int TokenBurst = 5;
    public const int IpBurst = 12;
    public const int FailedAuthLimit = 3;
    public const int WafAuditThreshold = 3;

    private readonly string certificateDirectory = Path.Combine(Path.GetTempPath(), "hc-gw-cert-" + Guid.NewGuid().ToString("N")[..8]);
    private GatewayFactory? replicaA;
    private GatewayFactory? replicaB;

    public SyncManagerFixture SyncManager { get; } = new();

    public int UpstreamRequests => upstreamCounter.Count;

    /// <summary>Headers of the last request the gateways forwarded upstream.</summary>
    public System.Net.Http.Headers.HttpRequestHeaders? LastUpstreamHeaders => upstreamCounter.LastHeaders;

    /// <summary>Where the last proxied request went (the cluster's destination and the path).</summary>
    public Uri? LastUpstreamUri => upstreamCounter.LastUri;

    /// <summary>Every log line the gateways wrote (formatted), to check what they never log.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> GatewayLog { get; } = new();

    private readonly UpstreamCounter upstreamCounter = new();

    public async Task InitializeAsync()
    {
        await SyncManager.InitializeAsync();
        Directory.CreateDirectory(certificateDirectory);
        var (cert, key) = WriteCertificate(certificateDirectory);
        var settings = new Dictionary<string, string>
        {
            ["Identity:SigningKey"] = SyncManager.SigningKeyText,
            ["ConnectionStrings:redis"] = TestServers.Redis,
            ["Edge:Tls:CertificatePath"] = cert,
            ["Edge:Tls:KeyPath"] = key,
            ["Edge:RateLimits:TokenPerMinute"] = "6",
            ["Edge:RateLimits:TokenBurst"] = TokenBurst.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Edge:RateLimits:IpPerMinute"] = "6",
            ["Edge:RateLimits:IpBurst"] = IpBurst.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Edge:RateLimits:FailedAuthPerWindow"] = FailedAuthLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Edge:RateLimits:FailedAuthWindowSeconds"] = "60",
            ["Edge:Audit:WafBlocksThreshold"] = WafAuditThreshold.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["services:syncmanager:http:0"] = "http://syncmanager.test",
            ["services:headyme-sync:http:0"] = "http://headyme.test",
            ["services:monorepo-sync:http:0"] = "http://monorepo.test",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        replicaA = new GatewayFactory(settings, this);
        replicaB = new GatewayFactory(settings, this);
        _ = replicaA.Server;
        _ = replicaB.Server;
    }

    /// <summary>A client of replica A (or B) whose requests come from <paramref name="peer"/>.</summary>
    public HttpClient Client(string peer, string? token = null, bool replicaB = false)
    {
        var factory = (replicaB ? this.replicaB : replicaA) ?? throw new InvalidOperationException("not initialized");
        var client = factory.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri("https://gateway.test"), AllowAutoRedirect = false });
        client.DefaultRequestHeaders.Add(PeerHeader, peer);
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    public static string NewPeer() => $"10.{RandomNumberGenerator.GetInt32(256)}.{RandomNumberGenerator.GetInt32(256)}.{RandomNumberGenerator.GetInt32(1, 255)}";

    /// <summary>A new user in SyncManager and a real API token for it.</summary>
    public async Task<string> NewTokenAsync(params string[] scopes) => (await NewTokenWithIdAsync(scopes)).Token;

    /// <summary>The services of replica A (or B), e.g. to look at its in-memory caches.</summary>
    public IServiceProvider Services(bool replicaB = false) =>
        ((replicaB ? this.replicaB : replicaA) ?? throw new InvalidOperationException("not initialized")).Services;

    /// <summary>A new user in SyncManager and a real API token for it, with the token's id (to revoke it).</summary>
    public async Task<(string Token, Guid Id)> NewTokenWithIdAsync(params string[] scopes)
    {
        var admin = Callers.Admin();
        var user = await SyncManager.PostAsync("/api/v1/users", admin, new { username = "gw-" + Callers.Unique() });
        Assert.Equal(HttpStatusCode.Created, user.StatusCode);
        var id = (await user.Content.ReadFromJsonAsync<IdDto>())!.Id;
        var token = await SyncManager.PostAsync("/api/v1/tokens", admin, new { name = "gw", userId = id, scopes = scopes.Length == 0 ? null : scopes });
        Assert.Equal(HttpStatusCode.Created, token.StatusCode);
        var created = (await token.Content.ReadFromJsonAsync<TokenDto>())!;
        return (created.Token, created.Id);
    }

    public async Task DisposeAsync()
    {
        if (replicaA is not null)
        {
            await replicaA.DisposeAsync();
        }

        if (replicaB is not null)
        {
            await replicaB.DisposeAsync();
        }

        await SyncManager.DisposeAsync();
        if (Directory.Exists(certificateDirectory))
        {
            Directory.Delete(certificateDirectory, recursive: true);
        }
    }

    private static (string Cert, string Key) WriteCertificate(string directory)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=gateway.test", key, HashAlgorithmName.SHA256);
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var certPath = Path.Combine(directory, "cert.pem");
        var keyPath = Path.Combine(directory, "key.pem");
        File.WriteAllText(certPath, cert.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certPath, keyPath);
    }

    private sealed record IdDto(Guid Id);

    private sealed record TokenDto(string Token, Guid Id);

    private sealed class UpstreamCounter
    {
        private int count;

        public int Count => Volatile.Read(ref count);

        public System.Net.Http.Headers.HttpRequestHeaders? LastHeaders { get; private set; }

        public Uri? LastUri { get; private set; }

        public void Record(HttpRequestMessage request)
        {
            LastHeaders = request.Headers;
            LastUri = request.RequestUri;
            Interlocked.Increment(ref count);
        }
    }

    /// <summary>Forwards to the SyncManager test server (introspection and proxied requests), counting proxied ones.</summary>
    private sealed class CountingHandler(HttpMessageHandler inner, UpstreamCounter counter) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            counter.Record(request);
            return base.SendAsync(request, cancellationToken);
        }
    }

    private sealed class TestForwarderClientFactory(Func<HttpMessageHandler> handler) : IForwarderHttpClientFactory
    {
        public HttpMessageInvoker CreateClient(ForwarderHttpClientContext context) => new(handler(), disposeHandler: false);
    }

    private sealed class GatewayFactory(IReadOnlyDictionary<string, string> settings, GatewayFixture fixture) : WebApplicationFactory<EdgeOptions>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }

            builder.ConfigureTestServices(services =>
            {
                services.AddHttpClient<TokenIntrospector>()
                    .ConfigurePrimaryHttpMessageHandler(() => fixture.SyncManager.Factory.Server.CreateHandler());
                services.AddHttpClient<HeadyClouds.ServiceDefaults.Audit.IAuditClient, HeadyClouds.ServiceDefaults.Audit.AuditClient>()
                    .ConfigurePrimaryHttpMessageHandler(() => fixture.SyncManager.Factory.Server.CreateHandler());
                var upstream = new CountingHandler(fixture.SyncManager.Factory.Server.CreateHandler(), fixture.upstreamCounter);
                services.AddSingleton<IForwarderHttpClientFactory>(new TestForwarderClientFactory(() => upstream));
                services.AddSingleton<IStartupFilter, TestPeerStartupFilter>();
                services.AddLogging(logging => logging.AddProvider(new HeadyClouds.Testing.CollectingLoggerProvider(fixture.GatewayLog)));
            });
        }
    }

    /// <summary>Test-only: lets a test choose its client address, as distinct clients would have.</summary>
    private sealed class TestPeerStartupFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                if (IPAddress.TryParse(context.Request.Headers[PeerHeader], out var peer))
                {
                    context.Connection.RemoteIpAddress = peer;
                }

                return nextMiddleware(context);
            });
            next(app);
        };
    }
}
