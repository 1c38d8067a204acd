using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Monorepo.Sync.Git.Split;

/// <summary>
/// Deterministic subtree split: the history of one directory of a repository as a history of its own, with the same
/// commit ids as <c>git subtree split --prefix=&lt;prefix&gt; &lt;rev&gt;</c> (git 2.39 contrib/subtree) for the same input,
/// incremental through a map of already split commits.
/// </summary>
/// <remarks>
/// <para>
/// The algorithm is git-subtree's cmd_split, step by step: find_existing_splits (commits with
/// <c>git-subtree-dir:</c> trailers pre-seed the map and exclude history), the walk
/// <c>rev-list --topo-order --reverse --parents</c>, process_split_commit (with check_parents' recursion into parents
/// outside the walk), subtree_for_commit, copy_or_skip (a commit is skipped in favour of a new parent with the same tree
/// unless another parent carries history the identical one lacks) and copy_commit (author, committer, RFC 2822 dates and
/// message read as the shell reads them, then <c>git commit-tree</c>). The result is the last commit that process set,
/// as git subtree's <c>latest_new</c>.
/// </para>
/// <para>
/// Where git subtree starts several processes per commit, this reads in bulk (one <c>cat-file --batch-check</c> for
/// the subtrees and trees, one <c>git log --no-walk</c> for the metadata) and builds the commit objects in memory
/// exactly as <c>git commit-tree</c> would (same ident clean-up, date normalisation and UTF-8 repair), writing them
/// with one <c>git fast-import</c> per batch (checked: git must report the computed ids); commits whose dates git would
/// not round-trip go through <c>git commit-tree</c> itself. The ancestry questions of merges are answered from the
/// commits created in the run where that suffices, else asked of git (<c>merge-base --is-ancestor</c>).
/// </para>
/// <para>
/// The split commits are written to the repository's object store but no ref is created: the caller pushes the head
/// (or points a ref at it) before <c>git gc</c> would prune them. A map naming pruned commits is detected and dropped.
/// </para>
/// <para>
/// The map holds source commit → split commit for every commit processed (as git subtree's cache). With a previous
/// map, the walk still lists the whole history (ids only) so that the choices are those of a fresh run, but commits
/// found in the map are not read or processed again.
/// </para>
/// </remarks>
public sealed partial class SubtreeSplitter(GitCli git, SubtreeSplitterOptions? options = null)
{
    private readonly SubtreeSplitterOptions options = options ?? new SubtreeSplitterOptions();

    [GeneratedRegex("^([0-9a-f]{40}|[0-9a-f]{64})$")]
    private static partial Regex ObjectIdPattern();

