using Monorepo.Sync.Git;
using Monorepo.Sync.Git.Split;
using static HeadyClouds.IntegrationTests.Monorepo.Split.FileOp;

namespace HeadyClouds.IntegrationTests.Monorepo.Split;

/// <summary>Refused input, failures that git subtree shares, cancellation and the time limit.</summary>
public sealed class SubtreeSplitValidationTests : IDisposable
{
    private readonly SplitTestRepository repo = new();

    public void Dispose() => repo.Dispose();

    [Theory]
    [InlineData("")]
    [InlineData("/")]
    [InlineData("/packages/ui")]
    [InlineData("..")]
    [InlineData("../outside")]
    [InlineData("packages/../ui")]
    [InlineData("./packages/ui")]
    [InlineData("packages/./ui")]
    [InlineData("packages//ui")]
    [InlineData("packages\\ui")]
    [InlineData("packages/.git/ui")]
    [InlineData(".GIT")]
    [InlineData(" packages/ui")]
    [InlineData("packages /ui")]
    [InlineData("packages/ui\n")]
    [InlineData("packages/\tui")]
    [InlineData("packages/ui\0")]
    public async Task Invalid_prefixes_are_rejected(string prefix)
    {
        Assert.Throws<InvalidSplitPrefixException>(() => SplitPrefix.Normalize(prefix));
        Assert.False(SplitPrefix.TryNormalize(prefix, out _, out var error));
        Assert.NotEmpty(error);
        await Assert.ThrowsAsync<InvalidSplitPrefixException>(
            () => SplitAssert.Splitter.SplitAsync(repo.Bare, prefix, "main", null, CancellationToken.None));
    }

    [Theory]
    [InlineData("packages/ui", "packages/ui")]
    [InlineData("packages/ui/", "packages/ui")]
    [InlineData("packages/ui//", "packages/ui")]
    [InlineData("my packages/ui kit", "my packages/ui kit")]
    [InlineData("pakete/größe", "pakete/größe")]
    [InlineData("a...b/.hidden/x.y", "a...b/.hidden/x.y")]
    public void Valid_prefixes_are_normalised(string prefix, string expected) => Assert.Equal(expected, SplitPrefix.Normalize(prefix));

    [Fact]
    public async Task Unknown_revision_and_injection_attempts_are_refused()
    {
        repo.Commit("root\n", Put("packages/ui/a.txt", "1\n"));
        repo.Import();
        await Assert.ThrowsAsync<SubtreeSplitException>(
            () => SplitAssert.Splitter.SplitAsync(repo.Bare, "packages/ui", "no-such-branch", null, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(
            () => SplitAssert.Splitter.SplitAsync(repo.Bare, "packages/ui", "--output=/tmp/x", null, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(
            () => SplitAssert.Splitter.SplitAsync(repo.Bare, "packages/ui", "main", new Dictionary<string, string> { ["main"] = "x" }, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(
            () => SplitAssert.Splitter.SplitAsync(Path.Combine(repo.Root, "missing.git"), "packages/ui", "main", null, CancellationToken.None));
    }

    [Fact]
    public async Task Prefix_that_never_existed_gives_no_head_where_git_subtree_fails()
    {
        repo.Commit("root\n", Put("src/a.c", "1\n"));
        repo.Import();
        var ours = await SplitAssert.Splitter.SplitAsync(repo.Bare, "packages/ui", "main", null, CancellationToken.None);
        Assert.Null(ours.HeadCommitId);
        Assert.Empty(ours.NewMapEntries);
        var theirs = await repo.RunGitSubtreeAsync("packages/ui", "main");
        Assert.False(theirs.Succeeded);
        Assert.Contains("no new revisions were found", theirs.StandardError);
    }

    [Fact]
    public async Task Prefix_that_is_a_file_in_some_commit_fails_as_git_subtree_does()
    {
        repo.Commit("file first\n", Put("packages/ui", "I am a file\n"));
        repo.Commit("now a directory\n", Remove("packages/ui"), Put("packages/ui/a.txt", "1\n"));
        repo.Import();
        var error = await Assert.ThrowsAsync<SubtreeSplitException>(
            () => SplitAssert.Splitter.SplitAsync(repo.Bare, "packages/ui", "main", null, CancellationToken.None));
        Assert.Contains("blob", error.Message);
        Assert.False((await repo.RunGitSubtreeAsync("packages/ui", "main")).Succeeded);
    }

    [Fact]
    public async Task Cancelled_token_stops_the_split()
    {
        repo.Commit("root\n", Put("packages/ui/a.txt", "1\n"));
        repo.Import();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => SplitAssert.Splitter.SplitAsync(repo.Bare, "packages/ui", "main", null, cancelled.Token));
    }

    [Fact]
    public async Task Cancellation_during_the_walk_stops_it_and_kills_git()
    {
        for (var i = 0; i < 400; i++)
        {
            repo.Commit($"ui {i}\n", Put("packages/ui/a.txt", $"{i}\n"));
        }

        repo.Import();

        // One commit-tree per commit: long enough (seconds) to be cancelled half way.
        using var source = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var started = System.Diagnostics.Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => SplitAssert.CommitTreeSplitter.SplitAsync(repo.Bare, "packages/ui", "main", null, source.Token));
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(20), $"took {started.Elapsed}");
    }

    [Fact]
    public async Task Time_limit_turns_into_a_timeout()
    {
        for (var i = 0; i < 400; i++)
        {
            repo.Commit($"ui {i}\n", Put("packages/ui/a.txt", $"{i}\n"));
        }

        repo.Import();
        var splitter = new SubtreeSplitter(new GitCli(), new SubtreeSplitterOptions { Timeout = TimeSpan.FromMilliseconds(300), CreateCommitsWithCommitTree = true });
        await Assert.ThrowsAsync<TimeoutException>(
            () => splitter.SplitAsync(repo.Bare, "packages/ui", "main", null, CancellationToken.None));
    }
}
