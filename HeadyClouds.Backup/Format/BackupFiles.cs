using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using HeadyClouds.Backup.Targets;
using HeadyClouds.Data.Crypto;

namespace HeadyClouds.Backup.Format;

/// <summary>One part of a backup: size and SHA-256 of its content before compression and encryption.</summary>
public sealed record PartEntry(
    int Index,
    string Name,
    string Kind,
    long Size,
    string Sha256,
    long StoredBytes,
    int Segments,
    IReadOnlyDictionary<string, string> Metadata);

/// <summary>The list of parts, written last (a backup without a manifest is incomplete) and sealed like a part.</summary>
public sealed record BackupManifest(
    string BackupId,
    DateTimeOffset CreatedAt,
    DateTimeOffset CompletedAt,
    string KeyId,
    IReadOnlyList<PartEntry> Parts)
{
    public long TotalSize => Parts.Sum(p => p.Size);

    public long TotalStored => Parts.Sum(p => p.StoredBytes);
}

public static partial class BackupIds
{
    /// <summary>Sorts by time: <c>20261204T231500Z-1a2b3c4d</c>.</summary>
    public static string New(DateTimeOffset now) =>
        $"{now.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";

    public static bool IsValid(string id) => Pattern().IsMatch(id);

    [GeneratedRegex(@"^\d{8}T\d{6}Z-[0-9a-f]{8}$")]
    private static partial Regex Pattern();

    internal static string HeaderKey(string id) => $"{id}/header.json";

    internal static string ManifestPrefix(string id) => $"{id}/manifest";

    internal static string PartPrefix(string id, int index) => $"{id}/parts/{index:D4}";
}

/// <summary>Writes one backup: header first, then parts (each streamed: hash → deflate → seal → store), the manifest last.</summary>
public sealed class BackupWriter : IDisposable
{
    public const int DefaultSegmentSize = 4 * 1024 * 1024;
    internal const string ManifestPartName = ".manifest";

    private readonly IBackupTarget target;
    private readonly BackupKeys keys;
    private readonly List<PartEntry> parts = [];
    private readonly TimeProvider time;

    private BackupWriter(IBackupTarget target, BackupKeys keys, TimeProvider time)
    {
        this.target = target;
        this.keys = keys;
        this.time = time;
    }

    public string BackupId => keys.BackupId;

    public IReadOnlyList<PartEntry> Parts => parts;

    public static async Task<BackupWriter> CreateAsync(IBackupTarget target, KeyRing ring, string? keyId, TimeProvider time,
        int segmentSize = DefaultSegmentSize, CancellationToken ct = default)
    {
        var now = time.GetUtcNow();
        var keys = BackupKeys.Create(ring, keyId, BackupIds.New(now), now, segmentSize);
        await target.PutAsync(BackupIds.HeaderKey(keys.BackupId), keys.Header.ToJson(), ct);
        return new BackupWriter(target, keys, time);
    }

    /// <summary>Streams one part: <paramref name="produce"/> writes the raw content and may return metadata to keep in the manifest.</summary>
    public async Task<PartEntry> WritePartAsync(string name, string kind,
        Func<Stream, CancellationToken, Task<IReadOnlyDictionary<string, string>?>> produce, CancellationToken ct)
    {
        if (name.Length == 0 || name.StartsWith('.') || parts.Any(p => p.Name == name))
        {
            throw new ArgumentException($"Invalid or duplicate part name '{name}'.", nameof(name));
        }

        var index = parts.Count;
        using var cipher = keys.ForPart(name);
        await using var segments = new SegmentWriterStream(target, BackupIds.PartPrefix(BackupId, index), cipher, keys.Header.SegmentSize);
        IReadOnlyDictionary<string, string>? metadata;
        long size;
        string sha;
        await using (var deflate = new DeflateStream(segments, CompressionLevel.Fastest, leaveOpen: true))
        await using (var hashing = new HashingStream(deflate, write: true))
        {
            metadata = await produce(hashing, ct);
            size = hashing.Count;
            sha = hashing.HashHex();
        }

        await segments.CompleteAsync(ct);
        var entry = new PartEntry(index, name, kind, size, sha, segments.StoredBytes, segments.Segments,
            metadata ?? new Dictionary<string, string>());
        parts.Add(entry);
        return entry;
    }

    /// <summary>Seals and stores the manifest: from now on the backup is complete.</summary>
    public async Task<BackupManifest> CompleteAsync(CancellationToken ct)
    {
        var manifest = new BackupManifest(BackupId, keys.Header.CreatedAt, time.GetUtcNow(), keys.Header.KeyId, parts.ToArray());
        using var cipher = keys.ForPart(ManifestPartName);
        await using var segments = new SegmentWriterStream(target, BackupIds.ManifestPrefix(BackupId), cipher, keys.Header.SegmentSize);
        await segments.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(manifest, JsonSerializerOptions.Web), ct);
        await segments.CompleteAsync(ct);
        return manifest;
    }

    public void Dispose() => keys.Dispose();
}

/// <summary>
/// Opens a backup: header → data key (through the key ring) → manifest (authenticated). Parts are then read segment by
/// segment; <see cref="VerifyAsync"/> reads every part to the end and checks its size and SHA-256 against the manifest.
/// </summary>
public sealed class BackupReader : IDisposable
{
    private const int MaxHeaderSize = 64 * 1024;
    private const long MaxManifestSize = 256L * 1024 * 1024;

