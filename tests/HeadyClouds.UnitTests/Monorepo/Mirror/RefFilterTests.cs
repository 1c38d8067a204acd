using Monorepo.Sync.Git.Mirror;

namespace HeadyClouds.UnitTests.Monorepo.Mirror;

public sealed class RefFilterTests
{
    [Theory]
    [InlineData("refs/heads/*", "refs/heads/main", true)]
    [InlineData("refs/heads/*", "refs/heads/feature/x", false)]
    [InlineData("refs/heads/*", "refs/heads", false)]
    [InlineData("refs/heads/*", "refs/tags/main", false)]
    [InlineData("refs/tags/v*", "refs/tags/v1.0", true)]
    [InlineData("refs/tags/v*", "refs/tags/v", true)]
    [InlineData("refs/tags/v*", "refs/tags/release-1", false)]
    [InlineData("refs/tags/v*", "refs/tags/v1/rc", false)]
    [InlineData("refs/heads/release/**", "refs/heads/release/1.0", true)]
    [InlineData("refs/heads/release/**", "refs/heads/release/1.x/hotfix", true)]
    [InlineData("refs/heads/release/**", "refs/heads/release", false)]
    [InlineData("refs/heads/release/**", "refs/heads/releases/1.0", false)]
    [InlineData("refs/heads/**", "refs/heads/a/b/c/d", true)]
    [InlineData("refs/**/main", "refs/main", true)]
    [InlineData("refs/**/main", "refs/heads/main", true)]
    [InlineData("refs/**/main", "refs/remotes/origin/main", true)]
    [InlineData("refs/**/main", "refs/heads/mainline", false)]
    [InlineData("refs/heads/main", "refs/heads/main", true)]
    [InlineData("refs/heads/main", "refs/heads/main2", false)]
    [InlineData("refs/heads/main", "refs/heads/mai", false)]
    [InlineData("refs/heads/?", "refs/heads/a", true)]
    [InlineData("refs/heads/?", "refs/heads/ab", false)]
    [InlineData("refs/heads/v?.*", "refs/heads/v1.2", true)]
    [InlineData("refs/heads/*-wip", "refs/heads/x-wip", true)]
    [InlineData("refs/heads/*-wip", "refs/heads/x-wip-not", false)]
    [InlineData("refs/heads/*a*b*", "refs/heads/xaxxbx", true)]
    [InlineData("refs/heads/*a*b*", "refs/heads/xbxxax", false)]
    [InlineData("refs/heads/*/tmp", "refs/heads/alice/tmp", true)]
    [InlineData("refs/heads/*/tmp", "refs/heads/a/b/tmp", false)]
    [InlineData("refs/heads/**/tmp", "refs/heads/a/b/tmp", true)]
    [InlineData("refs/heads/**/tmp", "refs/heads/tmp", true)]
    [InlineData("refs/heads/Main", "refs/heads/main", false)]
    public void PatternMatching(string pattern, string refName, bool expected) =>
        Assert.Equal(expected, RefFilter.PatternMatches(pattern, refName));

    [Fact]
    public void LongPathologicalPatternsMatchQuickly()
    {
        var name = "refs/heads/" + new string('a', 500);
        Assert.False(RefFilter.PatternMatches("refs/heads/*a*a*a*a*a*a*a*a*b", name));
        Assert.False(RefFilter.PatternMatches("refs/**/**/**/**/**/x", "refs/" + string.Join('/', Enumerable.Repeat("a", 30))));
    }

    [Fact]
    public void DefaultIsAllBranchesAndTags()
    {
        var filter = RefFilter.Default;
        Assert.True(filter.Matches("refs/heads/main"));
        Assert.True(filter.Matches("refs/heads/feature/deep/name"));
        Assert.True(filter.Matches("refs/tags/v1.0"));
        Assert.False(filter.Matches("refs/pull/1/head"));
        Assert.False(filter.Matches("refs/notes/commits"));
        Assert.False(filter.Matches("refs/remotes/origin/main"));
        Assert.False(filter.Matches("HEAD"));
    }

