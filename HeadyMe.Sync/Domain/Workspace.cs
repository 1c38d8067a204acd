namespace HeadyMe.Sync.Domain;

public sealed class Workspace
{
    public Guid Id { get; init; }

    /// <summary>Display name as given (NFC-normalized).</summary>
    public required string Name { get; set; }

    /// <summary>Upper-invariant form of <see cref="Name"/>: names are unique per owner regardless of case.</summary>
    public required string NormalizedName { get; set; }

    public Guid OwnerId { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public List<WorkspaceMember> Members { get; init; } = [];

    /// <summary>The last change sequence number handed out; every change of the tree takes the next ones.</summary>
    public long ChangeSeq { get; set; }

    /// <summary>Logical bytes of the current versions of live files (the owner's quota usage).</summary>
    public long UsedBytes { get; set; }

    /// <summary>Retention: old versions beyond this many per file are pruned (null = no limit).</summary>
    public int? KeepVersions { get; set; }

    /// <summary>Retention: old versions older than this many days are pruned (null = no limit).</summary>
    public int? KeepDays { get; set; }

    public static string Normalize(string name) => name.Normalize(System.Text.NormalizationForm.FormC).ToUpperInvariant();
}

public sealed class WorkspaceMember
{
    public Guid WorkspaceId { get; init; }

    public Guid UserId { get; init; }

    public required string Role { get; set; }

    public DateTimeOffset AddedAt { get; init; }
}

public static class WorkspaceRoles
{
    public const string Owner = "owner";
    public const string Editor = "editor";
    public const string Viewer = "viewer";

    public static readonly IReadOnlyList<string> All = [Owner, Editor, Viewer];
}
