using System.Security.Cryptography;
using HeadyClouds.Backup.Format;
using HeadyClouds.Data.Crypto;

namespace HeadyClouds.Backup.Tests;

/// <summary>The segment format, pure (in-memory target): every kind of damage is refused, an intact backup reads back exactly.</summary>
public sealed class FormatTests
{
    private const int SegmentSize = 1024;

    private static readonly byte[] Kek = RandomNumberGenerator.GetBytes(32);

    private static KeyRing Ring(string id = "backup-1", byte[]? key = null) =>
        new(id, new Dictionary<string, byte[]> { [id] = key ?? Kek });

    /// <summary>Deterministic, partly compressible content (so compressed parts still span several segments).</summary>
    private static byte[] Content(int size, int seed)
    {
        var data = new byte[size];
        new Random(seed).NextBytes(data);
        for (var i = 0; i < size; i += 7)
        {
            data[i] = (byte)'a';
        }

        return data;
    }

    private static async Task<(MemoryTarget Target, string Id, Dictionary<string, byte[]> Parts)> BackupAsync(KeyRing? ring = null)
    {
        var target = new MemoryTarget();
        var parts = new Dictionary<string, byte[]>
        {
            ["db/one"] = Content(5000, 1),
            ["objects/bucket"] = Content(3 * SegmentSize, 2),
            ["repo/empty"] = [],
            ["repo/r1.git"] = Content(700, 3),
        };
        using var writer = await BackupWriter.CreateAsync(target, ring ?? Ring(), null, TimeProvider.System, SegmentSize);
        foreach (var (name, data) in parts)
        {
            await writer.WritePartAsync(name, "test", async (stream, ct) =>
            {
                // Several writes of odd sizes, as a pipe delivers them.
                for (var offset = 0; offset < data.Length; offset += 333)
                {
                    await stream.WriteAsync(data.AsMemory(offset, Math.Min(333, data.Length - offset)), ct);
                }

                return new Dictionary<string, string> { ["k"] = "v" };
            }, CancellationToken.None);
        }

        await writer.CompleteAsync(CancellationToken.None);
        return (target, writer.BackupId, parts);
    }

    private static async Task<Dictionary<string, byte[]>> ReadAllAsync(MemoryTarget target, string id, KeyRing? ring = null)
    {
        using var reader = await BackupReader.OpenAsync(target, ring ?? Ring(), id, CancellationToken.None);
        await reader.VerifyAsync(CancellationToken.None);
        var result = new Dictionary<string, byte[]>();
        foreach (var part in reader.Manifest.Parts)
        {
            await reader.ReadPartAsync(part, async (stream, ct) =>
            {
                using var copy = new MemoryStream();
                await stream.CopyToAsync(copy, ct);
                result[part.Name] = copy.ToArray();
            }, CancellationToken.None);
        }

        return result;
    }

    private static Task<BackupIntegrityException> RefusedAsync(MemoryTarget target, string id, KeyRing? ring = null) =>
        Assert.ThrowsAsync<BackupIntegrityException>(() => ReadAllAsync(target, id, ring));

