using System.Net;
using System.Net.Sockets;
using System.Security.Claims;
using HeadyClouds.ServiceDefaults.Mesh;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HeadyClouds.Mesh.Tests;

/// <summary>
/// A service built the way phase 2 wires the real ones: <c>AddServiceDefaults().AddMeshIdentity()</c>, enrolled at the
/// CA with a join token, Kestrel on loopback TLS 1.3 with required client certificates, a probe port, and endpoints
/// that name their callers.
/// </summary>
public sealed class MeshWorkloadServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private int hits;

    private MeshWorkloadServer(WebApplication app, int probePort)
    {
        this.app = app;
        ProbePort = probePort;
    }

    /// <summary>Requests that reached an endpoint (a refused handshake never does).</summary>
    public int Hits => Volatile.Read(ref hits);

    public WorkloadIdentity Identity => app.Services.GetRequiredService<WorkloadIdentity>();

    public Uri BaseAddress { get; private set; } = null!;

    public int ProbePort { get; }

    /// <summary>The identity-assertion key this server accepts forwarded users with.</summary>
    public const string SigningKey = "mesh-tests-identity-signing-key-0123456789abcdef";

    public static async Task<MeshWorkloadServer> StartAsync(CaFixture ca, string service, string joinToken, TimeSpan? clientConnectionLifetime = null)
    {
        var probePort = FreePort();
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["urls"] = $"https://127.0.0.1:0;http://127.0.0.1:{probePort}",
            ["Mesh:ServiceName"] = service,
            ["Mesh:CaUrl"] = ca.BaseAddress.ToString(),
            ["Mesh:JoinToken"] = joinToken,
            ["Mesh:TrustAnchors"] = ca.TrustBundlePem,
            ["Mesh:ProbePort"] = probePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Mesh:PooledConnectionLifetime"] = (clientConnectionLifetime ?? TimeSpan.FromMinutes(5)).ToString("c"),
            ["Identity:SigningKey"] = SigningKey,
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.AddServiceDefaults();
        builder.AddMeshIdentity();
        builder.AddGatewayForwardedIdentity();
        builder.Services.AddAuthorization();
        var app = builder.Build();
        var server = new MeshWorkloadServer(app, probePort);
        app.MapDefaultEndpoints();

        // Like a data-plane service's public API: only the gateway may call it.
        var api = app.MapGroup("/api").RequireCaller("gateway");
        api.MapGet("/whoami", (ClaimsPrincipal caller, HttpContext context) =>
        {
            Interlocked.Increment(ref server.hits);
            return TypedResults.Ok(new
            {
                service = caller.FindFirstValue(ClaimTypes.NameIdentifier),
                spiffe = caller.FindFirstValue(MeshClaims.SpiffeId),
                clientSerial = context.Connection.ClientCertificate?.SerialNumber,
            });
        });
        // Like a user-facing endpoint behind the gateway: the end user, forwarded by the gateway's mTLS connection.
        app.MapGroup("/user").RequireAuthorization(GatewayForwardedIdentityExtensions.ForwardedUserPolicy("workspaces:read")).MapGet("/me", (ClaimsPrincipal user) =>
        {
            Interlocked.Increment(ref server.hits);
            return TypedResults.Ok(new { name = user.FindFirstValue(ClaimTypes.Name), forwardedBy = user.FindFirstValue(MeshClaims.ForwardedBy) });
        });

        // Like a maintenance endpoint: only SyncManager.
        app.MapGroup("/internal").RequireCaller("syncmanager").MapPost("/maintenance", () =>
        {
            Interlocked.Increment(ref server.hits);
            return TypedResults.NoContent();
        });

        await app.StartAsync();
        server.BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Single(a => a.StartsWith("https://", StringComparison.Ordinal)));
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
