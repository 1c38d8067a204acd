using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using HeadyClouds.Testing;
using SyncManager.Jobs;

namespace SyncManager.Tests.Api;

/// <summary>SyncManager as deployed: its hosted job worker on, polling fast, with a gateway certificate file that expires soon.</summary>
public sealed class WorkerFixture : SyncManagerApiFixture
{
    public WorkerFixture()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=gateway.test", key, HashAlgorithmName.SHA256);
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(10));
        File.WriteAllText(CertificatePath, cert.ExportCertificatePem());
    }

    public string CertificatePath { get; } = Path.Combine(Path.GetTempPath(), $"hc-sm-gateway-{Guid.NewGuid():N}.pem");

    protected override IEnumerable<KeyValuePair<string, string>> ExtraSettings =>
    [
        new("Jobs:WorkerEnabled", "true"),
        new("Jobs:PollInterval", "00:00:00.200"),
        new("Jobs:Certificates:gateway", CertificatePath),
    ];

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        File.Delete(CertificatePath);
    }
}

public sealed class JobWorkerTests(WorkerFixture fx) : IClassFixture<WorkerFixture>
{
    private Task<JsonElement> RunToEndAsync(object definition) => RunToEndAsync(fx, definition);

    /// <summary>Creates a definition, triggers it and waits for the hosted worker to finish the run.</summary>
    public static async Task<JsonElement> RunToEndAsync(SyncManagerApiFixture fx, object definition)
    {
        var created = await (await fx.PostAsync("/api/v1/jobs/definitions", Callers.Admin(), definition)).AssertJsonAsync(HttpStatusCode.Created);
        var run = await (await fx.PostAsync($"/api/v1/jobs/definitions/{created.GetProperty("id").GetGuid()}/runs", Callers.Admin(), new { }))
            .AssertJsonAsync(HttpStatusCode.Accepted);
        var path = $"/api/v1/jobs/runs/{run.GetProperty("id").GetGuid()}";
        // The hosted worker picks it up on its own; bounded wait so a dead worker fails the test instead of hanging it.
        for (var i = 0; i < 600; i++)
        {
            var current = await (await fx.GetAsync(path, Callers.Admin())).AssertJsonAsync(HttpStatusCode.OK);
            if (current.GetProperty("state").GetString() is JobStates.Succeeded or JobStates.Dead or JobStates.Cancelled)
            {
                return current;
            }

            await Task.Delay(100);
        }

        throw new Xunit.Sdk.XunitException("the worker never finished the run");
    }

    [Fact]
    public async Task CertificateHealthFailsNamingTheGatewayCertificateThatExpiresSoon()
    {
        var run = await RunToEndAsync(new { name = "certs-" + Callers.Unique(), type = JobTypes.CertificateHealth, maxAttempts = 1, payload = new { warnDays = 30 } });

        Assert.Equal(JobStates.Dead, run.GetProperty("state").GetString());
        Assert.Contains("gateway (CN=gateway.test) expires", run.GetProperty("lastError").GetString());
    }

    [Fact]
    public async Task CertificateHealthPassesWithinItsWindow()
    {
        var run = await RunToEndAsync(new { name = "certs-" + Callers.Unique(), type = JobTypes.CertificateHealth, maxAttempts = 1, payload = new { warnDays = 5 } });

        Assert.Equal(JobStates.Succeeded, run.GetProperty("state").GetString());
        Assert.StartsWith("gateway valid until", run.GetProperty("result").GetString());
    }

    [Fact]
    public async Task BackupWithoutConfigurationGoesToTheDeadLettersAtOnceNeverAsSuccess()
    {
        var run = await RunToEndAsync(new { name = "backup-" + Callers.Unique(), type = JobTypes.Backup, maxAttempts = 3 });

        Assert.Equal(JobStates.Dead, run.GetProperty("state").GetString());
        Assert.Equal(1, run.GetProperty("attempt").GetInt32());
        Assert.Contains("Backup is not configured", run.GetProperty("lastError").GetString());
    }

    [Fact]
    public async Task AuditVerifyJobChecksTheChain()
    {
        await (await fx.PostAsync("/internal/v1/audit", Callers.Gateway, new { actor = "anonymous", eventType = "auth.failed" })).AssertStatusAsync(HttpStatusCode.Created);

        var run = await RunToEndAsync(new { name = "verify-" + Callers.Unique(), type = JobTypes.AuditVerify, maxAttempts = 1 });

        Assert.Equal(JobStates.Succeeded, run.GetProperty("state").GetString());
        Assert.StartsWith("audit chain valid", run.GetProperty("result").GetString());
    }
}
