using System.Security.Cryptography;
using HeadyClouds.Data.ObjectStorage;
using Microsoft.Extensions.Options;
using Monorepo.Sync.Git;

namespace Monorepo.Sync.Application;

public sealed record BundleInfo(string Bucket, string Key, long Size, string Sha256, DateTimeOffset CreatedAt);

/// <summary>
/// Writes a git bundle of a repository's mirror (every ref) to the object store, for backups: a bundle is a single
/// file from which <c>git clone</c> restores the whole repository. Streamed from a temp file, never held in memory.
/// </summary>
public sealed class MirrorBundler(GitCli git, IObjectStore store, IOptions<MonorepoOptions> options, TimeProvider time)
{
    public const string Bucket = "monorepo-bundles";

    /// <returns>null when the mirror does not exist yet or has no refs (sync first).</returns>
    public async Task<BundleInfo?> WriteAsync(Guid repositoryId, CancellationToken ct)
    {
        var mirror = SyncRunner.MirrorPath(options.Value, repositoryId);
        if (!Directory.Exists(mirror))
        {
            return null;
        }

        var refs = await git.RunAsync(mirror, ["for-each-ref", "--count=1", "--format=%(refname)", "refs/heads", "refs/tags"], ct, TimeSpan.FromMinutes(1));
        if (!refs.Succeeded || refs.StandardOutput.Trim().Length == 0)
        {
            return null;
        }

        var file = Path.Combine(Path.GetTempPath(), $"heady-bundle-{Guid.NewGuid():N}.bundle");
        try
        {
            (await git.RunAsync(mirror, ["bundle", "create", file, "--branches", "--tags"], ct, options.Value.GitTimeout))
                .EnsureSuccess("Creating the bundle");
            var now = time.GetUtcNow();
            var key = $"{repositoryId:N}/{now:yyyyMMdd'T'HHmmss'Z'}-{Guid.NewGuid().ToString("N")[..6]}.bundle";
            string sha;
            await using (var hashing = File.OpenRead(file))
            {
                sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(hashing, ct));
            }

            await using var content = File.OpenRead(file);
            await store.PutAsync(Bucket, key, content, content.Length, ct);
            return new BundleInfo(Bucket, key, content.Length, sha, now);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
