using System.Text;
using System.Text.RegularExpressions;

namespace Monorepo.Sync.Git.Split;

/// <summary>The git plumbing one split needs, all through <see cref="GitCli"/>, on one repository.</summary>
internal sealed partial class SplitRepository(GitCli git, string gitDir, string scratchDirectory, TimeSpan callTimeout, CancellationToken cancellationToken)
{
    // git subtree runs with the defaults of these settings; a repository's own config must not change the ids.
    private static readonly string[] PinnedConfig =
    [
        "-c", "i18n.commitEncoding=UTF-8",
        "-c", "i18n.logOutputEncoding=UTF-8",
        "-c", "grep.patternType=basic",
        "-c", "log.showSignature=false",
        "-c", "core.quotePath=false",
    ];

    [GeneratedRegex("^(?<oid>[0-9a-f]{40}|[0-9a-f]{64}) (?<type>[a-z]+) [0-9]+$")]
    private static partial Regex BatchCheckLine();

    private int fileCounter;

    public int Invocations { get; private set; }

    private async Task<GitResult> RunAsync(IEnumerable<string> arguments, string? standardInput = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Invocations++;
        var argv = new List<string> { "--git-dir=" + gitDir };
        argv.AddRange(PinnedConfig);
        argv.AddRange(arguments);
        return await git.RunAsync(gitDir, argv, cancellationToken, callTimeout, environment, standardInput);
    }

    public async Task<bool> IsSha256Async()
    {
        var result = (await RunAsync(["rev-parse", "--show-object-format"])).EnsureSuccess("git rev-parse --show-object-format");
        return result.StandardOutput.Trim() == "sha256";
    }

    /// <summary><c>git rev-parse -q --verify REV^{commit}</c>: the commit id, or null.</summary>
    public async Task<string?> ResolveCommitAsync(string revision)
    {
        var result = await RunAsync(["rev-parse", "-q", "--verify", "--end-of-options", revision + "^{commit}"]);
        return result.Succeeded ? result.StandardOutput.Trim() : null;
    }

    /// <summary><c>git rev-parse REV</c> succeeds (git subtree's rev_exists).</summary>
    public async Task<bool> RevisionExistsAsync(string revision) =>
        (await RunAsync(["rev-parse", "-q", "--verify", "--end-of-options", revision])).Succeeded;