    [Fact]
    public void ExcludeWinsOverInclude()
    {
        var filter = new RefFilter(["refs/heads/**", "refs/tags/v*"], ["refs/heads/wip/**", "refs/tags/v*-rc*"]);
        Assert.True(filter.Matches("refs/heads/main"));
        Assert.False(filter.Matches("refs/heads/wip/alice"));
        Assert.True(filter.Matches("refs/heads/wip"));
        Assert.True(filter.Matches("refs/tags/v1.0"));
        Assert.False(filter.Matches("refs/tags/v1.0-rc1"));
        Assert.False(filter.Matches("refs/tags/nightly"));
    }

    [Fact]
    public void ApplyKeepsMatchingRefs()
    {
        var filter = new RefFilter(["refs/heads/*"]);
        var refs = new Dictionary<string, string> { ["refs/heads/main"] = "a", ["refs/heads/x/y"] = "b", ["refs/tags/v1"] = "c" };
        Assert.Equal(["refs/heads/main"], filter.Apply(refs).Keys);
    }

    [Theory]
    [InlineData("")]
    [InlineData("heads/main")]
    [InlineData("refs/heads/ main")]
    [InlineData("refs/heads/a:b")]
    [InlineData("refs/heads/a^")]
    [InlineData("refs/heads/a~1")]
    [InlineData("refs/heads/[ab]")]
    [InlineData("refs/heads/a\\b")]
    [InlineData("refs/heads/../x")]
    [InlineData("refs/heads/a@{1}")]
    [InlineData("refs//heads")]
    [InlineData("refs/heads/")]
    [InlineData("refs/heads/a**")]
    [InlineData("refs/heads/**x")]
    [InlineData("refs/heads/.hidden")]
    [InlineData("refs/heads/x.lock")]
    [InlineData("refs/heads/x.")]
    [InlineData("refs/heads/a\nb")]
    [InlineData("refs/heads/a\u007f")]
    public void InvalidPatternsAreRejected(string pattern)
    {
        Assert.False(RefFilter.TryValidatePattern(pattern, out var error));
        Assert.NotEqual("", error);
        Assert.Throws<ArgumentException>(() => new RefFilter([pattern]));
        Assert.Throws<ArgumentException>(() => new RefFilter(["refs/heads/*"], [pattern]));
    }

    [Fact]
    public void AtLeastOneIncludeIsRequired() =>
        Assert.Throws<ArgumentException>(() => new RefFilter([]));

    [Theory]
    [InlineData("refs/heads/*", "+refs/heads/*:refs/heads/*")]
    [InlineData("refs/tags/v*", "+refs/tags/v*:refs/tags/v*")]
    [InlineData("refs/heads/release/**", "+refs/heads/release/*:refs/heads/release/*")]
    [InlineData("refs/heads/main", "+refs/heads/main*:refs/heads/main*")]
    [InlineData("refs/heads/*/tmp", "+refs/heads/*:refs/heads/*")]
    [InlineData("refs/heads/v?", "+refs/heads/v*:refs/heads/v*")]
    public void FetchRefspecPerInclude(string include, string refspec) =>
        Assert.Equal([refspec], new RefFilter([include]).ToFetchRefspecs());

    [Fact]
    public void DefaultFetchRefspecs() =>
        Assert.Equal(["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"], RefFilter.Default.ToFetchRefspecs());

    [Fact]
    public void NarrowerGlobsCoveredByWiderOnesAreDropped()
    {
        var filter = new RefFilter(["refs/heads/release/**", "refs/heads/main", "refs/heads/*", "refs/tags/v*", "refs/tags/v1*"]);
        Assert.Equal(["+refs/heads/*:refs/heads/*", "+refs/tags/v*:refs/tags/v*"], filter.ToFetchRefspecs());
    }

    [Fact]
    public void ExcludesBecomeNegativeRefspecsOnlyWhenGitMeansTheSame()
    {
        var filter = new RefFilter(["refs/heads/**"], ["refs/heads/wip/**", "refs/heads/scratch", "refs/heads/*-tmp", "refs/heads/a/*/b"]);
        Assert.Equal(["+refs/heads/*:refs/heads/*", "^refs/heads/wip/*", "^refs/heads/scratch"], filter.ToFetchRefspecs());
    }

    [Fact]
    public void ToStringShowsPatterns() =>
        Assert.Equal("refs/heads/** except refs/heads/wip/**", new RefFilter(["refs/heads/**"], ["refs/heads/wip/**"]).ToString());
}
