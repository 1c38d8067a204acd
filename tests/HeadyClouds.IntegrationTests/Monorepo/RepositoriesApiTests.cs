using System.Net;
using HeadyClouds.Testing;
using Monorepo.Sync;
using Microsoft.EntityFrameworkCore;
using Monorepo.Sync.Infrastructure;

namespace HeadyClouds.IntegrationTests.Monorepo;

/// <summary>Monorepo.Sync as deployed: local paths and file:// remotes are refused.</summary>
public sealed class MonorepoFixture : MonorepoFixtureBase
{
    protected override bool AllowLocalRemotes => false;
}

/// <summary>
/// Monorepo.Sync allowed to mirror local bare repositories, for sync-run tests; its platform audit events go to a real
/// in-process SyncManager (<see cref="AuditLog"/>).
/// </summary>
public sealed class MonorepoLocalRemotesFixture : MonorepoFixtureBase
{
    public HeadyClouds.IntegrationTests.SyncManager.SyncManagerFixture AuditLog { get; } = new();

    protected override bool AllowLocalRemotes => true;

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

    protected override void ConfigureTestServices(Microsoft.Extensions.DependencyInjection.IServiceCollection services) =>
        services.RouteAuditTo(() => AuditLog.Factory.Server.CreateHandler());
}

public abstract class MonorepoFixtureBase : ServiceFixture<MonorepoDbContext>
{
    protected abstract bool AllowLocalRemotes { get; }

    protected override bool UsesObjectStore => true;

    protected override Task PrepareAsync(IServiceProvider services, MonorepoDbContext db) =>
        MonorepoServices.PrepareStorageAsync(services, db, CancellationToken.None);

    protected override string DatabaseResource => MonorepoServices.DatabaseResource;

    protected override string ServiceName => "monorepo";

    /// <summary>Where this fixture's mirrors live; removed with the fixture.</summary>
    public string StoragePath { get; } = Path.Combine(Path.GetTempPath(), "hc-monorepo-" + Guid.NewGuid().ToString("N")[..8]);

