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
}
