using System.Net;
using System.Net.Http.Json;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using HeadyClouds.ServiceDefaults.Mesh;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace HeadyClouds.Mesh.Tests;

/// <summary>One enrolled service (heady-me-sync) whose API only the gateway may call and whose maintenance endpoint only SyncManager may call.</summary>
public sealed class MeshServiceFixture : IAsyncLifetime
{
    public CaFixture Ca { get; } = new();

    public MeshWorkloadServer Server { get; private set; } = null!;

    public X509Certificate2 Gateway { get; private set; } = null!;

    public X509Certificate2 SyncManager { get; private set; } = null!;

    public X509Certificate2 MonorepoSync { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Ca.InitializeAsync();
        Server = await MeshWorkloadServer.StartAsync(Ca, "heady-me-sync", await Ca.MintJoinTokenAsync("heady-me-sync"));
        Gateway = await Ca.EnrollAsync("gateway");
        SyncManager = await Ca.EnrollAsync("syncmanager");
        MonorepoSync = await Ca.EnrollAsync("monorepo-sync");
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        await Ca.DisposeAsync();
    }

    /// <summary>A client that validates the server like a mesh workload and presents <paramref name="certificate"/>.</summary>
    public HttpClient Client(X509Certificate2? certificate, Action<SocketsHttpHandler>? tweak = null, string? expectedServer = "heady-me-sync")
    {
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero };
        handler.ConfigureMeshClient(new StaticMeshCredentials(certificate, Ca.TrustBundle), expectedServer);
        tweak?.Invoke(handler);
        return new HttpClient(handler) { BaseAddress = Server.BaseAddress };
    }
}

public sealed class MeshTransportTests(MeshServiceFixture mesh) : IClassFixture<MeshServiceFixture>
{
    [Fact]
    public async Task Gateway_CallsTheApi_AndIsIdentifiedBySpiffeId()
    {
        using var client = mesh.Client(mesh.Gateway);
        using var response = await client.GetAsync("/api/whoami");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("gateway", json.GetProperty("service").GetString());
        Assert.Equal("spiffe://headyclouds.internal/service/gateway", json.GetProperty("spiffe").GetString());
    }

    [Fact]
    public async Task NoClientCertificate_IsRefused()
    {
        await AssertRefusedAsync(null);
    }

    [Fact]
    public async Task SelfSignedCertificate_IsRefused()
    {
        using var certificate = Certificates.SelfSigned("gateway");
        await AssertRefusedAsync(certificate);
    }

    [Fact]
    public async Task CertificateFromAnotherCa_WithTheSameName_IsRefused()
    {
        using var certificate = Certificates.FromOtherCa("gateway", mesh.Ca.Authority.Active().Certificate.SubjectName);
        await AssertRefusedAsync(certificate);
    }

    [Fact]
    public async Task ExpiredCertificate_FromTheRealCa_IsRefused()
    {
        using var certificate = mesh.Ca.IssueDirect("gateway", DateTimeOffset.UtcNow.AddHours(-2), TimeSpan.FromHours(1));
        // Control: the same CA and profile, not expired, is accepted — so the refusal is about the dates.
        using var fresh = mesh.Ca.IssueDirect("gateway", DateTimeOffset.UtcNow, TimeSpan.FromHours(1));
        using (var control = mesh.Client(Certificates.Reload(fresh)))
        {
            Assert.Equal(HttpStatusCode.OK, (await control.GetAsync("/api/whoami")).StatusCode);
        }

        await AssertRefusedAsync(Certificates.Reload(certificate));
    }

    [Fact]
    public async Task TamperedSignature_IsRefused()
    {
        using var tampered = Certificates.Tampered(mesh.Gateway);
        Assert.NotEqual(mesh.Gateway.RawData, tampered.RawData);
        await AssertRefusedAsync(tampered);
    }

