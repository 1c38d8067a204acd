using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using HeadyClouds.IntegrationTests.SyncManager;
using HeadyClouds.Testing;
using HeadyMe.Sync;
using HeadyMe.Sync.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace HeadyClouds.IntegrationTests.Audit;

/// <summary>HeadyMe.Sync with its platform audit events going to a real in-process SyncManager (<see cref="AuditLog"/>).</summary>
public sealed class AuditedHeadyMeFixture : ServiceFixture<HeadyMeDbContext>
{
    public SyncManagerFixture AuditLog { get; } = new();

    protected override string DatabaseResource => HeadyMeServices.DatabaseResource;

    protected override string ServiceName => "headyme";

    protected override bool UsesObjectStore => true;

    protected override bool UsesRedis => true;

    protected override IEnumerable<KeyValuePair<string, string>> ExtraSettings =>
    [
        new("Encryption:ActiveKeyId", "root-1"),
        new("Encryption:Keys:root-1", Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))),
    ];

    public override async Task InitializeAsync()
    {
        AuditLog.SigningKeyText = SigningKeyText; // one platform, one identity key
        await AuditLog.InitializeAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await AuditLog.DisposeAsync();
    }

    protected override Task PrepareAsync(IServiceProvider services, HeadyMeDbContext db) =>
        HeadyMeServices.PrepareStorageAsync(services, db, CancellationToken.None);

    protected override void ConfigureTestServices(IServiceCollection services) =>
        services.RouteAuditTo(() => AuditLog.Factory.Server.CreateHandler());
}

public sealed class MembershipAuditTests(AuditedHeadyMeFixture fx) : IClassFixture<AuditedHeadyMeFixture>
{
    private static readonly string[] ReadWrite = ["workspaces:read", "workspaces:write"];

    private Task<List<JsonElement>> PlatformAuditAsync(string subject, int atLeast) =>
        PlatformAudit.EventuallyAsync(fx.AuditLog, "membership.changed", subject, atLeast);

    [Fact]
    public async Task Adding_changing_and_removing_a_member_are_each_in_the_platform_audit_log()
    {
        var owner = Callers.NewUser(ReadWrite);
        var bob = Guid.CreateVersion7();
        var created = await (await fx.PostAsync("/api/v1/workspaces", owner, new { name = "Audited " + Callers.Unique() })).AssertJsonAsync(HttpStatusCode.Created);
        var workspace = created.GetProperty("id").GetGuid();

        Assert.Equal(HttpStatusCode.OK, (await fx.SendAsync(HttpMethod.Put, $"/api/v1/workspaces/{workspace}/members/{bob}", owner, new { role = "viewer" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await fx.SendAsync(HttpMethod.Put, $"/api/v1/workspaces/{workspace}/members/{bob}", owner, new { role = "viewer" })).StatusCode); // no change
        Assert.Equal(HttpStatusCode.OK, (await fx.SendAsync(HttpMethod.Put, $"/api/v1/workspaces/{workspace}/members/{bob}", owner, new { role = "editor" })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await fx.SendAsync(HttpMethod.Delete, $"/api/v1/workspaces/{workspace}/members/{bob}", owner)).StatusCode);

        var entries = await PlatformAuditAsync($"workspace:{workspace}", 3);
        await Task.Delay(300);
        entries = await PlatformAuditAsync($"workspace:{workspace}", 3);
        Assert.Equal(3, entries.Count); // the unchanged PUT is not an event
        Assert.All(entries, e => Assert.Equal("headyme-sync", e.GetProperty("service").GetString()));
        Assert.All(entries, e => Assert.Equal($"user:{owner.Id()}", e.GetProperty("actor").GetString()));
        var changes = entries.Select(e => e.GetProperty("details")).Select(d => (d.GetProperty("from").GetString(), d.GetProperty("to").GetString())).ToList();
        Assert.Equal([(null, "viewer"), ("viewer", "editor"), ("editor", null)], changes);
    }

    [Fact]
    public async Task A_refused_membership_change_is_not_audited_as_a_change()
    {
        var owner = Callers.NewUser(ReadWrite);
        var stranger = Callers.NewUser(ReadWrite);
        var created = await (await fx.PostAsync("/api/v1/workspaces", owner, new { name = "Guarded " + Callers.Unique() })).AssertJsonAsync(HttpStatusCode.Created);
        var workspace = created.GetProperty("id").GetGuid();

        var refused = await fx.SendAsync(HttpMethod.Put, $"/api/v1/workspaces/{workspace}/members/{stranger.Id()}", stranger, new { role = "owner" });
        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);

        // A later real change proves the sender is working, then only that one is there.
        Assert.Equal(HttpStatusCode.OK, (await fx.SendAsync(HttpMethod.Put, $"/api/v1/workspaces/{workspace}/members/{Guid.CreateVersion7()}", owner, new { role = "viewer" })).StatusCode);
        var entries = await PlatformAuditAsync($"workspace:{workspace}", 1);
        Assert.Single(entries);
        Assert.DoesNotContain(entries, e => e.GetProperty("details").GetRawText().Contains(stranger.Subject, StringComparison.Ordinal));
    }
}
