using System.Diagnostics;
using System.Text;
using Monorepo.Sync.Git;
using Monorepo.Sync.Git.Mirror;

namespace HeadyClouds.IntegrationTests.Monorepo.Mirror;

/// <summary>Timeouts, cancellation and credentials, with real git against loopback servers.</summary>
public sealed class MirrorSafetyTests : IDisposable
{
    private readonly GitSandbox box = new();

    public void Dispose() => box.Dispose();

    [Theory]
    [InlineData("git")]
    [InlineData("http")]
    public async Task TimeoutKillsGit(string scheme)
    {
        await using var server = new SilentServer();
        var engine = box.Engine(new MirrorEngineOptions { NetworkTimeout = TimeSpan.FromSeconds(2) });
        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<GitCommandException>(() =>
            engine.FetchAsync(box.Mirror, $"{scheme}://127.0.0.1:{server.Port}/repo.git", null, RefFilter.Default, CancellationToken.None));

        Assert.Equal("git fetch timed out after 2 s", error.Message);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(30));
        // The connection closes: git (and, over http, its git-remote-http child) is gone, not left hanging.
        Assert.True(await SilentServer.ClosedByPeerAsync(await server.FirstConnection.WaitAsync(TimeSpan.FromSeconds(30)), TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task CancellationKillsGit()
    {
        await using var server = new SilentServer();
        var engine = box.Engine();
        using var cancel = new CancellationTokenSource();

        var fetch = engine.FetchAsync(box.Mirror, $"http://127.0.0.1:{server.Port}/repo.git", null, RefFilter.Default, cancel.Token);
        var connection = await server.FirstConnection.WaitAsync(TimeSpan.FromSeconds(60));
        var clock = Stopwatch.StartNew();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fetch);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30));
        Assert.True(await SilentServer.ClosedByPeerAsync(connection, TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task HangingTargetTimesOutAsATargetError()
    {
        await box.InitSourceAsync();
        await using var server = new SilentServer();
        var engine = box.Engine();
        var impatient = box.Engine(new MirrorEngineOptions { NetworkTimeout = TimeSpan.FromSeconds(2) });
        await engine.FetchAsync(box.Mirror, box.Source, null, RefFilter.Default, GitSandbox.Timeout);

        var hanging = await impatient.SyncTargetAsync(box.Mirror, new MirrorTarget("hanging", $"git://127.0.0.1:{server.Port}/repo.git", null, []), RefFilter.Default, GitSandbox.Timeout);
        var good = await engine.SyncTargetAsync(box.Mirror, new MirrorTarget("good", await box.InitBareAsync("good"), null, []), RefFilter.Default, GitSandbox.Timeout);

        Assert.Equal("target 'hanging': git ls-remote timed out after 2 s", hanging.Error);
        Assert.Empty(hanging.Updates);
        Assert.True(good.Succeeded);
        Assert.True(await SilentServer.ClosedByPeerAsync(await server.FirstConnection.WaitAsync(TimeSpan.FromSeconds(30)), TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task TokenNeverAppearsInErrorsResultsOrArguments()
    {
        var token = "tok_" + Guid.NewGuid().ToString("N");
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"mirror-bot:{token}"));
        var credential = new HttpsTokenCredential("mirror-bot", token);
        await using var server = new EchoingGitHttpServer();
        var url = $"http://127.0.0.1:{server.Port}/org/repo.git";
        var argumentLog = Path.Combine(box.Root, "argv.log");
        var engine = new MirrorEngine(new GitCli(box.GitWrapper(":", argumentLog)));

        var error = await Assert.ThrowsAsync<GitCommandException>(() => engine.FetchAsync(box.Mirror, url, credential, RefFilter.Default, GitSandbox.Timeout));
        var target = await engine.SyncTargetAsync(box.Mirror, new MirrorTarget("backup", url, credential, []), RefFilter.Default, GitSandbox.Timeout);

        // The server got the token (so the credential works) and echoed it back into git's error output ...
        Assert.Contains(server.Requests, r => r.Contains($"Authorization: Basic {basic}", StringComparison.Ordinal));
        Assert.All(server.Requests, r => Assert.DoesNotContain(token, r.Split("\r\n")[0], StringComparison.Ordinal));
        Assert.Contains("remote error: access denied for mirror-bot:***", error.Message, StringComparison.Ordinal);
        Assert.Contains("remote error: access denied for mirror-bot:***", target.Error, StringComparison.Ordinal);
        // ... and it appears nowhere we report or pass on the command line.
        string[] reported = [error.Message, error.Result!.StandardError, error.Result.StandardOutput, target.Error!, .. target.Updates.Select(u => u.Message ?? ""), error.ToString()];
        foreach (var text in reported.Append(await File.ReadAllTextAsync(argumentLog)))
        {
            Assert.DoesNotContain(token, text, StringComparison.Ordinal);
            Assert.DoesNotContain(basic, text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task TokenDoesNotFollowARedirectToAnotherOrigin()
    {
        var token = "tok_" + Guid.NewGuid().ToString("N");
        await using var elsewhere = new EchoingGitHttpServer();
        await using var redirecting = new EchoingGitHttpServer(redirectToPort: elsewhere.Port);

        var error = await Assert.ThrowsAsync<GitCommandException>(() => box.Engine().FetchAsync(
            box.Mirror, $"http://127.0.0.1:{redirecting.Port}/repo.git", new HttpsTokenCredential("bot", token), RefFilter.Default, GitSandbox.Timeout));

        Assert.Contains(redirecting.Requests, r => r.Contains("Authorization: Basic", StringComparison.Ordinal));
        Assert.NotEmpty(elsewhere.Requests);
        Assert.All(elsewhere.Requests, r => Assert.DoesNotContain("Authorization", r, StringComparison.OrdinalIgnoreCase));
        Assert.Contains("access denied for none", error.Message, StringComparison.Ordinal);
    }
}
