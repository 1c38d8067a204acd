namespace HeadyMe.Sync.Domain;

/// <summary>A version of the key-encryption key; its key material is sealed by the configured root key ring.</summary>
public sealed class KekVersion
{
    public int Version { get; init; }

    /// <summary>The KEK sealed with <c>EnvelopeEncryption</c> under the root key ring; null once retired (the key is gone).</summary>
    public byte[]? WrappedKey { get; set; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? RetiredAt { get; set; }
}

/// <summary>A workspace's data key (AES-256), wrapped by a KEK version. Chunks name the data-key version they use.</summary>
public sealed class WorkspaceKey
{
    public Guid WorkspaceId { get; init; }

    public int Version { get; init; }

    public int KekVersion { get; set; }

    /// <summary>nonce (12) | sealed key (32) | tag (16), AES-256-GCM under the KEK, AAD binding workspace and version.</summary>
    public required byte[] WrappedKey { get; set; }

    public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>The spelling of a folder of the tree, by NFC key: refuses a second spelling in the same parent.</summary>
public sealed class Folder
{
    public Guid WorkspaceId { get; init; }

    public required string Key { get; init; }

    public required string Path { get; init; }
}

/// <summary>A path of the tree: its current version, or a tombstone (deleted, in the trash) or a purged one.</summary>
public sealed class FileEntry
{
    public Guid Id { get; init; }

    public Guid WorkspaceId { get; init; }

    public required string Path { get; set; }

    /// <summary>NFC form of <see cref="Path"/>: unique per workspace.</summary>
    public required string PathKey { get; set; }

    public Guid CurrentVersionId { get; set; }

    public bool Deleted { get; set; }

    public DateTimeOffset? DeletedAt { get; set; }

    /// <summary>Purged from the trash: no versions left; kept so the change feed can report the deletion.</summary>
    public bool Purged { get; set; }

    /// <summary>Change sequence number of the entry's last change (the change feed's order).</summary>
    public long Seq { get; set; }

    /// <summary>Size of the current version (quota accounting).</summary>
    public long Size { get; set; }
}

public sealed class FileVersion
{
    public Guid Id { get; init; }

    public Guid WorkspaceId { get; init; }

    public Guid FileId { get; init; }

    public required string Path { get; init; }

    public long Size { get; init; }

    public required string ContentHash { get; init; }

    /// <summary>Ordered chunk ids (lowercase hex SHA-256).</summary>
    public required string[] ChunkIds { get; init; }

    public DateTimeOffset ModifiedAt { get; init; }

    public int Mode { get; init; }

    public required string Device { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public Guid CreatedBy { get; init; }

    public long Seq { get; init; }
}

/// <summary>An encrypted chunk in the object store, per workspace (dedup never crosses workspaces).</summary>
public sealed class Chunk
{
    public Guid WorkspaceId { get; init; }

    public required string ChunkId { get; init; }

    public int Size { get; init; }

    public int StoredSize { get; init; }

    /// <summary>Object name: a keyed hash of the chunk id, so the store does not reveal content hashes.</summary>
    public required string ObjectKey { get; init; }

    public int KeyVersion { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Last upload, presence answer or commit naming the chunk: GC spares chunks touched within the grace period.</summary>
    public DateTimeOffset LastReferencedAt { get; set; }
}
