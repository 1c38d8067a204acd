namespace SyncManager.Domain;

/// <summary>
/// A bearer API token. Only its SHA-256 hash is stored: the token itself is shown once, at creation.
/// Tokens carry 256 random bits, so a fast hash is enough (no password-style stretching needed).
/// </summary>
public sealed class ApiToken
{
    public Guid Id { get; init; }

    public Guid UserId { get; init; }

    public User? User { get; init; }

    public required string Name { get; init; }

    /// <summary>The first characters of the token, so a person can tell their tokens apart.</summary>
    public required string Prefix { get; init; }

    public required byte[] Hash { get; init; }

    public required string[] Scopes { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? ExpiresAt { get; init; }

    public DateTimeOffset? RevokedAt { get; set; }

    public bool IsActive(DateTimeOffset now) => RevokedAt is null && (ExpiresAt is null || ExpiresAt > now);
}
