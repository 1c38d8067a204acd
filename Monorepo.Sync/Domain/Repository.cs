namespace Monorepo.Sync.Domain;

/// <summary>A source repository registered for mirroring.</summary>
public sealed class Repository
{
    public Guid Id { get; init; }

    public required string Name { get; set; }

    /// <summary>Upper-invariant form of <see cref="Name"/>: names are unique per owner regardless of case.</summary>
    public required string NormalizedName { get; set; }

    public Guid OwnerId { get; init; }

    /// <summary>Where the mirror pulls from; never holds credentials (they live in the encrypted credential store).</summary>
    public required string SourceUrl { get; set; }

    public string? DefaultBranch { get; set; }

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Ref patterns mirrored (<c>*</c> within one segment, <c>**</c> any depth); default all branches and tags.</summary>
    public string[] IncludeRefs { get; set; } = ["refs/heads/**", "refs/tags/**"];

    public string[] ExcludeRefs { get; set; } = [];

    /// <summary>The source's credential, envelope-encrypted (<see cref="StoredCredential"/> as JSON); never returned.</summary>
    public byte[]? SourceCredential { get; set; }

    public string? SourceCredentialKind { get; set; }

    /// <summary>Secret the source host signs webhooks with, envelope-encrypted; shown once at registration.</summary>
    public required byte[] WebhookSecret { get; set; }

    public DateTimeOffset? LastRunAt { get; set; }

    public DateTimeOffset? LastSuccessAt { get; set; }

    public string? LastError { get; set; }

    public int ConsecutiveFailures { get; set; }

    /// <summary>After failures, automatic (webhook or scheduled) runs wait until then: exponential backoff, never a tight loop.</summary>
    public DateTimeOffset? NextAttemptAfter { get; set; }

    public List<SyncTarget> Targets { get; init; } = [];

    public List<SplitTarget> Splits { get; init; } = [];
}
