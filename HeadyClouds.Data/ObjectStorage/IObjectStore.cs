namespace HeadyClouds.Data.ObjectStorage;

public sealed record StoredObject(string Key, long Size);

/// <summary>
/// The S3 operations the platform relies on. Deliberately small: whole-object reads only (the Minio 7.0.0 SDK's
/// ranged GET is broken) and no server-side copy, versioning or SSE (s3rver lacks them); objects are encrypted by
/// the services before they are stored.
/// </summary>
public interface IObjectStore
{
    Task EnsureBucketAsync(string bucket, CancellationToken ct);

    Task<bool> BucketExistsAsync(string bucket, CancellationToken ct);

    Task PutAsync(string bucket, string key, Stream content, long size, CancellationToken ct);

    /// <summary>Copies the whole object into <paramref name="destination"/>; false when it does not exist.</summary>
    Task<bool> TryGetAsync(string bucket, string key, Stream destination, CancellationToken ct);

    Task<StoredObject?> StatAsync(string bucket, string key, CancellationToken ct);

    IAsyncEnumerable<StoredObject> ListAsync(string bucket, string prefix, CancellationToken ct);

    Task DeleteAsync(string bucket, string key, CancellationToken ct);
}
