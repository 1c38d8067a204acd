using Monorepo.Sync.Domain;

namespace HeadyClouds.UnitTests.Domain;

public sealed class GitRemoteUrlTests
{
    [Theory]
    [InlineData("https://github.com/org/repo.git")]
    [InlineData("https://git.example.com:8443/group/sub/repo")]
    [InlineData("HTTPS://GIT.EXAMPLE.COM/org/repo.git")]
    [InlineData("ssh://git@git.example.com/org/repo.git")]
    [InlineData("ssh://git@git.example.com:2222/org/repo.git")]
    [InlineData("ssh://git.example.com/org/repo.git")]
    [InlineData("git@github.com:org/repo.git")]
    [InlineData("deploy.bot@git.example.com:group/sub/repo.git")]
    [InlineData("git@git.example.com:~user/repo.git")]
    [InlineData("git@git.example.com:/srv/git/repo.git")]
    public void AcceptedRemotes(string url)
    {
        Assert.True(GitRemoteUrl.TryValidate(url, out var error), error);
        Assert.Equal("", error);
    }

    [Theory]
    [InlineData("file:///etc/passwd")]
    [InlineData("file:///srv/git/repo.git")]
    [InlineData("FILE:///srv/git/repo.git")]
    [InlineData("file://localhost/srv/git/repo.git")]
    public void FileUrlsAreRefused(string url) => AssertRefused(url);

    [Theory]
    [InlineData("/srv/git/repo.git")]
    [InlineData("./repo")]
    [InlineData("../repo")]
    [InlineData("repo.git")]
    [InlineData("C:\\repos\\repo.git")]
    [InlineData("~/repo.git")]
    public void LocalPathsAreRefused(string url) => AssertRefused(url);

    [Theory]
    [InlineData("http://github.com/org/repo.git", "http")]
    [InlineData("git://github.com/org/repo.git", "git")]
    [InlineData("ftp://example.com/repo.git", "ftp")]
    public void UnauthenticatedOrOtherSchemesAreRefusedByName(string url, string scheme)
    {
        var error = AssertRefused(url);
        Assert.Contains($"'{scheme}'", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ext::sh -c touch% /tmp/pwned")]
    [InlineData("fd::17")]
    public void GitRemoteHelpersAreRefused(string url) => AssertRefused(url);

    [Theory]
    [InlineData("https://user:password@github.com/org/repo.git")]
    [InlineData("https://ghp_token@github.com/org/repo.git")]
    [InlineData("https://user:@github.com/org/repo.git")]
    public void CredentialsInHttpsUrlsAreRefused(string url)
    {
        var error = AssertRefused(url);
        Assert.Contains("credentials", error, StringComparison.Ordinal);
    }

    [Fact]
    public void PasswordInSshUrlIsRefused()
    {
        var error = AssertRefused("ssh://git:hunter2@git.example.com/org/repo.git");
        Assert.Contains("password", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("git@host:../etc/passwd")]
    [InlineData("git@host:org/../../etc")]
    [InlineData("git@host:org/..")]
    [InlineData("git@host:/srv/../etc")]
    public void DotDotInScpPathIsRefused(string url)
    {
        var error = AssertRefused(url);
        Assert.Contains("'..'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void DotsThatAreNotASegmentAreFine() => Assert.True(GitRemoteUrl.TryValidate("git@host:org/repo..git", out _));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(" https://github.com/org/repo.git")]
    [InlineData("https://github.com/org/repo.git ")]
    [InlineData("https://github.com/org/repo.git\n")]
    [InlineData("https://github.com/org/\trepo.git")]
    public void BlankPaddedOrControlCharactersAreRefused(string? url) => AssertRefused(url);

    [Fact]
    public void OverlongUrlIsRefused()
    {
        var url = "https://github.com/" + new string('a', 2048);
        AssertRefused(url);
    }

    private static string AssertRefused(string? url)
    {
        Assert.False(GitRemoteUrl.TryValidate(url, out var error), $"accepted {url}");
        Assert.False(string.IsNullOrWhiteSpace(error));
        return error;
    }
}
