using Monorepo.Sync.Git.Mirror;

namespace HeadyClouds.UnitTests.Monorepo.Mirror;

public sealed class GitOutputTests
{
    private static readonly string A = new('a', 40);
    private static readonly string B = new('b', 40);

    [Fact]
    public void ParsesLsRemoteAndForEachRefLines()
    {
        var output = $"{A}\trefs/heads/main\n{B}\trefs/tags/v1\r\n{new string('c', 64)}\trefs/heads/sha256\n\n";

        var refs = GitOutput.ParseRefLines(output);

        Assert.Equal(3, refs.Count);
        Assert.Equal(A, refs["refs/heads/main"]);
        Assert.Equal(B, refs["refs/tags/v1"]);
        Assert.Equal(new string('c', 64), refs["refs/heads/sha256"]);
    }

    [Fact]
    public void IdsAreLowerCased() =>
        Assert.Equal(A, GitOutput.ParseRefLines($"{A.ToUpperInvariant()}\trefs/heads/main")["refs/heads/main"]);

    [Theory]
    [InlineData("HEAD")]
    [InlineData("refs/tags/v1^{}")]
    [InlineData("refs/heads/--upload-pack=evil")]
    [InlineData("refs/heads/a:b")]
    [InlineData("refs/heads/a b")]
    [InlineData("refs/heads/a..b")]
    [InlineData("refs/heads/a~1")]
    [InlineData("refs/heads/*")]
    [InlineData("refs/heads/x.lock")]
    [InlineData("refs/heads/.x")]
    [InlineData("refs/heads/")]
    [InlineData("refs//x")]
    [InlineData("-refs/heads/x")]
    public void UnsafeRefNamesAreSkipped(string name)
    {
        // "refs/heads/--upload-pack=evil" is a legal ref name git would accept; it is kept (it only ever follows a ':' or '=').
        var expected = name == "refs/heads/--upload-pack=evil" ? 1 : 0;
        Assert.Equal(expected, GitOutput.ParseRefLines($"{A}\t{name}").Count);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("--upload-pack=x")]
    [InlineData("gggggggggggggggggggggggggggggggggggggggg")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void InvalidIdsAreSkipped(string id) =>
        Assert.Empty(GitOutput.ParseRefLines($"{id}\trefs/heads/main"));

    [Fact]
    public void LinesWithoutTabAreSkipped() =>
        Assert.Empty(GitOutput.ParseRefLines($"{A} refs/heads/main\nwarning: something"));

    [Fact]
    public void ParsesPushPorcelain()
    {
        var output = string.Join('\n',
            "To /tmp/target.git",
            $"*\t{A}:refs/heads/new\t[new branch]",
            $" \t{A}:refs/heads/main\t{A[..7]}..{B[..7]}",
            $"+\t{B}:refs/heads/topic\t{A[..7]}...{B[..7]} (forced update)",
            "-\t:refs/heads/old\t[deleted]",
            $"=\t{A}:refs/tags/v1\t[up to date]",
            $"!\t{A}:refs/heads/stale\t[rejected] (stale info)",
            $"!\t{A}:refs/heads/hook\t[remote rejected] (pre-receive hook declined)",
            "Done",
            "");

        var statuses = GitOutput.ParsePushPorcelain(output);

        Assert.Equal(7, statuses.Count);
        Assert.Equal('*', statuses["refs/heads/new"].Flag);
        Assert.True(statuses["refs/heads/main"].Succeeded);
        Assert.True(statuses["refs/heads/topic"].Succeeded);
        Assert.True(statuses["refs/heads/old"].Succeeded);
        Assert.True(statuses["refs/tags/v1"].Succeeded);
        Assert.False(statuses["refs/heads/stale"].Succeeded);
        Assert.Equal("[rejected] (stale info)", statuses["refs/heads/stale"].Summary);
        Assert.Equal("[remote rejected] (pre-receive hook declined)", statuses["refs/heads/hook"].Summary);
    }

    [Fact]
    public void PushPorcelainIgnoresOtherLines() =>
        Assert.Empty(GitOutput.ParsePushPorcelain("To x\nDone\nerror: failed to push some refs\n!!\tx\ty\n"));
}
