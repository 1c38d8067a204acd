namespace Monorepo.Sync.Git.Mirror;

/// <summary>A repository the mirror pushes to.</summary>
/// <param name="Name">Shown in results and messages (e.g. <c>backup</c>).</param>
/// <param name="Url">Anything git can push to: https://, ssh://, user@host:path, or a local path in tests.</param>
/// <param name="Credential">How to authenticate, or null for none.</param>
/// <param name="ProtectedRefPatterns">
/// Refs (patterns as in <see cref="RefFilter"/>) that on this target only ever fast-forward and are never deleted.
/// </param>
public sealed record MirrorTarget(string Name, string Url, GitCredential? Credential, IReadOnlyList<string> ProtectedRefPatterns)
{
    public override string ToString() => $"MirrorTarget {{ Name = {Name}, Url = {GitCli.Redact(Url)}, Credential = {Credential?.Kind ?? "none"}, ProtectedRefPatterns = [{string.Join(", ", ProtectedRefPatterns)}] }}";
}

public enum RefUpdateKind
{
    /// <summary>The ref did not exist and was created.</summary>
    Created,

    /// <summary>The ref moved to a descendant of its old value.</summary>
    FastForwarded,

    /// <summary>An unprotected ref moved to a value that does not contain its old one (history rewritten upstream).</summary>
    Forced,

    /// <summary>An unprotected ref gone from the source was deleted.</summary>
    Deleted,

    /// <summary>Nothing to do.</summary>
    UpToDate,

    /// <summary>A protected ref would have moved backwards or sideways: left as it was, and reported.</summary>
    RefusedNonFastForward,

    /// <summary>A protected ref gone from the source: left as it was, and reported.</summary>
    RefusedProtectedDeletion,

    /// <summary>The update was allowed but did not happen (the target changed meanwhile, refused it, or was unreachable).</summary>
    Failed,
}

/// <summary>One ref's update, planned or done.</summary>
/// <param name="Ref">Full ref name, e.g. <c>refs/heads/main</c>.</param>
/// <param name="OldId">The object id before (on the target, or in the mirror for a fetch), null when the ref did not exist.</param>
/// <param name="NewId">The object id after (the source's), null for a deletion.</param>
/// <param name="Forced">True when the ref was moved to a value that does not contain its old one.</param>
/// <param name="Message">Why a ref was refused or failed, or a note on a forced update; never holds a credential.</param>
public sealed record RefUpdate(string Ref, string? OldId, string? NewId, RefUpdateKind Kind, bool Forced, string? Message)
{
    /// <summary>True for updates that change the ref (created, fast-forwarded, forced, deleted).</summary>
    public bool IsChange => Kind is RefUpdateKind.Created or RefUpdateKind.FastForwarded or RefUpdateKind.Forced or RefUpdateKind.Deleted;

    /// <summary>True for refusals (protected refs) and failures.</summary>
    public bool IsProblem => Kind is RefUpdateKind.RefusedNonFastForward or RefUpdateKind.RefusedProtectedDeletion or RefUpdateKind.Failed;
}

/// <summary>What one sync of one target did.</summary>
/// <param name="Target">The target's name.</param>
/// <param name="Updates">One entry per ref in scope (matched by the filter on either side), ordered by ref name.</param>
/// <param name="Error">Set when the target as a whole could not be synced (unreachable, authentication); then refs may be missing or failed.</param>
public sealed record TargetSyncResult(string Target, IReadOnlyList<RefUpdate> Updates, string? Error)
{
    public bool Succeeded => Error is null && !Updates.Any(u => u.IsProblem);
}

/// <summary>The mirror after a fetch.</summary>
/// <param name="Refs">Every ref in the mirror (all of them match the filter): ref name → object id.</param>
/// <param name="Changes">How the mirror's refs changed (created, fast-forwarded, forced, deleted); empty for a no-op.</param>
public sealed record FetchResult(IReadOnlyDictionary<string, string> Refs, IReadOnlyList<RefUpdate> Changes);

/// <summary>A whole mirror run: the fetch, then every target in turn.</summary>
public sealed record MirrorRunResult(FetchResult Fetch, IReadOnlyList<TargetSyncResult> Targets);

/// <summary>What the ancestry oracle knows about two object ids.</summary>
public enum Ancestry
{
    /// <summary>The first is an ancestor of (or the same commit as) the second: moving from it is a fast-forward.</summary>
    Ancestor,

    /// <summary>Both are known and the first is not an ancestor of the second.</summary>
    NotAncestor,

    /// <summary>The first is unknown (e.g. not in the mirror) or not a commit: treated as diverged.</summary>
    Unknown,
}

/// <summary>Answers whether <paramref name="ancestorId"/> is an ancestor of <paramref name="descendantId"/>.</summary>
public delegate Ancestry AncestryOracle(string ancestorId, string descendantId);

/// <summary>Timeouts and limits of a <see cref="MirrorEngine"/>.</summary>
public sealed record MirrorEngineOptions
{
    /// <summary>Limit for one git command that talks to a remote (fetch, ls-remote, push).</summary>
    public TimeSpan NetworkTimeout { get; init; } = GitCli.DefaultTimeout;

    /// <summary>Limit for one git command that only reads or writes the local mirror.</summary>
    public TimeSpan LocalTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>At most this many refs per <c>git push</c> (keeps the argument vector bounded).</summary>
    public int PushBatchSize { get; init; } = 500;

    /// <summary>
    /// When set, <c>GIT_ALLOW_PROTOCOL</c> for every command (e.g. <c>https:ssh</c>); null keeps git's default
    /// (https, ssh, git and file allowed, ext never).
    /// </summary>
    public string? AllowedProtocols { get; init; }
}
