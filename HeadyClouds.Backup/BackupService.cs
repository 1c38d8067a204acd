using HeadyClouds.Backup.Format;
using HeadyClouds.Backup.Sources;
using HeadyClouds.Backup.Targets;
using HeadyClouds.Data;
using HeadyClouds.Data.Crypto;
using HeadyClouds.Data.ObjectStorage;
using HeadyClouds.ServiceDefaults.Mesh;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace HeadyClouds.Backup;

/// <summary>
/// Configuration section <c>Backup</c> (docs/backup.md). The backup KEK ring is <c>Backup:Encryption:ActiveKeyId</c> and
/// <c>Backup:Encryption:Keys:&lt;id&gt;</c> (same shapes as <see cref="KeyRing"/>), separate from the services' KEKs.
/// </summary>
public sealed class BackupOptions
{
    public const string Section = "Backup";

    /// <summary>Bucket of the object store (<c>ConnectionStrings:objectstore</c>) the backups go to.</summary>
    public string Bucket { get; set; } = ObjectStoreTarget.DefaultBucket;

    /// <summary>Optional independent second copy (a directory on another disk or mount).</summary>
    public string? Directory { get; set; }

    public string? KeyId { get; set; }

    public int SegmentSize { get; set; } = BackupWriter.DefaultSegmentSize;

    /// <summary>Names of connection strings (<c>ConnectionStrings:&lt;name&gt;</c>) of the databases to dump.</summary>
    public List<string> Databases { get; set; } = [];

    /// <summary><c>bucket</c> or <c>bucket/prefix</c> entries.</summary>
    public List<string> Buckets { get; set; } = [];

    /// <summary><c>copy</c> (default) or <c>reference</c> (list keys and sizes only).</summary>
    public string Objects { get; set; } = "copy";

    public string? RepositoriesPath { get; set; }

    public int KeepDaily { get; set; } = 7;

    public int KeepWeekly { get; set; } = 4;

    public int KeepMonthly { get; set; } = 12;

    public string PostgresBin { get; set; } = Postgres.DefaultBin;

    public string Git { get; set; } = "git";

    public RetentionPolicy Retention => new(KeepDaily, KeepWeekly, KeepMonthly);
}

public sealed record BackupRunSummary(BackupManifest Manifest, RetentionDecision Pruned)
{
    public override string ToString() =>
        $"backup {Manifest.BackupId}: {Manifest.Parts.Count} parts, {Manifest.TotalSize} bytes ({Manifest.TotalStored} stored); " +
        $"retention kept {Pruned.Keep.Count}, deleted {Pruned.Delete.Count}";
}

/// <summary>The configured backup: what SyncManager's "backup" job and the operators' console run.</summary>
/// <remarks>
/// In the mesh (SyncManager's job) the database tools present the workload certificate: it is written to a private
/// temporary directory for the length of one run (<see cref="ClientCertificateFiles"/>) and named in the connection strings.
/// </remarks>
public sealed class BackupService(IConfiguration configuration, BackupOptions options, IObjectStore store, TimeProvider time, IMeshCredentials? credentials = null)
{
    public BackupOptions Options => options;

    public KeyRing Keys()
    {
        try
        {
            return KeyRing.FromConfiguration(configuration.GetSection(BackupOptions.Section));
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException(
                $"The backup key ring is not configured: set Backup:Encryption:ActiveKeyId and Backup:Encryption:Keys:<id> (base64 of 32 random bytes; the AppHost passes the 'backup-kek' secret parameter). {e.Message}", e);
        }
    }

    /// <summary>The bucket, plus the directory when configured; <paramref name="from"/> picks one to read (<c>bucket</c> or <c>directory</c>).</summary>
    public IBackupTarget Target(string? from = null)
    {
        var bucket = new ObjectStoreTarget(store, options.Bucket);
        DirectoryTarget? directory = options.Directory is { Length: > 0 } d ? new DirectoryTarget(d) : null;
        return from switch
        {
            null => directory is null ? bucket : new MirroredTarget([bucket, directory]),
            "bucket" => bucket,
            "directory" => directory ?? throw new InvalidOperationException("Backup:Directory is not configured."),
            _ => throw new ArgumentException($"Unknown backup location '{from}' (bucket or directory).", nameof(from)),
        };
    }

