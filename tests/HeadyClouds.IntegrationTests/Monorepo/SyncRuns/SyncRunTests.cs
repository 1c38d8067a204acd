using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using HeadyClouds.Testing;
using Monorepo.Sync.Application;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace HeadyClouds.IntegrationTests.Monorepo.SyncRuns;

/// <summary>Sync runs through the service's API against real git repositories and the real PostgreSQL.</summary>
public sealed class SyncRunTests(MonorepoLocalRemotesFixture fx) : IClassFixture<MonorepoLocalRemotesFixture>
{
    private static readonly string[] Scopes = ["repos:read", "repos:admin"];

    private sealed record Setup(LocalRepos Repos, Guid RepositoryId, string WebhookSecret, string Backup, string Follower);

    private async Task<Setup> RegisterAsync(global::HeadyClouds.ServiceDefaults.Identity.CallerIdentity owner)
    {
        var repos = new LocalRepos();
        repos.Commit("README.md", "hello", "first");
        repos.Commit("packages/ui/index.ts", "export {}", "ui");
        repos.Push("main");
        repos.Git2Branch("feature", "feature.txt", "f");
        var registered = await (await fx.PostAsync("/api/v1/repositories", owner, new { name = "mono-" + Callers.Unique(), sourceUrl = repos.Source }))
            .AssertJsonAsync(HttpStatusCode.Created);
        var id = registered.GetProperty("id").GetGuid();
        var backup = repos.NewBare("backup");
        var follower = repos.NewBare("follower");
        await (await fx.PostAsync($"/api/v1/repositories/{id}/targets", owner, new { name = "backup", url = backup, protectedRefs = new[] { "refs/heads/main", "refs/tags/*" } }))
            .AssertStatusAsync(HttpStatusCode.Created);
        await (await fx.PostAsync($"/api/v1/repositories/{id}/targets", owner, new { name = "follower", url = follower }))
            .AssertStatusAsync(HttpStatusCode.Created);
        return new Setup(repos, id, registered.GetProperty("webhookSecret").GetString()!, backup, follower);
    }

    private async Task<JsonElement> SyncAsync(global::HeadyClouds.ServiceDefaults.Identity.CallerIdentity owner, Guid id) =>
        await (await fx.PostAsync($"/api/v1/repositories/{id}/sync?wait=true", owner, new { })).AssertJsonAsync(HttpStatusCode.OK);

    private async Task<JsonElement[]> AuditAsync(global::HeadyClouds.ServiceDefaults.Identity.CallerIdentity owner, Guid id) =>
        (await (await fx.GetAsync($"/api/v1/repositories/{id}/audit", owner)).AssertJsonAsync(HttpStatusCode.OK)).EnumerateArray().ToArray();

    [Fact]
    public async Task First_sync_mirrors_every_branch_to_every_target_and_audits_each_ref()
    {
        var owner = Callers.NewUser(Scopes);
        var s = await RegisterAsync(owner);
        using var _ = s.Repos;

        var run = await SyncAsync(owner, s.RepositoryId);
        Assert.Equal("succeeded", run.GetProperty("outcome").GetString());

        foreach (var target in new[] { s.Backup, s.Follower })
        {
            Assert.Equal(s.Repos.RefOf(s.Repos.Source, "refs/heads/main"), s.Repos.RefOf(target, "refs/heads/main"));
            Assert.Equal(s.Repos.RefOf(s.Repos.Source, "refs/heads/feature"), s.Repos.RefOf(target, "refs/heads/feature"));
        }

        var audit = await AuditAsync(owner, s.RepositoryId);
        Assert.Equal(4, audit.Length);
        Assert.All(audit, a => Assert.Equal("Created", a.GetProperty("kind").GetString()));
        Assert.All(audit, a => Assert.Equal("api", a.GetProperty("trigger").GetString()));
    }

    [Fact]
    public async Task Incremental_sync_fast_forwards_and_a_no_op_sync_changes_nothing()
    {
        var owner = Callers.NewUser(Scopes);
        var s = await RegisterAsync(owner);
        using var _ = s.Repos;
        await SyncAsync(owner, s.RepositoryId);

        var head = s.Repos.Commit("docs/a.md", "a", "docs");
        s.Repos.Push("main");
        await SyncAsync(owner, s.RepositoryId);
        Assert.Equal(head, s.Repos.RefOf(s.Backup, "refs/heads/main"));
        var audit = await AuditAsync(owner, s.RepositoryId);
        Assert.Contains(audit, a => a.GetProperty("kind").GetString() == "FastForwarded" && a.GetProperty("newId").GetString() == head && !a.GetProperty("forced").GetBoolean());

        var count = audit.Length;
        var noop = await SyncAsync(owner, s.RepositoryId);
        Assert.Equal(0, noop.GetProperty("refsUpdated").GetInt32());
        Assert.Equal(count, (await AuditAsync(owner, s.RepositoryId)).Length);
    }

