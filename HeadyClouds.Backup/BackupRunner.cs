using HeadyClouds.Backup.Format;
using HeadyClouds.Backup.Sources;
using HeadyClouds.Backup.Targets;
using HeadyClouds.Data.Crypto;
using HeadyClouds.Data.ObjectStorage;

namespace HeadyClouds.Backup;

public sealed record DatabaseSource(string Name, string ConnectionString);

public sealed record ObjectSource(string Bucket, string Prefix = "")
{
    public string PartName => Prefix.Length == 0 ? $"objects/{Bucket}" : $"objects/{Bucket}/{Prefix}";

    /// <summary><c>bucket</c> or <c>bucket/prefix</c>.</summary>
    public static ObjectSource Parse(string value)
    {
        var slash = value.IndexOf('/');
        return slash < 0 ? new ObjectSource(value) : new ObjectSource(value[..slash], value[(slash + 1)..]);
    }
}

/// <summary>What one backup run reads and where it writes.</summary>
public sealed class BackupPlan
{
    public required IBackupTarget Target { get; init; }

    public required KeyRing Keys { get; init; }

    /// <summary>The KEK that seals the backup's data key; null = the ring's active key.</summary>
    public string? KeyId { get; init; }

    public int SegmentSize { get; init; } = BackupWriter.DefaultSegmentSize;

    public IReadOnlyList<DatabaseSource> Databases { get; init; } = [];

    public IObjectStore? ObjectStore { get; init; }

    public IReadOnlyList<ObjectSource> Objects { get; init; } = [];

    /// <summary>False = record the list of objects (keys and sizes) only, for stores that are replicated on their own.</summary>
    public bool CopyObjects { get; init; } = true;

    /// <summary>A directory of bare repositories (Monorepo.Sync's <c>{StoragePath}/mirrors</c>); each <c>*.git</c> is bundled.</summary>
    public string? RepositoriesPath { get; init; }

    public string PostgresBin { get; init; } = Postgres.DefaultBin;

    public string GitExecutable { get; init; } = "git";
}

/// <summary>One backup run: every database, every object source, every repository, then the manifest.</summary>
public sealed class BackupRunner(TimeProvider time)
{
    public async Task<BackupManifest> RunAsync(BackupPlan plan, CancellationToken ct)
    {
        if (plan.Objects.Count > 0 && plan.ObjectStore is null)
        {
            throw new InvalidOperationException("Object sources are configured but no object store is.");
        }

        var postgres = new Postgres(plan.PostgresBin);
        var git = new Git(plan.GitExecutable);
        using var writer = await BackupWriter.CreateAsync(plan.Target, plan.Keys, plan.KeyId, time, plan.SegmentSize, ct);
        foreach (var database in plan.Databases)
        {
            await writer.WritePartAsync($"db/{database.Name}", PartKinds.Postgres, async (stream, token) =>
            {
                await postgres.DumpAsync(database.ConnectionString, stream, token);
                return new Dictionary<string, string> { ["database"] = database.Name };
            }, ct);
        }

        foreach (var source in plan.Objects)
        {
            await writer.WritePartAsync(source.PartName, PartKinds.Objects, async (stream, token) =>
            {
                var summary = await ObjectArchive.WriteAsync(plan.ObjectStore!, source.Bucket, source.Prefix, plan.CopyObjects, stream, token);
                return new Dictionary<string, string>
                {
                    ["bucket"] = source.Bucket,
                    ["prefix"] = source.Prefix,
                    ["mode"] = plan.CopyObjects ? "copy" : "reference",
                    ["objects"] = summary.Objects.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["bytes"] = summary.Bytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
                };
            }, ct);
        }

        if (plan.RepositoriesPath is { } root && Directory.Exists(root))
        {
            foreach (var repository in Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal))
            {
                var name = Path.GetFileName(repository);
                await writer.WritePartAsync($"repo/{name}", PartKinds.Git, (stream, token) => git.BundleAsync(repository, stream, token)!, ct);
            }
        }

        return await writer.CompleteAsync(ct);
    }
}

public static class PartKinds
{
    public const string Postgres = "postgres";
    public const string Objects = "objects";
    public const string Git = "git";
}
