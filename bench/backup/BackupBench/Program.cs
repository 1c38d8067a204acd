// Backup and restore throughput on a generated data set (default 1 GiB, half random bytes, half zeros: ~2:1 compressible).
// Backup = generate → SHA-256 → deflate (fastest) → AES-256-GCM segments (4 MiB) → target.
// Verify = read every segment, authenticate, inflate, hash, compare with the manifest (what restore does first).
// Restore = verify, then read again and write the content to a file (the second pass restore makes).
// Targets: a directory; and the S3 bucket when HEADY_TEST_S3 is set (s3rver from eng/test-servers.sh).
using System.Diagnostics;
using System.Security.Cryptography;
using HeadyClouds.Backup.Format;
using HeadyClouds.Backup.Targets;
using HeadyClouds.Data.Crypto;
using HeadyClouds.Data.ObjectStorage;

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
}
finally
{
    Directory.Delete(work, recursive: true);
}
