namespace HeadyClouds.Sync.Core.Protocol;

// The JSON contract of the HeadyMe.Sync API (docs/headyme-sync.md): plain records, System.Text.Json web defaults
// (camelCase, case-insensitive reading). The server and the heady CLI both use these types.

/// <summary>Route pieces and limits the client needs.</summary>
public static class SyncApi
{
    public const string ChunkPackContentType = "application/vnd.heady.chunkpack";

    /// <summary>Largest chunk-pack request body (the gateway's route limit is the same).</summary>
    public const long MaxChunkPackBytes = 64L * 1024 * 1024;

    /// <summary>Most chunk ids in one missing-chunks query.</summary>
    public const int MaxChunkIdsPerQuery = 20_000;

    /// <summary>Most chunk ids in one chunk fetch (`POST chunks/fetch`; the JSON of 900 ids fits the gateway's 64 KiB body limit).</summary>
    public const int MaxChunkIdsPerFetch = 900;

    /// <summary>A chunk fetch answers the longest prefix of the ids whose chunks fit in this many bytes (at least one chunk).</summary>
    public const int MaxChunkFetchBytes = 16 * 1024 * 1024;

    /// <summary>Most files in one batch commit.</summary>
    public const int MaxFilesPerCommit = 1_000;

    /// <summary>Most chunks in one file version (8 MiB max chunks: 80 GiB).</summary>
    public const int MaxChunksPerFile = 10_000;

    public const int MaxDeviceLength = 100;

    public const int DefaultPollSeconds = 30;
    public const int MaxPollSeconds = 90;

    public static string Workspace(Guid id) => $"/api/v1/workspaces/{id}";
}

public static class CommitOutcomes
{
    /// <summary>A new version was written.</summary>
    public const string Committed = "committed";

    /// <summary>The content equals the current version (same size and content hash): nothing was written.</summary>
    public const string Unchanged = "unchanged";

    /// <summary>The base was not the current version: the commit was kept as a conflict copy next to the file.</summary>
    public const string Conflict = "conflict";

    /// <summary>Invalid (path, chunks, size...): nothing was written for this file; see <c>error</c>.</summary>
    public const string Rejected = "rejected";
}

// ---- chunks ----

public sealed record MissingChunksRequest(IReadOnlyList<string> ChunkIds);

public sealed record MissingChunksResponse(IReadOnlyList<string> Missing);

/// <summary>`POST chunks/fetch`: the chunks to download in one chunk pack (answer: a prefix of them, in this order).</summary>
public sealed record FetchChunksRequest(IReadOnlyList<string> ChunkIds);

public sealed record ChunkUploadResponse(IReadOnlyList<string> Stored, IReadOnlyList<string> AlreadyPresent);

// ---- files ----

/// <summary>One file version to commit. <paramref name="BaseVersionId"/> is the version the client started from (null for a new file).</summary>
/// <param name="Chunks">Ordered chunk ids (lowercase hex SHA-256); empty for an empty file.</param>
/// <param name="ContentHash">Lowercase hex SHA-256 of the whole file, as the client computed it.</param>
/// <param name="Mode">Unix permission bits (e.g. 420 = 0644); 0 when unknown.</param>
/// <param name="Device">The device's name, used in conflict-copy names.</param>
public sealed record CommitFileRequest(
    string Path,
    Guid? BaseVersionId,
    IReadOnlyList<string> Chunks,
    long Size,
    string ContentHash,
    DateTimeOffset ModifiedAt,
    int Mode,
    string Device);

public sealed record CommitBatchRequest(IReadOnlyList<CommitFileRequest> Files);

/// <summary>A stored version of a file.</summary>
public sealed record FileVersionInfo(
    Guid Id,
    Guid FileId,
    string Path,
    long Size,
    string ContentHash,
    DateTimeOffset ModifiedAt,
    int Mode,
    string Device,
    DateTimeOffset CreatedAt,
    Guid CreatedBy,
    long Seq);

/// <summary>The outcome for one file of a commit, in request order.</summary>
/// <param name="Version">The version written (committed, or the conflict copy's version on conflict); the current one when unchanged.</param>
/// <param name="Current">On conflict: the file's current version, which the commit did not replace.</param>
/// <param name="ConflictCopyPath">On conflict: where the commit was kept.</param>
/// <param name="Error">On rejected: why, precisely.</param>
public sealed record CommitFileResult(
    string Path,
    string Outcome,
    FileVersionInfo? Version,
    FileVersionInfo? Current,
    string? ConflictCopyPath,
    string? Error,
    IReadOnlyList<string>? MissingChunks);

public sealed record CommitBatchResponse(IReadOnlyList<CommitFileResult> Results, string Cursor);

/// <summary>One chunk of a version, with its place in the file (for range reads).</summary>
public sealed record ChunkRef(string Id, long Offset, int Size);

public sealed record FileDetails(string Path, bool Deleted, DateTimeOffset? DeletedAt, FileVersionInfo Version, IReadOnlyList<ChunkRef> Chunks);

public sealed record FileListItem(string Path, FileVersionInfo Version);

public sealed record FileListResponse(IReadOnlyList<FileListItem> Files, string Cursor, string? NextAfter);

public sealed record RestoreRequest(string Path, Guid VersionId);

public sealed record MoveRequest(string From, string To, Guid BaseVersionId);

public sealed record TrashItem(string Path, DateTimeOffset DeletedAt, FileVersionInfo LastVersion);

public sealed record TrashRestoreRequest(string Path);

// ---- change feed ----

/// <summary>The latest state of one path after the cursor: a live version, or a deletion.</summary>
public sealed record ChangeInfo(long Seq, string Path, bool Deleted, FileVersionInfo? Version);

/// <summary><paramref name="Cursor"/> is opaque; pass it back to get what changed after it.</summary>
public sealed record ChangesResponse(IReadOnlyList<ChangeInfo> Changes, string Cursor, bool HasMore);

// ---- workspace settings, members, quota ----

public sealed record MemberRequest(string Role);

public sealed record MemberResponse(Guid UserId, string Role, DateTimeOffset AddedAt);

/// <summary>Keep at most <paramref name="KeepVersions"/> old versions and/or old versions younger than <paramref name="KeepDays"/> days; null = no limit.</summary>
public sealed record RetentionPolicy(int? KeepVersions, int? KeepDays);

public sealed record QuotaResponse(long LimitBytes, long UsedBytes);

/// <summary>An admin's per-user quota override in logical bytes (0 = nothing that adds bytes may be written).</summary>
public sealed record UserQuotaRequest(long? LimitBytes);

/// <summary>A user's effective quota; <paramref name="IsDefault"/> when no override is set and the service-wide default applies.</summary>
public sealed record UserQuotaResponse(Guid UserId, long LimitBytes, long UsedBytes, bool IsDefault);

// ---- internal (SyncManager's job engine) ----

public sealed record MaintenanceResponse(int VersionsPruned, int TrashPurged, int ChunksDeleted, long BytesDeleted, int ChunksInGracePeriod);

public sealed record KeyRotationResponse(string ActiveKeyId, int Rewrapped, IReadOnlyList<string> Retired);
