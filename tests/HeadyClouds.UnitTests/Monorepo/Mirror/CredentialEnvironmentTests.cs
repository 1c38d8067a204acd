using System.Text;
using Monorepo.Sync.Git;
using Monorepo.Sync.Git.Mirror;

namespace HeadyClouds.UnitTests.Monorepo.Mirror;

/// <summary>How an HTTPS token reaches git (environment only) and how messages are scrubbed. No process, no file.</summary>
public sealed class CredentialEnvironmentTests
{
    private const string Token = "ghp_S3cretTokenValue0123456789";
    private static readonly MirrorEngineOptions Options = new();

    [Fact]
    public void TokenGoesInAScopedExtraHeaderThroughTheEnvironment()
    {
        using var session = GitRemoteSession.Open("https://git.example.com:8443/org/repo.git", new HttpsTokenCredential("bot", Token), Options);

        var env = session.Environment;
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"bot:{Token}"));
        Assert.Equal("1", env["GIT_CONFIG_COUNT"]);
        Assert.Equal("http.https://git.example.com:8443/.extraHeader", env["GIT_CONFIG_KEY_0"]);
        Assert.Equal($"Authorization: Basic {basic}", env["GIT_CONFIG_VALUE_0"]);
        Assert.False(env.ContainsKey("GIT_SSH_COMMAND"));
        Assert.Equal("0", env["GIT_TRACE"]);
        Assert.Equal("0", env["GIT_CURL_VERBOSE"]);
        Assert.Equal("1", env["GIT_TRACE_REDACT"]);
    }

    [Fact]
    public void DefaultPortIsLeftOutOfTheScope()
    {
        using var session = GitRemoteSession.Open("https://github.com/org/repo.git", new HttpsTokenCredential("x-access-token", Token), Options);
        Assert.Equal("http.https://github.com/.extraHeader", session.Environment["GIT_CONFIG_KEY_0"]);
    }

    [Fact]
    public void ExtraConfigFollowsTheCredential()
    {
        using var session = GitRemoteSession.Open("https://h/r", new HttpsTokenCredential("u", Token), Options, [new("gc.autoDetach", "false")]);
        Assert.Equal("2", session.Environment["GIT_CONFIG_COUNT"]);
        Assert.Equal("gc.autoDetach", session.Environment["GIT_CONFIG_KEY_1"]);
        Assert.Equal("false", session.Environment["GIT_CONFIG_VALUE_1"]);
    }

    [Fact]
    public void NoCredentialMeansNoConfig()
    {
        using var session = GitRemoteSession.Open("https://h/r", null, Options with { AllowedProtocols = "https:ssh" });
        Assert.Equal("0", session.Environment["GIT_CONFIG_COUNT"]);
        Assert.Equal("https:ssh", session.Environment["GIT_ALLOW_PROTOCOL"]);
    }

    [Theory]
    [InlineData("http://git.example.com/repo.git")]
    [InlineData("ssh://git@git.example.com/repo.git")]
    [InlineData("git@git.example.com:repo.git")]
    [InlineData("/srv/git/repo.git")]
    public void TokenIsNeverSentOverAnythingButHttps(string url) =>
        Assert.Throws<ArgumentException>(() => GitRemoteSession.Open(url, new HttpsTokenCredential("u", Token), Options));

    [Theory]
    [InlineData("http://127.0.0.1:8080/repo.git")]
    [InlineData("http://localhost:8080/repo.git")]
    [InlineData("http://[::1]:8080/repo.git")]
    public void PlainHttpIsAllowedOnLoopbackOnly(string url)
    {
        using var session = GitRemoteSession.Open(url, new HttpsTokenCredential("u", Token), Options);
        Assert.StartsWith("http.http://", session.Environment["GIT_CONFIG_KEY_0"], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("u:x", Token)]
    [InlineData("u", "")]
    [InlineData("u", "tok\nen")]
    public void MalformedTokenCredentialsAreRejected(string user, string token) =>
        Assert.Throws<ArgumentException>(() => GitRemoteSession.Open("https://h/r", new HttpsTokenCredential(user, token), Options));

    [Fact]
    public void SshCredentialIsRejectedForHttpsAndNeedsPinnedHosts()
    {
        const string key = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n";
        Assert.Throws<ArgumentException>(() => GitRemoteSession.Open("https://h/r", new SshKeyCredential(key, "h ssh-ed25519 AAAA"), Options));
        Assert.Throws<ArgumentException>(() => GitRemoteSession.Open("ssh://git@h/r", new SshKeyCredential(key, "  "), Options));
        Assert.Throws<ArgumentException>(() => GitRemoteSession.Open("ssh://git@h/r", new SshKeyCredential("not a key", "h ssh-ed25519 AAAA"), Options));
    }

    [Theory]
    [InlineData("--upload-pack=touch /tmp/x")]
    [InlineData("-oProxyCommand=x")]
    [InlineData("")]
    [InlineData(" https://h/r")]
    [InlineData("https://h/r\n")]
    [InlineData("https://h/\u0000r")]
    public void UrlsThatGitCouldMisreadAreRejected(string url) =>
        Assert.ThrowsAny<ArgumentException>(() => GitRemoteSession.Open(url, null, Options));

    [Fact]
    public void ScrubRemovesTokenHeaderAndUrlUserinfo()
    {
        using var session = GitRemoteSession.Open("https://h/r", new HttpsTokenCredential("bot", Token), Options);
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"bot:{Token}"));
        var text = $"fatal: remote error: {Token} / Authorization: Basic {basic} / {basic} / https://bot:{Token}@h/r";

        var scrubbed = session.Scrub(text);

        Assert.DoesNotContain(Token, scrubbed, StringComparison.Ordinal);
        Assert.DoesNotContain(basic, scrubbed, StringComparison.Ordinal);
        Assert.Contains("https://***@h/r", scrubbed, StringComparison.Ordinal);
    }

    [Fact]
    public void FailureCarriesOnlyScrubbedText()
    {
        using var session = GitRemoteSession.Open("https://h/r", new HttpsTokenCredential("bot", Token), Options);
        var failure = session.Failure("git fetch", new GitResult(128, $"out {Token}", $"fatal: {Token}\n"));

        Assert.Equal("git fetch failed (git exit 128): fatal: ***", failure.Message);
        Assert.DoesNotContain(Token, failure.Result!.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, failure.Result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void CredentialsNeverShowInToString()
    {
        var https = new HttpsTokenCredential("bot", Token);
        var ssh = new SshKeyCredential("-----BEGIN OPENSSH PRIVATE KEY-----\nSECRETKEYMATERIAL\n-----END OPENSSH PRIVATE KEY-----", "h ssh-ed25519 AAAA");
        var target = new MirrorTarget("backup", "https://bot:pw@h/r", https, []);

        Assert.DoesNotContain(Token, https.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("SECRETKEYMATERIAL", ssh.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Token, target.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("pw", target.ToString(), StringComparison.Ordinal);
        Assert.Equal("https-token", https.Kind);
        Assert.Equal("ssh-key", ssh.Kind);
    }
}
