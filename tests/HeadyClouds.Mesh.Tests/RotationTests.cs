using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeadyClouds.ServiceDefaults.Mesh;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace HeadyClouds.Mesh.Tests;

/// <summary>
/// Certificates of 10 seconds renewed at 50–70 % under steady load: no request may fail, and both sides must move to
/// their new certificates for new connections without a restart.
/// </summary>
public sealed class RotationTests(ShortLivedCaFixture ca) : IClassFixture<ShortLivedCaFixture>
{
    [Fact]
    public async Task RotationUnderLoad_LosesNoRequest_AndNewConnectionsUseTheNewCertificates()
    {
        // Connections are recycled well inside the 30 % of lifetime left after a renewal (10 s * 0.3 = 3 s).
        var connectionLifetime = TimeSpan.FromMilliseconds(700);
        await using var server = await MeshWorkloadServer.StartAsync(ca, "heady-me-sync", await ca.MintJoinTokenAsync("heady-me-sync"), connectionLifetime);
        using var gateway = new WorkloadIdentity(Options.Create(new MeshOptions
        {
            ServiceName = "gateway",
            CaUrl = ca.BaseAddress,
            JoinToken = await ca.MintJoinTokenAsync("gateway"),
            TrustAnchors = ca.TrustBundlePem,
        }), NullLogger<WorkloadIdentity>.Instance);
        await gateway.StartAsync(CancellationToken.None);

        var serverSerials = new ConcurrentDictionary<string, int>();
        var clientSerialsSeenByServer = new ConcurrentDictionary<string, int>();
        var gatewaySerials = new ConcurrentDictionary<string, int>();
        gateway.Changed += () => gatewaySerials.TryAdd(gateway.Current!.SerialNumber, 0);
        gatewaySerials.TryAdd(gateway.Current!.SerialNumber, 0);
        var serverOwnSerials = new ConcurrentDictionary<string, int>();
        server.Identity.Changed += () => serverOwnSerials.TryAdd(server.Identity.Current!.SerialNumber, 0);
        serverOwnSerials.TryAdd(server.Identity.Current!.SerialNumber, 0);

        using var handler = new SocketsHttpHandler().ConfigureMeshClient(gateway, "heady-me-sync", connectionLifetime);
        var validate = handler.SslOptions.RemoteCertificateValidationCallback!;
        handler.SslOptions.RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
        {
            var ok = validate(sender, certificate, chain, errors);
            if (ok)
            {
                serverSerials.TryAdd(((System.Security.Cryptography.X509Certificates.X509Certificate2)certificate!).SerialNumber, 0);
            }

            return ok;
        };
        using var client = new HttpClient(handler) { BaseAddress = server.BaseAddress };

        var failures = new ConcurrentQueue<string>();
        var requests = 0;
        using var stop = new CancellationTokenSource();
        async Task Worker()
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await client.GetAsync("/api/whoami", CancellationToken.None);
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        failures.Enqueue($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                        continue;
                    }

                    var json = await response.Content.ReadFromJsonAsync<JsonElement>();
                    clientSerialsSeenByServer.TryAdd(json.GetProperty("clientSerial").GetString()!, 0);
                    Interlocked.Increment(ref requests);
                }
                catch (Exception e)
                {
                    failures.Enqueue(e.ToString());
                }
            }
        }

        var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(Worker)).ToArray();
        // Run until each side has rotated at least twice (three certificates used on new connections), which takes
        // about two renewal periods; the deadline only bounds a broken run.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && (serverSerials.Count < 3 || clientSerialsSeenByServer.Count < 3) && failures.IsEmpty)
        {
            await Task.Delay(200);
        }

        await stop.CancelAsync();
        await Task.WhenAll(workers);
        await gateway.StopAsync(CancellationToken.None);

        Assert.True(failures.IsEmpty, $"{failures.Count} of {requests + failures.Count} requests failed; first: {failures.FirstOrDefault()}");
        Assert.True(serverSerials.Count >= 3, $"the client saw {serverSerials.Count} server certificates");
        Assert.True(clientSerialsSeenByServer.Count >= 3, $"the server saw {clientSerialsSeenByServer.Count} client certificates");
        // What was used on connections is what the identities were issued, not some other certificate.
        Assert.Subset(serverOwnSerials.Keys.ToHashSet(), serverSerials.Keys.ToHashSet());
        Assert.Subset(gatewaySerials.Keys.ToHashSet(), clientSerialsSeenByServer.Keys.ToHashSet());
    }

    [Fact]
    public async Task ExpiredCertificate_OnAnOpenConnection_IsRefused()
    {
        // Validation results are cached and a connection keeps its handshake's certificate: once the certificate has
        // expired, requests on the same, still open connection must be refused.
        await using var server = await MeshWorkloadServer.StartAsync(ca, "heady-me-sync", await ca.MintJoinTokenAsync("heady-me-sync"));
        using var certificate = await ca.EnrollAsync("gateway");
        var connections = 0;
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 1,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectCallback = async (context, token) =>
            {
                Interlocked.Increment(ref connections);
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                await socket.ConnectAsync(context.DnsEndPoint, token);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        }.ConfigureMeshClient(new StaticMeshCredentials(certificate, ca.TrustBundle), "heady-me-sync");
        using var client = new HttpClient(handler) { BaseAddress = server.BaseAddress };
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/whoami")).StatusCode);

        while (DateTime.UtcNow <= certificate.NotAfter.ToUniversalTime().AddSeconds(1))
        {
            await Task.Delay(200);
        }

        using var late = await client.GetAsync("/api/whoami");
        Assert.Equal(HttpStatusCode.Unauthorized, late.StatusCode);
        Assert.Equal(1, connections);
    }

    [Fact]
    public async Task Renewal_HappensBetween50And70PercentOfTheLifetime()
    {
        var identity = new WorkloadIdentity(Options.Create(new MeshOptions
        {
            ServiceName = "syncmanager",
            CaUrl = ca.BaseAddress,
            JoinToken = await ca.MintJoinTokenAsync("syncmanager"),
            TrustAnchors = ca.TrustBundlePem,
        }), NullLogger<WorkloadIdentity>.Instance);
        var renewed = new TaskCompletionSource<DateTimeOffset>(TaskCreationOptions.RunContinuationsAsynchronously);
        await identity.StartAsync(CancellationToken.None);
        var first = identity.Current!;
        identity.Changed += () => renewed.TrySetResult(DateTimeOffset.UtcNow);
        var at = await renewed.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await identity.StopAsync(CancellationToken.None);
        identity.Dispose();

        var second = identity.Current!;
        Assert.NotEqual(first.SerialNumber, second.SerialNumber);
        Assert.True(SpiffeId.TryFromCertificate(second, out var id, out _));
        Assert.Equal("syncmanager", id.ServiceName);
        // Not before half of the lifetime: renewal is scheduled, not immediate (the upper bound is the scheduler's, unit-tested).
        var lifetime = first.NotAfter.ToUniversalTime() - first.NotBefore.ToUniversalTime();
        Assert.True(at >= first.NotBefore.ToUniversalTime() + lifetime * 0.5, $"renewed at {at:o}, certificate {first.NotBefore.ToUniversalTime():o}..{first.NotAfter.ToUniversalTime():o}");
        // The renewal chain is recorded at the CA.
        var row = ca.Services.GetService(typeof(HeadyClouds.CertificateAuthority.Infrastructure.CaStore)) as HeadyClouds.CertificateAuthority.Infrastructure.CaStore;
        Assert.Equal(first.SerialNumber, row!.FindIssued(second.SerialNumber)!.RenewedFrom);
    }
}
