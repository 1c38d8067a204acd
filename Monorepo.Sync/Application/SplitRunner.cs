using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Monorepo.Sync.Domain;
using Monorepo.Sync.Git;
using Monorepo.Sync.Git.Mirror;
using Monorepo.Sync.Infrastructure;

namespace Monorepo.Sync.Application;

/// <summary>
/// What a split produced: the split head (null when the prefix never existed), the newly mapped commits, and whether
/// the saved map was unusable (history rewritten) so <paramref name="NewEntries"/> replaces it.
/// </summary>
public sealed record SplitOutcome(string? Head, IReadOnlyDictionary<string, string> NewEntries, bool ReplaceMap = false);

/// <summary>Computes a subtree split in a repository, reusing the already known source → split commit map.</summary>
public interface ISplitEngine
{
    Task<SplitOutcome> SplitAsync(string repositoryPath, string prefix, string sourceCommit, IReadOnlyDictionary<string, string> knownMap, CancellationToken ct);
}

/// <summary>
/// Splits one prefix of the mirror and pushes the result to the split target. The split history only grows, so the
/// push is never forced: a target ref that moved elsewhere is refused and reported, not overwritten.
/// </summary>
public sealed class SplitRunner(
    MonorepoDbContext db,
    GitCli git,
    MirrorEngine engine,
    ISplitEngine splitter,
    CredentialProtector protector,
    ILogger<SplitRunner> logger)
{
    public async Task<(RefUpdate? Update, string? Error)> RunAsync(Repository repository, SplitTarget split, string mirrorPath, CancellationToken ct)
    {
        try
        {
            var resolved = await git.RunAsync(mirrorPath, ["rev-parse", "--verify", "--quiet", split.SourceRef + "^{commit}"], ct, engine.Options.LocalTimeout);
            if (!resolved.Succeeded)
            {
                return (null, $"Source ref {split.SourceRef} does not exist in the mirror (is it included by the repository's ref filter?).");
            }

            var sourceCommit = resolved.StandardOutput.Trim();
            var known = await db.SplitMap.AsNoTracking().Where(e => e.SplitTargetId == split.Id)
                .ToDictionaryAsync(e => e.SourceCommit, e => e.SplitCommit, ct);
            var outcome = await splitter.SplitAsync(mirrorPath, split.Prefix, sourceCommit, known, ct);
            if (outcome.ReplaceMap)
            {
                await db.SplitMap.Where(e => e.SplitTargetId == split.Id).ExecuteDeleteAsync(ct);
            }

            foreach (var (source, splitCommit) in outcome.NewEntries)
            {
                db.SplitMap.Add(new SplitMapEntry { SplitTargetId = split.Id, SourceCommit = source, SplitCommit = splitCommit });
            }

            if (outcome.Head is null)
            {
                return (null, $"Prefix '{split.Prefix}' has no history in {split.SourceRef}.");
            }

            // Keeps the split commits reachable in the mirror (gc would drop them otherwise).
            (await git.RunAsync(mirrorPath, ["update-ref", $"{SyncRunner.InternalRefPrefix}splits/{split.Id:N}", outcome.Head], ct, engine.Options.LocalTimeout))
                .EnsureSuccess("Recording the split head");
            split.LastSplitHead = outcome.Head;

            var credential = SyncRunner.ToGitCredential(protector.Open(split.Credential, CredentialProtector.SplitContext(split.Id)));
            using var session = GitRemoteSession.Open(split.Url, credential, engine.Options);
            var remote = await git.RunAsync(mirrorPath, ["ls-remote", "--", split.Url, split.TargetRef], ct, engine.Options.NetworkTimeout, session.Environment);
            if (!remote.Succeeded)
            {
                throw session.Failure($"Reading split target '{split.Name}'", remote);
            }

            var old = remote.StandardOutput.Split('\t', 2)[0].Trim();
            old = old.Length == 0 ? null : old;
            if (old == outcome.Head)
            {
                return (null, null);
            }

            var push = await git.RunAsync(mirrorPath, ["push", "--porcelain", "--", split.Url, $"{outcome.Head}:{split.TargetRef}"], ct, engine.Options.NetworkTimeout, session.Environment);
            if (!push.Succeeded)
            {
                var message = $"{split.TargetRef} on split target '{split.Name}' was not moved to {outcome.Head}: the target has {old ?? "nothing"} and splits are never forced. {session.Scrub(push.StandardError.Trim())}";
                return (new RefUpdate(split.TargetRef, old, outcome.Head, RefUpdateKind.RefusedNonFastForward, false, message), message);
            }

            return (new RefUpdate(split.TargetRef, old, outcome.Head, old is null ? RefUpdateKind.Created : RefUpdateKind.FastForwarded, false, null), null);
        }
        catch (Exception e) when (e is GitCommandException or Monorepo.Sync.Git.Split.SubtreeSplitException or TimeoutException or ArgumentException)
        {
            logger.LogWarning("Split {Split} of repository {RepositoryId} failed: {Error}", split.Name, repository.Id, e.Message);
            return (null, GitCli.Redact(e.Message));
        }
    }
}