    [Fact]
    public async Task An_upstream_force_push_is_refused_on_a_protected_ref_and_followed_elsewhere()
    {
        var owner = Callers.NewUser(Scopes);
        var s = await RegisterAsync(owner);
        using var _ = s.Repos;
        await SyncAsync(owner, s.RepositoryId);
        var protectedHead = s.Repos.RefOf(s.Backup, "refs/heads/main");

        // Rewrite main upstream, and move another branch normally in the same push window.
        LocalRepos.Git(s.Repos.Work, "reset", "-q", "--hard", "HEAD~1");
        var rewritten = s.Repos.Commit("rewrite.txt", "x", "rewrite history");
        s.Repos.Push("--force", "main");
        var featureHead = s.Repos.Git2Commit("feature", "feature2.txt", "g");

        var run = await SyncAsync(owner, s.RepositoryId);
        Assert.Equal("partial", run.GetProperty("outcome").GetString());
        Assert.Equal(1, run.GetProperty("refsRefused").GetInt32());

        Assert.Equal(protectedHead, s.Repos.RefOf(s.Backup, "refs/heads/main"));        // refused on the protected target
        Assert.Equal(featureHead, s.Repos.RefOf(s.Backup, "refs/heads/feature"));       // other refs still synced
        Assert.Equal(rewritten, s.Repos.RefOf(s.Follower, "refs/heads/main"));          // unprotected target follows

        var audit = await AuditAsync(owner, s.RepositoryId);
        var refused = Assert.Single(audit, a => a.GetProperty("kind").GetString() == "RefusedNonFastForward");
        Assert.Equal("backup", refused.GetProperty("target").GetString());
        Assert.Equal(protectedHead, refused.GetProperty("oldId").GetString());
        Assert.Contains(audit, a => a.GetProperty("target").GetString() == "follower" && a.GetProperty("forced").GetBoolean() && a.GetProperty("newId").GetString() == rewritten);

        // The forced update is also in the platform's hash-chained audit log in SyncManager, reported by monorepo-sync.
        var platform = await Audit.PlatformAudit.EventuallyAsync(fx.AuditLog, "ref.forced", $"repository:{s.RepositoryId}");
        var forced = Assert.Single(platform);
        Assert.Equal("monorepo-sync", forced.GetProperty("service").GetString());
        Assert.Contains(rewritten, forced.GetRawText(), StringComparison.Ordinal);
        Assert.Contains("follower", forced.GetRawText(), StringComparison.Ordinal);

        var status = await (await fx.GetAsync($"/api/v1/repositories/{s.RepositoryId}/status", owner)).AssertJsonAsync(HttpStatusCode.OK);
        var backupStatus = status.GetProperty("targets").EnumerateArray().Single(t => t.GetProperty("name").GetString() == "backup");
        Assert.Equal(1, backupStatus.GetProperty("refusedRefs").GetInt32());
        Assert.Equal(1, backupStatus.GetProperty("lagCommits").GetInt32());
        Assert.Contains("refs/heads/main", backupStatus.GetProperty("lastError").GetString(), StringComparison.Ordinal);
        Assert.NotNull(status.GetProperty("nextAttemptAfter").GetString());
    }

    [Fact]
    public async Task Deleting_a_branch_upstream_deletes_it_where_unprotected_and_never_where_protected()
    {
        var owner = Callers.NewUser(Scopes);
        var s = await RegisterAsync(owner);
        using var _ = s.Repos;
        await (await fx.PostAsync($"/api/v1/repositories/{s.RepositoryId}/targets", owner,
            new { name = "archive", url = s.Repos.NewBare("archive"), protectedRefs = new[] { "refs/heads/*" } })).AssertStatusAsync(HttpStatusCode.Created);
        await SyncAsync(owner, s.RepositoryId);

        s.Repos.Push("--delete", "feature");
        await SyncAsync(owner, s.RepositoryId);

        Assert.Equal("", s.Repos.RefOf(s.Follower, "refs/heads/feature"));
        Assert.NotEqual("", s.Repos.RefOf(Path.Combine(s.Repos.Root, "archive.git"), "refs/heads/feature"));
        var audit = await AuditAsync(owner, s.RepositoryId);
        Assert.Contains(audit, a => a.GetProperty("kind").GetString() == "RefusedProtectedDeletion" && a.GetProperty("target").GetString() == "archive");
        Assert.Contains(audit, a => a.GetProperty("kind").GetString() == "Deleted" && a.GetProperty("target").GetString() == "follower");
    }

