using static HeadyClouds.IntegrationTests.Monorepo.Split.FileOp;

namespace HeadyClouds.IntegrationTests.Monorepo.Split;

/// <summary>History shapes: each split must print the same head id as <c>git subtree split</c>.</summary>
public sealed class SubtreeSplitHistoryTests : IDisposable
{
    private const string Prefix = "packages/ui";
    private readonly SplitTestRepository repo = new();

    public void Dispose() => repo.Dispose();

    [Fact]
    public async Task Linear_history()
    {
        repo.Commit("root\n", Put("README.md", "hello\n"), Put("packages/ui/a.txt", "a1\n"));
        for (var i = 2; i <= 6; i++)
        {
            repo.Commit($"ui change {i}\n", Put("packages/ui/a.txt", $"a{i}\n"), Put($"packages/ui/n{i}.txt", "x\n"));
        }

        repo.Import();
        var result = await SplitAssert.SameAsGitSubtreeAsync(repo, Prefix);
        Assert.Equal(6, result.Counts.CommitsCreated);
        Assert.Equal(6, result.Counts.CommitsExamined);
        Assert.Equal(6, result.NewMapEntries.Count);
        Assert.Equal(6, int.Parse(repo.Git(repo.Bare, "rev-list", "--count", result.HeadCommitId!).Trim()));
    }

    [Fact]
    public async Task Commits_touching_only_other_paths_are_skipped_and_history_before_the_prefix_is_ignored()
    {
        repo.Commit("before the prefix existed\n", Put("src/main.c", "int main;\n"));
        repo.Commit("still no prefix\n", Put("src/util.c", "util\n"));
        repo.Commit("add ui\n", Put("packages/ui/index.ts", "export {}\n"));
        repo.Commit("other only\n", Put("src/main.c", "int main(void);\n"));
        repo.Commit("sibling dir with the same start\n", Put("packages/ui-kit/x.ts", "x\n"));
        repo.Commit("ui\n", Put("packages/ui/index.ts", "export const a = 1;\n"));
        repo.Commit("other again\n", Put("docs/readme.md", "docs\n"));
        repo.Import();
        var result = await SplitAssert.SameAsGitSubtreeAsync(repo, Prefix);
        Assert.Equal(2, result.Counts.CommitsCreated);
        Assert.Equal(7, result.Counts.CommitsWalked);
    }

    [Fact]
    public async Task Prefix_deleted_and_added_again()
    {
        repo.Commit("add\n", Put("packages/ui/a.txt", "1\n"), Put("other.txt", "o\n"));
        repo.Commit("change\n", Put("packages/ui/a.txt", "2\n"));
        repo.Commit("delete the prefix\n", Remove("packages/ui"));
        repo.Commit("unrelated while gone\n", Put("other.txt", "o2\n"));
        repo.Commit("add it again\n", Put("packages/ui/a.txt", "3\n"));
        repo.Commit("change again\n", Put("packages/ui/b.txt", "b\n"));
        repo.Import();
        await SplitAssert.SameAsGitSubtreeAsync(repo, Prefix);
    }

    [Fact]
    public async Task Prefix_deleted_at_the_tip()
    {
        repo.Commit("add\n", Put("packages/ui/a.txt", "1\n"), Put("other.txt", "o\n"));
        repo.Commit("change\n", Put("packages/ui/a.txt", "2\n"));
        repo.Commit("delete the prefix\n", Remove("packages/ui"));
        repo.Commit("after\n", Put("other.txt", "o2\n"));
        repo.Import();
        await SplitAssert.SameAsGitSubtreeAsync(repo, Prefix);
    }

