using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using HeadyClouds.ServiceDefaults.Identity;
using HeadyClouds.ServiceDefaults.Mesh;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace HeadyClouds.Mesh.Tests;

/// <summary>
/// A service built exactly like the real ones (<c>AddServiceDefaults()</c> + <c>AddHeadyIdentity()</c>, endpoints
/// authorized with the platform's policy names) with <c>Mesh:ServiceName</c> set: the switch must turn those names into
/// mTLS-peer rules without the endpoints changing.
/// </summary>
public sealed class PlatformMeshServiceFixture : IAsyncLifetime
{
    public const string SigningKey = "platform-mesh-tests-signing-key-0123456789abcdef";

    private WebApplication app = null!;

    public CaFixture Ca { get; } = new();

    public Uri BaseAddress { get; private set; } = null!;

    public X509Certificate2 Gateway { get; private set; } = null!;

    public X509Certificate2 SyncManager { get; private set; } = null!;

    public X509Certificate2 MonorepoSync { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Ca.InitializeAsync();
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["urls"] = "https://127.0.0.1:0",
            ["Mesh:ServiceName"] = "headyme-sync",
            ["Mesh:CaUrl"] = Ca.BaseAddress.ToString(),
            ["Mesh:JoinToken"] = await Ca.MintJoinTokenAsync("headyme-sync"),
            ["Mesh:TrustAnchors"] = Ca.TrustBundlePem,
            ["Identity:SigningKey"] = SigningKey,
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.AddServiceDefaults();
        builder.AddHeadyIdentity();
        app = builder.Build();
        app.MapDefaultEndpoints();
        var api = app.MapGroup("/api").RequireAuthorization(HeadyPolicies.User);
        api.MapGet("/items", (ClaimsPrincipal user) => TypedResults.Ok(new { name = user.FindFirstValue(ClaimTypes.Name) })).RequireScope("workspaces:read");
        app.MapGet("/admin", () => TypedResults.NoContent()).RequireAuthorization(HeadyPolicies.Admin);
        app.MapPost("/internal/maintenance", () => TypedResults.NoContent()).RequireAuthorization(HeadyPolicies.SyncManagerService);
        app.MapPost("/introspect", () => TypedResults.NoContent()).RequireAuthorization(HeadyPolicies.GatewayService);
        app.MapPost("/audit", (ClaimsPrincipal caller) => TypedResults.Ok(new { service = caller.FindFirstValue(ClaimTypes.NameIdentifier) }))
            .RequireAuthorization(p => p.RequireClaim(HeadyClaims.Kind, "service"));
        await app.StartAsync();
        BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        Gateway = await Ca.EnrollAsync("gateway");
        SyncManager = await Ca.EnrollAsync("syncmanager");
        MonorepoSync = await Ca.EnrollAsync("monorepo-sync");
    }

    public async Task DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
        await Ca.DisposeAsync();
    }

    public async Task<HttpResponseMessage> SendAsync(X509Certificate2 peer, HttpMethod method, string path, CallerIdentity? assertion = null)
    {
        using var client = new HttpClient(new SocketsHttpHandler().ConfigureMeshClient(new StaticMeshCredentials(peer, Ca.TrustBundle), "headyme-sync")) { BaseAddress = BaseAddress };
        using var request = new HttpRequestMessage(method, path);
        if (assertion is not null)
        {
            request.Headers.Add(HeadyHeaders.Identity, IdentityAssertion.Create(assertion, Encoding.UTF8.GetBytes(SigningKey), DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1)));
        }

        return await client.SendAsync(request);
    }
}

public sealed class PlatformPoliciesTests(PlatformMeshServiceFixture mesh) : IClassFixture<PlatformMeshServiceFixture>
{
    private static CallerIdentity User(string role = "user", params string[] scopes) =>
        new(CallerKind.User, Guid.NewGuid().ToString(), "alice", [role], scopes);

    [Fact]
    public async Task User_policy_and_scope_admit_a_user_forwarded_by_the_gateway_only()
    {
        using (var ok = await mesh.SendAsync(mesh.Gateway, HttpMethod.Get, "/api/items", User("user", "workspaces:read")))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal("alice", (await ok.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("name").GetString());
        }

        using var noScope = await mesh.SendAsync(mesh.Gateway, HttpMethod.Get, "/api/items", User("user", "workspaces:write"));
        Assert.Equal(HttpStatusCode.Forbidden, noScope.StatusCode);

        // The same valid assertion over another service's connection: not an end user at all.
        using var otherPeer = await mesh.SendAsync(mesh.MonorepoSync, HttpMethod.Get, "/api/items", User("user", "workspaces:read"));
        Assert.Equal(HttpStatusCode.Unauthorized, otherPeer.StatusCode);

        // The gateway itself, without a user: a service is no user.
        using var gatewayAlone = await mesh.SendAsync(mesh.Gateway, HttpMethod.Get, "/api/items");
        Assert.Equal(HttpStatusCode.Forbidden, gatewayAlone.StatusCode);
    }

    [Fact]
    public async Task Admin_policy_needs_the_admin_role_from_the_gateway()
    {
        using var admin = await mesh.SendAsync(mesh.Gateway, HttpMethod.Get, "/admin", User("admin"));
        Assert.Equal(HttpStatusCode.NoContent, admin.StatusCode);
        using var user = await mesh.SendAsync(mesh.Gateway, HttpMethod.Get, "/admin", User("user"));
        Assert.Equal(HttpStatusCode.Forbidden, user.StatusCode);
        using var adminViaSyncManager = await mesh.SendAsync(mesh.SyncManager, HttpMethod.Get, "/admin", User("admin"));
        Assert.Equal(HttpStatusCode.Unauthorized, adminViaSyncManager.StatusCode);
    }

    [Fact]
    public async Task Service_policies_mean_the_mtls_peer_and_ignore_service_assertions()
    {
        using (var syncManager = await mesh.SendAsync(mesh.SyncManager, HttpMethod.Post, "/internal/maintenance"))
        {
            Assert.Equal(HttpStatusCode.NoContent, syncManager.StatusCode);
        }

        // The gateway's connection with a valid assertion naming SyncManager: still the gateway.
        using (var claimed = await mesh.SendAsync(mesh.Gateway, HttpMethod.Post, "/internal/maintenance", CallerIdentity.ForService("syncmanager")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, claimed.StatusCode);
        }

        using (var gateway = await mesh.SendAsync(mesh.Gateway, HttpMethod.Post, "/introspect"))
        {
            Assert.Equal(HttpStatusCode.NoContent, gateway.StatusCode);
        }

        using var notGateway = await mesh.SendAsync(mesh.SyncManager, HttpMethod.Post, "/introspect", CallerIdentity.ForService("gateway"));
        Assert.Equal(HttpStatusCode.Forbidden, notGateway.StatusCode);
    }

    [Fact]
    public async Task A_service_only_endpoint_names_the_certificate_and_refuses_forwarded_service_assertions()
    {
        using (var monorepo = await mesh.SendAsync(mesh.MonorepoSync, HttpMethod.Post, "/audit"))
        {
            Assert.Equal(HttpStatusCode.OK, monorepo.StatusCode);
            Assert.Equal("monorepo-sync", (await monorepo.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("service").GetString());
        }

        // Through the gateway, an assertion naming a service proves nothing (the gateway forwards end users only).
        using var forwarded = await mesh.SendAsync(mesh.Gateway, HttpMethod.Post, "/audit", CallerIdentity.ForService("syncmanager"));
        Assert.Equal(HttpStatusCode.Unauthorized, forwarded.StatusCode);
    }
}
