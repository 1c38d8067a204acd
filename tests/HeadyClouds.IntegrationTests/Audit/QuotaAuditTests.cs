using System.Net;
using System.Text.Json;
using HeadyClouds.Testing;

namespace HeadyClouds.IntegrationTests.Audit;

/// <summary>An admin's quota overrides in HeadyMe.Sync end up in SyncManager's platform audit log.</summary>
public sealed class QuotaAuditTests(AuditedHeadyMeFixture fx) : IClassFixture<AuditedHeadyMeFixture>
{
    [Fact]
    public async Task Setting_changing_and_removing_a_quota_override_are_each_in_the_platform_audit_log()
    {
        var admin = Callers.Admin();
        var user = Guid.CreateVersion7();
        var path = $"/api/v1/admin/quotas/{user}";

        Assert.Equal(HttpStatusCode.OK, (await fx.SendAsync(HttpMethod.Put, path, admin, new { limitBytes = 5000 })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await fx.SendAsync(HttpMethod.Put, path, admin, new { limitBytes = 5000 })).StatusCode); // no change
        Assert.Equal(HttpStatusCode.OK, (await fx.SendAsync(HttpMethod.Put, path, admin, new { limitBytes = 0 })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await fx.SendAsync(HttpMethod.Delete, path, admin)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await fx.SendAsync(HttpMethod.Delete, path, admin)).StatusCode); // already the default
        Assert.Equal(HttpStatusCode.Forbidden, (await fx.SendAsync(HttpMethod.Put, path, Callers.NewUser(Callers.AllScopes), new { limitBytes = 1 })).StatusCode);

        var entries = await PlatformAudit.EventuallyAsync(fx.AuditLog, "quota.changed", $"user:{user}", 3, TimeSpan.FromMilliseconds(300));
        Assert.Equal(3, entries.Count); // unchanged PUT, second DELETE and the refused PUT are not events
        Assert.All(entries, e => Assert.Equal("headyme-sync", e.GetProperty("service").GetString()));
        Assert.All(entries, e => Assert.Equal($"user:{admin.Id()}", e.GetProperty("actor").GetString()));
        Assert.All(entries, e => Assert.Equal(user, e.GetProperty("details").GetProperty("userId").GetGuid()));
        var changes = entries.Select(e => e.GetProperty("details")).Select(d => (Bytes(d.GetProperty("from")), Bytes(d.GetProperty("to")))).ToList();
        Assert.Equal([(null, 5000L), (5000L, 0L), (0L, null)], changes);
    }

    private static long? Bytes(JsonElement value) => value.ValueKind == JsonValueKind.Null ? null : value.GetInt64();
}
