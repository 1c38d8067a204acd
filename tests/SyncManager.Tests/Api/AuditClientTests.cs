using System.Net;
using HeadyClouds.ServiceDefaults.Audit;
using HeadyClouds.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace SyncManager.Tests.Api;

/// <summary>The shared client other services use, against the real SyncManager pipeline.</summary>
public sealed class AuditClientTests(SyncManagerApiFixture fx) : IClassFixture<SyncManagerApiFixture>
{
    [Fact]
    public async Task RecordsAnEventAsTheCallingService()
    {
        var client = new AuditClient(fx.Factory.CreateClient(), new AuditClientIdentity("monorepo-sync", fx.SigningKey), TimeProvider.System, NullLogger<AuditClient>.Instance);
        var subject = "repository:" + Guid.NewGuid();

        Assert.True(await client.RecordAsync(new AuditEvent("user:7", "ref.forced", subject, new { @ref = "refs/heads/main" })));

        var list = await (await fx.GetAsync($"/api/v1/audit?subject={subject}", Callers.Admin())).AssertJsonAsync(HttpStatusCode.OK);
        var entry = Assert.Single(list.EnumerateArray());
        Assert.Equal("monorepo-sync", entry.GetProperty("service").GetString());
        Assert.Equal("refs/heads/main", entry.GetProperty("details").GetProperty("ref").GetString());
    }

    [Fact]
    public async Task AWrongKeyIsRefusedAndReportedNotThrown()
    {
        var client = new AuditClient(fx.Factory.CreateClient(), new AuditClientIdentity("monorepo-sync", new byte[32]), TimeProvider.System, NullLogger<AuditClient>.Instance);

        Assert.False(await client.RecordAsync(new AuditEvent("user:7", "ref.forced", "x")));
    }
}
