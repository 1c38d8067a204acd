using static HeadyClouds.IntegrationTests.Monorepo.Split.FileOp;

namespace HeadyClouds.IntegrationTests.Monorepo.Split;

/// <summary>A later run with the saved map processes only new commits and still equals a fresh <c>git subtree split</c>.</summary>
public sealed class SubtreeSplitIncrementalTests : IDisposable
{
    private const string Prefix = "packages/ui";
    private readonly SplitTestRepository repo = new();

    public void Dispose() => repo.Dispose();

    private static Dictionary<string, string> Merge(IReadOnlyDictionary<string, string> map, IReadOnlyDictionary<string, string> entries)
    {
        var merged = new Dictionary<string, string>(map);
        foreach (var (key, value) in entries)
        {
            merged[key] = value;
        }

        return merged;
    }

    private void History()
    {
        repo.Commit("before the prefix\n", Put("src/a.c", "a\n"));
        var fork = repo.Commit("add ui\n", Put("packages/ui/a.txt", "1\n"));
        var feature = repo.Commit(new CommitSpec { Branch = "feature", From = fork, Message = "feature ui\n"u8.ToArray(), Ops = [Put("packages/ui/f.txt", "f\n")] });
        repo.Commit("main other\n", Put("src/a.c", "b\n"));
        repo.Commit(new CommitSpec { Merges = [feature], Message = "merge\n"u8.ToArray(), Ops = [Put("packages/ui/f.txt", "f\n")] });
        for (var i = 0; i < 5; i++)
        {
            repo.Commit($"ui {i}\n", Put("packages/ui/a.txt", $"v{i}\n"));
            repo.Commit($"other {i}\n", Put("src/a.c", $"v{i}\n"));
        }
    }

    [Fact]
    public async Task Ten_new_commits_are_the_only_work_and_the_result_equals_a_fresh_split()
    {
        History();
        repo.Import();
        var first = await SplitAssert.SameAsGitSubtreeAsync(repo, Prefix);
        var map = new Dictionary<string, string>(first.NewMapEntries);

        for (var i = 0; i < 10; i++)
        {
            repo.Commit($"new ui {i}\n", Put($"packages/ui/new{i}.txt", $"{i}\n"));
        }

        repo.Import();
        var expected = await repo.GitSubtreeSplitAsync(Prefix, "main");
        var second = await SplitAssert.Splitter.SplitAsync(repo.Bare, Prefix, "main", map, CancellationToken.None);
        Assert.Equal(expected, second.HeadCommitId);
        Assert.False(second.PreviousMapDiscarded);
        Assert.Equal(10, second.Counts.CommitsCreated);
        // The new commits, and the one commit from before the prefix existed (it has no entry in the map).
        Assert.Equal(11, second.Counts.CommitsExamined);
        Assert.Equal(10, second.NewMapEntries.Count);
        Assert.Equal(first.Counts.CommitsWalked + 10, second.Counts.CommitsWalked);
        repo.AssertComplete(second.HeadCommitId!);

        // And once more with nothing new: nothing created, same head.
        var third = await SplitAssert.Splitter.SplitAsync(repo.Bare, Prefix, "main", Merge(map, second.NewMapEntries), CancellationToken.None);
        Assert.Equal(expected, third.HeadCommitId);
        Assert.Equal(0, third.Counts.CommitsCreated);
        Assert.Empty(third.NewMapEntries);
    }

    [Fact]
    public async Task New_commits_with_merges_other_paths_and_a_deletion_equal_a_fresh_split()
    {
        History();
        repo.Import();
        var first = await SplitAssert.SameAsGitSubtreeAsync(repo, Prefix);
        var map = new Dictionary<string, string>(first.NewMapEntries);

        var tip = repo.Commit("other only\n", Put("src/z.c", "z\n"));
        var side = repo.Commit(new CommitSpec { Branch = "side", From = tip, Message = "side ui\n"u8.ToArray(), Ops = [Put("packages/ui/side.txt", "s\n")] });
        repo.Commit("main ui\n", Put("packages/ui/main.txt", "m\n"));
        repo.Commit(new CommitSpec { Merges = [side], Message = "merge side\n"u8.ToArray(), Ops = [Put("packages/ui/side.txt", "s\n")] });
        repo.Commit("delete ui\n", Remove("packages/ui"));
        repo.Commit("re-add ui\n", Put("packages/ui/back.txt", "b\n"));
        repo.Import();

        var expected = await repo.GitSubtreeSplitAsync(Prefix, "main");
        var second = await SplitAssert.Splitter.SplitAsync(repo.Bare, Prefix, "main", map, CancellationToken.None);
        Assert.Equal(expected, second.HeadCommitId);
        Assert.Equal(7, second.Counts.CommitsExamined); // six new commits and the one from before the prefix
        repo.AssertComplete(second.HeadCommitId!);
    }

    [Fact]
    public async Task Map_of_a_run_on_another_branch_is_reused()
    {
        History();
        repo.Import();
        var first = await SplitAssert.SameAsGitSubtreeAsync(repo, Prefix, "feature");
        var second = await SplitAssert.SameAsGitSubtreeAsync(repo, Prefix, "main", first.NewMapEntries);
        Assert.True(second.Counts.CommitsReused > 0);
    }

    [Fact]
    public async Task A_map_whose_split_commits_are_gone_is_discarded_and_the_result_is_still_right()
    {
        History();
        repo.Import();
        var first = await SplitAssert.Splitter.SplitAsync(repo.Bare, Prefix, "main", null, CancellationToken.None);

        // A map from elsewhere (its split commits were never written here, e.g. pruned): every value is unknown.
        var bogus = first.NewMapEntries.ToDictionary(e => e.Key, e => e.Value == e.Key ? e.Value : new string('e', 40));
        repo.Commit("new ui\n", Put("packages/ui/n.txt", "n\n"));
        repo.Import();
        var expected = await repo.GitSubtreeSplitAsync(Prefix, "main");
        var second = await SplitAssert.Splitter.SplitAsync(repo.Bare, Prefix, "main", bogus, CancellationToken.None);
        Assert.True(second.PreviousMapDiscarded);
        Assert.Equal(expected, second.HeadCommitId);
    }
}