    /// <summary>A random key-encryption key: the envelope encryption is the real one.</summary>
    public string KeyEncryptionKey { get; } = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    protected override IEnumerable<KeyValuePair<string, string>> ExtraSettings =>
    [
        new("Encryption:ActiveKeyId", "k1"),
        new("Encryption:Keys:k1", KeyEncryptionKey),
        new("Monorepo:StoragePath", StoragePath),
        new("Monorepo:AllowLocalRemotes", AllowLocalRemotes ? "true" : "false"),
        // Sync-run tests also point at 127.0.0.1 (a port where nothing listens); "as deployed" refuses it.
        new("Monorepo:AllowPrivateNetworkRemotes", AllowLocalRemotes ? "true" : "false"),
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

public sealed class RepositoriesApiTests(MonorepoFixture fx) : IClassFixture<MonorepoFixture>
{
    private const string Repositories = "/api/v1/repositories";
    private static readonly string[] ReadAdmin = ["repos:read", "repos:admin"];

    [Fact]
    public async Task RegisterListAndGet()
    {
        var alice = Callers.NewUser(ReadAdmin);

        var response = await fx.PostAsync(Repositories, alice, new { name = "heady-web", sourceUrl = "https://git.example.com/org/heady-web.git", defaultBranch = "main" });

        var repo = await response.AssertJsonAsync(HttpStatusCode.Created);
        var id = repo.GetProperty("id").GetGuid();
        Assert.Equal($"/api/v1/repositories/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal("heady-web", repo.GetProperty("name").GetString());
        Assert.Equal("https://git.example.com/org/heady-web.git", repo.GetProperty("sourceUrl").GetString());
        Assert.Equal("main", repo.GetProperty("defaultBranch").GetString());
        Assert.Equal(alice.Id(), repo.GetProperty("ownerId").GetGuid());

        await (await fx.PostAsync(Repositories, alice, new { name = "another", sourceUrl = "git@git.example.com:org/another.git" })).AssertStatusAsync(HttpStatusCode.Created);
        var list = await (await fx.GetAsync(Repositories, alice)).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal(["another", "heady-web"], list.EnumerateArray().Select(r => r.GetProperty("name").GetString()));

        var fetched = await (await fx.GetAsync($"{Repositories}/{id}", alice)).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Equal("heady-web", fetched.GetProperty("name").GetString());
    }

    [Theory]
    [InlineData("https://127.0.0.1/org/repo.git")]
    [InlineData("https://localhost:8443/org/repo.git")]
    [InlineData("https://169.254.169.254/latest/meta-data")]
    [InlineData("ssh://git@10.1.2.3/org/repo.git")]
    [InlineData("ssh://git@[::1]:2222/org/repo.git")]
    [InlineData("git@192.168.1.20:org/repo.git")]
    [InlineData("https://[fd00::5]/org/repo.git")]
    [InlineData("https://0.0.0.0/org/repo.git")]
    public async Task SourcesTargetsAndSplitsOnThePlatformsOwnNetworkAreRefused(string url)
    {
        var alice = Callers.NewUser(ReadAdmin);
        var refused = await (await fx.PostAsync(Repositories, alice, new { name = "ssrf-" + Callers.Unique(), sourceUrl = url }))
            .AssertValidationProblemAsync("sourceUrl");
        Assert.Contains("platform's own network", refused.GetProperty("errors").GetProperty("sourceUrl")[0].GetString(), StringComparison.Ordinal);
        Assert.Empty((await (await fx.GetAsync(Repositories, alice)).AssertJsonAsync(HttpStatusCode.OK)).EnumerateArray());

        var created = await (await fx.PostAsync(Repositories, alice, new { name = "public-" + Callers.Unique(), sourceUrl = "https://git.example.com/org/repo.git" }))
            .AssertJsonAsync(HttpStatusCode.Created);
        var id = created.GetProperty("id").GetGuid();
        var target = await (await fx.PostAsync($"{Repositories}/{id}/targets", alice, new { name = "internal", url }))
            .AssertValidationProblemAsync("url");
        Assert.Contains("platform's own network", target.GetProperty("errors").GetProperty("url")[0].GetString(), StringComparison.Ordinal);
        var split = await (await fx.PostAsync($"{Repositories}/{id}/splits", alice, new { name = "internal", url, prefix = "packages/ui", sourceRef = "refs/heads/main" }))
            .AssertValidationProblemAsync("url");
        Assert.Contains("platform's own network", split.GetProperty("errors").GetProperty("url")[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_source_re_pointed_at_the_platforms_own_network_after_registration_is_refused_at_the_next_sync()
    {
        var alice = Callers.NewUser(ReadAdmin);
        var created = await (await fx.PostAsync(Repositories, alice, new { name = "repointed-" + Callers.Unique(), sourceUrl = "https://git.example.com/org/repo.git" }))
            .AssertJsonAsync(HttpStatusCode.Created);
        var id = created.GetProperty("id").GetGuid();
        // What a DNS change would do to the registered name, done to the row: it now leads to the metadata service.
        await fx.WithDbAsync(async db =>
        {
            var repository = await db.Repositories.SingleAsync(r => r.Id == id);
            repository.SourceUrl = "https://169.254.169.254/latest/meta-data";
            return await db.SaveChangesAsync();
        });

        var run = await (await fx.PostAsync($"{Repositories}/{id}/sync?wait=true", alice, new { })).AssertJsonAsync(HttpStatusCode.OK);

        Assert.Equal("failed", run.GetProperty("outcome").GetString());
        Assert.Contains("platform's own network", run.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadScopeIsEnoughToListAndGet()
    {
        var id = Guid.CreateVersion7();
        var admin = Callers.User(id, "owner", ReadAdmin);
        var reader = Callers.User(id, "owner", "repos:read");
        var created = await (await fx.PostAsync(Repositories, admin, new { name = "readable", sourceUrl = "ssh://git@git.example.com/org/readable.git" })).AssertJsonAsync(HttpStatusCode.Created);

        await (await fx.GetAsync(Repositories, reader)).AssertStatusAsync(HttpStatusCode.OK);
        await (await fx.GetAsync($"{Repositories}/{created.GetProperty("id").GetGuid()}", reader)).AssertStatusAsync(HttpStatusCode.OK);
    }

    [Fact]
    public async Task AnotherUsersRepositoryIsInvisible()
    {
        var alice = Callers.NewUser(ReadAdmin);
        var mallory = Callers.NewUser(ReadAdmin);
        var created = await (await fx.PostAsync(Repositories, alice, new { name = "secret", sourceUrl = "https://git.example.com/org/secret.git" })).AssertJsonAsync(HttpStatusCode.Created);
        var id = created.GetProperty("id").GetGuid();

        var problem = await (await fx.GetAsync($"{Repositories}/{id}", mallory)).AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal($"Repository {id} was not found.", problem.GetProperty("detail").GetString());
        var list = await (await fx.GetAsync(Repositories, mallory)).AssertJsonAsync(HttpStatusCode.OK);
        Assert.DoesNotContain(list.EnumerateArray(), r => r.GetProperty("id").GetGuid() == id);
    }

    [Theory]
    [InlineData("file:///srv/git/repo.git")]
    [InlineData("/srv/git/repo.git")]
    [InlineData("http://git.example.com/org/repo.git")]
    [InlineData("git://git.example.com/org/repo.git")]
    [InlineData("git@git.example.com:../../etc")]
    public async Task RefusedSourceUrlsNameSourceUrl(string sourceUrl) =>
        await (await fx.PostAsync(Repositories, Callers.NewUser(ReadAdmin), new { name = "r-" + Callers.Unique(), sourceUrl }))
            .AssertValidationProblemAsync("sourceUrl");

    [Theory]
    [InlineData("https://user:secret@git.example.com/org/repo.git")]
    [InlineData("https://ghp_0123456789@git.example.com/org/repo.git")]
    [InlineData("ssh://git:hunter2@git.example.com/org/repo.git")]
    public async Task CredentialsInTheUrlAreRefusedAndNotStored(string sourceUrl)
    {
        var alice = Callers.NewUser(ReadAdmin);
        var name = "cred-" + Callers.Unique();

        var problem = await (await fx.PostAsync(Repositories, alice, new { name, sourceUrl })).AssertValidationProblemAsync("sourceUrl");

        Assert.DoesNotContain("secret", problem.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", problem.ToString(), StringComparison.Ordinal);
        var list = await (await fx.GetAsync(Repositories, alice)).AssertJsonAsync(HttpStatusCode.OK);
        Assert.Empty(list.EnumerateArray());
    }

    [Fact]
    public async Task EveryInvalidFieldIsNamed() =>
        await (await fx.PostAsync(Repositories, Callers.NewUser(ReadAdmin), new { name = "..", sourceUrl = "file:///etc", defaultBranch = "a..b" }))
            .AssertValidationProblemAsync("name", "sourceUrl", "defaultBranch");

    [Fact]
    public async Task DuplicateNameIsAConflictRegardlessOfCase()
    {
        var alice = Callers.NewUser(ReadAdmin);
        await (await fx.PostAsync(Repositories, alice, new { name = "Mono", sourceUrl = "https://git.example.com/a.git" })).AssertStatusAsync(HttpStatusCode.Created);

        var problem = await (await fx.PostAsync(Repositories, alice, new { name = "mono", sourceUrl = "https://git.example.com/b.git" })).AssertProblemAsync(HttpStatusCode.Conflict);

        Assert.Equal("You already have a repository named 'mono' (names are compared without regard to case).", problem.GetProperty("detail").GetString());
        await (await fx.PostAsync(Repositories, Callers.NewUser(ReadAdmin), new { name = "Mono", sourceUrl = "https://git.example.com/a.git" })).AssertStatusAsync(HttpStatusCode.Created);
    }

    [Fact]
    public async Task RegisteringWithoutReposAdminIsForbidden()
    {
        var reader = Callers.NewUser("repos:read");

        Assert.Equal(HttpStatusCode.Forbidden, (await fx.PostAsync(Repositories, reader, new { name = "nope", sourceUrl = "https://git.example.com/x.git" })).StatusCode);
    }

    [Fact]
    public async Task ListingWithoutReposReadIsForbidden() =>
        Assert.Equal(HttpStatusCode.Forbidden, (await fx.GetAsync(Repositories, Callers.NewUser("repos:admin"))).StatusCode);

    [Fact]
    public async Task NoIdentityIsUnauthorized() =>
        Assert.Equal(HttpStatusCode.Unauthorized, (await fx.GetAsync(Repositories)).StatusCode);

    [Fact]
    public async Task HealthAndOpenApiNeedNoIdentity()
    {
        var health = await fx.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("Healthy", await health.Content.ReadAsStringAsync());

        var document = await (await fx.GetAsync("/openapi/v1.json")).AssertJsonAsync(HttpStatusCode.OK);
        Assert.True(document.TryGetProperty("openapi", out _));
        Assert.Contains(document.GetProperty("paths").EnumerateObject(), p => p.Name.StartsWith("/api/v1/repositories", StringComparison.Ordinal));
    }
}
