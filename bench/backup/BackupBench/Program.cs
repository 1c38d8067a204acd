// Backup and restore throughput on a generated data set (default 1 GiB, half random bytes, half zeros: ~2:1 compressible).
// Backup = generate → SHA-256 → deflate (fastest) → AES-256-GCM segments (4 MiB) → target.
// Verify = read every segment, authenticate, inflate, hash, compare with the manifest (what restore does first).
// Restore = verify, then read again and write the content to a file (the second pass restore makes).
// Targets: a directory; and the S3 bucket when HEADY_TEST_S3 is set (s3rver from eng/test-servers.sh).
// With HEADY_TEST_POSTGRES set too: a database of the same size (a table of text rows with an index) is dumped
// (pg_dump → backup, directory target) and restored into a new database (verify → pg_restore).
using System.Diagnostics;
using System.Security.Cryptography;
using HeadyClouds.Backup.Format;
using HeadyClouds.Backup.Targets;
using HeadyClouds.Data.Crypto;
using HeadyClouds.Backup;
using HeadyClouds.Data.ObjectStorage;
using Npgsql;

var mib = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 1024;
var size = mib * 1024L * 1024;
var work = Path.Combine(args.Length > 1 ? args[1] : Path.GetTempPath(), "heady-backup-bench-" + Guid.NewGuid().ToString("N")[..8]);
var ring = new KeyRing("bench", new Dictionary<string, byte[]> { ["bench"] = RandomNumberGenerator.GetBytes(32) });

var targets = new List<(string Name, IBackupTarget Target, Func<string, Task> Cleanup)>
{
    ("directory", new DirectoryTarget(Path.Combine(work, "backups")), id => { Directory.Delete(Path.Combine(work, "backups", id), true); return Task.CompletedTask; }),
};
if (Environment.GetEnvironmentVariable("HEADY_TEST_S3") is { Length: > 0 } s3)
{
    var store = new MinioObjectStore(MinioObjectStore.CreateClient(ObjectStoreSettings.Parse(s3)));
    var bucket = new ObjectStoreTarget(store, "bench-backups");
    await bucket.EnsureBucketAsync(CancellationToken.None);
    targets.Add(("s3 bucket (s3rver)", bucket, id => bucket.DeleteBackupAsync(id, CancellationToken.None)));
}

