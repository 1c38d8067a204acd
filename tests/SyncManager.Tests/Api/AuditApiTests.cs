using System.Net;
using System.Text.Json;
using HeadyClouds.ServiceDefaults.Identity;
using HeadyClouds.Testing;
using Npgsql;

namespace SyncManager.Tests.Api;

public sealed class AuditApiTests(SyncManagerApiFixture fx) : IClassFixture<SyncManagerApiFixture>
{
    [Fact]
    public async Task ServicesIngestEventsUnderTheirOwnNameAndAdminsQueryThem()
    {
        var subject = "workspace:" + Guid.NewGuid();
        var response = await fx.PostAsync("/internal/v1/audit", CallerIdentity.ForService("headyme"), new
        {
            actor = "user:42", eventType = "membership.changed", subject, details = new { role = "editor", service = "forged" },
        });
        var entry = await response.AssertJsonAsync(HttpStatusCode.Created);
        Assert.Equal("headyme", entry.GetProperty("service").GetString());
        Assert.Equal(64, entry.GetProperty("hash").GetString()!.Length);

        var found = await (await fx.GetAsync($"/api/v1/audit?subject={Uri.EscapeDataString(subject)}", Callers.Admin())).AssertJsonAsync(HttpStatusCode.OK);
        var e = Assert.Single(found.EnumerateArray());
        Assert.Equal(("user:42", "membership.changed", "headyme"), (e.GetProperty("actor").GetString(), e.GetProperty("eventType").GetString(), e.GetProperty("service").GetString()));
        Assert.Equal("editor", e.GetProperty("details").GetProperty("role").GetString());

        var byService = await (await fx.GetAsync("/api/v1/audit?service=headyme&eventType=membership.changed", Callers.Admin())).AssertJsonAsync(HttpStatusCode.OK);
        Assert.All(byService.EnumerateArray(), x => Assert.Equal("headyme", x.GetProperty("service").GetString()));
    }

    [Fact]
    public async Task UsersCannotWriteTheAuditLogAndBadEventsAreRefused()
    {
        await (await fx.PostAsync("/internal/v1/audit", Callers.Admin(), new { actor = "me", eventType = "token.revoked" })).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await fx.PostAsync("/internal/v1/audit", null, new { actor = "me", eventType = "token.revoked" })).AssertProblemAsync(HttpStatusCode.Unauthorized);
        await (await fx.PostAsync("/internal/v1/audit", Callers.Gateway, new { actor = "", eventType = "Not An Event", details = new[] { 1 } }))
            .AssertValidationProblemAsync("actor", "eventType", "details");
    }

    [Fact]
    public async Task SyncManagerAuditsItsOwnSecurityEvents()
    {
        var admin = Callers.Admin();
        var username = "audited-" + Callers.Unique();
        var user = await (await fx.PostAsync("/api/v1/users", admin, new { username })).AssertJsonAsync(HttpStatusCode.Created);
        var userId = user.GetProperty("id").GetGuid();
        var token = await (await fx.PostAsync("/api/v1/tokens", admin, new { name = "ci", userId })).AssertJsonAsync(HttpStatusCode.Created);
        var tokenId = token.GetProperty("id").GetGuid();
        await (await fx.SendAsync(HttpMethod.Delete, $"/api/v1/tokens/{tokenId}", admin)).AssertStatusAsync(HttpStatusCode.NoContent);
        var intruder = Callers.NewUser(Callers.AllScopes);
        await (await fx.GetAsync("/api/v1/users", intruder)).AssertProblemAsync(HttpStatusCode.Forbidden);

        var created = await Query($"/api/v1/audit?eventType=user.created&subject=user:{userId}");
        Assert.Equal(username, created.GetProperty("details").GetProperty("username").GetString());
        Assert.Equal($"user:{admin.Subject} ({admin.Name})", created.GetProperty("actor").GetString());
        var issued = await Query($"/api/v1/audit?eventType=token.issued&subject=token:{tokenId}");
        Assert.DoesNotContain(token.GetProperty("token").GetString()!, issued.GetRawText());
        await Query($"/api/v1/audit?eventType=token.revoked&subject=token:{tokenId}");
        var denied = await Query($"/api/v1/audit?eventType=authorization.denied&actor={Uri.EscapeDataString($"user:{intruder.Subject} ({intruder.Name})")}");
        Assert.Equal("GET /api/v1/users", denied.GetProperty("subject").GetString());

        var verify = await (await fx.GetAsync("/api/v1/audit/verify", Callers.Admin())).AssertJsonAsync(HttpStatusCode.OK);
        Assert.True(verify.GetProperty("valid").GetBoolean(), verify.ToString());
        Assert.True(verify.GetProperty("checked").GetInt64() >= 4);
    }

    [Fact]
    public async Task TheDatabaseRefusesUpdateDeleteAndTruncateOfAuditEntries()
    {
        await (await fx.PostAsync("/internal/v1/audit", Callers.Gateway, new { actor = "anonymous", eventType = "waf.blocked" })).AssertStatusAsync(HttpStatusCode.Created);
        await using var connection = await fx.OpenConnectionAsync();
        foreach (var sql in new[] { "UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log" })
        {
            await using var command = new NpgsqlCommand(sql, connection);
            var e = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync());
            Assert.Contains("append-only", e.MessageText);
        }
    }

    private async Task<JsonElement> Query(string path)
    {
        var list = await (await fx.GetAsync(path, Callers.Admin())).AssertJsonAsync(HttpStatusCode.OK);
        return Assert.Single(list.EnumerateArray());
    }
}

