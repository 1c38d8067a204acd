using static HeadyClouds.IntegrationTests.Monorepo.Split.FileOp;

namespace HeadyClouds.IntegrationTests.Monorepo.Split;

/// <summary>
/// Histories that already hold git-subtree commits (<c>add</c>, <c>add --squash</c>, <c>split --rejoin</c>): their
/// <c>git-subtree-*:</c> trailers change what git subtree split walks and reuses, and ours must follow.
/// </summary>
public sealed class SubtreeSplitJoinTests : IDisposable
{
    private readonly SplitTestRepository repo = new();

    public void Dispose() => repo.Dispose();

    private string CheckedOutClone()
    {
        var work = Path.Combine(repo.Root, "checkout-" + Guid.NewGuid().ToString("N"));
        repo.Git(null, "clone", "--quiet", repo.Bare, work);
        return work;
    }

    [Fact]
    public async Task History_with_a_rejoin_commit()
    {
        repo.Commit("root\n", Put("packages/ui/a.txt", "1\n"), Put("src/x.c", "x\n"));
        repo.Commit("ui\n", Put("packages/ui/a.txt", "2\n"));
        repo.Commit("other\n", Put("src/x.c", "y\n"));
        repo.Import();

        var work = CheckedOutClone();
        repo.Git(work, "subtree", "split", "--prefix=packages/ui", "--rejoin", "HEAD");
        repo.Git(work, "push", "--quiet", "origin", "HEAD:main");

        repo.Commit("ui after rejoin\n", Put("packages/ui/b.txt", "b\n"));
        repo.Commit("other after rejoin\n", Put("src/x.c", "z\n"));
        repo.Commit("ui again\n", Put("packages/ui/a.txt", "3\n"));
        repo.Import();
        await SplitAssert.SameAsGitSubtreeAsync(repo, "packages/ui");
    }

    [Fact]
    public async Task Branch_forked_before_a_rejoin_and_merged_after_it_is_split_through_its_excluded_ancestors()
    {
        repo.Commit("root\n", Put("packages/ui/a.txt", "1\n"), Put("src/x.c", "x\n"));
        var fork = repo.Commit("ui 2\n", Put("packages/ui/a.txt", "2\n"));
        repo.Commit("other\n", Put("src/x.c", "y\n"));
        var old = repo.Commit(new CommitSpec { Branch = "old", From = fork, Message = "old branch ui\n"u8.ToArray(), Ops = [Put("packages/ui/old.txt", "o\n")] });
        repo.Import();

        var work = CheckedOutClone();
        repo.Git(work, "subtree", "split", "--prefix=packages/ui", "--rejoin", "HEAD");
        repo.Git(work, "push", "--quiet", "origin", "HEAD:main");

        repo.Commit("ui after rejoin\n", Put("packages/ui/b.txt", "b\n"));
        repo.Commit(new CommitSpec { Merges = [old], Message = "merge the old branch\n"u8.ToArray(), Ops = [Put("packages/ui/old.txt", "o\n")] });
        repo.Import();
        var result = await SplitAssert.SameAsGitSubtreeAsync(repo, "packages/ui");
        Assert.True(result.Counts.CommitsExamined > result.Counts.CommitsWalked - 3, "the fork's ancestors are processed outside the walk");
    }

    [Fact]
    public async Task Incremental_run_across_a_rejoin()
    {
        repo.Commit("root\n", Put("packages/ui/a.txt", "1\n"), Put("src/x.c", "x\n"));
        repo.Commit("ui\n", Put("packages/ui/a.txt", "2\n"));
        repo.Import();
        var first = await SplitAssert.Splitter.SplitAsync(repo.Bare, "packages/ui", "main", null, CancellationToken.None);

        var work = CheckedOutClone();
        repo.Git(work, "subtree", "split", "--prefix=packages/ui", "--rejoin", "HEAD");
        repo.Git(work, "push", "--quiet", "origin", "HEAD:main");
        repo.Commit("ui after rejoin\n", Put("packages/ui/b.txt", "b\n"));
        repo.Import();

        var second = await SplitAssert.SameAsGitSubtreeAsync(repo, "packages/ui", "main", first.NewMapEntries);
        Assert.False(second.PreviousMapDiscarded);
    }

    [Fact]
    public async Task History_with_a_subtree_add_of_another_project()
    {
        repo.Commit("main root\n", Put("README.md", "main\n"));
        repo.Commit(new CommitSpec { Branch = "lib", Message = "lib root\n"u8.ToArray(), Ops = [Put("lib.c", "1\n")] });
        repo.Commit(new CommitSpec { Branch = "lib", Message = "lib 2\n"u8.ToArray(), Ops = [Put("lib.c", "2\n"), Put("lib.h", "h\n")] });
        repo.Import();

        var work = CheckedOutClone();
        repo.Git(work, "subtree", "add", "--prefix=vendor/lib", "origin/lib");
        repo.Git(work, "push", "--quiet", "origin", "HEAD:main");

        repo.Commit("patch lib in place\n", Put("vendor/lib/lib.c", "3\n"));
        repo.Commit("main work\n", Put("README.md", "main 2\n"));
        repo.Import();
        await SplitAssert.SameAsGitSubtreeAsync(repo, "vendor/lib");
    }

    [Fact]
    public async Task History_with_a_squashed_subtree_add()
    {
        repo.Commit("main root\n", Put("README.md", "main\n"));
        repo.Commit(new CommitSpec { Branch = "lib", Message = "lib root\n"u8.ToArray(), Ops = [Put("lib.c", "1\n")] });
        repo.Commit(new CommitSpec { Branch = "lib", Message = "lib 2\n"u8.ToArray(), Ops = [Put("lib.c", "2\n")] });
        repo.Import();

        var work = CheckedOutClone();
        repo.Git(work, "subtree", "add", "--squash", "--prefix=vendor/lib", "origin/lib");
        repo.Git(work, "push", "--quiet", "origin", "HEAD:main");

        repo.Commit("patch lib\n", Put("vendor/lib/lib.c", "3\n"));
        repo.Import();
        await SplitAssert.SameAsGitSubtreeAsync(repo, "vendor/lib");
    }
}
