using System.Collections.Concurrent;
using System.Text;

namespace Monorepo.Sync.Git.Mirror;

/// <summary>
/// Mirrors a source repository to push targets through a local bare mirror, with the system git (see
/// docs/decisions/0004-git-engine.md): fetch the source with prune into the mirror (which simply follows the source),
/// then per target read its refs, plan the updates (<see cref="ComputeUpdates"/>), and push the allowed ones with a
/// lease on each ref's old value, so a change made on the target meanwhile is never overwritten.
/// Protected refs on a target only fast-forward and are never deleted; a refusal is reported and every other ref still
/// syncs. Every git command runs with a timeout and the caller's cancellation (the process is killed), with an argument
/// vector (no shell), and every message is scrubbed of credentials.
/// </summary>
public sealed class MirrorEngine(GitCli git, MirrorEngineOptions? options = null)
{
    private const string Protect = "protected refs never move backwards or sideways";

    /// <summary>One fetch at a time per mirror directory in this process (another process must coordinate itself).</summary>
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> MirrorLocks = new(StringComparer.Ordinal);

    /// <summary>Settings for every fetch: maintenance in the foreground (within the timeout, never left running behind us).</summary>
    private static readonly KeyValuePair<string, string>[] FetchConfig =
    [
        new("gc.autoDetach", "false"),
        new("maintenance.autoDetach", "false"),
        new("fetch.writeCommitGraph", "true"),
    ];

    public MirrorEngineOptions Options { get; } = options ?? new MirrorEngineOptions();