/// <summary>Tampering as a superuser who disables the trigger: verification names the entry.</summary>
public sealed class AuditTamperTests(TamperFixture fx) : IClassFixture<TamperFixture>
{
    [Fact]
    public async Task EditedThenDeletedRowsAreNamedByVerify()
    {
        for (var i = 0; i < 5; i++)
        {
            await (await fx.PostAsync("/internal/v1/audit", Callers.Gateway, new { actor = $"user:{i}", eventType = "auth.failed", subject = $"attempt {i}" }))
                .AssertStatusAsync(HttpStatusCode.Created);
        }

        var ok = await (await fx.GetAsync("/api/v1/audit/verify", Callers.Admin())).AssertJsonAsync(HttpStatusCode.OK);
        Assert.True(ok.GetProperty("valid").GetBoolean());
        var seqs = (await (await fx.GetAsync("/api/v1/audit?eventType=auth.failed", Callers.Admin())).AssertJsonAsync(HttpStatusCode.OK))
            .EnumerateArray().Select(e => e.GetProperty("seq").GetInt64()).ToArray();
        Assert.Equal(5, seqs.Length);

        await Tamper($"UPDATE audit_log SET details = '{{\"note\":\"nothing happened\"}}' WHERE seq = {seqs[2]}");
        var broken = await (await fx.GetAsync("/api/v1/audit/verify", Callers.Admin())).AssertJsonAsync(HttpStatusCode.OK);
        Assert.False(broken.GetProperty("valid").GetBoolean());
        Assert.Equal(seqs[2], broken.GetProperty("firstBrokenSeq").GetInt64());
        Assert.Contains("modified", broken.GetProperty("reason").GetString());

        // Deleting an earlier entry is found first, as a gap.
        await Tamper($"DELETE FROM audit_log WHERE seq = {seqs[1]}");
        broken = await (await fx.GetAsync("/api/v1/audit/verify", Callers.Admin())).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(seqs[2], broken.GetProperty("firstBrokenSeq").GetInt64());
        Assert.Contains($"expected entry {seqs[1]}", broken.GetProperty("reason").GetString());
    }

    private async Task Tamper(string sql)
    {
        await using var connection = await fx.OpenConnectionAsync();
        await using var command = new NpgsqlCommand(
            $"ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only; {sql}; ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only;", connection);
        await command.ExecuteNonQueryAsync();
    }
}
