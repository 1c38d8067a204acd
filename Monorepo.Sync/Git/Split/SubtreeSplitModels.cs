namespace Monorepo.Sync.Git.Split;

/// <summary>
/// The split cannot be computed for this input; <c>git subtree split</c> fails on the same input (for example the
/// prefix is a file, not a directory, in one of the commits, or a <c>git-subtree-split:</c> trailer names a commit
/// that the repository does not have).
/// </summary>
public sealed class SubtreeSplitException(string message, Exception? inner = null) : Exception(message, inner);

public sealed record SubtreeSplitterOptions
{
    /// <summary>The whole split (all git invocations together) is cancelled after this long; <see cref="TimeoutException"/>.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Limit for one git invocation (a full <c>rev-list</c> or the batch reads of a large repository).</summary>
    public TimeSpan GitCallTimeout { get; init; } = GitCli.DefaultTimeout;

    /// <summary>
    /// Create every split commit with one <c>git commit-tree</c> process, fed exactly as <c>git subtree</c> feeds it,
    /// instead of building the commit objects in memory and writing them in batches. Much slower; the ids are the same
    /// (the tests check that). For diagnosis only.
    /// </summary>
    public bool CreateCommitsWithCommitTree { get; init; }
}

/// <param name="SourceCommitId">The commit that <c>sourceRevision</c> resolved to.</param>
/// <param name="HeadCommitId">
/// The split head: the same id that <c>git subtree split --prefix=&lt;prefix&gt; &lt;source&gt;</c> prints, or null when
/// no commit of the history has the prefix (where <c>git subtree</c> fails with "no new revisions were found").
/// </param>
/// <param name="NewMapEntries">
/// Source commit id → split commit id for the commits processed in this run (not those of the previous map). A source
/// commit that has no prefix directory but descends from one that had maps to itself, as in <c>git subtree</c>. Merge
/// these into the saved map (or replace it when <paramref name="PreviousMapDiscarded"/>) and pass the result next time.
/// </param>
/// <param name="PreviousMapDiscarded">
/// The previous map was not used (it disagreed with the repository: a commit it names is gone, or it contradicts a
/// <c>git-subtree-split:</c> trailer of the history); <paramref name="NewMapEntries"/> is then a complete map.
/// </param>
public sealed record SubtreeSplitResult(
    string SourceCommitId,
    string? HeadCommitId,
    IReadOnlyDictionary<string, string> NewMapEntries,
    bool PreviousMapDiscarded,
    SubtreeSplitCounts Counts);

/// <param name="CommitsWalked">Source commits listed by <c>rev-list</c> (the whole history of the source that git subtree walks).</param>
/// <param name="CommitsExamined">Source commits processed in this run (not found in the previous map).</param>
/// <param name="CommitsReused">Source commits whose split commit came from the previous map.</param>
/// <param name="CommitsCreated">Split commit objects written (new commits, as <c>git commit-tree</c> would write them).</param>
/// <param name="CommitsCreatedWithCommitTree">Of those, how many went through one <c>git commit-tree</c> process each (unusual dates).</param>
/// <param name="GitInvocations">git processes started.</param>
public sealed record SubtreeSplitCounts(
    int CommitsWalked,
    int CommitsExamined,
    int CommitsReused,
    int CommitsCreated,
    int CommitsCreatedWithCommitTree,
    int GitInvocations,
    TimeSpan Elapsed);
