namespace SyncManager.Audit;

/// <summary>
/// One entry of the append-only, hash-chained audit log. <see cref="Hash"/> is SHA-256 over the canonical encoding
/// of every other field including <see cref="PrevHash"/> (see <see cref="AuditChain"/>); a database trigger refuses
/// UPDATE, DELETE and TRUNCATE.
/// </summary>
public sealed class AuditEntry
{
    public long Seq { get; init; }

    public DateTimeOffset At { get; init; }

    /// <summary>Who did it: a user id/name, a service name, or "anonymous".</summary>
    public required string Actor { get; init; }

    /// <summary>The service that reported the event (the authenticated caller, never a claim in the body).</summary>
    public required string Service { get; init; }

    public required string EventType { get; init; }

    /// <summary>What it was done to (a token id, a workspace, a repository...).</summary>
    public required string Subject { get; init; }

    /// <summary>Canonical JSON text, kept as text so the hashed bytes are exactly the stored bytes.</summary>
    public required string Details { get; init; }

    public required byte[] PrevHash { get; init; }

    public required byte[] Hash { get; init; }
}