    private readonly IBackupTarget target;
    private readonly BackupKeys keys;

    private BackupReader(IBackupTarget target, BackupKeys keys, BackupManifest manifest)
    {
        this.target = target;
        this.keys = keys;
        Manifest = manifest;
    }

    public BackupManifest Manifest { get; }

    public BackupHeader Header => keys.Header;

    /// <exception cref="BackupIntegrityException">Missing, incomplete, tampered, or its key is not in the ring.</exception>
    public static async Task<BackupHeader> ReadHeaderAsync(IBackupTarget target, string backupId, CancellationToken ct)
    {
        var buffer = new byte[MaxHeaderSize];
        var read = await target.ReadAsync(BackupIds.HeaderKey(backupId), buffer, ct)
            ?? throw new BackupIntegrityException($"Backup {backupId} has no header in {target.Description}: it does not exist or is damaged.");
        var header = BackupHeader.Parse(buffer.AsSpan(0, read));
        if (header.BackupId != backupId)
        {
            throw new BackupIntegrityException($"The header under {backupId} names backup {header.BackupId}: tampered.");
        }

        return header;
    }

    /// <exception cref="BackupIntegrityException">Missing, incomplete, tampered, or its key is not in the ring.</exception>
    public static async Task<BackupReader> OpenAsync(IBackupTarget target, KeyRing ring, string backupId, CancellationToken ct)
    {
        if (!BackupIds.IsValid(backupId))
        {
            throw new BackupIntegrityException($"'{backupId}' is not a backup id (expected e.g. 20261204T231500Z-1a2b3c4d).");
        }

        var keys = BackupKeys.Open(ring, await ReadHeaderAsync(target, backupId, ct));
        try
        {
            using var cipher = keys.ForPart(BackupWriter.ManifestPartName);
            await using var segments = new SegmentReaderStream(target, BackupIds.ManifestPrefix(backupId), cipher, keys.Header.SegmentSize, null);
            using var json = new MemoryStream();
            var chunk = new byte[81920];
            int n;
            while ((n = await ReadManifestSegmentAsync(segments, chunk, backupId, ct)) > 0)
            {
                json.Write(chunk, 0, n);
                if (json.Length > MaxManifestSize)
                {
                    throw new BackupIntegrityException("The manifest is larger than any manifest can be: tampered.");
                }
            }

            var manifest = JsonSerializer.Deserialize<BackupManifest>(json.ToArray(), JsonSerializerOptions.Web)
                ?? throw new BackupIntegrityException("The manifest is empty.");
            Check(manifest, keys.Header);
            return new BackupReader(target, keys, manifest);
        }
        catch
        {
            keys.Dispose();
            throw;
        }
    }

    private static async Task<int> ReadManifestSegmentAsync(SegmentReaderStream segments, byte[] chunk, string backupId, CancellationToken ct)
    {
        try
        {
            return await segments.ReadAsync(chunk, ct);
        }
        catch (BackupIntegrityException e) when (e.Message.Contains("segment 0 is missing", StringComparison.Ordinal))
        {
            throw new BackupIntegrityException($"Backup {backupId} is incomplete: it has no manifest (the run did not finish, or the manifest was removed).", e);
        }
    }

    private static void Check(BackupManifest manifest, BackupHeader header)
    {
        if (manifest.BackupId != header.BackupId || manifest.KeyId != header.KeyId || manifest.CreatedAt != header.CreatedAt)
        {
            throw new BackupIntegrityException("The manifest does not match the backup header: tampered.");
        }

        for (var i = 0; i < manifest.Parts.Count; i++)
        {
            if (manifest.Parts[i].Index != i || manifest.Parts[i].Segments < 1)
            {
                throw new BackupIntegrityException("The manifest's part list is inconsistent: tampered.");
            }
        }
    }

    /// <summary>
    /// Hands <paramref name="consume"/> the part's original content; segments are authenticated as they are read, and
    /// once the content has been consumed (what the consumer leaves is drained) its size and SHA-256 must match the manifest.
    /// </summary>
    public async Task ReadPartAsync(PartEntry part, Func<Stream, CancellationToken, Task> consume, CancellationToken ct)
    {
        using var cipher = keys.ForPart(part.Name);
        await using var segments = new SegmentReaderStream(target, BackupIds.PartPrefix(Header.BackupId, part.Index), cipher, Header.SegmentSize, part.Segments);
        await using var inflate = new DeflateStream(segments, CompressionMode.Decompress, leaveOpen: true);
        await using var hashing = new HashingStream(inflate, write: false);
        try
        {
            await consume(hashing, ct);
            await hashing.CopyToAsync(Stream.Null, ct);
        }
        catch (InvalidDataException e)
        {
            throw new BackupIntegrityException($"Part '{part.Name}' does not decompress: tampered.", e);
        }

        var sha = hashing.HashHex();
        if (hashing.Count != part.Size || sha != part.Sha256)
        {
            throw new BackupIntegrityException(
                $"Part '{part.Name}' does not match the manifest (size {hashing.Count} vs {part.Size}, SHA-256 {sha} vs {part.Sha256}).");
        }
    }

    /// <summary>Reads every part to the end: nothing is restored from a backup that has not passed this.</summary>
    public async Task VerifyAsync(CancellationToken ct)
    {
        foreach (var part in Manifest.Parts)
        {
            await ReadPartAsync(part, (_, _) => Task.CompletedTask, ct);
        }
    }

    public void Dispose() => keys.Dispose();
}