    /// <summary>
    /// Creates the bare mirror at <paramref name="mirrorPath"/> on first use, then fetches the refs
    /// <paramref name="filter"/> matches from <paramref name="sourceUrl"/> with prune, forced: the mirror follows the
    /// source, rewrites and deletions included (protection applies on targets). Refs no include pattern matches are
    /// removed from the mirror; refs an exclude pattern matches are left alone (a caller may keep its own refs there, e.g.
    /// under an excluded <c>refs/heady/**</c>; use <c>prefix/**</c> for such a namespace so git's prune spares it too).
    /// Throws <see cref="GitCommandException"/> (message free of credentials) when the fetch fails or times out.
    /// </summary>
    public async Task<FetchResult> FetchAsync(string mirrorPath, string sourceUrl, GitCredential? credential, RefFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        GitRemoteSession.ValidateUrl(sourceUrl);
        var mirror = FullPath(mirrorPath);
        var gate = MirrorLocks.GetOrAdd(mirror, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            await EnsureMirrorAsync(mirror, cancellationToken);
            var before = await ReadMirrorRefsAsync(mirror, cancellationToken);
            using (var session = GitRemoteSession.Open(sourceUrl, credential, Options, FetchConfig))
            {
                List<string> arguments =
                [
                    "fetch", "--prune", "--no-tags", "--no-write-fetch-head", "--no-recurse-submodules", "--quiet", "--",
                    sourceUrl,
                ];
                arguments.AddRange(filter.ToFetchRefspecs());
                var result = await RunAsync(session, mirror, arguments, Options.NetworkTimeout, cancellationToken);
                if (!result.Succeeded)
                {
                    throw session.Failure("git fetch from the source", result);
                }
            }

            var fetched = await ReadMirrorRefsAsync(mirror, cancellationToken);
            var surplus = fetched.Where(r => IsSurplus(filter, r.Key)).ToDictionary(r => r.Key, r => r.Value, StringComparer.Ordinal);
            if (surplus.Count > 0)
            {
                var commands = new StringBuilder();
                foreach (var (name, id) in surplus)
                {
                    commands.Append("delete ").Append(name).Append(' ').Append(id).Append('\n');
                }

                using var local = GitRemoteSession.Local(Options);
                var deleted = await RunAsync(local, mirror, ["update-ref", "--stdin"], Options.LocalTimeout, cancellationToken, commands.ToString());
                if (!deleted.Succeeded)
                {
                    throw local.Failure("removing refs outside the filter from the mirror", deleted);
                }
            }

            var after = fetched.Where(r => filter.Matches(r.Key)).ToDictionary(r => r.Key, r => r.Value, StringComparer.Ordinal);
            var changes = new List<RefUpdate>();
            foreach (var name in before.Keys.Union(after.Keys).Order(StringComparer.Ordinal))
            {
                var old = before.GetValueOrDefault(name);
                var now = after.GetValueOrDefault(name);
                if (old == now)
                {
                    continue;
                }

                if (!filter.Matches(name))
                {
                    // Not the filter's business, unless this fetch removed it for being outside the filter.
                    if (surplus.ContainsKey(name))
                    {
                        changes.Add(new RefUpdate(name, old, null, RefUpdateKind.Deleted, false, "outside the ref filter"));
                    }
                }
                else if (old is null)
                {
                    changes.Add(new RefUpdate(name, null, now, RefUpdateKind.Created, false, null));
                }
                else if (now is null)
                {
                    changes.Add(new RefUpdate(name, old, null, RefUpdateKind.Deleted, false, "gone from the source"));
                }
                else if (!IsTag(name) && await IsAncestorAsync(mirror, old, now, cancellationToken) == Ancestry.Ancestor)
                {
                    changes.Add(new RefUpdate(name, old, now, RefUpdateKind.FastForwarded, false, null));
                }
                else
                {
                    changes.Add(new RefUpdate(name, old, now, RefUpdateKind.Forced, true,
                        $"{name} was rewritten upstream: {Short(old)} is not an ancestor of {Short(now)}; the mirror follows the source"));
                }
            }

            return new FetchResult(after, changes);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Brings <paramref name="target"/> in line with the mirror for the refs <paramref name="filter"/> matches (refs
    /// outside it are left alone on the target). Never throws for a git failure of the target: an unreachable target
    /// gives <see cref="TargetSyncResult.Error"/>, a ref the target refused or changed meanwhile gives a
    /// <see cref="RefUpdateKind.Failed"/> entry while the other refs still sync. Throws on cancellation, on invalid
    /// arguments and when the mirror itself cannot be read.
    /// </summary>
    public async Task<TargetSyncResult> SyncTargetAsync(string mirrorPath, MirrorTarget target, RefFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentException.ThrowIfNullOrWhiteSpace(target.Name);
        GitRemoteSession.ValidateUrl(target.Url);
        foreach (var pattern in target.ProtectedRefPatterns ?? throw new ArgumentException("ProtectedRefPatterns must not be null.", nameof(target)))
        {
            if (!RefFilter.TryValidatePattern(pattern, out var patternError))
            {
                throw new ArgumentException($"Target '{target.Name}': {patternError}", nameof(target));
            }
        }

        var mirror = FullPath(mirrorPath);
        if (!IsBareRepository(mirror))
        {
            throw new InvalidOperationException($"No mirror at '{mirror}': fetch the source first.");
        }

        var source = filter.Apply(await ReadMirrorRefsAsync(mirror, cancellationToken));

        using var session = GitRemoteSession.Open(target.Url, target.Credential, Options);
        Dictionary<string, string> targetRefs;
        try
        {
            var listed = await RunAsync(session, mirror, ["ls-remote", "--refs", "--", target.Url], Options.NetworkTimeout, cancellationToken);
            if (!listed.Succeeded)
            {
                return new TargetSyncResult(target.Name, [], session.Failure($"git ls-remote of target '{target.Name}'", listed).Message);
            }

            targetRefs = GitOutput.ParseRefLines(listed.StandardOutput);
        }
        catch (GitCommandException timeout)
        {
            return new TargetSyncResult(target.Name, [], session.Scrub($"target '{target.Name}': {timeout.Message}"));
        }

        var inScope = filter.Apply(targetRefs);

        // Plan once to learn which ancestry questions matter, answer them with git in the mirror, then plan for real.
        var questions = new HashSet<(string Ancestor, string Descendant)>();
        ComputeUpdates(target.Name, source, inScope, filter, target.ProtectedRefPatterns, (a, d) =>
        {
            questions.Add((a, d));
            return Ancestry.Unknown;
        });
        var answers = new Dictionary<(string, string), Ancestry>();
        foreach (var question in questions)
        {
            answers[question] = await IsAncestorAsync(mirror, question.Ancestor, question.Descendant, cancellationToken);
        }

        var plan = ComputeUpdates(target.Name, source, inScope, filter, target.ProtectedRefPatterns,
            (a, d) => answers.GetValueOrDefault((a, d), Ancestry.Unknown));

        var results = plan.ToDictionary(u => u.Ref, StringComparer.Ordinal);
        string? error = null;
        foreach (var batch in plan.Where(u => u.IsChange).Chunk(Math.Max(1, Options.PushBatchSize)))
        {
            var batchError = await PushBatchAsync(session, mirror, target, batch, results, cancellationToken);
            error ??= batchError;
        }

        return new TargetSyncResult(target.Name, [.. plan.Select(u => results[u.Ref])], error);
    }

    /// <summary>Fetches the source into the mirror, then syncs every target in turn (one target's failure does not stop the others).</summary>
    public async Task<MirrorRunResult> MirrorAsync(
        string mirrorPath, string sourceUrl, GitCredential? sourceCredential, IReadOnlyList<MirrorTarget> targets, RefFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(targets);
        var fetch = await FetchAsync(mirrorPath, sourceUrl, sourceCredential, filter, cancellationToken);
        var results = new List<TargetSyncResult>(targets.Count);
        foreach (var target in targets)
        {
            results.Add(await SyncTargetAsync(mirrorPath, target, filter, cancellationToken));
        }

        return new MirrorRunResult(fetch, results);
    }

    /// <summary>
    /// Plans a target's ref updates; pure. For every ref <paramref name="filter"/> matches on either side, ordered by name:
    /// <list type="bullet">
    /// <item>only in the source → <see cref="RefUpdateKind.Created"/>; the same on both → <see cref="RefUpdateKind.UpToDate"/>;</item>
    /// <item>only on the target → <see cref="RefUpdateKind.Deleted"/>, or <see cref="RefUpdateKind.RefusedProtectedDeletion"/> when protected;</item>
    /// <item>different, the target's value an ancestor of the source's (per <paramref name="ancestry"/>) →
    /// <see cref="RefUpdateKind.FastForwarded"/>; otherwise (not an ancestor, unknown to the mirror, or a tag: tags never
    /// fast-forward, as in git) → <see cref="RefUpdateKind.Forced"/> (<see cref="RefUpdate.Forced"/> true), or
    /// <see cref="RefUpdateKind.RefusedNonFastForward"/> with the divergence when protected.</item>
    /// </list>
    /// Refs outside the filter are ignored on both sides (never deleted from the target). <paramref name="ancestry"/>
    /// is asked only about branches (and other non-tag refs) whose values differ.
    /// </summary>
    public static IReadOnlyList<RefUpdate> ComputeUpdates(
        string targetName,
        IReadOnlyDictionary<string, string> sourceRefs,
        IReadOnlyDictionary<string, string> targetRefs,
        RefFilter filter,
        IReadOnlyList<string> protectedRefPatterns,
        AncestryOracle ancestry)
    {
        ArgumentNullException.ThrowIfNull(sourceRefs);
        ArgumentNullException.ThrowIfNull(targetRefs);
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(protectedRefPatterns);
        ArgumentNullException.ThrowIfNull(ancestry);

        var names = sourceRefs.Keys.Where(filter.Matches)
            .Union(targetRefs.Keys.Where(filter.Matches), StringComparer.Ordinal)
            .Order(StringComparer.Ordinal);
        var updates = new List<RefUpdate>();
        foreach (var name in names)
        {
            var isProtected = protectedRefPatterns.Any(p => RefFilter.PatternMatches(p, name));
            sourceRefs.TryGetValue(name, out var src);
            targetRefs.TryGetValue(name, out var dst);
            if (dst is null)
            {
                updates.Add(new RefUpdate(name, null, src, RefUpdateKind.Created, false, null));
            }
            else if (src is null)
            {
                updates.Add(isProtected
                    ? new RefUpdate(name, dst, null, RefUpdateKind.RefusedProtectedDeletion, false,
                        $"{name} on target '{targetName}' was not deleted: it is gone from the source, but protected refs are never deleted (the target keeps {Short(dst)})")
                    : new RefUpdate(name, dst, null, RefUpdateKind.Deleted, false, null));
            }
            else if (string.Equals(src, dst, StringComparison.OrdinalIgnoreCase))
            {
                updates.Add(new RefUpdate(name, dst, src, RefUpdateKind.UpToDate, false, null));
            }
            else
            {
                var relation = IsTag(name) ? Ancestry.NotAncestor : ancestry(dst, src);
                if (relation == Ancestry.Ancestor)
                {
                    updates.Add(new RefUpdate(name, dst, src, RefUpdateKind.FastForwarded, false, null));
                }
                else if (isProtected)
                {
                    var why = IsTag(name)
                        ? $"target has {Short(dst)}, the source has {Short(src)}; protected tags never move"
                        : relation == Ancestry.Unknown
                            ? $"target has {Short(dst)} which the mirror does not have (it never came from the source), so it is not an ancestor of {Short(src)}; {Protect}"
                            : $"target has {Short(dst)} which is not an ancestor of {Short(src)}; {Protect}";
                    updates.Add(new RefUpdate(name, dst, src, RefUpdateKind.RefusedNonFastForward, false, $"{name} on target '{targetName}' diverged: {why}"));
                }
                else
                {
                    updates.Add(new RefUpdate(name, dst, src, RefUpdateKind.Forced, true,
                        $"{name} on target '{targetName}' forced from {Short(dst)} to {Short(src)}: not a fast-forward; unprotected refs follow the source"));
                }
            }
        }

        return updates;
    }

    /// <summary>The mirror's refs (ref name → object id; annotated tags as their tag object's id, like ls-remote).</summary>
    public async Task<IReadOnlyDictionary<string, string>> ReadMirrorRefsAsync(string mirrorPath, CancellationToken cancellationToken)
    {
        var mirror = FullPath(mirrorPath);
        using var local = GitRemoteSession.Local(Options);
        var result = await RunAsync(local, mirror, ["for-each-ref", "--format=%(objectname)%09%(refname)", "refs/"], Options.LocalTimeout, cancellationToken);
        if (!result.Succeeded)
        {
            throw local.Failure("git for-each-ref in the mirror", result);
        }

        return GitOutput.ParseRefLines(result.StandardOutput);
    }

    /// <summary>
    /// <c>git merge-base --is-ancestor</c> in the mirror: <see cref="Ancestry.Unknown"/> when either id is not a commit
    /// the mirror has.
    /// </summary>
    public async Task<Ancestry> IsAncestorAsync(string mirrorPath, string ancestorId, string descendantId, CancellationToken cancellationToken)
    {
        if (!GitOutput.IsObjectId(ancestorId) || !GitOutput.IsObjectId(descendantId))
        {
            return Ancestry.Unknown;
        }

        using var local = GitRemoteSession.Local(Options);
        var result = await RunAsync(local, FullPath(mirrorPath), ["merge-base", "--is-ancestor", ancestorId, descendantId], Options.LocalTimeout, cancellationToken);
        return result.ExitCode switch
        {
            0 => Ancestry.Ancestor,
            1 => Ancestry.NotAncestor,
            _ => Ancestry.Unknown,
        };
    }

    /// <summary>Pushes one batch with a lease per ref; records each ref's outcome in <paramref name="results"/>; returns a target-wide error, if any.</summary>
    private async Task<string?> PushBatchAsync(
        GitRemoteSession session, string mirror, MirrorTarget target, RefUpdate[] batch, Dictionary<string, RefUpdate> results, CancellationToken cancellationToken)
    {
        List<string> arguments = ["push", "--porcelain", "--no-verify"];
        foreach (var update in batch)
        {
            // The lease: the ref must still hold what ls-remote showed (or still not exist), else git refuses that ref.
            arguments.Add($"--force-with-lease={update.Ref}:{update.OldId ?? ""}");
        }

        arguments.Add("--");
        arguments.Add(target.Url);
        arguments.AddRange(batch.Select(u => u.NewId is null ? $":{u.Ref}" : $"{u.NewId}:{u.Ref}"));

        GitResult pushed;
        try
        {
            pushed = await RunAsync(session, mirror, arguments, Options.NetworkTimeout, cancellationToken);
        }
        catch (GitCommandException timeout)
        {
            var message = session.Scrub($"push to target '{target.Name}': {timeout.Message}");
            foreach (var update in batch)
            {
                results[update.Ref] = update with { Kind = RefUpdateKind.Failed, Forced = false, Message = $"{update.Ref} on target '{target.Name}' was not updated: {message}" };
            }

            return message;
        }

        var statuses = GitOutput.ParsePushPorcelain(pushed.StandardOutput);
        string? error = null;
        if (!pushed.Succeeded && statuses.Count == 0)
        {
            error = session.Failure($"git push to target '{target.Name}'", pushed).Message;
        }

        foreach (var update in batch)
        {
            if (statuses.TryGetValue(update.Ref, out var status))
            {
                if (status.Flag == '=')
                {
                    results[update.Ref] = update with { Kind = RefUpdateKind.UpToDate, Forced = false, OldId = update.NewId };
                }
                else if (!status.Succeeded)
                {
                    var reason = status.Summary.Contains("stale info", StringComparison.Ordinal)
                        ? $"the target changed after it was read (it no longer holds {(update.OldId is null ? "nothing" : Short(update.OldId))}); nothing was overwritten, the next sync retries"
                        : session.Scrub(status.Summary);
                    results[update.Ref] = update with { Kind = RefUpdateKind.Failed, Forced = false, Message = $"{update.Ref} on target '{target.Name}' was not updated: {reason}" };
                }
            }
            else if (!pushed.Succeeded)
            {
                var reason = error ?? session.Scrub(pushed.StandardError.Trim());
                results[update.Ref] = update with { Kind = RefUpdateKind.Failed, Forced = false, Message = $"{update.Ref} on target '{target.Name}' was not updated: {reason}" };
            }
        }

        return error;
    }

    private async Task EnsureMirrorAsync(string mirror, CancellationToken cancellationToken)
    {
        if (IsBareRepository(mirror))
        {
            return;
        }

        if (Directory.Exists(mirror) && Directory.EnumerateFileSystemEntries(mirror).Any())
        {
            throw new InvalidOperationException($"'{mirror}' exists and is not a bare git repository; refusing to use it as a mirror.");
        }

        using var local = GitRemoteSession.Local(Options);
        var result = await RunAsync(local, null, ["init", "--bare", "--quiet", mirror], Options.LocalTimeout, cancellationToken);
        if (!result.Succeeded)
        {
            throw local.Failure("git init --bare of the mirror", result);
        }
    }

    private Task<GitResult> RunAsync(
        GitRemoteSession session, string? workingDirectory, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken, string? standardInput = null) =>
        git.RunAsync(workingDirectory, arguments, cancellationToken, timeout, session.Environment, standardInput);

    private static bool IsBareRepository(string path) =>
        File.Exists(Path.Combine(path, "HEAD")) && Directory.Exists(Path.Combine(path, "objects")) && Directory.Exists(Path.Combine(path, "refs"));

    private static string FullPath(string mirrorPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(mirrorPath);
        return Path.TrimEndingDirectorySeparator(Path.GetFullPath(mirrorPath));
    }

    /// <summary>
    /// A mirror ref the fetch removes: no include pattern matches it (a ref a wider refspec brought along, or one a
    /// previous, wider filter fetched). Refs an exclude pattern matches are left alone, so a caller can keep refs of its
    /// own in the mirror under an excluded namespace (e.g. exclude <c>refs/heady/**</c>), which git's prune also spares.
    /// </summary>
    private static bool IsSurplus(RefFilter filter, string refName) =>
        !filter.Include.Any(p => RefFilter.PatternMatches(p, refName)) && !filter.Exclude.Any(p => RefFilter.PatternMatches(p, refName));

    private static bool IsTag(string refName) => refName.StartsWith("refs/tags/", StringComparison.Ordinal);

    private static string Short(string id) => id.Length > 12 ? id[..12] : id;
}
