using System.Net;
using System.Text.Json;
using HeadyClouds.IntegrationTests.Audit;
using HeadyClouds.Testing;

namespace HeadyClouds.IntegrationTests.Gateway;

/// <summary>
/// The edge's security events reach SyncManager's hash-chained audit log: once per address and window, when the
/// address crosses the threshold (so an attacker cannot flood the chain), from either replica.
/// </summary>
public sealed class GatewaySecurityAuditTests(GatewayFixture gateway) : IClassFixture<GatewayFixture>
{
    private Task<List<JsonElement>> AuditNowAsync(string eventType, string subject) =>
        PlatformAudit.NowAsync(gateway.SyncManager, eventType, subject);

    /// <summary>Waits a little after the first entry, long enough for a wrong second one from the other replica.</summary>
    private Task<List<JsonElement>> AuditAsync(string eventType, string subject) =>
        PlatformAudit.EventuallyAsync(gateway.SyncManager, eventType, subject, settle: TimeSpan.FromMilliseconds(500));

    [Fact]
    public async Task An_address_crossing_the_failed_authentication_limit_is_audited_once()
    {
        var peer = GatewayFixture.NewPeer();
        for (var i = 0; i < GatewayFixture.FailedAuthLimit + 2; i++)
        {
            using var guess = gateway.Client(peer, "hc_guess" + Guid.NewGuid().ToString("N"), replicaB: i % 2 == 1);
            await guess.GetAsync("/api/v1/tokens");
        }

        var entries = await AuditAsync("auth.throttled", peer);
        var entry = Assert.Single(entries);
        Assert.Equal("gateway", entry.GetProperty("service").GetString());
        Assert.Equal($"ip:{peer}", entry.GetProperty("actor").GetString());
        Assert.DoesNotContain("hc_guess", entry.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_address_crossing_the_waf_block_threshold_is_audited_once_without_the_attack_string()
    {
        var peer = GatewayFixture.NewPeer();
        for (var i = 0; i < GatewayFixture.WafAuditThreshold + 2; i++)
        {
            using var client = gateway.Client(peer, replicaB: i % 2 == 1);
            var blocked = await client.GetAsync("/api/v1/workspaces?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
            Assert.Equal(HttpStatusCode.Forbidden, blocked.StatusCode);
        }

        var entries = await AuditAsync("waf.blocked", peer);
        var entry = Assert.Single(entries);
        Assert.Equal("gateway", entry.GetProperty("service").GetString());
        Assert.DoesNotContain("script", entry.GetRawText(), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("/api/v1/workspaces", entry.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_few_blocks_below_the_threshold_are_not_audited()
    {
        var peer = GatewayFixture.NewPeer();
        using var client = gateway.Client(peer);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/api/v1/workspaces?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E")).StatusCode);

        // Cross the threshold from another address, so this test waits for the sender to have drained the queue.
        var other = GatewayFixture.NewPeer();
        for (var i = 0; i < GatewayFixture.WafAuditThreshold; i++)
        {
            using var attacker = gateway.Client(other);
            await attacker.GetAsync("/api/v1/workspaces?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
        }

        Assert.Single(await AuditAsync("waf.blocked", other));
        Assert.Empty(await AuditNowAsync("waf.blocked", peer));
    }
}