    [Fact]
    public async Task A_run_already_holding_the_repository_lock_anywhere_makes_a_trigger_answer_409()
    {
        var owner = Callers.NewUser(Scopes);
        var s = await RegisterAsync(owner);
        using var _ = s.Repos;

        // Another replica in the middle of a run holds the advisory lock.
        await using var otherReplica = await fx.OpenConnectionAsync();
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_lock(@k)", otherReplica))
        {
            lockCommand.Parameters.AddWithValue("k", SyncRunner.LockKey(s.RepositoryId));
            await lockCommand.ExecuteScalarAsync();
        }

        var response = await fx.PostAsync($"/api/v1/repositories/{s.RepositoryId}/sync?wait=true", owner, new { });
        await response.AssertStatusAsync(HttpStatusCode.Conflict);
        Assert.Equal(0, await fx.WithDbAsync(db => Task.FromResult(db.SyncRuns.Count(r => r.RepositoryId == s.RepositoryId))));
    }

    [Fact]
    public async Task Webhooks_need_a_valid_signature()
    {
        var owner = Callers.NewUser(Scopes);
        var s = await RegisterAsync(owner);
        using var _ = s.Repos;
        var path = $"/api/v1/hooks/repositories/{s.RepositoryId}";
        var body = Encoding.UTF8.GetBytes("{\"ref\":\"refs/heads/main\"}");

        async Task<HttpStatusCode> SendAsync(string? header, string? value)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
            if (header is not null)
            {
                request.Headers.TryAddWithoutValidation(header, value);
            }

            return (await fx.Client.SendAsync(request)).StatusCode;
        }