    [Fact]
    public async Task Merge_where_only_the_branch_touched_the_prefix()
    {
        var fork = repo.Commit("root\n", Put("packages/ui/a.txt", "1\n"), Put("src/x.c", "x\n"));
        var feature = repo.Commit(new CommitSpec { Branch = "feature", From = fork, Message = "feature ui\n"u8.ToArray(), Ops = [Put("packages/ui/a.txt", "feature\n")] });
        feature = repo.Commit(new CommitSpec { Branch = "feature", Message = "feature ui 2\n"u8.ToArray(), Ops = [Put("packages/ui/b.txt", "b\n")] });
        var main = repo.Commit("main other\n", Put("src/x.c", "y\n"));
        repo.Commit(new CommitSpec { From = main, Merges = [feature], Message = "Merge feature\n"u8.ToArray(), Ops = [Put("packages/ui/a.txt", "feature\n"), Put("packages/ui/b.txt", "b\n")] });
        repo.Import();
        await SplitAssert.SameAsGitSubtreeAsync(repo, Prefix);
    }

    [Fact]
    public async Task Merge_where_only_main_touched_the_prefix()
    {
        var fork = repo.Commit("root\n", Put("packages/ui/a.txt", "1\n"), Put("src/x.c", "x\n"));
        var feature = repo.Commit(new CommitSpec { Branch = "feature", From = fork, Message = "feature other\n"u8.ToArray(), Ops = [Put("src/x.c", "feature\n")] });
        var main = repo.Commit("main ui\n", Put("packages/ui/a.txt", "main\n"));
        repo.Commit(new CommitSpec { From = main, Merges = [feature], Message = "Merge feature\n"u8.ToArray(), Ops = [Put("src/x.c", "feature\n")] });
        repo.Commit("after merge\n", Put("packages/ui/c.txt", "c\n"));
        repo.Import();
        await SplitAssert.SameAsGitSubtreeAsync(repo, Prefix);
    }

    [Fact]
    public async Task Merge_where_both_sides_touched_the_prefix()
    {
        var fork = repo.Commit("root\n", Put("packages/ui/a.txt", "1\n"), Put("src/x.c", "x\n"));
        var feature = repo.Commit(new CommitSpec { Branch = "feature", From = fork, Message = "feature ui\n"u8.ToArray(), Ops = [Put("packages/ui/f.txt", "f\n")] });
        var main = repo.Commit("main ui\n", Put("packages/ui/m.txt", "m\n"));
        repo.Commit(new CommitSpec { From = main, Merges = [feature], Message = "Merge feature\n"u8.ToArray(), Ops = [Put("packages/ui/f.txt", "f\n")] });
        repo.Import();
        await SplitAssert.SameAsGitSubtreeAsync(repo, Prefix);
    }

    [Fact]
    public async Task Merge_where_neither_side_touched_the_prefix_and_merge_that_resolves_to_one_side()
    {
        var fork = repo.Commit("root\n", Put("packages/ui/a.txt", "1\n"), Put("src/x.c", "x\n"));
        var feature = repo.Commit(new CommitSpec { Branch = "feature", From = fork, Message = "feature other\n"u8.ToArray(), Ops = [Put("src/f.c", "f\n")] });
        var main = repo.Commit("main other\n", Put("src/m.c", "m\n"));
        var merge = repo.Commit(new CommitSpec { From = main, Merges = [feature], Message = "Merge 1\n"u8.ToArray(), Ops = [Put("src/f.c", "f\n")] });

        // Both sides change the prefix, the merge keeps main's version: identical to one parent, history on the other.
        var feature2 = repo.Commit(new CommitSpec { Branch = "feature", From = merge, Message = "feature ui\n"u8.ToArray(), Ops = [Put("packages/ui/a.txt", "feature\n")] });
        var main2 = repo.Commit(new CommitSpec { From = merge, Message = "main ui\n"u8.ToArray(), Ops = [Put("packages/ui/a.txt", "main\n")] });
        repo.Commit(new CommitSpec { From = main2, Merges = [feature2], Message = "Merge 2 (ours)\n"u8.ToArray() });
        repo.Import();
        await SplitAssert.SameAsGitSubtreeAsync(repo, Prefix);
    }

