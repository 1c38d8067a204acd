using System.Runtime.CompilerServices;
using HeadyClouds.Backup.Format;
using HeadyClouds.Data.ObjectStorage;

namespace HeadyClouds.Backup.Targets;

/// <summary>A bucket of the object store (default <c>platform-backups</c>).</summary>
public sealed class ObjectStoreTarget(IObjectStore store, string bucket) : IBackupTarget
{
    public const string DefaultBucket = "platform-backups";

    public string Bucket => bucket;

    public string Description => $"bucket {bucket}";

    public Task EnsureBucketAsync(CancellationToken ct) => store.EnsureBucketAsync(bucket, ct);

    public async Task PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken ct)
    {
        var stream = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(content, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(content.ToArray(), writable: false);
        await using (stream)
        {
            await store.PutAsync(bucket, key, stream, content.Length, ct);
        }
    }

    public async Task<int?> ReadAsync(string key, Memory<byte> buffer, CancellationToken ct)
    {
        if (!System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(buffer, out var segment))
        {
            throw new ArgumentException("The buffer must be array-backed.", nameof(buffer));
        }

        // A fixed-size MemoryStream: an object larger than any segment cannot be read into it.
        await using var destination = new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: true);
        try
        {
            return await store.TryGetAsync(bucket, key, destination, ct) ? (int)destination.Position : null;
        }
        catch (NotSupportedException e)
        {
            throw new BackupIntegrityException($"{key} in {Description} is larger than any segment can be: tampered.", e);
        }
    }

    public async IAsyncEnumerable<string> ListBackupIdsAsync([EnumeratorCancellation] CancellationToken ct)
    {
        if (!await store.BucketExistsAsync(bucket, ct))
        {
            yield break;
        }

        // Every backup has a header object; listing headers only would miss partial backups, so ids come from all keys.
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        await foreach (var item in store.ListAsync(bucket, "", ct))
        {
            var slash = item.Key.IndexOf('/');
            if (slash > 0)
            {
                seen.Add(item.Key[..slash]);
            }
        }

        foreach (var id in seen)
        {
            yield return id;
        }
    }

    public async Task DeleteBackupAsync(string backupId, CancellationToken ct)
    {
        var keys = new List<string>();
        await foreach (var item in store.ListAsync(bucket, backupId + "/", ct))
        {
            keys.Add(item.Key);
        }

        foreach (var key in keys)
        {
            await store.DeleteAsync(bucket, key, ct);
        }
    }
}
