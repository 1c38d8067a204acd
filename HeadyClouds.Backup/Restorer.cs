using HeadyClouds.Backup.Format;
using HeadyClouds.Backup.Sources;
using HeadyClouds.Backup.Targets;
using HeadyClouds.Data.Crypto;
using HeadyClouds.Data.ObjectStorage;

namespace HeadyClouds.Backup;

/// <summary>The destination is not an empty stack, or a part has nowhere to go: nothing was written.</summary>
public sealed class RestoreRefusedException(string message) : Exception(message);

/// <summary>Where each part goes.</summary>
public sealed class RestorePlan
{
    /// <summary>Part <c>db/{name}</c> → connection string naming the database to create (or an empty existing one).</summary>
    public IReadOnlyDictionary<string, string> Databases { get; init; } = new Dictionary<string, string>();

    /// <summary>Objects go back to the same bucket and key in this store.</summary>
    public IObjectStore? ObjectStore { get; init; }

    /// <summary>Repositories are recreated as <c>{RepositoriesPath}/{name}</c>.</summary>
    public string? RepositoriesPath { get; init; }

    public string PostgresBin { get; init; } = Postgres.DefaultBin;

    public string GitExecutable { get; init; } = "git";
}

public sealed record RestoreResult(BackupManifest Manifest, bool VerifiedOnly, IReadOnlyList<string> Restored);

/// <summary>
/// Restore into an empty stack, in three phases: (1) open the backup and read every part to the end, authenticating every
/// segment and checking every size and SHA-256 against the sealed manifest; (2) check that every destination is empty and
/// every part has one; (3) only then write. A tampered, truncated or wrongly keyed backup fails in phase 1 and an
/// occupied destination in phase 2, with nothing written.
/// </summary>
public sealed class Restorer
{
    public async Task<RestoreResult> RestoreAsync(IBackupTarget target, KeyRing ring, string backupId, RestorePlan plan, bool verifyOnly, CancellationToken ct)
    {
        using var reader = await BackupReader.OpenAsync(target, ring, backupId, ct);
        await reader.VerifyAsync(ct);
        if (verifyOnly)
        {
            return new RestoreResult(reader.Manifest, true, []);
        }

        await CheckDestinationsAsync(reader, plan, ct);

        var postgres = new Postgres(plan.PostgresBin);
        var git = new Git(plan.GitExecutable);
        var restored = new List<string>();
        foreach (var part in reader.Manifest.Parts)
        {
            switch (part.Kind)
            {
                case PartKinds.Postgres:
                    var connection = plan.Databases[DatabaseName(part)];
                    await Postgres.CreateIfMissingAsync(connection, ct);
                    await reader.ReadPartAsync(part, (stream, token) => postgres.RestoreAsync(connection, stream, token), ct);
                    break;
                case PartKinds.Objects when part.Metadata.GetValueOrDefault("mode") == "copy":
                    await RestoreObjectsAsync(reader, part, plan.ObjectStore!, ct);
                    break;
                case PartKinds.Objects:
                    break; // listed only: checked present in phase 2
                case PartKinds.Git:
                    await reader.ReadPartAsync(part, (stream, token) =>
                        git.RestoreAsync(Path.Combine(plan.RepositoriesPath!, RepositoryName(part)), stream, part.Metadata, token), ct);
                    break;
            }

            restored.Add(part.Name);
        }

        return new RestoreResult(reader.Manifest, false, restored);
    }

    private static string DatabaseName(PartEntry part) => part.Name["db/".Length..];

    private static string RepositoryName(PartEntry part)
    {
        var name = part.Name["repo/".Length..];
        return name.Length == 0 || name is "." or ".." || name.Contains('/') || name.Contains('\\')
            ? throw new BackupIntegrityException($"Invalid repository part name '{part.Name}'.")
            : name;
    }

    private static async Task CheckDestinationsAsync(BackupReader reader, RestorePlan plan, CancellationToken ct)
    {
        var problems = new List<string>();
        foreach (var part in reader.Manifest.Parts)
        {
            switch (part.Kind)
            {
                case PartKinds.Postgres:
                    if (!plan.Databases.TryGetValue(DatabaseName(part), out var connection))
                    {
                        problems.Add($"{part.Name}: no destination database is configured for '{DatabaseName(part)}'");
                    }
                    else if (!await Postgres.IsAbsentOrEmptyAsync(connection, ct))
                    {
                        problems.Add($"{part.Name}: the destination database is not empty");
                    }

                    break;
                case PartKinds.Objects:
                    var bucket = part.Metadata["bucket"];
                    var prefix = part.Metadata.GetValueOrDefault("prefix") ?? "";
                    if (plan.ObjectStore is null)
                    {
                        problems.Add($"{part.Name}: no object store is configured");
                    }
                    else if (part.Metadata.GetValueOrDefault("mode") == "copy")
                    {
                        if (await plan.ObjectStore.BucketExistsAsync(bucket, ct) && await FirstKeyAsync(plan.ObjectStore, bucket, prefix, ct) is { } existing)
                        {
                            problems.Add($"{part.Name}: bucket '{bucket}' already holds objects under '{prefix}' (e.g. {existing})");
                        }
                    }
                    else
                    {
                        var missing = 0L;
                        await reader.ReadPartAsync(part, (stream, token) => ObjectArchive.ReadAsync(stream, async (entry, _) =>
                        {
                            if (await plan.ObjectStore.StatAsync(bucket, entry.Key, token) is not { } stat || stat.Size != entry.Size)
                            {
                                missing++;
                            }
                        }, token), ct);
                        if (missing > 0)
                        {
                            problems.Add($"{part.Name}: {missing} referenced objects are missing from bucket '{bucket}' (the backup only listed them)");
                        }
                    }

                    break;
                case PartKinds.Git:
                    if (plan.RepositoriesPath is null)
                    {
                        problems.Add($"{part.Name}: no repositories directory is configured");
                    }
                    else
                    {
                        var path = Path.Combine(plan.RepositoriesPath, RepositoryName(part));
                        if (File.Exists(path) || (Directory.Exists(path) && Directory.EnumerateFileSystemEntries(path).Any()))
                        {
                            problems.Add($"{part.Name}: {path} already exists");
                        }
                    }

                    break;
                default:
                    problems.Add($"{part.Name}: unknown part kind '{part.Kind}'");
                    break;
            }
        }

        if (problems.Count > 0)
        {
            throw new RestoreRefusedException(
                $"Restore of backup {reader.Manifest.BackupId} refused, nothing was written (the backup itself verified): {string.Join("; ", problems)}.");
        }
    }

    private static async Task<string?> FirstKeyAsync(IObjectStore store, string bucket, string prefix, CancellationToken ct)
    {
        await foreach (var item in store.ListAsync(bucket, prefix, ct))
        {
            return item.Key;
        }

        return null;
    }

    private static async Task RestoreObjectsAsync(BackupReader reader, PartEntry part, IObjectStore store, CancellationToken ct)
    {
        var bucket = part.Metadata["bucket"];
        await store.EnsureBucketAsync(bucket, ct);
        using var buffer = new MemoryStream();
        await reader.ReadPartAsync(part, (stream, token) => ObjectArchive.ReadAsync(stream, async (entry, body) =>
        {
            if (entry.Size <= 16 * 1024 * 1024)
            {
                buffer.SetLength(0);
                await body!.CopyToAsync(buffer, token);
                buffer.Position = 0;
                await store.PutAsync(bucket, entry.Key, buffer, entry.Size, token);
            }
            else
            {
                await store.PutAsync(bucket, entry.Key, body!, entry.Size, token);
            }
        }, token), ct);
    }
}