    [Fact]
    public async Task Tls12OnlyClient_IsRefused()
    {
        var before = mesh.Server.Hits;
        using var client = mesh.Client(mesh.Gateway, h => h.SslOptions.EnabledSslProtocols = SslProtocols.Tls12);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetAsync("/api/whoami"));
        Assert.Equal(before, mesh.Server.Hits);
    }

    [Fact]
    public async Task ValidCertificate_WithTheWrongIdentity_Gets403()
    {
        // monorepo-sync calling heady-me-sync's public API (gateway only), and the maintenance endpoint (SyncManager only).
        using var client = mesh.Client(mesh.MonorepoSync);
        using var api = await client.GetAsync("/api/whoami");
        Assert.Equal(HttpStatusCode.Forbidden, api.StatusCode);
        using var maintenance = await client.PostAsync("/internal/maintenance", null);
        Assert.Equal(HttpStatusCode.Forbidden, maintenance.StatusCode);

        // The gateway may not call the maintenance endpoint either; SyncManager may.
        using var gateway = mesh.Client(mesh.Gateway);
        Assert.Equal(HttpStatusCode.Forbidden, (await gateway.PostAsync("/internal/maintenance", null)).StatusCode);
        using var syncManager = mesh.Client(mesh.SyncManager);
        Assert.Equal(HttpStatusCode.NoContent, (await syncManager.PostAsync("/internal/maintenance", null)).StatusCode);
    }

    [Fact]
    public async Task ForgedIdentityAssertion_DoesNotMakeAServiceTheGateway()
    {
        // A certified non-gateway caller adds headers claiming to be the gateway: RequireCaller looks at the mTLS peer only.
        using var client = mesh.Client(mesh.MonorepoSync);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/whoami");
        request.Headers.TryAddWithoutValidation("X-Heady-Identity", "forged");
        request.Headers.TryAddWithoutValidation("X-Forwarded-Client-Cert", "URI=spiffe://headyclouds.internal/service/gateway");
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task ForwardedUser_IsAcceptedOnlyFromTheGateway()
    {
        var user = new HeadyClouds.ServiceDefaults.Identity.CallerIdentity(
            HeadyClouds.ServiceDefaults.Identity.CallerKind.User, Guid.NewGuid().ToString(), "alice", ["user"], ["workspaces:read"]);
        var key = System.Text.Encoding.UTF8.GetBytes(MeshWorkloadServer.SigningKey);
        var assertion = HeadyClouds.ServiceDefaults.Identity.IdentityAssertion.Create(user, key, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));

        async Task<HttpResponseMessage> SendAsync(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate, string? identity)
        {
            using var client = mesh.Client(certificate);
            using var request = new HttpRequestMessage(HttpMethod.Get, "/user/me");
            if (identity is not null)
            {
                request.Headers.TryAddWithoutValidation("X-Heady-Identity", identity);
            }

            return await client.SendAsync(request);
        }

        using (var viaGateway = await SendAsync(mesh.Gateway, assertion))
        {
            Assert.Equal(HttpStatusCode.OK, viaGateway.StatusCode);
            var json = await viaGateway.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("alice", json.GetProperty("name").GetString());
            Assert.Equal("spiffe://headyclouds.internal/service/gateway", json.GetProperty("forwardedBy").GetString());
        }

        var before = mesh.Server.Hits;
        // The same valid assertion from another certified service: refused.
        using (var viaMonorepo = await SendAsync(mesh.MonorepoSync, assertion))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, viaMonorepo.StatusCode);
        }

        // From the gateway, but forged (signed with another key) or missing: refused.
        var forged = HeadyClouds.ServiceDefaults.Identity.IdentityAssertion.Create(user, System.Text.Encoding.UTF8.GetBytes(new string('k', 48)), DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));
        using (var forgedViaGateway = await SendAsync(mesh.Gateway, forged))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, forgedViaGateway.StatusCode);
        }

        using (var noUser = await SendAsync(mesh.Gateway, null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, noUser.StatusCode);
        }

        Assert.Equal(before, mesh.Server.Hits);
    }

    [Fact]
    public async Task Client_RefusesAServerFromAnotherCa()
    {
        // A server with a perfectly shaped certificate for heady-me-sync, from another CA.
        using var impostorCert = Certificates.FromOtherCa("heady-me-sync", mesh.Ca.Authority.Active().Certificate.SubjectName);
        await using var impostor = await StartStaticServerAsync(new StaticMeshCredentials(impostorCert, mesh.Ca.TrustBundle));
        using var handler = new SocketsHttpHandler().ConfigureMeshClient(new StaticMeshCredentials(mesh.Gateway, mesh.Ca.TrustBundle), "heady-me-sync");
        using var client = new HttpClient(handler) { BaseAddress = impostor.Address };
        var error = await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetAsync("/"));
        Assert.IsType<AuthenticationException>(error.InnerException);
    }

    [Fact]
    public async Task Client_RefusesAServerWithTheWrongIdentity()
    {
        // The real heady-me-sync, but the caller expected monorepo-sync: a valid certificate is not enough.
        using var client = mesh.Client(mesh.Gateway, expectedServer: "monorepo-sync");
        var error = await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetAsync("/api/whoami"));
        Assert.IsType<AuthenticationException>(error.InnerException);
    }

    [Fact]
    public async Task ProbePort_ServesHealthOnly_WithoutClientCertificates()
    {
        using var plain = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{mesh.Server.ProbePort}") };
        Assert.Equal(HttpStatusCode.OK, (await plain.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await plain.GetAsync("/alive")).StatusCode);
        var before = mesh.Server.Hits;
        Assert.Equal(HttpStatusCode.NotFound, (await plain.GetAsync("/api/whoami")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await plain.PostAsync("/internal/maintenance", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await plain.GetAsync("/health/../api/whoami")).StatusCode);
        Assert.Equal(before, mesh.Server.Hits);
    }

    private async Task AssertRefusedAsync(X509Certificate2? certificate)
    {
        var before = mesh.Server.Hits;
        using var client = mesh.Client(certificate);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetAsync("/api/whoami"));
        Assert.Equal(before, mesh.Server.Hits);
    }

    private static async Task<StaticServer> StartStaticServerAsync(StaticMeshCredentials credentials)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["urls"] = "https://127.0.0.1:0" });
        builder.Services.AddSingleton<IMeshCredentials>(credentials);
        builder.Services.AddMeshKestrel(probePort: 0, requireClientCertificate: false);
        var app = builder.Build();
        app.MapGet("/", () => "impostor");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new StaticServer(app, new Uri(address));
    }

    private sealed record StaticServer(WebApplication App, Uri Address) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await App.StopAsync();
            await App.DisposeAsync();
        }
    }
}
