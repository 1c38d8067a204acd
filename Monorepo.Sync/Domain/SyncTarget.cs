namespace Monorepo.Sync.Domain;

/// <summary>A push mirror of a repository.</summary>
public sealed class SyncTarget
{
    public Guid Id { get; init; }

    public Guid RepositoryId { get; init; }

    public required string Name { get; set; }

    public required string Url { get; set; }

    public byte[]? Credential { get; set; }

    public string? CredentialKind { get; set; }

    /// <summary>Refs (globs) that never move backwards or sideways and are never deleted on this target.</summary>
    public string[] ProtectedRefs { get; set; } = [];

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? LastSuccessAt { get; set; }

    public string? LastError { get; set; }

    /// <summary>Refs refused at the last run (diverged protected refs), so the status shows them until resolved.</summary>
    public int RefusedRefs { get; set; }

    /// <summary>Source commits the target lacks on its refused refs after the last run (how far behind it is).</summary>
    public int LagCommits { get; set; }
}

/// <summary>A path of the monorepo split into its own history and pushed to its own repository.</summary>
public sealed class SplitTarget
{
    public Guid Id { get; init; }

    public Guid RepositoryId { get; init; }

    public required string Name { get; set; }

    /// <summary>Directory in the monorepo, e.g. <c>packages/ui</c>.</summary>
    public required string Prefix { get; set; }

    /// <summary>Source ref split, e.g. <c>refs/heads/main</c>.</summary>
    public required string SourceRef { get; set; }

    public required string Url { get; set; }

    /// <summary>Ref written on the split target, e.g. <c>refs/heads/main</c>.</summary>
    public required string TargetRef { get; set; }

    public byte[]? Credential { get; set; }

    public string? CredentialKind { get; set; }

    public string? LastSplitHead { get; set; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? LastSuccessAt { get; set; }

    public string? LastError { get; set; }
}

/// <summary>Source commit → split commit, so later splits only process new commits.</summary>
public sealed class SplitMapEntry
{
    public Guid SplitTargetId { get; init; }

    public required string SourceCommit { get; init; }

    public required string SplitCommit { get; init; }
}

public sealed class SyncRun
{
    public Guid Id { get; init; }

    public Guid RepositoryId { get; init; }

    public required string Trigger { get; init; }

    public DateTimeOffset StartedAt { get; init; }

    public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>running, succeeded, partial (some refs refused or a target failed), failed.</summary>
    public required string Outcome { get; set; }

    public string? Error { get; set; }

    public int RefsUpdated { get; set; }

    public int RefsRefused { get; set; }
}

/// <summary>One ref update (or refusal) on a target; append-only (the table refuses UPDATE and DELETE).</summary>
public sealed class RefUpdateAudit
{
    public long Id { get; init; }

    public Guid RepositoryId { get; init; }

    public Guid RunId { get; init; }

    public required string Target { get; init; }

    public required string Ref { get; init; }

    public string? OldId { get; init; }

    public string? NewId { get; init; }

    public required string Kind { get; init; }

    public bool Forced { get; init; }

    public required string Trigger { get; init; }

    public string? Message { get; init; }

    public DateTimeOffset At { get; init; }
}

public static class SyncTriggers
{
    public const string Api = "api";
    public const string Webhook = "webhook";
    public const string Schedule = "schedule";
}

/// <summary>A credential as stored (encrypted as a whole).</summary>
public sealed record StoredCredential(string Kind, string? Username, string? Token, string? PrivateKey, string? KnownHosts)
{
    public const string HttpsToken = "https-token";
    public const string SshKey = "ssh-key";
}