    private string ConnectionString(string name, ClientCertificateFiles? client)
    {
        var connectionString = configuration.GetConnectionString(name)
            ?? throw new InvalidOperationException($"Backup:Databases names '{name}' but ConnectionStrings:{name} is not configured.");
        return client?.Apply(connectionString) ?? connectionString;
    }

    public BackupPlan Plan(ClientCertificateFiles? client = null) => new()
    {
        Target = Target(),
        Keys = Keys(),
        KeyId = options.KeyId,
        SegmentSize = options.SegmentSize,
        Databases = options.Databases.Select(n => new DatabaseSource(n, ConnectionString(n, client))).ToArray(),
        ObjectStore = store,
        Objects = options.Buckets.Select(ObjectSource.Parse).ToArray(),
        CopyObjects = options.Objects != "reference",
        RepositoriesPath = options.RepositoriesPath,
        PostgresBin = options.PostgresBin,
        GitExecutable = options.Git,
    };

    public RestorePlan RestorePlan(ClientCertificateFiles? client = null) => new()
    {
        Databases = options.Databases.ToDictionary(n => n, n => ConnectionString(n, client)),
        ObjectStore = store,
        RepositoriesPath = options.RepositoriesPath,
        PostgresBin = options.PostgresBin,
        GitExecutable = options.Git,
    };

    /// <summary>Backs up, then applies retention.</summary>
    public async Task<BackupRunSummary> RunAsync(CancellationToken ct)
    {
        await new ObjectStoreTarget(store, options.Bucket).EnsureBucketAsync(ct);
        BackupManifest manifest;
        using (var client = ClientCertificateFiles.Write(credentials))
        {
            manifest = await new BackupRunner(time).RunAsync(Plan(client), ct);
        }

        var pruned = await PruneAsync(dryRun: false, ct);
        return new BackupRunSummary(manifest, pruned);
    }

    public async Task<IReadOnlyList<BackupListing>> ListAsync(IBackupTarget target, CancellationToken ct)
    {
        var list = new List<BackupListing>();
        var buffer = new byte[options.SegmentSize + BackupKeys.TagSize];
        await foreach (var id in target.ListBackupIdsAsync(ct))
        {
            if (!BackupIds.IsValid(id))
            {
                continue;
            }

            var complete = await target.ReadAsync($"{id}/manifest/00000000", buffer, ct) is not null;
            var created = DateTimeOffset.ParseExact(id[..16], "yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.AssumeUniversal);
            list.Add(new BackupListing(id, created, complete));
        }

        return list;
    }

    /// <summary>Retention on every configured location.</summary>
    public async Task<RetentionDecision> PruneAsync(bool dryRun, CancellationToken ct)
    {
        var target = Target();
        var decision = Retention.Decide(await ListAsync(target, ct), options.Retention, time.GetUtcNow());
        if (!dryRun)
        {
            foreach (var backup in decision.Delete)
            {
                await target.DeleteBackupAsync(backup.Id, ct);
            }
        }

        return decision;
    }

    public async Task<RestoreResult> RestoreAsync(string backupId, bool verifyOnly, string? from, CancellationToken ct)
    {
        using var client = ClientCertificateFiles.Write(credentials);
        return await new Restorer().RestoreAsync(Target(from), Keys(), backupId, RestorePlan(client), verifyOnly, ct);
    }
}

public static class BackupServiceExtensions
{
    /// <summary>
    /// Registers <see cref="BackupService"/> from configuration. Needs an <see cref="IObjectStore"/> (services register it
    /// with <c>AddObjectStore</c>); registers one from <c>ConnectionStrings:objectstore</c> when none is.
    /// </summary>
    public static IServiceCollection AddHeadyBackup(this IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection(BackupOptions.Section).Get<BackupOptions>() ?? new BackupOptions();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IObjectStore>(_ => new MinioObjectStore(MinioObjectStore.CreateClient(
            ObjectStoreSettings.Parse(configuration.GetConnectionString("objectstore")))));
        services.AddSingleton(sp => new BackupService(configuration, options, sp.GetRequiredService<IObjectStore>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetService<IMeshCredentials>()));
        return services;
    }
}
