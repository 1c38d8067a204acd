using System.Security.Cryptography;
using HeadyClouds.Backup.Format;
using HeadyClouds.Backup.Targets;
using HeadyClouds.Data.Crypto;
using Xunit.Abstractions;

namespace HeadyClouds.Backup.Tests;

[CollectionDefinition(nameof(MemoryTests), DisableParallelization = true)]
public sealed class MemoryCollection;

/// <summary>
/// Backup and verification stream: the managed heap and the bytes allocated while backing up (and verifying) stay under a
/// bound that does not depend on the size of the data set (1 GiB through 1 MiB segments: a few segment buffers). Measured process-wide, so the collection runs alone.
/// </summary>
[Collection(nameof(MemoryTests))]
public sealed class MemoryTests(ITestOutputHelper output)
{
    private const int SegmentSize = 1024 * 1024;

    private static readonly KeyRing Ring = new("backup-1", new Dictionary<string, byte[]> { ["backup-1"] = RandomNumberGenerator.GetBytes(32) });

    /// <summary>Writes <paramref name="size"/> bytes of generated, partly compressible data through a 64 KiB buffer.</summary>
    private static async Task<IReadOnlyDictionary<string, string>?> ProduceAsync(Stream stream, long size, CancellationToken ct)
    {
        var block = new byte[64 * 1024];
        var random = new Random(42);
        for (long written = 0; written < size; written += block.Length)
        {
            random.NextBytes(block.AsSpan(0, block.Length / 2)); // half random, half zeros: compresses about 2:1
            await stream.WriteAsync(block, ct);
        }

        return null;
    }

    private static async Task<(long BackupAllocated, long VerifyAllocated, long PeakHeap)> MeasureAsync(long size)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        long peak = 0;
        using var stop = new CancellationTokenSource();
        // Samples the managed heap (live objects and not yet collected garbage) while the backup and the verification run.
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: false) - baseline);
                await Task.Delay(1);
            }
        });
        var root = Path.Combine(Path.GetTempPath(), "h5-memory-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var target = new DirectoryTarget(root);
            GC.Collect();
            var before = GC.GetTotalAllocatedBytes(precise: true);
            string id;
            using (var writer = await BackupWriter.CreateAsync(target, Ring, null, TimeProvider.System, SegmentSize))
            {
                await writer.WritePartAsync("data", "test", (s, ct) => ProduceAsync(s, size, ct), CancellationToken.None);
                await writer.CompleteAsync(CancellationToken.None);
                id = writer.BackupId;
            }

            var backup = GC.GetTotalAllocatedBytes(precise: true) - before;
            before = GC.GetTotalAllocatedBytes(precise: true);
            using (var reader = await BackupReader.OpenAsync(target, Ring, id, CancellationToken.None))
            {
                await reader.VerifyAsync(CancellationToken.None);
                Assert.Equal(size, reader.Manifest.Parts[0].Size);
                Assert.True(reader.Manifest.Parts[0].Segments > 50, "the data set must be far bigger than a segment");
            }

            var verify = GC.GetTotalAllocatedBytes(precise: true) - before;
            await stop.CancelAsync();
            await sampler;
            return (backup, verify, peak);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task AllocationsStayFlatFrom128MiBTo1GiB()
    {
        const long small = 128L * 1024 * 1024;
        const long large = 1024L * 1024 * 1024;

        var (smallBackup, smallVerify, smallPeak) = await MeasureAsync(small);
        var (largeBackup, largeVerify, largePeak) = await MeasureAsync(large);

        output.WriteLine($"allocated: backup {smallBackup / 1024} KiB (128 MiB) vs {largeBackup / 1024} KiB (1 GiB); verify {smallVerify / 1024} KiB vs {largeVerify / 1024} KiB; peak heap {smallPeak / 1024} KiB vs {largePeak / 1024} KiB");
        // The bound: a few segment buffers and the compressor's state, whatever the size (1 GiB = 1024 segments).
        const long bound = 48L * 1024 * 1024;
        Assert.True(largeBackup < bound, $"backup of 1 GiB allocated {largeBackup / 1024} KiB (128 MiB: {smallBackup / 1024} KiB)");
        Assert.True(largePeak < bound, $"the heap grew by {largePeak / 1024} KiB backing up 1 GiB (128 MiB: {smallPeak / 1024} KiB)");
        Assert.True(largeVerify < bound, $"verify of 1 GiB allocated {largeVerify / 1024} KiB (128 MiB: {smallVerify / 1024} KiB)");
    }
}