    [Fact]
    public async Task Octopus_merge()
    {
        var fork = repo.Commit("root\n", Put("packages/ui/a.txt", "1\n"));
        var b1 = repo.Commit(new CommitSpec { Branch = "b1", From = fork, Message = "b1\n"u8.ToArray(), Ops = [Put("packages/ui/b1.txt", "1\n")] });
        var b2 = repo.Commit(new CommitSpec { Branch = "b2", From = fork, Message = "b2\n"u8.ToArray(), Ops = [Put("src/b2.txt", "2\n")] });
        var b3 = repo.Commit(new CommitSpec { Branch = "b3", From = fork, Message = "b3\n"u8.ToArray(), Ops = [Put("packages/ui/b3.txt", "3\n")] });
        repo.Commit(new CommitSpec { From = fork, Merges = [b1, b2, b3], Message = "octopus\n"u8.ToArray(), Ops = [Put("packages/ui/b1.txt", "1\n"), Put("src/b2.txt", "2\n"), Put("packages/ui/b3.txt", "3\n")] });
        repo.Import();
        await SplitAssert.SameAsGitSubtreeAsync(repo, Prefix);
    }

    [Fact]
    public async Task Merge_of_unrelated_histories_with_identical_prefix_trees()
    {
        repo.Commit("root one\n", Put("packages/ui/a.txt", "same\n"), Put("one.txt", "1\n"));
        var other = repo.Commit(new CommitSpec { Branch = "other", Message = "root two\n"u8.ToArray(), Ops = [Put("packages/ui/a.txt", "same\n"), Put("two.txt", "2\n")] });
        repo.Commit(new CommitSpec { Merges = [other], Message = "merge unrelated\n"u8.ToArray(), Ops = [Put("two.txt", "2\n")] });
        repo.Commit("after\n", Put("packages/ui/a.txt", "changed\n"));
        repo.Import();
        await SplitAssert.SameAsGitSubtreeAsync(repo, Prefix);
    }

    [Fact]
    public async Task Branches_interleaved_with_repeated_merges()
    {
        var main = repo.Commit("root\n", Put("packages/ui/a.txt", "0\n"), Put("src/s.txt", "0\n"));
        var side = main;
        for (var round = 1; round <= 4; round++)
        {
            side = repo.Commit(new CommitSpec { Branch = "side", From = side == main ? main : null, Message = System.Text.Encoding.UTF8.GetBytes($"side {round}\n"), Ops = [Put(round % 2 == 0 ? "src/side.txt" : "packages/ui/side.txt", $"{round}\n")] });
            main = repo.Commit($"main {round}\n", Put(round % 3 == 0 ? "packages/ui/main.txt" : "src/main.txt", $"{round}\n"));
            main = repo.Commit(new CommitSpec { Merges = [side], Message = System.Text.Encoding.UTF8.GetBytes($"merge {round}\n"), Ops = [Put(round % 2 == 0 ? "src/side.txt" : "packages/ui/side.txt", $"{round}\n")] });
            repo.Reset("side", main);
            side = main;
        }

        repo.Import();
        await SplitAssert.SameAsGitSubtreeAsync(repo, Prefix);
    }

    [Fact]
    public async Task Prefix_with_spaces_nested_deeply()
    {
        const string prefix = "my packages/ui kit/src";
        repo.Commit("root\n", Put("my packages/ui kit/src/a b.txt", "1\n"), Put("my packages/other.txt", "o\n"));
        repo.Commit("change\n", Put("my packages/ui kit/src/a b.txt", "2\n"));
        repo.Commit("other\n", Put("my packages/other.txt", "o2\n"));
        repo.Commit("change 2\n", Put("my packages/ui kit/src/c.txt", "3\n"));
        repo.Import();
        await SplitAssert.SameAsGitSubtreeAsync(repo, prefix);
    }

    [Fact]
    public async Task Non_ascii_prefix_matches_git_subtree_without_path_quoting()
    {
        // git subtree compares ls-tree's (quoted) output with the prefix, so it needs core.quotePath=false here.
        const string prefix = "pakete/größe";
        repo.Commit("root\n", Put("pakete/größe/a.txt", "1\n"));
        repo.Commit("change\n", Put("pakete/größe/a.txt", "2\n"), Put("x.txt", "x\n"));
        repo.Import();
        await SplitAssert.SameAsGitSubtreeAsync(repo, prefix, quotePathOff: true);
    }

