using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using Aspire.Hosting.ApplicationModel;
using HeadyClouds.ServiceDefaults.Mesh;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Xunit.Abstractions;

namespace HeadyClouds.AppHost.Tests;

/// <summary>
/// Workload identities over time (decision 0006): a restarted service enrolls again with a fresh single-use join token
/// (the AppHost mints one at every start), and short-lived certificates renew while traffic keeps flowing.
/// </summary>
[Collection(RotationStackCollection.Name)]
public sealed class MeshRotationEndToEndTests(RotationStackFixture stack, ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    private static readonly string[] GatewayPaths = ["/api/v1/workspaces", "/api/v1/repositories"];

    /// <summary>The join token the AppHost gave this start of the resource, as the orchestrator reports its environment.</summary>
    private static string JoinToken(CustomResourceSnapshot snapshot)
    {
        var token = snapshot.EnvironmentVariables.SingleOrDefault(v => v.Name == "Mesh__JoinToken")?.Value;
        Assert.False(string.IsNullOrEmpty(token), "The resource snapshot carries no Mesh__JoinToken.");
        return token;
    }

    /// <summary>The first issuance a certificate descends from, following renewedFrom.</summary>
    private static string EnrollmentOf(string serial, IssuedCertificateRow[] issued)
    {
        var bySerial = issued.ToDictionary(c => c.Serial);
        var row = bySerial[serial];
        while (row.RenewedFrom is { } previous)
        {
            row = bySerial[previous];
        }

        return row.Serial;
    }

    private Task<MeshCertificate> EnrollWithAsync(string service, string joinToken, CancellationToken ct) =>
        MeshEnrollment.RequestAsync(stack.CaUrl(), new StaticMeshCredentials(null, stack.TrustBundle()), SpiffeId.ForService(service), joinToken, ct);

    [Fact]
    public async Task A_restarted_service_enrolls_again_with_a_fresh_join_token_and_answers_over_mtls()
    {
        const string service = "monorepo-sync";
        using var cts = new CancellationTokenSource(Patience);
        var notifications = stack.App.ResourceNotifications;
        var first = await notifications.WaitForResourceHealthyAsync(service, cts.Token);
        var firstToken = JoinToken(first.Snapshot);
        var issuedBefore = (await stack.IssuedCertificatesAsync(service, cts.Token)).Select(c => c.Serial).ToHashSet();

        var restart = await stack.App.ResourceCommands.ExecuteCommandAsync(service, KnownResourceCommands.RestartCommand, cts.Token);
        Assert.True(restart.Success, $"The restart command failed: {restart.Message}");

        // The new process (a later start), running and healthy: its probe answers, so it holds a certificate.
        var second = await notifications.WaitForResourceAsync(service, e =>
            e.Snapshot.StartTimeStamp > first.Snapshot.StartTimeStamp
            && e.Snapshot.State?.Text == KnownResourceStates.Running
            && e.Snapshot.HealthStatus == HealthStatus.Healthy, cts.Token);
        var secondToken = JoinToken(second.Snapshot);
        Assert.NotEqual(firstToken, secondToken);

        // Exactly one first issuance since the restart: the new process enrolled with its join token rather than
        // renewing (it has no certificate to renew with; certificates live in memory only).
        var issued = await stack.IssuedCertificatesAsync(service, cts.Token);
        var enrolled = Assert.Single(issued, c => !issuedBefore.Contains(c.Serial) && c.RenewedFrom is null);

        // Over mTLS it serves that certificate (or its renewal, lifetimes are short here) ...
        using var caller = await stack.EnrollAsync("syncmanager");
        string? served = null;
        using var direct = stack.ServiceClient(service, caller, server => served = server.SerialNumber);
        var sync = await direct.PostAsJsonAsync($"/internal/v1/repositories/{Guid.NewGuid()}/sync", new { }, cts.Token);
        Assert.Equal(HttpStatusCode.NotFound, sync.StatusCode);
        Assert.NotNull(served);
        Assert.Equal(enrolled.Serial, EnrollmentOf(served, await stack.IssuedCertificatesAsync(service, cts.Token)));

        // ... and the gateway reaches it end to end.
        using var admin = stack.Gateway(stack.AdminToken);
        var listed = await admin.GetAsync("/api/v1/repositories", cts.Token);
        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);

        // Both processes' join tokens are spent: presented again with a fresh key, the CA refuses them ...
        foreach (var spent in new[] { firstToken, secondToken })
        {
            var refused = await Assert.ThrowsAsync<MeshIdentityException>(() => EnrollWithAsync(service, spent, cts.Token));
            Assert.Contains("401", refused.Message, StringComparison.Ordinal);
        }

        // ... while the same request with an unused token succeeds once, and only once.
        var fresh = await stack.MintJoinTokenAsync(service);
        using var accepted = (await EnrollWithAsync(service, fresh, cts.Token)).Certificate;
        var again = await Assert.ThrowsAsync<MeshIdentityException>(() => EnrollWithAsync(service, fresh, cts.Token));
        Assert.Contains("401", again.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Certificates_renew_while_requests_through_the_gateway_keep_succeeding()
    {
        // The data tier's servers too: the AppHost renews their certificates and the scripts reload them under traffic.
        string[] identities = ["gateway", "headyme-sync", "monorepo-sync", "postgres", "redis"];
        var existing = new Dictionary<string, HashSet<string>>();
        var lastExpiry = DateTimeOffset.MinValue;
        foreach (var identity in identities)
        {
            var issued = await stack.IssuedCertificatesAsync(identity);
            existing[identity] = issued.Select(c => c.Serial).ToHashSet();
            lastExpiry = issued.Select(c => c.NotAfter).Append(lastExpiry).Max();
        }

        // Requests through the gateway to HeadyMe.Sync and Monorepo.Sync (each also introspects the token at
        // SyncManager), paced under the per-token rate limit (600/min).
        using var admin = stack.Gateway(stack.AdminToken);
        var started = DateTimeOffset.UtcNow;
        using var stop = new CancellationTokenSource();
        var failures = new ConcurrentQueue<string>();
        var succeeded = new ConcurrentDictionary<string, int>();
        var traffic = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                foreach (var path in GatewayPaths)
                {
                    try
                    {
                        using var response = await admin.GetAsync(path, CancellationToken.None);
                        if (response.StatusCode == HttpStatusCode.OK)
                        {
                            succeeded.AddOrUpdate(path, 1, (_, n) => n + 1);
                        }
                        else
                        {
                            failures.Enqueue($"{DateTimeOffset.UtcNow:O} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(CancellationToken.None)}");
                        }
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        failures.Enqueue($"{DateTimeOffset.UtcNow:O} {path}: {e.GetType().Name} {e.Message}");
                    }
                }

                await Task.Delay(500, CancellationToken.None);
            }
        });

        // Until every certificate valid at the start has expired (so only renewed ones can be in use) and each identity
        // renewed at least twice: about one and a half lifetimes. The deadline only stops a hopeless wait.
        var deadline = DateTimeOffset.UtcNow + 4 * RotationStackFixture.LeafLifetime;
        var renewals = new Dictionary<string, IssuedCertificateRow[]>();
        while (true)
        {
            foreach (var identity in identities)
            {
                renewals[identity] = (await stack.IssuedCertificatesAsync(identity))
                    .Where(c => !existing[identity].Contains(c.Serial) && c.RenewedFrom is not null).ToArray();
            }

            if (DateTimeOffset.UtcNow > lastExpiry && renewals.Values.All(r => r.Length >= 2))
            {
                break;
            }

            if (DateTimeOffset.UtcNow > deadline)
            {
                await stop.CancelAsync();
                await traffic;
                Assert.Fail("Not every identity renewed twice in time: " + string.Join(", ", renewals.Select(r => $"{r.Key} {r.Value.Length}")));
            }

            await Task.Delay(TimeSpan.FromSeconds(2));
        }

        await stop.CancelAsync();
        await traffic;
        output.WriteLine($"{(DateTimeOffset.UtcNow - started).TotalSeconds:F0} s, {succeeded.Values.Sum()} requests succeeded, {failures.Count} failed; renewals: "
            + string.Join(", ", renewals.Select(r => $"{r.Key} {r.Value.Length}")));
        Assert.True(failures.IsEmpty, $"{failures.Count} failed requests:\n" + string.Join("\n", failures.Take(20)));
        Assert.All(GatewayPaths, path => Assert.True(succeeded.GetValueOrDefault(path) > 0, $"No request to {path} succeeded."));

        // The services' server side rotated too: a new connection is served a certificate renewed during the run.
        using var caller = await stack.EnrollAsync("gateway");
        foreach (var service in new[] { "headyme-sync", "monorepo-sync" })
        {
            string? served = null;
            using var direct = stack.ServiceClient(service, caller, server => served = server.SerialNumber);
            using var response = await direct.GetAsync("/api/v1/workspaces");
            Assert.NotNull(served);
            Assert.DoesNotContain(served, existing[service]);
            var all = await stack.IssuedCertificatesAsync(service);
            Assert.NotNull(Assert.Single(all, c => c.Serial == served).RenewedFrom);
        }

        // PostgreSQL and Redis reloaded renewed certificates without a restart (new connections see one).
        foreach (var server in new[] { "postgres", "redis" })
        {
            using var served = await stack.DataTierCertificateAsync(server);
            Assert.DoesNotContain(served.SerialNumber, existing[server]);
            var all = await stack.IssuedCertificatesAsync(server);
            Assert.NotNull(Assert.Single(all, c => c.Serial == served.SerialNumber).RenewedFrom);
        }
    }
}
