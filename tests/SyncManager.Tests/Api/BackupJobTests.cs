using System.Security.Cryptography;
using HeadyClouds.Backup;
using HeadyClouds.Testing;
using Microsoft.Extensions.DependencyInjection;
using SyncManager.Jobs;

namespace SyncManager.Tests.Api;

/// <summary>SyncManager with its worker on and the platform backup configured: its own database into a private bucket.</summary>
public sealed class BackupWorkerFixture : SyncManagerApiFixture
{
    public string Bucket { get; } = "backup-test-" + Guid.NewGuid().ToString("N")[..8];

    protected override bool UsesObjectStore => true;

    protected override IEnumerable<KeyValuePair<string, string>> ExtraSettings =>
    [
        new("Jobs:WorkerEnabled", "true"),
        new("Jobs:PollInterval", "00:00:00.200"),
        new("Backup:Bucket", Bucket),
        new("Backup:Encryption:ActiveKeyId", "backup1"),
        new("Backup:Encryption:Keys:backup1", Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))),
        new("Backup:Databases:0", SyncManagerServices.DatabaseResource),
    ];
}

public sealed class BackupJobTests(BackupWorkerFixture fx) : IClassFixture<BackupWorkerFixture>
{
    [Fact]
    public async Task A_backup_job_writes_a_complete_encrypted_backup_that_verifies()
    {
        var run = await JobWorkerTests.RunToEndAsync(fx, new { name = "backup-" + Callers.Unique(), type = JobTypes.Backup, maxAttempts = 1 });

        Assert.Equal(JobStates.Succeeded, run.GetProperty("state").GetString());
        var result = run.GetProperty("result").GetString()!;
        Assert.StartsWith("backup ", result, StringComparison.Ordinal);

        // The same service the job used lists the backup as complete and a verify-only restore accepts every segment.
        var backups = fx.Factory.Services.GetRequiredService<BackupService>();
        var listing = Assert.Single(await backups.ListAsync(backups.Target(), CancellationToken.None));
        Assert.True(listing.Complete);
        Assert.Contains(listing.Id, result, StringComparison.Ordinal);
        var verified = await backups.RestoreAsync(listing.Id, verifyOnly: true, from: null, CancellationToken.None);
        Assert.True(verified.VerifiedOnly);
        Assert.Empty(verified.Restored);
        var database = Assert.Single(verified.Manifest.Parts, p => p.Name.Contains(SyncManagerServices.DatabaseResource, StringComparison.Ordinal));
        Assert.True(database.Size > 0);
    }
}
