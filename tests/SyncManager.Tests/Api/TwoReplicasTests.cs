using System.Net;
using HeadyClouds.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using SyncManager.Infrastructure;
using SyncManager.Jobs;

namespace SyncManager.Tests.Api;

/// <summary>Replica A is the fixture's host; replica B is a second full SyncManager host on the same database.</summary>
public sealed class TwoReplicasFixture : SyncManagerApiFixture
{
    private WebApplicationFactory<SyncManagerDbContext>? replicaB;

    protected override IEnumerable<KeyValuePair<string, string>> ExtraSettings =>
    [
        new("Jobs:WorkerEnabled", "true"),
        new("Jobs:PollInterval", "00:00:00.100"),
        new("Jobs:WorkerId", "replica-a"),
    ];

    public HttpClient ReplicaBClient() => (replicaB ?? throw new InvalidOperationException("replica B is not started")).CreateClient();

    public void StartReplicaB()
    {
        if (replicaB is not null)
        {
            return;
        }

        replicaB = new WebApplicationFactory<SyncManagerDbContext>().WithWebHostBuilder(b =>
        {
            b.UseSetting($"ConnectionStrings:{SyncManagerServices.DatabaseResource}", ConnectionString);
            b.UseSetting("ConnectionStrings:redis", TestServers.Redis);
            b.UseSetting("Identity:SigningKey", SigningKeyText);
            b.UseSetting("Jobs:PollInterval", "00:00:00.100");
            b.UseSetting("Jobs:WorkerId", "replica-b");
            b.UseSetting("Logging:LogLevel:Default", "Warning");
        });
        _ = replicaB.Services; // starts the host and its worker
    }

    public override async Task DisposeAsync()
    {
        if (replicaB is not null)
        {
            await replicaB.DisposeAsync();
        }

        await base.DisposeAsync();
    }
}

public sealed class TwoReplicasTests(TwoReplicasFixture fx) : IClassFixture<TwoReplicasFixture>
{
    [Fact]
    public async Task TwoHostedReplicasRunEveryTriggeredJobExactlyOnce()
    {
        fx.StartReplicaB();
        var definition = await (await fx.PostAsync("/api/v1/jobs/definitions", Callers.Admin(), new { name = "burst-" + Callers.Unique(), type = JobTypes.CertificateHealth }))
            .AssertJsonAsync(HttpStatusCode.Created);
        var id = definition.GetProperty("id").GetGuid();
        for (var i = 0; i < 60; i++)
        {
            await (await fx.PostAsync($"/api/v1/jobs/definitions/{id}/runs", Callers.Admin(), new { idempotencyKey = $"burst-{id}-{i}" }))
                .AssertStatusAsync(HttpStatusCode.Accepted);
        }

        // Bounded wait for both workers to drain the queue.
        List<Job> jobs = [];
        for (var i = 0; i < 600; i++)
        {
            jobs = await fx.WithDbAsync(db => db.Jobs.AsNoTracking().Include(j => j.Attempts).Where(j => j.DefinitionId == id).ToListAsync());
            if (jobs.All(j => j.State == JobStates.Succeeded))
            {
                break;
            }

            await Task.Delay(100);
        }

        Assert.Equal(60, jobs.Count);
        Assert.All(jobs, j =>
        {
            Assert.Equal(JobStates.Succeeded, j.State);
            var attempt = Assert.Single(j.Attempts);
            Assert.Contains(attempt.Worker, new[] { "replica-a", "replica-b" });
        });
    }

    [Fact]
    public async Task ConcurrentAppendsOnBothReplicasNeverForkTheAuditChain()
    {
        fx.StartReplicaB();
        using var b = fx.ReplicaBClient();
        var marker = "race-" + Callers.Unique();

        async Task Append(int i)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/internal/v1/audit")
            {
                Content = System.Net.Http.Json.JsonContent.Create(new { actor = $"user:{i}", eventType = "auth.failed", subject = marker }),
            };
            request.Headers.Add(HeadyClouds.ServiceDefaults.Identity.HeadyHeaders.Identity, fx.Assertion(Callers.Gateway));
            using var response = await (i % 2 == 0 ? fx.Client : b).SendAsync(request);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        await Task.WhenAll(Enumerable.Range(0, 80).Select(Append));

        var entries = await (await fx.GetAsync($"/api/v1/audit?subject={marker}&limit=1000", Callers.Admin())).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(80, entries.GetArrayLength());
        var verify = await (await fx.GetAsync("/api/v1/audit/verify", Callers.Admin())).AssertJsonAsync(HttpStatusCode.OK);
        Assert.True(verify.GetProperty("valid").GetBoolean(), verify.ToString());
        var seqs = await fx.WithDbAsync(db => db.AuditLog.AsNoTracking().OrderBy(e => e.Seq).Select(e => e.Seq).ToListAsync());
        Assert.Equal(Enumerable.Range(1, seqs.Count).Select(i => (long)i), seqs);
    }
}