    [Fact]
    public async Task IntactBackupReadsBackExactlyWithManifestHashes()
    {
        var (target, id, parts) = await BackupAsync();

        var read = await ReadAllAsync(target, id);

        Assert.Equal(parts.Keys, read.Keys);
        foreach (var (name, data) in parts)
        {
            Assert.Equal(data, read[name]);
        }

        using var reader = await BackupReader.OpenAsync(target, Ring(), id, CancellationToken.None);
        var part = reader.Manifest.Parts.Single(p => p.Name == "db/one");
        Assert.Equal(5000, part.Size);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(parts["db/one"])), part.Sha256);
        Assert.True(part.Segments > 1, "the test needs multi-segment parts");
        Assert.Equal("v", part.Metadata["k"]);
        Assert.Equal("backup-1", reader.Header.KeyId);
        Assert.Equal(1, reader.Manifest.Parts.Single(p => p.Name == "repo/empty").Segments);
    }

    [Fact]
    public async Task NoStoredObjectContainsPlaintextOrTheDataKey()
    {
        var (target, _, parts) = await BackupAsync();
        var probe = parts["db/one"][100..132];

        Assert.DoesNotContain(target.Objects.Values, o => o.AsSpan().IndexOf(probe) >= 0);
    }

    [Fact]
    public async Task AFlippedBitAnywhereIsRefused()
    {
        var (target, id, _) = await BackupAsync();
        var pristine = target.Objects.ToDictionary(o => o.Key, o => o.Value.ToArray());
        var checkedPositions = 0;
        foreach (var (key, bytes) in pristine)
        {
            // Every byte of the header and the manifest; every 7th byte (and the last 20: the tag) of each segment.
            var positions = Enumerable.Range(0, bytes.Length)
                .Where(i => key.EndsWith("header.json", StringComparison.Ordinal) || key.Contains("/manifest/", StringComparison.Ordinal)
                    || i % 7 == 0 || i >= bytes.Length - 20);
            foreach (var i in positions)
            {
                var tampered = bytes.ToArray();
                tampered[i] ^= 0x01;
                target.Objects[key] = tampered;
                var e = await RefusedAsync(target, id);
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
                checkedPositions++;
            }

            target.Objects[key] = bytes;
        }

        Assert.True(checkedPositions > 1000, $"only {checkedPositions} positions checked");
        await ReadAllAsync(target, id); // and the restored original still reads
    }

    [Fact]
    public async Task DroppingTheLastSegmentOfAPartIsRefusedAsTruncated()
    {
        var (target, id, _) = await BackupAsync();
        var last = target.Objects.Keys.Where(k => k.StartsWith($"{id}/parts/0000/", StringComparison.Ordinal)).Max(StringComparer.Ordinal)!;
        target.Objects.TryRemove(last, out _);

        var e = await RefusedAsync(target, id);

        Assert.Contains("truncated", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task CuttingBytesOffASegmentIsRefused()
    {
        var (target, id, _) = await BackupAsync();
        var key = $"{id}/parts/0001/00000001";
        target.Objects[key] = target.Objects[key][..^1];

        await RefusedAsync(target, id);
    }

    [Fact]
    public async Task AppendingBytesToASegmentIsRefused()
    {
        var (target, id, _) = await BackupAsync();
        var key = $"{id}/parts/0001/00000000";
        target.Objects[key] = [.. target.Objects[key], 0];

        await RefusedAsync(target, id);
    }

    [Fact]
    public async Task SwappingTwoSegmentsOfAPartIsRefused()
    {
        var (target, id, _) = await BackupAsync();
        var a = $"{id}/parts/0000/00000000";
        var b = $"{id}/parts/0000/00000001";
        (target.Objects[a], target.Objects[b]) = (target.Objects[b], target.Objects[a]);

        var e = await RefusedAsync(target, id);

        Assert.Contains("segment 0 failed authentication", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASegmentMovedToAnotherPartIsRefused()
    {
        var (target, id, _) = await BackupAsync();
        target.Objects[$"{id}/parts/0001/00000000"] = target.Objects[$"{id}/parts/0000/00000000"];

        await RefusedAsync(target, id);
    }

    [Fact]
    public async Task AFinalSegmentPutInPlaceOfAnEarlierOneIsRefused()
    {
        // Replacing segment 1 (of 3+) by a copy of the last one would end the part early if the final flag were not bound.
        var (target, id, _) = await BackupAsync();
        var keys = target.Objects.Keys.Where(k => k.StartsWith($"{id}/parts/0000/", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        target.Objects[keys[1]] = target.Objects[keys[^1]];
        foreach (var extra in keys.Skip(2))
        {
            target.Objects.TryRemove(extra, out _);
        }

        await RefusedAsync(target, id);
    }

    [Fact]
    public async Task ASegmentFromAnotherBackupUnderTheSameKeyIsRefused()
    {
        var ring = Ring();
        var (first, firstId, _) = await BackupAsync(ring);
        var (second, secondId, _) = await BackupAsync(ring);
        first.Objects[$"{firstId}/parts/0000/00000000"] = second.Objects[$"{secondId}/parts/0000/00000000"];

        await RefusedAsync(first, firstId, ring);
    }

    [Fact]
    public async Task AManifestFromAnotherBackupIsRefused()
    {
        var ring = Ring();
        var (first, firstId, _) = await BackupAsync(ring);
        var (second, secondId, _) = await BackupAsync(ring);
        foreach (var key in second.Objects.Keys.Where(k => k.Contains("/manifest/", StringComparison.Ordinal)))
        {
            first.Objects[key.Replace(secondId, firstId, StringComparison.Ordinal)] = second.Objects[key];
        }

        await RefusedAsync(first, firstId, ring);
    }

    [Fact]
    public async Task AMissingManifestMeansIncomplete()
    {
        var (target, id, _) = await BackupAsync();
        foreach (var key in target.Objects.Keys.Where(k => k.Contains("/manifest/", StringComparison.Ordinal)))
        {
            target.Objects.TryRemove(key, out _);
        }

        var e = await RefusedAsync(target, id);

        Assert.Contains("incomplete", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AWrongKeyUnderTheSameIdIsRefused()
    {
        var (target, id, _) = await BackupAsync();

        var e = await RefusedAsync(target, id, Ring(key: RandomNumberGenerator.GetBytes(32)));

        Assert.Contains("wrong key", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AKeyIdMissingFromTheRingIsNamed()
    {
        var (target, id, _) = await BackupAsync();

        var e = await RefusedAsync(target, id, Ring("backup-2"));

        Assert.Contains("'backup-1'", e.Message, StringComparison.Ordinal);
        Assert.Contains("not in the key ring", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OlderKeysStillOpenTheirBackupsAfterRotation()
    {
        var (target, id, parts) = await BackupAsync(Ring("backup-1"));
        var rotated = new KeyRing("backup-2", new Dictionary<string, byte[]> { ["backup-1"] = Kek, ["backup-2"] = RandomNumberGenerator.GetBytes(32) });

        var read = await ReadAllAsync(target, id, rotated);

        Assert.Equal(parts["db/one"], read["db/one"]);
    }

    [Fact]
    public async Task ANonexistentOrMalformedIdIsRefused()
    {
        var (target, _, _) = await BackupAsync();

        await RefusedAsync(target, "20200101T000000Z-00000000");
        await RefusedAsync(target, "../etc");
    }
}
