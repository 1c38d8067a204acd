using System.Diagnostics;
using System.Net;
using System.Text.Json;
using HeadyClouds.ServiceDefaults.Identity;
using HeadyClouds.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Monorepo.Sync;
using Monorepo.Sync.Infrastructure;
using SyncManager.Jobs;
using SyncManager.Tests.Engine;

namespace SyncManager.Tests.Monorepo;

/// <summary>Monorepo.Sync in-process, allowed to mirror local bare repositories.</summary>
public sealed class MonorepoFixture : ServiceFixture<MonorepoDbContext>
{
    protected override bool UsesObjectStore => true;

    protected override string DatabaseResource => MonorepoServices.DatabaseResource;

    protected override string ServiceName => "monorepo";

    protected override Task PrepareAsync(IServiceProvider services, MonorepoDbContext db) =>
        MonorepoServices.PrepareStorageAsync(services, db, CancellationToken.None);

    public string StoragePath { get; } = Path.Combine(Path.GetTempPath(), "hc-sm-monorepo-" + Guid.NewGuid().ToString("N")[..8]);

    protected override IEnumerable<KeyValuePair<string, string>> ExtraSettings =>
    [
        new("Encryption:ActiveKeyId", "k1"),
        new("Encryption:Keys:k1", Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))),
        new("Monorepo:StoragePath", StoragePath),
        new("Monorepo:AllowLocalRemotes", "true"),
    ];

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Directory.Exists(StoragePath))
        {
            Directory.Delete(StoragePath, recursive: true);
        }
    }
}

public sealed class MonorepoInternalApiTests(MonorepoFixture fx) : IClassFixture<MonorepoFixture>
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    public static TheoryData<string> NotSyncManager => new() { "anonymous", "gateway", "headyme", "admin-user" };

    [Theory]
    [MemberData(nameof(NotSyncManager))]
    public async Task OnlySyncManagerMayTriggerASync(string who)
    {
        CallerIdentity? caller = who switch
        {
            "anonymous" => null,
            "gateway" => Callers.Gateway,
            "headyme" => CallerIdentity.ForService("headyme-sync"),
            _ => Callers.Admin(),
        };

        var response = await fx.PostAsync($"/internal/v1/repositories/{Guid.NewGuid()}/sync", caller, new { });

        await response.AssertProblemAsync(caller is null ? HttpStatusCode.Unauthorized : HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task SyncManagerIsAllowedAndAnUnknownRepositoryIsNotFound()
    {
        var problem = await (await fx.PostAsync($"/internal/v1/repositories/{Guid.NewGuid()}/sync", Callers.SyncManager, new { })).AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Contains("was not found", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task RepositorySyncJobRunsTheSyncThroughTheInternalEndpoint()
    {
        var root = Path.Combine(Path.GetTempPath(), "hc-sm-repos-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var source = Path.Combine(root, "source.git");
            var target = Path.Combine(root, "target.git");
            var work = Path.Combine(root, "work");
            Directory.CreateDirectory(root);
            Git(root, "init", "-q", "--bare", "-b", "main", source);
            Git(root, "init", "-q", "--bare", "-b", "main", target);
            Git(root, "clone", "-q", source, work);
            Git(work, "config", "user.email", "dev@example.org");
            Git(work, "config", "user.name", "Dev");
            File.WriteAllText(Path.Combine(work, "README.md"), "hello");
            Git(work, "add", "-A");
            Git(work, "commit", "-q", "-m", "first");
            Git(work, "push", "-q", "origin", "main");

            var owner = Callers.NewUser("repos:read", "repos:admin");
            var repo = await (await fx.PostAsync("/api/v1/repositories", owner, new { name = "mono-" + Callers.Unique(), sourceUrl = source })).AssertJsonAsync(HttpStatusCode.Created);
            var repositoryId = repo.GetProperty("id").GetGuid();
            await (await fx.PostAsync($"/api/v1/repositories/{repositoryId}/targets", owner, new { name = "backup", url = target })).AssertStatusAsync(HttpStatusCode.Created);

            await using var database = await JobDatabase.CreateAsync();
            var definition = await database.AddDefinitionAsync(T0);
            await using (var db = database.NewContext())
            {
                definition.Type = JobTypes.RepositorySync;
                definition.Payload = JsonSerializer.Serialize(new { repositoryId });
                db.JobDefinitions.Update(definition);
                await db.SaveChangesAsync();
            }

            var id = Assert.Single(await database.EnqueueAsync(definition, T0));
            await using var engine = new EngineInstance(database, "replica-a", new FakeTimeProvider(T0), new Ledger(), services =>
            {
                // SyncManager's real handler and client, pointed at the in-process Monorepo.Sync, signing with its key.
                services.AddKeyedSingleton(InternalServiceClient.MonorepoClient, (sp, _) =>
                    new InternalServiceClient(fx.Factory.CreateClient(), new ServiceIdentityKey(fx.SigningKey), TimeProvider.System));
                services.AddSingleton<IJobHandler, RepositorySyncHandler>();
            });

            Assert.True(await engine.Engine.ProcessNextAsync(CancellationToken.None));

            var job = await database.GetJobAsync(id);
            Assert.True(job.State == JobStates.Succeeded, job.LastError);
            Assert.StartsWith($"repository {repositoryId}: succeeded", job.Result);
            Assert.Equal(Git(work, "rev-parse", "HEAD").Trim(), Git(root, "--git-dir", target, "rev-parse", "refs/heads/main").Trim());
            var runs = await (await fx.GetAsync($"/api/v1/repositories/{repositoryId}/runs", owner)).AssertJsonAsync(HttpStatusCode.OK);
            Assert.Equal("schedule", Assert.Single(runs.EnumerateArray()).GetProperty("trigger").GetString());

            // An unknown repository is a permanent failure: dead at once, with Monorepo's answer as the error.
            await using (var db = database.NewContext())
            {
                definition.Payload = JsonSerializer.Serialize(new { repositoryId = Guid.NewGuid() });
                db.JobDefinitions.Update(definition);
                await db.SaveChangesAsync();
            }

            var missing = Assert.Single(await database.EnqueueAsync(definition, T0));
            Assert.True(await engine.Engine.ProcessNextAsync(CancellationToken.None));
            job = await database.GetJobAsync(missing);
            Assert.Equal((JobStates.Dead, 1), (job.State, job.Attempt));
            Assert.Contains("404", job.LastError);
            Assert.Contains("was not found", job.LastError);
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    private static string Git(string directory, params string[] args)
    {
        var start = new ProcessStartInfo("git") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"git {string.Join(' ', args)}: {error}");
        return output;
    }
}