        var good = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(s.WebhookSecret), body));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(null, null));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync("X-Hub-Signature-256", "sha256=" + new string('0', 64)));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync("X-Gitlab-Token", "wrong"));
        Assert.Equal(HttpStatusCode.Accepted, await SendAsync("X-Hub-Signature-256", "sha256=" + good));
        Assert.Equal(HttpStatusCode.Accepted, await SendAsync("X-Gitea-Signature", good));
        Assert.Equal(HttpStatusCode.Accepted, await SendAsync("X-Gitlab-Token", s.WebhookSecret));
        // Another repository's id with this repository's valid signature is refused too.
        using var foreign = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/hooks/repositories/{Guid.NewGuid()}") { Content = new ByteArrayContent(body) };
        foreign.Headers.TryAddWithoutValidation("X-Hub-Signature-256", "sha256=" + good);
        Assert.Equal(HttpStatusCode.Unauthorized, (await fx.Client.SendAsync(foreign)).StatusCode);
    }

    [Fact]
    public async Task Credentials_are_stored_sealed_and_never_come_back()
    {
        var owner = Callers.NewUser(Scopes);
        var token = "glpat-" + Guid.NewGuid().ToString("N");
        var response = await fx.PostAsync("/api/v1/repositories", owner, new
        {
            name = "secret-" + Callers.Unique(),
            sourceUrl = "https://127.0.0.1:9/org/repo.git",
            credential = new { kind = "https-token", username = "ci", token },
        });
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.DoesNotContain(token, body, StringComparison.Ordinal);
        var id = JsonDocument.Parse(body).RootElement.GetProperty("id").GetGuid();
        Assert.Equal("https-token", JsonDocument.Parse(body).RootElement.GetProperty("credentialKind").GetString());

        // A failing run (nothing listens there) reports an error that does not contain the token either.
        var run = await SyncAsync(owner, id);
        Assert.Equal("failed", run.GetProperty("outcome").GetString());
        foreach (var path in new[] { $"/api/v1/repositories/{id}", $"/api/v1/repositories/{id}/status", $"/api/v1/repositories/{id}/runs", "/api/v1/repositories" })
        {
            var text = await (await fx.GetAsync(path, owner)).Content.ReadAsStringAsync();
            Assert.DoesNotContain(token, text, StringComparison.Ordinal);
        }

        Assert.Contains(fx.Logs, l => l.Contains(id.ToString(), StringComparison.Ordinal)); // the failure was logged...
        Assert.DoesNotContain(fx.Logs, l => l.Contains(token, StringComparison.Ordinal)); // ...without the token

        await using var connection = await fx.OpenConnectionAsync();
        await using var command = new NpgsqlCommand("SELECT source_credential FROM repositories WHERE id = @id", connection);
        command.Parameters.AddWithValue("id", id);
        var stored = (byte[])(await command.ExecuteScalarAsync())!;
        Assert.DoesNotContain(token, Encoding.UTF8.GetString(stored), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_split_pushes_the_same_commits_as_git_subtree_split_and_grows_incrementally()
    {
        var owner = Callers.NewUser(Scopes);
        var s = await RegisterAsync(owner);
        using var _ = s.Repos;
        var splitTarget = s.Repos.NewBare("ui");
        await (await fx.PostAsync($"/api/v1/repositories/{s.RepositoryId}/splits", owner,
            new { name = "ui", prefix = "packages/ui", sourceRef = "refs/heads/main", url = splitTarget })).AssertStatusAsync(HttpStatusCode.Created);

        await SyncAsync(owner, s.RepositoryId);
        var expected = LocalRepos.Git(s.Repos.Work, "subtree", "split", "--prefix=packages/ui", "main").Trim();
        Assert.Equal(expected, s.Repos.RefOf(splitTarget, "refs/heads/main"));

        s.Repos.Commit("packages/ui/button.ts", "export const b = 1", "button");
        s.Repos.Commit("README.md", "hello again", "outside the prefix");
        s.Repos.Commit("packages/ui/index.ts", "export * from './button'", "index");
        s.Repos.Push("main");
        var mapped = await fx.WithDbAsync(db => Task.FromResult(db.SplitMap.Count()));
        await SyncAsync(owner, s.RepositoryId);

        expected = LocalRepos.Git(s.Repos.Work, "subtree", "split", "--prefix=packages/ui", "main").Trim();
        Assert.Equal(expected, s.Repos.RefOf(splitTarget, "refs/heads/main"));
        Assert.Equal(mapped + 3, await fx.WithDbAsync(db => Task.FromResult(db.SplitMap.Count())));
        var audit = await AuditAsync(owner, s.RepositoryId);
        Assert.Contains(audit, a => a.GetProperty("target").GetString() == "split:ui" && a.GetProperty("kind").GetString() == "FastForwarded" && a.GetProperty("newId").GetString() == expected);
    }

    [Fact]
    public async Task A_bundle_of_the_mirror_in_the_object_store_restores_every_ref()
    {
        var owner = Callers.NewUser(Scopes);
        var s = await RegisterAsync(owner);
        using var _ = s.Repos;
        await (await fx.PostAsync($"/api/v1/repositories/{s.RepositoryId}/bundles", owner, new { })).AssertStatusAsync(HttpStatusCode.Conflict);
        await SyncAsync(owner, s.RepositoryId);

        var bundle = await (await fx.PostAsync($"/api/v1/repositories/{s.RepositoryId}/bundles", owner, new { })).AssertJsonAsync(HttpStatusCode.Created);
        var store = fx.Factory.Services.GetRequiredService<global::HeadyClouds.Data.ObjectStorage.IObjectStore>();
        var file = Path.Combine(s.Repos.Root, "restore.bundle");
        await using (var output = File.Create(file))
        {
            Assert.True(await store.TryGetAsync(bundle.GetProperty("bucket").GetString()!, bundle.GetProperty("key").GetString()!, output, CancellationToken.None));
        }

        Assert.Equal(bundle.GetProperty("size").GetInt64(), new FileInfo(file).Length);
        var restored = Path.Combine(s.Repos.Root, "restored.git");
        LocalRepos.Git(s.Repos.Root, "clone", "-q", "--mirror", file, restored);
        foreach (var name in new[] { "refs/heads/main", "refs/heads/feature" })
        {
            Assert.Equal(s.Repos.RefOf(s.Repos.Source, name), s.Repos.RefOf(restored, name));
        }
    }

    [Fact]
    public async Task The_audit_table_refuses_updates_and_deletes()
    {
        var owner = Callers.NewUser(Scopes);
        var s = await RegisterAsync(owner);
        using var _ = s.Repos;
        await SyncAsync(owner, s.RepositoryId);

        await using var connection = await fx.OpenConnectionAsync();
        foreach (var sql in new[] { "UPDATE ref_update_audit SET forced = true", "DELETE FROM ref_update_audit", "TRUNCATE ref_update_audit" })
        {
            await using var command = new NpgsqlCommand(sql, connection);
            var error = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync());
            Assert.Contains("append-only", error.MessageText, StringComparison.Ordinal);
        }
    }
}