Directory.CreateDirectory(work);
Console.WriteLine($"data set: {mib} MiB generated (half random, half zeros), segments 4 MiB, {Environment.ProcessorCount} cores");
Console.WriteLine($"{"target",-20} {"backup MB/s",12} {"verify MB/s",12} {"restore MB/s",13} {"stored MiB",11} {"peak heap MiB",14}");
try
{
    foreach (var (name, target, cleanup) in targets)
    {
        GC.Collect();
        var baseline = GC.GetTotalMemory(true);
        long peak = 0;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peak = Math.Max(peak, GC.GetTotalMemory(false) - baseline);
                await Task.Delay(5);
            }
        });

        var clock = Stopwatch.StartNew();
        string id;
        long stored;
        using (var writer = await BackupWriter.CreateAsync(target, ring, null, TimeProvider.System))
        {
            await writer.WritePartAsync("data", "bench", async (stream, ct) =>
            {
                var block = new byte[1024 * 1024];
                var random = new Random(1);
                for (long written = 0; written < size; written += block.Length)
                {
                    random.NextBytes(block.AsSpan(0, block.Length / 2));
                    await stream.WriteAsync(block, ct);
                }

                return null;
            }, CancellationToken.None);
            var manifest = await writer.CompleteAsync(CancellationToken.None);
            id = writer.BackupId;
            stored = manifest.TotalStored;
        }

        var backup = clock.Elapsed.TotalSeconds;
        clock.Restart();
        using (var reader = await BackupReader.OpenAsync(target, ring, id, CancellationToken.None))
        {
            await reader.VerifyAsync(CancellationToken.None);
        }

        var verify = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var output = Path.Combine(work, "restored.bin");
        using (var reader = await BackupReader.OpenAsync(target, ring, id, CancellationToken.None))
        {
            await reader.VerifyAsync(CancellationToken.None);
            await reader.ReadPartAsync(reader.Manifest.Parts[0], async (stream, ct) =>
            {
                await using var file = new FileStream(output, FileMode.Create, FileAccess.Write, FileShare.None, 1024 * 1024, FileOptions.Asynchronous);
                await stream.CopyToAsync(file, 1024 * 1024, ct);
            }, CancellationToken.None);
        }

        var restore = clock.Elapsed.TotalSeconds;
        await stop.CancelAsync();
        await sampler;
        File.Delete(output);
        await cleanup(id);
        double Rate(double seconds) => size / 1e6 / seconds;
        Console.WriteLine($"{name,-20} {Rate(backup),12:F1} {Rate(verify),12:F1} {Rate(restore),13:F1} {stored / 1048576.0,11:F0} {peak / 1048576.0,14:F1}");
    }

    if (Environment.GetEnvironmentVariable("HEADY_TEST_POSTGRES") is { Length: > 0 } server)
    {
        var source = "bench_backup_src_" + Guid.NewGuid().ToString("N")[..8];
        var restored = "bench_backup_dst_" + Guid.NewGuid().ToString("N")[..8];
        string Cs(string db) => new NpgsqlConnectionStringBuilder(server) { Database = db, Pooling = false, CommandTimeout = 0 }.ConnectionString;
        async Task Sql(string db, string sql)
        {
            await using var c = new NpgsqlConnection(Cs(db));
            await c.OpenAsync();
            await using var command = new NpgsqlCommand(sql, c);
            await command.ExecuteNonQueryAsync();
        }

        await Sql("postgres", $"CREATE DATABASE {source}");
        try
        {
            // ~1 KiB rows: 32 md5 hex strings; size measured as the table's total relation size.
            await Sql(source, "CREATE TABLE rows (id bigint PRIMARY KEY, body text)");
            await Sql(source, $"INSERT INTO rows SELECT g, repeat(md5(g::text), 32) FROM generate_series(1, {size / 1100}) g");
            long dbSize;
            await using (var c = new NpgsqlConnection(Cs(source)))
            {
                await c.OpenAsync();
                await using var command = new NpgsqlCommand("SELECT pg_database_size(current_database())", c);
                dbSize = (long)(await command.ExecuteScalarAsync())!;
            }

            var target = new DirectoryTarget(Path.Combine(work, "db-backups"));
            var clock = Stopwatch.StartNew();
            var manifest = await new BackupRunner(TimeProvider.System).RunAsync(new BackupPlan
            {
                Target = target,
                Keys = ring,
                Databases = [new DatabaseSource("bench", Cs(source))],
            }, CancellationToken.None);
            var backup = clock.Elapsed.TotalSeconds;
            clock.Restart();
            await new Restorer().RestoreAsync(target, ring, manifest.BackupId, new RestorePlan
            {
                Databases = new Dictionary<string, string> { ["bench"] = Cs(restored) },
            }, verifyOnly: false, CancellationToken.None);
            var restore = clock.Elapsed.TotalSeconds;
            Console.WriteLine();
            Console.WriteLine($"database: {dbSize / 1048576.0:F0} MiB on disk (table + index), dump {manifest.Parts[0].Size / 1048576.0:F0} MiB, stored {manifest.TotalStored / 1048576.0:F0} MiB");
            Console.WriteLine($"  backup (pg_dump → seal → directory): {dbSize / 1e6 / backup:F1} MB/s of database ({backup:F1} s)");
            Console.WriteLine($"  restore (verify → pg_restore, index rebuilt): {dbSize / 1e6 / restore:F1} MB/s of database ({restore:F1} s)");
        }
        finally
        {
            await Sql("postgres", $"DROP DATABASE IF EXISTS {source} WITH (FORCE)");
            await Sql("postgres", $"DROP DATABASE IF EXISTS {restored} WITH (FORCE)");
        }
    }
}
finally
{
    Directory.Delete(work, recursive: true);
}