    /// <summary>Splits <paramref name="prefix"/> out of <paramref name="sourceRevision"/>'s history.</summary>
    /// <param name="repositoryPath">A bare repository (or a work tree whose <c>.git</c> directory is used).</param>
    /// <param name="prefix">The directory, e.g. <c>packages/ui</c>; see <see cref="SplitPrefix.Normalize"/>.</param>
    /// <param name="sourceRevision">A commit id or ref of the repository.</param>
    /// <param name="previousMap">
    /// The map from earlier runs on the same repository and prefix (source commit id → split commit id), or null/empty.
    /// </param>
    /// <exception cref="InvalidSplitPrefixException">The prefix is refused.</exception>
    /// <exception cref="SubtreeSplitException">The revision does not exist, or git subtree would fail on this history.</exception>
    /// <exception cref="TimeoutException">The split took longer than <see cref="SubtreeSplitterOptions.Timeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<SubtreeSplitResult> SplitAsync(
        string repositoryPath,
        string prefix,
        string sourceRevision,
        IReadOnlyDictionary<string, string>? previousMap,
        CancellationToken cancellationToken)
    {
        var directory = SplitPrefix.Normalize(prefix);
        ArgumentException.ThrowIfNullOrWhiteSpace(repositoryPath);
        ArgumentException.ThrowIfNullOrWhiteSpace(sourceRevision);
        if (sourceRevision.StartsWith('-') || sourceRevision.Any(char.IsControl))
        {
            throw new ArgumentException("The source revision must be a commit id or a ref name.", nameof(sourceRevision));
        }

        var gitDir = Path.GetFullPath(repositoryPath);
        if (Directory.Exists(Path.Combine(gitDir, ".git")))
        {
            gitDir = Path.Combine(gitDir, ".git");
        }

        if (!Directory.Exists(gitDir))
        {
            throw new ArgumentException($"Repository '{repositoryPath}' does not exist.", nameof(repositoryPath));
        }

        var saved = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (source, split) in previousMap ?? new Dictionary<string, string>())
        {
            if (!ObjectIdPattern().IsMatch(source) || !ObjectIdPattern().IsMatch(split))
            {
                throw new ArgumentException($"The previous map holds an entry that is not a pair of commit ids: '{source}' → '{split}'.", nameof(previousMap));
            }

            saved[source] = split;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Timeout);
        var scratch = Path.Combine(Path.GetTempPath(), "headyclouds-split-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(scratch);
        var stopwatch = Stopwatch.StartNew();
        try
        {
            var repository = new SplitRepository(git, gitDir, scratch, options.GitCallTimeout, timeout.Token);
            var sha256 = await repository.IsSha256Async();
            var source = await repository.ResolveCommitAsync(sourceRevision)
                ?? throw new SubtreeSplitException($"'{sourceRevision}' does not refer to a commit.");
            var run = new SplitRun(repository, directory, source, sha256, options.CreateCommitsWithCommitTree, timeout.Token);
            var outcome = await run.ExecuteAsync(saved);
            var discarded = false;
            if (outcome is null)
            {
                // The previous map disagrees with the repository: start again without it.
                discarded = true;
                run = new SplitRun(repository, directory, source, sha256, options.CreateCommitsWithCommitTree, timeout.Token);
                outcome = await run.ExecuteAsync(new Dictionary<string, string>(StringComparer.Ordinal))
                    ?? throw new InvalidOperationException("A split without a previous map cannot disagree with it.");
            }

            return new SubtreeSplitResult(
                source,
                outcome.Head,
                outcome.NewEntries,
                discarded,
                new SubtreeSplitCounts(
                    outcome.Walked,
                    outcome.Examined,
                    outcome.Reused,
                    outcome.Created,
                    outcome.CreatedWithCommitTree,
                    repository.Invocations,
                    stopwatch.Elapsed));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"The subtree split of '{directory}' took longer than {options.Timeout.TotalSeconds:F0} s and was stopped.");
        }
        finally
        {
            try
            {
                Directory.Delete(scratch, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Scratch files under the temp directory; leaving them behind is harmless.
            }
        }
    }

    private sealed record Outcome(string? Head, Dictionary<string, string> NewEntries, int Walked, int Examined, int Reused, int Created, int CreatedWithCommitTree);

    /// <summary>One execution of git subtree's cmd_split.</summary>
    private sealed class SplitRun(SplitRepository repository, string directory, string source, bool sha256, bool commitTreeOnly, CancellationToken cancellationToken)
    {
        private const int WriteBatchSize = 2000;

        // find_existing_splits' entries. Keyed by the raw text of the trailers, as git subtree's cache files are named.
        private readonly Dictionary<string, string> preCache = new(StringComparer.Ordinal);
        private readonly List<string> unrevs = [];

        // The cache entries set by processing (this run's and, through the previous map, earlier runs').
        private readonly Dictionary<string, string> processed = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> newEntries = new(StringComparer.Ordinal);
        private readonly HashSet<string> notree = new(StringComparer.Ordinal);
        private Dictionary<string, string> saved = new(StringComparer.Ordinal);

        // Commit → its prefix tree (null: no tree there); commit → root tree; commit → what copy_commit reads.
        private readonly Dictionary<string, string?> subtrees = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> trees = new(StringComparer.Ordinal);
        private readonly Dictionary<string, CommitRecord> records = new(StringComparer.Ordinal);
        private readonly Dictionary<(string, string), bool> ancestry = [];
        private readonly Dictionary<string, string[]> createdParents = new(StringComparer.Ordinal);

        private readonly List<(string Id, byte[] Body)> pending = [];
        private readonly HashSet<string> pendingIds = new(StringComparer.Ordinal);

        private string? latestNew;
        private int examined;
        private int reused;
        private int created;
        private int createdWithCommitTree;

        /// <summary>Null when the previous map turns out not to fit the repository.</summary>
        public async Task<Outcome?> ExecuteAsync(Dictionary<string, string> previous)
        {
            saved = previous;
            await FindExistingSplitsAsync();
            foreach (var (key, value) in preCache)
            {
                if (saved.TryGetValue(key, out var mapped) && mapped != value)
                {
                    return null;
                }
            }

            var walk = await repository.RevListAsync(source, unrevs);
            if (!await PrefetchAsync(walk))
            {
                return null;
            }

            var step = 0;
            foreach (var (id, parents) in walk)
            {
                if ((++step & 0xff) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                await ProcessAsync(id, parents);
            }

            await FlushAsync();
            if (latestNew is not null && saved.Count > 0 && !newEntries.ContainsValue(latestNew)
                && (await repository.BatchCheckAsync([latestNew + "^{commit}"]))[0] is null)
            {
                return null;
            }

            return new Outcome(latestNew, newEntries, walk.Count, examined, reused, created, createdWithCommitTree);
        }

        // ---- find_existing_splits -----------------------------------------------------------------------------

        private async Task FindExistingSplitsAsync()
        {
            var output = await repository.ReadSplitTrailersAsync(directory, source);
            string sq = "", main = "", sub = "";
            var pos = 0;
            while (pos < output.Length)
            {
                // `while read a b junk`: a last line without a newline ends the loop unread.
                var lineEnd = pos;
                var line = ShellRead.ReadLine(output, ref lineEnd);
                if (lineEnd >= output.Length && output[^1] != (byte)'\n')
                {
                    break;
                }

                pos = lineEnd;
                var fields = ShellRead.Fields(line, 3);
                var a = Encoding.UTF8.GetString(fields[0]);
                var b = Encoding.UTF8.GetString(fields[1]);
                switch (a)
                {
                    case "START":
                        sq = b;
                        break;
                    case "git-subtree-mainline:":
                        main = b;
                        break;
                    case "git-subtree-split:":
                        if (b.StartsWith('-'))
                        {
                            throw new SubtreeSplitException($"could not rev-parse split hash {b} from commit {sq}");
                        }

                        sub = await repository.ResolveCommitAsync(b)
                            ?? throw new SubtreeSplitException($"could not rev-parse split hash {b} from commit {sq}");
                        break;
                    case "END":
                        if (main.Length == 0 && sub.Length > 0)
                        {
                            CacheSetPrior(sq, sub);
                        }

                        if (main.Length > 0 && sub.Length > 0)
                        {
                            if (main.StartsWith('-') || main.Any(c => c is '*' or '?' or '[' or ' ' or '\t'))
                            {
                                throw new SubtreeSplitException($"git-subtree-mainline: '{main}' in commit {sq} is not a commit id.");
                            }

                            CacheSetPrior(main, sub);
                            CacheSetPrior(sub, sub);
                            await TryRemovePreviousAsync(main);
                            await TryRemovePreviousAsync(sub);
                        }

                        main = "";
                        sub = "";
                        break;
                }
            }
        }

        private void CacheSetPrior(string oldRev, string newRev)
        {
            if (!preCache.TryAdd(oldRev, newRev))
            {
                throw new SubtreeSplitException($"cache for {oldRev} already exists! (git subtree fails on this history)");
            }
        }

        private async Task TryRemovePreviousAsync(string revision)
        {
            if (await repository.RevisionExistsAsync(revision + "^"))
            {
                unrevs.Add("^" + revision + "^");
            }
        }

        // ---- bulk reads ---------------------------------------------------------------------------------------

        /// <summary>Reads in bulk what the walk will need. False when the previous map names objects that are gone.</summary>
        private async Task<bool> PrefetchAsync(List<(string Id, string[] Parents)> walk)
        {
            var unknown = walk.Where(c => !preCache.ContainsKey(c.Id) && !saved.ContainsKey(c.Id)).ToList();
            await ReadSubtreesAsync(unknown.Select(c => c.Id).ToList());

            // Trees of the commits that can become new parents: mapped values of parents, and parents without the
            // prefix (they may map to themselves). Commits created here have their tree recorded when created.
            var wanted = new HashSet<string>(StringComparer.Ordinal);
            var fromMap = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (_, parents) in unknown)
            {
                foreach (var parent in parents)
                {
                    if (preCache.TryGetValue(parent, out var value))
                    {
                        wanted.Add(value);
                    }
                    else if (saved.TryGetValue(parent, out value))
                    {
                        wanted.Add(value);
                        fromMap.Add(value);
                    }
                    else if (subtrees.TryGetValue(parent, out var subtree) && subtree is null)
                    {
                        wanted.Add(parent);
                    }
                }
            }

            var missing = await ReadTreesAsync(wanted.ToList());
            if (missing.Overlaps(fromMap))
            {
                return false;
            }

            // A commit whose only parent has the same prefix tree is always skipped: no need to read it.
            var copyCandidates = unknown
                .Where(c => subtrees[c.Id] is { } tree
                    && !(c.Parents.Length == 1 && subtrees.TryGetValue(c.Parents[0], out var parentTree) && parentTree == tree))
                .Select(c => c.Id)
                .ToList();
            foreach (var (id, record) in await repository.ReadCommitRecordsAsync(copyCandidates))
            {
                records[id] = record;
            }

            return true;
        }

        private async Task ReadSubtreesAsync(List<string> commits)
        {
            var answers = await repository.BatchCheckAsync(commits.Select(c => c + ":" + directory).ToList());
            for (var i = 0; i < commits.Count; i++)
            {
                subtrees[commits[i]] = answers[i] switch
                {
                    null => null,
                    { Type: "tree" } answer => answer.Id,
                    { Type: "commit" } => null, // a submodule: git subtree ignores it
                    { Type: var type } => throw new SubtreeSplitException(
                        $"'{directory}' is a {type}, not a directory, in commit {commits[i]} (git subtree split fails on this history too)."),
                };
            }
        }

        /// <summary>Reads root trees; returns the commits that do not resolve.</summary>
        private async Task<HashSet<string>> ReadTreesAsync(List<string> commits)
        {
            var missing = new HashSet<string>(StringComparer.Ordinal);
            var toRead = commits.Where(c => !trees.ContainsKey(c)).ToList();
            var answers = await repository.BatchCheckAsync(toRead.Select(c => c + "^{tree}").ToList());
            for (var i = 0; i < toRead.Count; i++)
            {
                if (answers[i] is { Type: "tree" } answer)
                {
                    trees[toRead[i]] = answer.Id;
                }
                else
                {
                    missing.Add(toRead[i]);
                }
            }

            return missing;
        }

        private async Task<string?> SubtreeAsync(string commit)
        {
            if (!subtrees.ContainsKey(commit))
            {
                await ReadSubtreesAsync([commit]);
            }

            return subtrees[commit];
        }

        /// <summary>toptree_for_commit.</summary>
        private async Task<string> TopTreeAsync(string commit)
        {
            if (!trees.TryGetValue(commit, out var tree))
            {
                if ((await ReadTreesAsync([commit])).Count > 0)
                {
                    throw new SubtreeSplitException($"{commit} is not a commit (git rev-parse {commit}^{{tree}} fails).");
                }

                tree = trees[commit];
            }

            return tree;
        }

        private async Task<CommitRecord> RecordAsync(string commit)
        {
            if (!records.TryGetValue(commit, out var record))
            {
                record = (await repository.ReadCommitRecordsAsync([commit]))[commit];
                records[commit] = record;
            }

            return record;
        }

        // ---- process_split_commit ----------------------------------------------------------------------------

        private string? CacheGet(string commit) =>
            preCache.TryGetValue(commit, out var value) || processed.TryGetValue(commit, out value) ? value : null;

        private bool Cached(string commit) => preCache.ContainsKey(commit) || processed.ContainsKey(commit);

        private sealed class Frame(string rev, string[]? parents)
        {
            public string Rev { get; } = rev;
            public string[]? Parents { get; set; } = parents;
            public bool Started { get; set; }
            public bool FromMap { get; set; }
            public List<string> Missed { get; set; } = [];
            public int Next { get; set; }
        }

        /// <summary>
        /// process_split_commit, with check_parents' recursion (a parent that was never processed and is not known to
        /// lack the prefix is processed first, its parents read from git) made iterative: histories can be deep.
        /// </summary>
        private async Task ProcessAsync(string rev, string[] parents)
        {
            var stack = new Stack<Frame>();
            stack.Push(new Frame(rev, parents));
            while (stack.Count > 0)
            {
                var frame = stack.Peek();
                if (!frame.Started)
                {
                    frame.Started = true;
                    if (Cached(frame.Rev))
                    {
                        stack.Pop(); // "prior"
                        continue;
                    }

                    frame.Parents ??= await repository.ParentsAsync(frame.Rev);
                    frame.FromMap = saved.ContainsKey(frame.Rev);
                    if (frame.FromMap)
                    {
                        reused++;
                    }
                    else
                    {
                        examined++;
                    }

                    // check_parents: the misses are listed once, before any of them is processed.
                    frame.Missed = frame.Parents.Where(p => !Cached(p)).ToList();
                }

                var descended = false;
                while (frame.Next < frame.Missed.Count)
                {
                    var miss = frame.Missed[frame.Next++];
                    if (!notree.Contains(miss))
                    {
                        stack.Push(new Frame(miss, null));
                        descended = true;
                        break;
                    }
                }

                if (descended)
                {
                    continue;
                }

                stack.Pop();
                await FinishAsync(frame);
            }
        }

        private async Task FinishAsync(Frame frame)
        {
            var rev = frame.Rev;
            if (frame.FromMap)
            {
                // Processed by an earlier run: the same outcome, without reading the commit again.
                var value = saved[rev];
                processed[rev] = value;
                if (value != rev)
                {
                    latestNew = value;
                }

                return;
            }

            var newParents = new List<string>();
            foreach (var parent in frame.Parents!)
            {
                if (CacheGet(parent) is { } value)
                {
                    newParents.Add(value);
                }
            }

            var tree = await SubtreeAsync(rev);
            if (tree is null)
            {
                notree.Add(rev);
                if (newParents.Count > 0)
                {
                    SetProcessed(rev, rev);
                }

                return;
            }

            var newRev = await CopyOrSkipAsync(rev, tree, newParents);
            SetProcessed(rev, newRev);
            latestNew = newRev;
        }

        private void SetProcessed(string rev, string value)
        {
            processed[rev] = value;
            newEntries[rev] = value;
        }

        /// <summary>copy_or_skip.</summary>
        private async Task<string> CopyOrSkipAsync(string rev, string tree, List<string> newParents)
        {
            string? identical = null;
            string? nonIdentical = null;
            var copy = false;
            var gotParents = new List<string>();
            foreach (var parent in newParents)
            {
                var parentTree = await TopTreeAsync(parent);
                if (parentTree == tree)
                {
                    if (identical is not null)
                    {
                        // merge-base(identical, parent): equal to identical ⇔ identical is an ancestor of parent;
                        // equal to parent ⇔ parent is an ancestor of identical; otherwise no common line: copy.
                        if (await IsAncestorAsync(identical, parent))
                        {
                            identical = parent;
                        }
                        else if (!await IsAncestorAsync(parent, identical))
                        {
                            copy = true;
                        }
                    }
                    else
                    {
                        identical = parent;
                    }
                }
                else
                {
                    nonIdentical = parent;
                }

                if (!gotParents.Contains(parent))
                {
                    gotParents.Add(parent);
                }
            }

            // rev-list --count identical..nonidentical is not 0 ⇔ nonidentical is not an ancestor of identical.
            if (identical is not null && nonIdentical is not null && !await IsAncestorAsync(nonIdentical, identical))
            {
                copy = true;
            }

            if (identical is not null && !copy)
            {
                return identical;
            }

            return await CopyCommitAsync(rev, tree, gotParents);
        }

        private async Task<bool> IsAncestorAsync(string ancestor, string descendant)
        {
            if (ancestor == descendant)
            {
                return true;
            }

            if (ancestry.TryGetValue((ancestor, descendant), out var known))
            {
                return known;
            }

            // The commits created in this run have known parents: often that answers without git (and without
            // writing the pending commits first).
            if (AncestryFromCreated(ancestor, descendant) is { } answer)
            {
                ancestry[(ancestor, descendant)] = answer;
                return answer;
            }

            if (pendingIds.Contains(ancestor) || pendingIds.Contains(descendant))
            {
                await FlushAsync();
            }

            known = await repository.IsAncestorAsync(ancestor, descendant);
            ancestry[(ancestor, descendant)] = known;
            return known;
        }

        /// <summary>
        /// True if <paramref name="ancestor"/> is reached from <paramref name="descendant"/> through commits created
        /// in this run; false if that walk never leaves them (so it saw every ancestor); null when it cannot tell.
        /// </summary>
        private bool? AncestryFromCreated(string ancestor, string descendant)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal) { descendant };
            var stack = new Stack<string>();
            stack.Push(descendant);
            var complete = true;
            while (stack.Count > 0)
            {
                var commit = stack.Pop();
                if (commit == ancestor)
                {
                    return true;
                }

                if (!createdParents.TryGetValue(commit, out var parents))
                {
                    complete = false;
                    continue;
                }

                foreach (var parent in parents)
                {
                    if (seen.Add(parent))
                    {
                        stack.Push(parent);
                    }
                }
            }

            return complete ? false : null;
        }

        /// <summary>copy_commit.</summary>
        private async Task<string> CopyCommitAsync(string rev, string tree, List<string> parents)
        {
            var record = await RecordAsync(rev);
            var inputs = CommitCopyInputs.From(record);
            created++;
            var body = commitTreeOnly ? null : GitCommitFormat.TryBuildCommit(tree, parents, record, inputs);
            string id;
            if (body is null)
            {
                createdWithCommitTree++;
                await FlushAsync();
                id = await repository.CommitTreeAsync(tree, parents, inputs);
            }
            else
            {
                id = GitCommitFormat.ObjectId(body, sha256);
                if (pendingIds.Add(id))
                {
                    pending.Add((id, body));
                }

                if (pending.Count >= WriteBatchSize)
                {
                    await FlushAsync();
                }
            }

            trees[id] = tree;
            createdParents[id] = [.. parents];
            return id;
        }

        private async Task FlushAsync()
        {
            if (pending.Count == 0)
            {
                return;
            }

            await repository.WriteCommitsAsync(pending);
            pending.Clear();
            pendingIds.Clear();
        }
    }
}