    [Fact]
    public async Task Prefix_that_is_not_a_valid_regular_expression()
    {
        // git subtree greps the history for "^git-subtree-dir: PREFIX/*$"; here git log fails and the split goes on.
        const string prefix = "packages/[ui*";
        repo.Commit("root\n", Put("packages/[ui*/a.txt", "1\n"), Put("x.txt", "x\n"));
        repo.Commit("other\n", Put("x.txt", "y\n"));
        repo.Commit("change\n", Put("packages/[ui*/a.txt", "2\n"));
        repo.Import();
        await SplitAssert.SameAsGitSubtreeAsync(repo, prefix);
    }

    [Fact]
    public async Task Trailing_slash_is_normalised()
    {
        repo.Commit("root\n", Put("packages/ui/a.txt", "1\n"));
        repo.Commit("change\n", Put("packages/ui/a.txt", "2\n"));
        repo.Import();
        var expected = await repo.GitSubtreeSplitAsync("packages/ui/", "main");
        var ours = await SplitAssert.Splitter.SplitAsync(repo.Bare, "packages/ui/", "main", null, CancellationToken.None);
        Assert.Equal(expected, ours.HeadCommitId);
        var again = await SplitAssert.Splitter.SplitAsync(repo.Bare, Prefix, "main", null, CancellationToken.None);
        Assert.Equal(expected, again.HeadCommitId);
    }

    [Fact]
    public async Task Split_of_a_branch_other_than_main_and_of_a_commit_id()
    {
        var root = repo.Commit("root\n", Put("packages/ui/a.txt", "1\n"));
        repo.Commit(new CommitSpec { Branch = "topic", From = root, Message = "topic\n"u8.ToArray(), Ops = [Put("packages/ui/t.txt", "t\n")] });
        var middle = repo.Commit("main 2\n", Put("packages/ui/a.txt", "2\n"));
        repo.Commit("main 3\n", Put("packages/ui/a.txt", "3\n"));
        repo.Import();
        await SplitAssert.SameAsGitSubtreeAsync(repo, Prefix, "topic");
        await SplitAssert.SameAsGitSubtreeAsync(repo, Prefix, repo.Id(middle));
    }

    [Fact]
    public async Task Non_canonical_prefix_tree_is_used_as_it_is()
    {
        // A tree as old or foreign tools wrote them: unsorted entries, a group-writable file mode.
        var blob = HashBlob("content\n");
        var raw = new MemoryStream();
        foreach (var (mode, name) in new[] { ("100664", "b.txt"), ("100644", "a.txt") })
        {
            raw.Write(System.Text.Encoding.ASCII.GetBytes($"{mode} {name}\0"));
            raw.Write(Convert.FromHexString(blob));
        }

        var tree = System.Text.Encoding.ASCII.GetString(
            SplitTestRepository.Git(repo.Bare, raw.ToArray(), "hash-object", "-t", "tree", "--literally", "-w", "--stdin")).Trim();
        repo.Commit("root\n", Put("packages/ui/x.txt", "x\n"), Put("other.txt", "o\n"));
        repo.Commit(new CommitSpec { Message = "odd tree\n"u8.ToArray(), Ops = [new FileOp.Tree("packages/ui", tree)] });
        repo.Commit("other\n", Put("other.txt", "p\n"));
        repo.Import();
        await SplitAssert.SameAsGitSubtreeAsync(repo, Prefix);
    }

    private string HashBlob(string content) =>
        System.Text.Encoding.ASCII.GetString(SplitTestRepository.Git(repo.Bare, System.Text.Encoding.UTF8.GetBytes(content), "hash-object", "-w", "--stdin")).Trim();

    [Fact]
    public async Task Sha256_repository()
    {
        using var sha256 = new SplitTestRepository("sha256");
        sha256.Commit("root\n", Put("packages/ui/a.txt", "1\n"), Put("x.txt", "x\n"));
        sha256.Commit("other\n", Put("x.txt", "y\n"));
        sha256.Commit("ui\n", Put("packages/ui/a.txt", "2\n"));
        sha256.Import();
        var result = await SplitAssert.SameAsGitSubtreeAsync(sha256, Prefix);
        Assert.Equal(64, result.HeadCommitId!.Length);
    }
}
