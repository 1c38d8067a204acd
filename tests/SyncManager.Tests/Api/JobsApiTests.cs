using System.Net;
using HeadyClouds.Testing;
using SyncManager.Jobs;

namespace SyncManager.Tests.Api;

public sealed class JobsApiTests(SyncManagerApiFixture fx) : IClassFixture<SyncManagerApiFixture>
{
    private const string Definitions = "/api/v1/jobs/definitions";

    private async Task<Guid> CreateDefinitionAsync(object body)
    {
        var json = await (await fx.PostAsync(Definitions, Callers.Admin(), body)).AssertJsonAsync(HttpStatusCode.Created);
        return json.GetProperty("id").GetGuid();
    }

    [Fact]
    public async Task AdminCreatesUpdatesAndListsDefinitionsWithNextRunInTheirTimeZone()
    {
        var name = "sync-" + Callers.Unique();
        var response = await fx.PostAsync(Definitions, Callers.Admin(), new
        {
            name, type = JobTypes.RepositorySync, cron = "30 2 * * *", timeZone = "Europe/Berlin",
            payload = new { repositoryId = Guid.NewGuid() }, maxAttempts = 4, backoffBaseSeconds = 60,
        });
        var created = await response.AssertJsonAsync(HttpStatusCode.Created);
        var id = created.GetProperty("id").GetGuid();
        Assert.Equal($"/api/v1/jobs/definitions/{id}", response.Headers.Location?.OriginalString);
        var next = created.GetProperty("nextRunAt").GetDateTimeOffset();
        var berlin = TimeZoneInfo.ConvertTime(next, TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin"));
        Assert.True(berlin.TimeOfDay == new TimeSpan(2, 30, 0) || berlin.TimeOfDay == new TimeSpan(3, 0, 0), berlin.ToString("O"));
        Assert.Equal(4, created.GetProperty("maxAttempts").GetInt32());

        var updated = await (await fx.SendAsync(HttpMethod.Put, $"{Definitions}/{id}", Callers.Admin(), new { name, type = JobTypes.RepositorySync, enabled = false }))
            .AssertJsonAsync(HttpStatusCode.OK);
        Assert.False(updated.GetProperty("enabled").GetBoolean());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, updated.GetProperty("nextRunAt").ValueKind);

        var list = await (await fx.GetAsync(Definitions, Callers.Admin())).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Contains(list.EnumerateArray(), d => d.GetProperty("id").GetGuid() == id);

        await (await fx.PostAsync(Definitions, Callers.Admin(), new { name, type = JobTypes.Backup })).AssertProblemAsync(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task MigrationStepSeedsTheDefaultSchedulesWithBackupDisabled()
    {
        var list = await (await fx.GetAsync(Definitions, Callers.Admin())).AssertJsonAsync(HttpStatusCode.OK);
        var byName = list.EnumerateArray().ToDictionary(d => d.GetProperty("name").GetString()!);
        Assert.Equal("0 3 1 1,4,7,10 *", byName["key-rotation"].GetProperty("cron").GetString());
        Assert.Equal(JobTypes.KeyRotation, byName["key-rotation"].GetProperty("type").GetString());
        Assert.True(byName["key-rotation"].GetProperty("nextRunAt").GetDateTimeOffset() > DateTimeOffset.UtcNow);
        foreach (var name in new[] { "workspace-maintenance", "certificate-health", "audit-verify" })
        {
            Assert.True(byName[name].GetProperty("enabled").GetBoolean(), name);
        }

        Assert.True(byName["backup"].GetProperty("enabled").GetBoolean());
        Assert.Equal("0 1 * * *", byName["backup"].GetProperty("cron").GetString());
        Assert.True(byName["backup"].GetProperty("nextRunAt").GetDateTimeOffset() > DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task InvalidDefinitionsAreRefusedFieldByField()
    {
        await (await fx.PostAsync(Definitions, Callers.Admin(), new { name = "x", type = "launch-missiles", cron = "every tuesday", maxAttempts = 0 }))
            .AssertValidationProblemAsync("name", "type", "cron", "maxAttempts");
        var problem = await (await fx.PostAsync(Definitions, Callers.Admin(), new { name = "zone-" + Callers.Unique(), type = JobTypes.Backup, cron = "0 1 * * *", timeZone = "Mars/Olympus" }))
            .AssertValidationProblemAsync("timeZone");
        Assert.Contains("IANA", problem.GetProperty("errors").GetProperty("timeZone")[0].GetString());
        await (await fx.PostAsync(Definitions, Callers.Admin(), new { name = "p-" + Callers.Unique(), type = JobTypes.Backup, payload = new[] { 1, 2 } }))
            .AssertValidationProblemAsync("payload");
    }

    [Fact]
    public async Task TriggerWithIdempotencyKeyEnqueuesOnce()
    {
        var id = await CreateDefinitionAsync(new { name = "manual-" + Callers.Unique(), type = JobTypes.CertificateHealth });
        var key = "deploy-" + Callers.Unique();

        var first = await (await fx.PostAsync($"{Definitions}/{id}/runs", Callers.Admin(), new { idempotencyKey = key })).AssertJsonAsync(HttpStatusCode.Accepted);
        var again = await (await fx.PostAsync($"{Definitions}/{id}/runs", Callers.Admin(), new { idempotencyKey = key })).AssertJsonAsync(HttpStatusCode.OK);
        var other = await (await fx.PostAsync($"{Definitions}/{id}/runs", Callers.Admin(), new { })).AssertJsonAsync(HttpStatusCode.Accepted);

        Assert.Equal(first.GetProperty("id").GetGuid(), again.GetProperty("id").GetGuid());
        Assert.NotEqual(first.GetProperty("id").GetGuid(), other.GetProperty("id").GetGuid());
        Assert.Equal(JobStates.Pending, first.GetProperty("state").GetString());
        Assert.Equal(JobTriggers.Api, first.GetProperty("trigger").GetString());
        var runs = await (await fx.GetAsync($"/api/v1/jobs/runs?definitionId={id}", Callers.Admin())).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(2, runs.GetArrayLength());

        // The same key for another definition is a conflict, not a silent reuse.
        var otherDefinition = await CreateDefinitionAsync(new { name = "manual-" + Callers.Unique(), type = JobTypes.CertificateHealth });
        var problem = await (await fx.PostAsync($"{Definitions}/{otherDefinition}/runs", Callers.Admin(), new { idempotencyKey = key })).AssertProblemAsync(HttpStatusCode.Conflict);
        Assert.Contains(key, problem.GetProperty("detail").GetString());

        await (await fx.PostAsync($"{Definitions}/{Guid.NewGuid()}/runs", Callers.Admin(), new { })).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task CancelPendingRunThenRequeueIt()
    {
        var id = await CreateDefinitionAsync(new { name = "cancel-" + Callers.Unique(), type = JobTypes.CertificateHealth, maxAttempts = 2 });
        var run = await (await fx.PostAsync($"{Definitions}/{id}/runs", Callers.Admin(), new { })).AssertJsonAsync(HttpStatusCode.Accepted);
        var runId = run.GetProperty("id").GetGuid();

        var cancelled = await (await fx.PostAsync($"/api/v1/jobs/runs/{runId}/cancel", Callers.Admin(), new { })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(JobStates.Cancelled, cancelled.GetProperty("state").GetString());
        await (await fx.PostAsync($"/api/v1/jobs/runs/{runId}/cancel", Callers.Admin(), new { })).AssertProblemAsync(HttpStatusCode.Conflict);

        var requeued = await (await fx.PostAsync($"/api/v1/jobs/runs/{runId}/requeue", Callers.Admin(), new { })).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(JobStates.Pending, requeued.GetProperty("state").GetString());
        Assert.Equal(2, requeued.GetProperty("maxAttempts").GetInt32());
        await (await fx.PostAsync($"/api/v1/jobs/runs/{runId}/requeue", Callers.Admin(), new { })).AssertProblemAsync(HttpStatusCode.Conflict);
        await (await fx.PostAsync($"/api/v1/jobs/runs/{Guid.NewGuid()}/cancel", Callers.Admin(), new { })).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task DeadLettersListsDeadRunsWithTheirAttempts()
    {
        var id = await CreateDefinitionAsync(new { name = "dead-" + Callers.Unique(), type = JobTypes.Backup, maxAttempts = 1 });
        var run = await (await fx.PostAsync($"{Definitions}/{id}/runs", Callers.Admin(), new { })).AssertJsonAsync(HttpStatusCode.Accepted);
        var runId = run.GetProperty("id").GetGuid();
        // The real engine of the service runs it once (the worker loop is off in this host).
        var engine = (JobEngine)fx.Factory.Services.GetService(typeof(JobEngine))!;
        while (await engine.ProcessNextAsync(CancellationToken.None))
        {
        }

        var dead = await (await fx.GetAsync("/api/v1/jobs/dead-letters", Callers.Admin())).AssertJsonAsync(HttpStatusCode.OK);
        var entry = Assert.Single(dead.EnumerateArray(), d => d.GetProperty("id").GetGuid() == runId);
        Assert.Contains("Backup is not configured", entry.GetProperty("lastError").GetString());
        var attempt = Assert.Single(entry.GetProperty("attempts").EnumerateArray());
        Assert.Equal(AttemptOutcomes.Failed, attempt.GetProperty("outcome").GetString());
        Assert.Contains("Backup is not configured", attempt.GetProperty("error").GetString());
        Assert.True(attempt.GetProperty("durationSeconds").GetDouble() >= 0);
    }

    [Theory]
    [InlineData("GET", "/api/v1/jobs/definitions")]
    [InlineData("POST", "/api/v1/jobs/definitions")]
    [InlineData("GET", "/api/v1/jobs/runs")]
    [InlineData("GET", "/api/v1/jobs/dead-letters")]
    [InlineData("POST", "/api/v1/jobs/runs/00000000-0000-0000-0000-000000000001/cancel")]
    [InlineData("GET", "/api/v1/audit")]
    [InlineData("GET", "/api/v1/audit/verify")]
    public async Task NonAdminsAreForbiddenAndAnonymousUnauthorized(string method, string path)
    {
        await (await fx.SendAsync(new HttpMethod(method), path, Callers.NewUser(Callers.AllScopes), method == "POST" ? new { } : null))
            .AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await fx.SendAsync(new HttpMethod(method), path, Callers.SyncManager, method == "POST" ? new { } : null))
            .AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await fx.SendAsync(new HttpMethod(method), path, (HeadyClouds.ServiceDefaults.Identity.CallerIdentity?)null, method == "POST" ? new { } : null))
            .AssertProblemAsync(HttpStatusCode.Unauthorized);
    }
}