    /// <summary><c>git rev-parse REV^@</c>: the parents of a commit.</summary>
    public async Task<string[]> ParentsAsync(string commit)
    {
        var result = (await RunAsync(["rev-parse", commit + "^@"])).EnsureSuccess($"git rev-parse {commit}^@");
        return result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>git subtree's history walk: <c>git rev-list --topo-order --reverse --parents REV UNREVS...</c>.</summary>
    public async Task<List<(string Id, string[] Parents)>> RevListAsync(string revision, IReadOnlyList<string> unrevs)
    {
        var arguments = new List<string> { "rev-list", "--topo-order", "--reverse", "--parents", revision };
        arguments.AddRange(unrevs);
        var result = (await RunAsync(arguments)).EnsureSuccess("git rev-list");
        var list = new List<(string, string[])>();
        foreach (var line in result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var ids = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            list.Add((ids[0], ids[1..]));
        }

        return list;
    }

    /// <summary><c>git cat-file --batch-check</c>: for each object name, its id and type, or null when it does not resolve.</summary>
    public async Task<(string Id, string Type)?[]> BatchCheckAsync(IReadOnlyList<string> names)
    {
        var answers = new (string, string)?[names.Count];
        if (names.Count == 0)
        {
            return answers;
        }

        var input = new StringBuilder();
        foreach (var name in names)
        {
            input.Append(name).Append('\n');
        }

        var result = (await RunAsync(["cat-file", "--batch-check"], input.ToString())).EnsureSuccess("git cat-file --batch-check");
        var lines = result.StandardOutput.Split('\n');
        if (lines.Length < names.Count)
        {
            throw new SubtreeSplitException("Unexpected output from git cat-file --batch-check.");
        }

        for (var i = 0; i < names.Count; i++)
        {
            var match = BatchCheckLine().Match(lines[i]);
            answers[i] = match.Success ? (match.Groups["oid"].Value, match.Groups["type"].Value) : null;
        }

        return answers;
    }

    /// <summary>
    /// What copy_commit reads for each commit (<see cref="CommitRecord.LogFormat"/>), in one <c>git log --no-walk</c>,
    /// written to a file so that the bytes stay exactly as git prints them.
    /// </summary>
    public async Task<Dictionary<string, CommitRecord>> ReadCommitRecordsAsync(IReadOnlyCollection<string> commits)
    {
        if (commits.Count == 0)
        {
            return new Dictionary<string, CommitRecord>(StringComparer.Ordinal);
        }

        var output = NextScratchFile("log");
        try
        {
            (await RunAsync(
                [
                    "log", "--no-walk=unsorted", "--stdin", "--no-show-signature", "--date=raw",
                    "--format=tformat:" + CommitRecord.LogFormat, "--output=" + output,
                ],
                string.Join('\n', commits) + "\n")).EnsureSuccess("git log (commit metadata)");
            var records = CommitRecord.ParseLog(await File.ReadAllBytesAsync(output, cancellationToken));
            foreach (var commit in commits)
            {
                if (!records.ContainsKey(commit))
                {
                    throw new SubtreeSplitException($"git log did not print commit {commit}.");
                }
            }

            return records;
        }
        finally
        {
            File.Delete(output);
        }
    }

    /// <summary>
    /// find_existing_splits' query: <c>git log --grep='^git-subtree-dir: DIR/*$' --pretty=format:'START %H%n%s%n%n%b%nEND%n' REV</c>,
    /// as bytes. git subtree reads it through a pipe, so a failing <c>git log</c> (a prefix that is not a valid
    /// regular expression, say) counts as whatever it printed; so here.
    /// </summary>
    public async Task<byte[]> ReadSplitTrailersAsync(string directory, string revision)
    {
        var output = NextScratchFile("joins");
        try
        {
            await RunAsync(
                [
                    "log", "--grep=^git-subtree-dir: " + directory + "/*$", "--no-show-signature",
                    "--pretty=format:START %H%n%s%n%n%b%nEND%n", "--output=" + output, revision, "--",
                ]);
            return File.Exists(output) ? await File.ReadAllBytesAsync(output, cancellationToken) : [];
        }
        finally
        {
            File.Delete(output);
        }
    }

    /// <summary><c>git merge-base --is-ancestor A B</c>.</summary>
    public async Task<bool> IsAncestorAsync(string ancestor, string descendant)
    {
        var result = await RunAsync(["merge-base", "--is-ancestor", ancestor, descendant]);
        return result.ExitCode switch
        {
            0 => true,
            1 => false,
            _ => throw new GitCommandException($"git merge-base --is-ancestor failed (git exit {result.ExitCode}): {GitCli.Redact(result.StandardError.Trim())}", result),
        };
    }

    /// <summary>
    /// Writes commit objects (bodies built by <see cref="GitCommitFormat.TryBuildCommit"/>) and checks that git
    /// reports the ids computed for them. One <c>git fast-import</c> writes them all as a pack (a ref is never
    /// created: the stream ends by resetting its branch); if it fails or gives any other id, they are written as
    /// they are with one <c>git hash-object -w --stdin-paths</c> (loose objects: slower, exact by construction).
    /// </summary>
    public async Task WriteCommitsAsync(IReadOnlyList<(string Id, byte[] Body)> commits)
    {
        if (commits.Count == 0)
        {
            return;
        }

        if (!await TryFastImportAsync(commits))
        {
            await HashObjectsAsync(commits);
        }
    }

    private async Task<bool> TryFastImportAsync(IReadOnlyList<(string Id, byte[] Body)> commits)
    {
        var branch = "refs/headyclouds-split-scratch/" + Guid.NewGuid().ToString("N");
        var marks = new Dictionary<string, int>(StringComparer.Ordinal);
        var stream = new StringBuilder();
        for (var i = 0; i < commits.Count; i++)
        {
            if (!TryParseCommitBody(commits[i].Body, out var tree, out var parents, out var author, out var committer, out var message))
            {
                return false;
            }

            var mark = i + 1;
            marks[commits[i].Id] = mark;
            stream.Append("reset ").Append(branch).Append('\n');
            stream.Append("commit ").Append(branch).Append('\n');
            stream.Append("mark :").Append(mark).Append('\n');
            stream.Append("author ").Append(author).Append('\n');
            stream.Append("committer ").Append(committer).Append('\n');
            stream.Append("data ").Append(Encoding.UTF8.GetByteCount(message)).Append('\n').Append(message).Append('\n');
            for (var p = 0; p < parents.Count; p++)
            {
                stream.Append(p == 0 ? "from " : "merge ")
                    .Append(marks.TryGetValue(parents[p], out var parentMark) ? ":" + parentMark : parents[p])
                    .Append('\n');
            }

            stream.Append("M 040000 ").Append(tree).Append(" \"\"\n\n");
        }

        stream.Append("reset ").Append(branch).Append("\n\n");
        var marksFile = NextScratchFile("marks");
        try
        {
            var result = await RunAsync(
                ["fast-import", "--quiet", "--date-format=raw-permissive", "--export-marks=" + marksFile],
                stream.ToString());
            if (!result.Succeeded || !File.Exists(marksFile))
            {
                return false;
            }

            var written = new Dictionary<int, string>();
            foreach (var line in await File.ReadAllLinesAsync(marksFile, cancellationToken))
            {
                var space = line.IndexOf(' ');
                if (space > 1 && int.TryParse(line.AsSpan(1, space - 1), out var mark))
                {
                    written[mark] = line[(space + 1)..];
                }
            }

            return commits.All(c => written.TryGetValue(marks[c.Id], out var id) && id == c.Id);
        }
        finally
        {
            File.Delete(marksFile);
        }
    }

    /// <summary>Splits a commit body as commit-tree writes it; false if it is not valid UTF-8 or not of that shape.</summary>
    private static bool TryParseCommitBody(byte[] body, out string tree, out List<string> parents, out string author, out string committer, out string message)
    {
        tree = author = committer = message = "";
        parents = [];
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(body);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        var split = text.IndexOf("\n\n", StringComparison.Ordinal);
        if (split < 0)
        {
            return false;
        }

        message = text[(split + 2)..];
        foreach (var line in text[..split].Split('\n'))
        {
            if (line.StartsWith("tree ", StringComparison.Ordinal))
            {
                tree = line[5..];
            }
            else if (line.StartsWith("parent ", StringComparison.Ordinal))
            {
                parents.Add(line[7..]);
            }
            else if (line.StartsWith("author ", StringComparison.Ordinal))
            {
                author = line[7..];
            }
            else if (line.StartsWith("committer ", StringComparison.Ordinal))
            {
                committer = line[10..];
            }
            else
            {
                return false;
            }
        }

        return tree.Length > 0 && author.Length > 0 && committer.Length > 0;
    }

    private async Task HashObjectsAsync(IReadOnlyList<(string Id, byte[] Body)> commits)
    {
        var files = new List<string>(commits.Count);
        try
        {
            foreach (var (_, body) in commits)
            {
                var file = NextScratchFile("commit");
                files.Add(file);
                await File.WriteAllBytesAsync(file, body, cancellationToken);
            }

            var result = (await RunAsync(["hash-object", "-w", "-t", "commit", "--no-filters", "--stdin-paths"], string.Join('\n', files) + "\n"))
                .EnsureSuccess("git hash-object -w");
            var ids = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            for (var i = 0; i < commits.Count; i++)
            {
                if (i >= ids.Length || ids[i] != commits[i].Id)
                {
                    throw new SubtreeSplitException($"git wrote commit {(i < ids.Length ? ids[i] : "(none)")} where {commits[i].Id} was computed.");
                }
            }
        }
        finally
        {
            foreach (var file in files)
            {
                File.Delete(file);
            }
        }
    }

    /// <summary>copy_commit's <c>git commit-tree TREE -p P...</c> with the six values in the environment, message from a file.</summary>
    public async Task<string> CommitTreeAsync(string tree, IReadOnlyList<string> parents, CommitCopyInputs inputs)
    {
        var messageFile = NextScratchFile("message");
        try
        {
            await File.WriteAllBytesAsync(messageFile, inputs.Message, cancellationToken);
            var arguments = new List<string> { "commit-tree", tree };
            foreach (var parent in parents)
            {
                arguments.Add("-p");
                arguments.Add(parent);
            }

            arguments.Add("-F");
            arguments.Add(messageFile);
            // git trims crud and drops '<', '>' and newlines itself; doing it first keeps the variables valid UTF-8
            // (git would re-encode invalid bytes as Latin-1: the same bytes result either way).
            var environment = new Dictionary<string, string>
            {
                ["GIT_AUTHOR_NAME"] = GitCommitFormat.EnvironmentValue(GitCommitFormat.WithoutCrud(inputs.AuthorName)),
                ["GIT_AUTHOR_EMAIL"] = GitCommitFormat.EnvironmentValue(GitCommitFormat.WithoutCrud(inputs.AuthorEmail)),
                ["GIT_AUTHOR_DATE"] = GitCommitFormat.EnvironmentValue(inputs.AuthorDate),
                ["GIT_COMMITTER_NAME"] = GitCommitFormat.EnvironmentValue(GitCommitFormat.WithoutCrud(inputs.CommitterName)),
                ["GIT_COMMITTER_EMAIL"] = GitCommitFormat.EnvironmentValue(GitCommitFormat.WithoutCrud(inputs.CommitterEmail)),
                ["GIT_COMMITTER_DATE"] = GitCommitFormat.EnvironmentValue(inputs.CommitterDate),
            };
            var result = (await RunAsync(arguments, environment: environment)).EnsureSuccess("git commit-tree");
            return result.StandardOutput.Trim();
        }
        finally
        {
            File.Delete(messageFile);
        }
    }

    private string NextScratchFile(string kind) => Path.Combine(scratchDirectory, $"{kind}-{++fileCounter}");
}
