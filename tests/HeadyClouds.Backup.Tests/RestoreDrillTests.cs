using System.Net;
using System.Security.Cryptography;
using System.Text;
using HeadyClouds.Backup.Targets;
using HeadyClouds.Data.Crypto;
using HeadyClouds.ServiceDefaults.Identity;
using HeadyClouds.Sync.Core.Protocol;
using HeadyClouds.Testing;
using HeadyMe.Sync;

namespace HeadyClouds.Backup.Tests;

/// <summary>
/// The restore drill (issue 9): populate workspaces (history, a conflict, a deletion), users and tokens, Monorepo's
/// schema and mirrored repositories; back up to the bucket and a directory; wipe databases, objects and repositories;
/// restore into the empty stack; compare rows, object bytes, refs, and what users see through the restarted services.
/// </summary>
public sealed class RestoreDrillTests
{
    private static KeyRing Ring(byte[] key) => new("backup-1", new Dictionary<string, byte[]> { ["backup-1"] = key });

    [Fact]
    public async Task BackupWipeRestoreBringsEverythingBackBitForBit()
    {
        await using var stack = new Stack();
        await stack.CreateDatabasesAsync();
        await stack.StartServicesAsync(migrate: true);

        // Users and tokens.
        var alice = await stack.CreateUserAsync();
        var root = await stack.CreateUserAsync("admin");
        var tokens = new[] { await stack.CreateTokenAsync(alice, "laptop"), await stack.CreateTokenAsync(alice, "phone"), await stack.CreateTokenAsync(root, "ops") };

        // Workspaces with history, a conflict and a deletion.
        var ws = await stack.CreateWorkspaceAsync(alice);
        var other = await stack.CreateWorkspaceAsync(alice);
        var v1 = await stack.PutAsync(ws, alice, "docs/report.txt", Encoding.UTF8.GetBytes("first draft"));
        var v2 = await stack.PutAsync(ws, alice, "docs/report.txt", Encoding.UTF8.GetBytes("second draft"), v1.Id);
        await stack.PutAsync(ws, alice, "docs/report.txt", Encoding.UTF8.GetBytes("third draft"), v2.Id);
        var conflict = await stack.CommitAsync(ws, alice, "docs/report.txt", Encoding.UTF8.GetBytes("edited on the phone from v1"), v1.Id, "phone");
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        await stack.PutAsync(ws, alice, "photos/big.bin", RandomNumberGenerator.GetBytes(700_000));
        var doomed = await stack.PutAsync(ws, alice, "old.txt", Encoding.UTF8.GetBytes("to be deleted"));
        await (await stack.HeadyMe!.SendAsync(HttpMethod.Delete, $"{Stack.Ws(ws)}/files?path=old.txt&baseVersionId={doomed.Id}", alice)).AssertStatusAsync(HttpStatusCode.NoContent);
        await stack.PutAsync(other, alice, "a/b/c.md", Encoding.UTF8.GetBytes("# nested"));

        // Mirrored repositories (one with branches, tags and a custom ref; one empty).
        var mirror = GitCli.CreateMirror(Path.Combine(stack.Root, "work"), Path.Combine(stack.Mirrors, $"{Guid.NewGuid()}.git"));
        var empty = Path.Combine(stack.Mirrors, $"{Guid.NewGuid()}.git");
        GitCli.Run(stack.Root, "init", "--quiet", "--bare", empty);

        // What must come back.
        var rows = new Dictionary<string, SortedDictionary<string, string>>();
        foreach (var db in stack.Databases)
        {
            rows[db] = await Snapshots.DatabaseAsync(db);
        }

        Assert.Contains(rows[stack.SyncManagerDb], t => t.Key == "public.api_tokens" && t.Value.StartsWith("3 ", StringComparison.Ordinal));
        var objects = new Dictionary<string, SortedDictionary<string, string>>();
        foreach (var source in stack.ObjectSources)
        {
            objects[source.Prefix] = await Snapshots.ObjectsAsync(stack.Store, source.Bucket, source.Prefix);
            Assert.NotEmpty(objects[source.Prefix]);
        }

        var refs = Snapshots.Refs(mirror);
        Assert.Contains("refs/tags/v2", refs, StringComparison.Ordinal);
        var views = new[] { await stack.UserViewAsync(ws, alice), await stack.UserViewAsync(other, alice) };
        Assert.Contains(views[0].Keys, k => k.Contains("conflicted copy", StringComparison.Ordinal));
        Assert.Equal(3, views[0].Keys.Count(k => k.StartsWith("docs/report.txt @", StringComparison.Ordinal)));

        // Back up: the bucket and an independent directory.
        var key = RandomNumberGenerator.GetBytes(32);
        var bucket = new ObjectStoreTarget(stack.Store, ObjectStoreTarget.DefaultBucket);
        await bucket.EnsureBucketAsync(CancellationToken.None);
        var directory = new DirectoryTarget(Path.Combine(stack.Root, "backups"));
        var manifest = await new BackupRunner(TimeProvider.System).RunAsync(new BackupPlan
        {
            Target = new MirroredTarget([bucket, directory]),
            Keys = Ring(key),
            SegmentSize = 256 * 1024,
            Databases = stack.DatabaseSources,
            ObjectStore = stack.Store,
            Objects = stack.ObjectSources,
            RepositoriesPath = stack.Mirrors,
        }, CancellationToken.None);
        Assert.Equal(3 + 2 + 2, manifest.Parts.Count);

        try
        {
            await stack.WipeAsync();
            foreach (var db in stack.Databases)
            {
                Assert.False(await TestDatabases.ExistsAsync(db));
            }

            var plan = new RestorePlan
            {
                Databases = stack.DatabaseSources.ToDictionary(d => d.Name, d => d.ConnectionString),
                ObjectStore = stack.Store,
                RepositoriesPath = stack.Mirrors,
            };

            // The second copy verifies on its own; the restore reads the bucket.
            var verified = await new Restorer().RestoreAsync(directory, Ring(key), manifest.BackupId, plan, verifyOnly: true, CancellationToken.None);
            Assert.True(verified.VerifiedOnly);
            Assert.False(await TestDatabases.ExistsAsync(stack.HeadyMeDb));
            var result = await new Restorer().RestoreAsync(bucket, Ring(key), manifest.BackupId, plan, verifyOnly: false, CancellationToken.None);
            Assert.Equal(manifest.Parts.Select(p => p.Name), result.Restored);

            // Rows, objects and refs, exactly.
            foreach (var db in stack.Databases)
            {
                Assert.Equal(rows[db], await Snapshots.DatabaseAsync(db));
            }

            foreach (var source in stack.ObjectSources)
            {
                Assert.Equal(objects[source.Prefix], await Snapshots.ObjectsAsync(stack.Store, source.Bucket, source.Prefix));
            }

            Assert.Equal(refs, Snapshots.Refs(mirror));
            Assert.True(Directory.Exists(empty));
            Assert.Equal("", GitCli.Run(empty, "for-each-ref"));
            GitCli.Run(mirror, "fsck", "--strict");

            // The services on the restored stack: every file's bytes and versions, every token.
            await stack.StartServicesAsync(migrate: false);
            Assert.Equal(views[0], await stack.UserViewAsync(ws, alice));
            Assert.Equal(views[1], await stack.UserViewAsync(other, alice));
            foreach (var token in tokens)
            {
                var answer = await stack.IntrospectAsync(token);
                Assert.True(answer.GetProperty("active").GetBoolean());
            }

            Assert.Equal(root.Subject, (await stack.IntrospectAsync(tokens[2])).GetProperty("userId").GetGuid().ToString());
        }
        finally
        {
            await bucket.DeleteBackupAsync(manifest.BackupId, CancellationToken.None);
        }
    }
}
