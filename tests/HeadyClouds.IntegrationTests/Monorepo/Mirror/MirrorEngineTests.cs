using Monorepo.Sync.Git.Mirror;

namespace HeadyClouds.IntegrationTests.Monorepo.Mirror;

/// <summary>The mirror engine against real git repositories in a temporary directory (file paths as remotes).</summary>
public sealed class MirrorEngineTests : IDisposable
{
    private readonly GitSandbox box = new();

    public void Dispose() => box.Dispose();

    [Fact]
    public async Task InitialMirrorToTwoTargetsThenNothingToDo()
    {
        await box.InitSourceAsync();
        await box.CommitAsync("second", "src/app.cs", "class App {}\n");
        await box.RunAsync(box.Source, "tag", "-a", "v1.0", "-m", "release 1.0");
        await box.RunAsync(box.Source, "tag", "light");
        await box.CheckoutAsync("feature/login", create: true);
        await box.CommitAsync("login");
        var backup = await box.InitBareAsync("backup");
        var github = await box.InitBareAsync("github");
        var engine = box.Engine();
        MirrorTarget[] targets = [new("backup", backup, null, ["refs/heads/main"]), new("github", github, null, [])];

        var run = await engine.MirrorAsync(box.Mirror, box.Source, null, targets, RefFilter.Default, GitSandbox.Timeout);

        var sourceRefs = await box.SourceRefsAsync();
        Assert.Equal(4, sourceRefs.Count);
        Assert.Equal(sourceRefs.OrderBy(r => r.Key), run.Fetch.Refs.OrderBy(r => r.Key));
        Assert.All(run.Fetch.Changes, c => Assert.Equal(RefUpdateKind.Created, c.Kind));
        Assert.Equal(4, run.Fetch.Changes.Count);
        foreach (var (result, path) in run.Targets.Zip([backup, github]))
        {
            Assert.True(result.Succeeded, result.Error);
            Assert.Equal(sourceRefs.Keys.Order(StringComparer.Ordinal), result.Updates.Select(u => u.Ref));
            Assert.All(result.Updates, u => Assert.Equal(RefUpdateKind.Created, u.Kind));
            Assert.Equal(sourceRefs.OrderBy(r => r.Key), (await box.RefsAsync(path)).OrderBy(r => r.Key));
            // Objects came along: the annotated tag is still a tag object, the history is complete.
            Assert.Equal("tag", (await box.RunAsync(path, "cat-file", "-t", "refs/tags/v1.0")).StandardOutput.Trim());
            await box.RunAsync(path, "fsck", "--no-progress", "--strict");
        }

        var again = await engine.MirrorAsync(box.Mirror, box.Source, null, targets, RefFilter.Default, GitSandbox.Timeout);

        Assert.Empty(again.Fetch.Changes);
        Assert.All(again.Targets, t => Assert.All(t.Updates, u => Assert.Equal(RefUpdateKind.UpToDate, u.Kind)));
    }

    [Fact]
    public async Task IncrementalSync()
    {
        await box.InitSourceAsync();
        await box.CheckoutAsync("dev", create: true);
        await box.CommitAsync("dev 1");
        await box.CheckoutAsync("main");
        var target = new MirrorTarget("backup", await box.InitBareAsync("backup"), null, ["refs/heads/main"]);
        var engine = box.Engine();
        await engine.MirrorAsync(box.Mirror, box.Source, null, [target], RefFilter.Default, GitSandbox.Timeout);
        var mainBefore = await box.RevParseAsync(box.Source, "main");

        await box.CommitAsync("main 2");
        var mainAfter = await box.CommitAsync("main 3");
        await box.CheckoutAsync("topic", create: true);
        var topic = await box.CommitAsync("topic 1");

        var fetch = await engine.FetchAsync(box.Mirror, box.Source, null, RefFilter.Default, GitSandbox.Timeout);
        Assert.Equal(
            [("refs/heads/main", RefUpdateKind.FastForwarded, mainBefore, mainAfter), ("refs/heads/topic", RefUpdateKind.Created, null, topic)],
            fetch.Changes.Select(c => (c.Ref, c.Kind, c.OldId, c.NewId)));

        var result = await engine.SyncTargetAsync(box.Mirror, target, RefFilter.Default, GitSandbox.Timeout);

        Assert.True(result.Succeeded);
        Assert.Equal(
            [("refs/heads/dev", RefUpdateKind.UpToDate), ("refs/heads/main", RefUpdateKind.FastForwarded), ("refs/heads/topic", RefUpdateKind.Created)],
            result.Updates.Select(u => (u.Ref, u.Kind)));
        var main = result.Updates.Single(u => u.Ref == "refs/heads/main");
        Assert.Equal((mainBefore, mainAfter, false), (main.OldId, main.NewId, main.Forced));
        Assert.Equal(await box.SourceRefsAsync(), await box.RefsAsync(target.Url));
    }

    [Fact]
    public async Task UpstreamForcePushOnProtectedRefIsRefusedWhileOtherRefsSync()
    {
        await box.InitSourceAsync();
        await box.CommitAsync("main 2");
        await box.CheckoutAsync("dev", create: true);
        await box.CommitAsync("dev 1");
        await box.CheckoutAsync("main");
        var target = new MirrorTarget("backup", await box.InitBareAsync("backup"), null, ["refs/heads/main", "refs/heads/release/**"]);
        var engine = box.Engine();
        await engine.MirrorAsync(box.Mirror, box.Source, null, [target], RefFilter.Default, GitSandbox.Timeout);
        var published = await box.RevParseAsync(box.Source, "main");

        var rewritten = await box.RewriteLastCommitAsync();
        await box.CheckoutAsync("dev");
        var dev = await box.CommitAsync("dev 2");

        var run = await engine.MirrorAsync(box.Mirror, box.Source, null, [target], RefFilter.Default, GitSandbox.Timeout);

        // The mirror follows upstream (and says it was forced); the protected target ref does not.
        var mirrored = Assert.Single(run.Fetch.Changes, c => c.Ref == "refs/heads/main");
        Assert.Equal((RefUpdateKind.Forced, true), (mirrored.Kind, mirrored.Forced));
        var result = Assert.Single(run.Targets);
        Assert.Null(result.Error);
        Assert.False(result.Succeeded);
        var main = result.Updates.Single(u => u.Ref == "refs/heads/main");
        Assert.Equal(RefUpdateKind.RefusedNonFastForward, main.Kind);
        Assert.False(main.Forced);
        Assert.Equal((published, rewritten), (main.OldId, main.NewId));
        Assert.Equal(
            $"refs/heads/main on target 'backup' diverged: target has {published[..12]} which is not an ancestor of {rewritten[..12]}; protected refs never move backwards or sideways",
            main.Message);
        Assert.Equal(RefUpdateKind.FastForwarded, result.Updates.Single(u => u.Ref == "refs/heads/dev").Kind);
        var targetRefs = await box.RefsAsync(target.Url);
        Assert.Equal(published, targetRefs["refs/heads/main"]);
        Assert.Equal(dev, targetRefs["refs/heads/dev"]);

        // Still refused on the next run: nothing changes until someone resolves it.
        var next = await engine.SyncTargetAsync(box.Mirror, target, RefFilter.Default, GitSandbox.Timeout);
        Assert.Equal(RefUpdateKind.RefusedNonFastForward, next.Updates.Single(u => u.Ref == "refs/heads/main").Kind);
    }

    [Fact]
    public async Task UpstreamForcePushOnUnprotectedRefIsAppliedAndMarkedForced()
    {
        await box.InitSourceAsync();
        await box.CommitAsync("main 2");
        var target = new MirrorTarget("backup", await box.InitBareAsync("backup"), null, ["refs/heads/release/**"]);
        var engine = box.Engine();
        await engine.MirrorAsync(box.Mirror, box.Source, null, [target], RefFilter.Default, GitSandbox.Timeout);
        var published = await box.RevParseAsync(box.Source, "main");

        var rewritten = await box.RewriteLastCommitAsync();
        var run = await engine.MirrorAsync(box.Mirror, box.Source, null, [target], RefFilter.Default, GitSandbox.Timeout);

        var main = Assert.Single(Assert.Single(run.Targets).Updates);
        Assert.Equal((RefUpdateKind.Forced, true, published, rewritten), (main.Kind, main.Forced, main.OldId, main.NewId));
        Assert.Contains("forced from", main.Message, StringComparison.Ordinal);
        Assert.Equal(rewritten, (await box.RefsAsync(target.Url))["refs/heads/main"]);
    }

    [Fact]
    public async Task RefDeletedUpstreamIsDeletedUnlessProtected()
    {
        await box.InitSourceAsync();
        await box.RunAsync(box.Source, "branch", "old-topic");
        await box.RunAsync(box.Source, "branch", "release/1.0");
        var target = new MirrorTarget("backup", await box.InitBareAsync("backup"), null, ["refs/heads/release/**"]);
        var engine = box.Engine();
        await engine.MirrorAsync(box.Mirror, box.Source, null, [target], RefFilter.Default, GitSandbox.Timeout);
        var release = await box.RevParseAsync(box.Source, "release/1.0");

        await box.RunAsync(box.Source, "branch", "-D", "old-topic", "release/1.0");
        var run = await engine.MirrorAsync(box.Mirror, box.Source, null, [target], RefFilter.Default, GitSandbox.Timeout);

        Assert.Equal(
            [("refs/heads/old-topic", RefUpdateKind.Deleted), ("refs/heads/release/1.0", RefUpdateKind.Deleted)],
            run.Fetch.Changes.Select(c => (c.Ref, c.Kind)));
        Assert.Equal(
            [("refs/heads/main", RefUpdateKind.UpToDate), ("refs/heads/old-topic", RefUpdateKind.Deleted), ("refs/heads/release/1.0", RefUpdateKind.RefusedProtectedDeletion)],
            Assert.Single(run.Targets).Updates.Select(u => (u.Ref, u.Kind)));
        Assert.Contains("protected refs are never deleted", run.Targets[0].Updates[2].Message, StringComparison.Ordinal);
        var targetRefs = await box.RefsAsync(target.Url);
        Assert.False(targetRefs.ContainsKey("refs/heads/old-topic"));
        Assert.Equal(release, targetRefs["refs/heads/release/1.0"]);
    }

    [Fact]
    public async Task Tags()
    {
        await box.InitSourceAsync();
        await box.RunAsync(box.Source, "tag", "-a", "v1.0", "-m", "one");
        await box.RunAsync(box.Source, "tag", "nightly");
        var strict = new MirrorTarget("strict", await box.InitBareAsync("strict"), null, ["refs/tags/v*"]);
        var loose = new MirrorTarget("loose", await box.InitBareAsync("loose"), null, []);
        var engine = box.Engine();
        await engine.MirrorAsync(box.Mirror, box.Source, null, [strict, loose], RefFilter.Default, GitSandbox.Timeout);
        var v1Before = (await box.RefsAsync(strict.Url))["refs/tags/v1.0"];

        // Upstream re-tags v1.0 (even onto a descendant: tags never fast-forward), moves nightly, adds v2.0, drops nothing.
        await box.CommitAsync("next");
        await box.RunAsync(box.Source, "tag", "-f", "-a", "v1.0", "-m", "one, again");
        await box.RunAsync(box.Source, "tag", "-f", "nightly");
        await box.RunAsync(box.Source, "tag", "-a", "v2.0", "-m", "two");
        var run = await engine.MirrorAsync(box.Mirror, box.Source, null, [strict, loose], RefFilter.Default, GitSandbox.Timeout);
        var source = await box.SourceRefsAsync();

        var onStrict = run.Targets[0].Updates.Where(u => u.Ref.StartsWith("refs/tags/", StringComparison.Ordinal)).ToDictionary(u => u.Ref);
        Assert.Equal(RefUpdateKind.RefusedNonFastForward, onStrict["refs/tags/v1.0"].Kind);
        Assert.Contains("protected tags never move", onStrict["refs/tags/v1.0"].Message, StringComparison.Ordinal);
        Assert.Equal((RefUpdateKind.Forced, true), (onStrict["refs/tags/nightly"].Kind, onStrict["refs/tags/nightly"].Forced));
        Assert.Equal(RefUpdateKind.Created, onStrict["refs/tags/v2.0"].Kind);
        var strictRefs = await box.RefsAsync(strict.Url);
        Assert.Equal(v1Before, strictRefs["refs/tags/v1.0"]);
        Assert.Equal(source["refs/tags/v2.0"], strictRefs["refs/tags/v2.0"]);
        Assert.Equal(source["refs/tags/nightly"], strictRefs["refs/tags/nightly"]);

        Assert.Equal(RefUpdateKind.Forced, run.Targets[1].Updates.Single(u => u.Ref == "refs/tags/v1.0").Kind);
        Assert.Equal(source, await box.RefsAsync(loose.Url));

        // A protected tag deleted upstream stays on the target.
        await box.RunAsync(box.Source, "tag", "-d", "v2.0");
        var after = await engine.MirrorAsync(box.Mirror, box.Source, null, [strict, loose], RefFilter.Default, GitSandbox.Timeout);
        Assert.Equal(RefUpdateKind.RefusedProtectedDeletion, after.Targets[0].Updates.Single(u => u.Ref == "refs/tags/v2.0").Kind);
        Assert.Equal(RefUpdateKind.Deleted, after.Targets[1].Updates.Single(u => u.Ref == "refs/tags/v2.0").Kind);
        Assert.True((await box.RefsAsync(strict.Url)).ContainsKey("refs/tags/v2.0"));
        Assert.False((await box.RefsAsync(loose.Url)).ContainsKey("refs/tags/v2.0"));
    }

    [Fact]
    public async Task RefFiltersLimitTheMirrorAndLeaveOtherTargetRefsAlone()
    {
        await box.InitSourceAsync();
        foreach (var branch in new[] { "mainline", "feature/x", "release/1", "release/2/hotfix", "wip-a" })
        {
            await box.RunAsync(box.Source, "branch", branch);
        }

        foreach (var tag in new[] { "v1", "v1-rc1", "nightly" })
        {
            await box.RunAsync(box.Source, "tag", tag);
        }

        var target = new MirrorTarget("backup", await box.InitBareAsync("backup"), null, []);
        await box.RunAsync(box.Source, "push", "--quiet", target.Url, "main:refs/heads/legacy", "main:refs/notes/x");
        var filter = new RefFilter(["refs/heads/main", "refs/heads/release/**", "refs/heads/wip-*", "refs/tags/v*"], ["refs/tags/v*-rc*", "refs/heads/wip-*"]);
        var engine = box.Engine();

        var run = await engine.MirrorAsync(box.Mirror, box.Source, null, [target], filter, GitSandbox.Timeout);

        string[] expected = ["refs/heads/main", "refs/heads/release/1", "refs/heads/release/2/hotfix", "refs/tags/v1"];
        Assert.Equal(expected, run.Fetch.Refs.Keys.Order(StringComparer.Ordinal));
        // In the mirror itself: refs no include matches are gone; excluded refs a wider refspec brought are left alone.
        Assert.Equal(
            [.. expected, "refs/heads/wip-a", "refs/tags/v1-rc1"],
            (await box.RefsAsync(box.Mirror)).Keys.OrderBy(k => expected.Contains(k) ? 0 : 1).ThenBy(k => k, StringComparer.Ordinal));
        Assert.Equal(expected, Assert.Single(run.Targets).Updates.Select(u => u.Ref));
        Assert.Equal(
            ["refs/heads/legacy", "refs/heads/main", "refs/heads/release/1", "refs/heads/release/2/hotfix", "refs/notes/x", "refs/tags/v1"],
            (await box.RefsAsync(target.Url)).Keys.Order(StringComparer.Ordinal));

        // Narrowing the filter removes the refs it no longer matches from the mirror (not from the target).
        var narrower = new RefFilter(["refs/heads/main"]);
        var narrowed = await engine.MirrorAsync(box.Mirror, box.Source, null, [target], narrower, GitSandbox.Timeout);
        Assert.Equal(["refs/heads/main"], (await box.RefsAsync(box.Mirror)).Keys);
        Assert.All(narrowed.Fetch.Changes, c => Assert.Equal((RefUpdateKind.Deleted, "outside the ref filter"), (c.Kind, c.Message)));
        Assert.Equal(5, narrowed.Fetch.Changes.Count); // release/1, release/2/hotfix, v1, and the excluded wip-a and v1-rc1
        Assert.Equal(6, (await box.RefsAsync(target.Url)).Count);
    }

    [Theory]
    [InlineData("refs/heads/**", "refs/tags/**")]
    [InlineData("refs/**")]
    public async Task RefsInAnExcludedNamespaceOfTheMirrorSurviveFetches(params string[] include)
    {
        await box.InitSourceAsync();
        await box.RunAsync(box.Source, "branch", "gone-soon");
        var filter = new RefFilter(include, ["refs/heady/**"]);
        var engine = box.Engine();
        await engine.FetchAsync(box.Mirror, box.Source, null, filter, GitSandbox.Timeout);
        var main = await box.RevParseAsync(box.Source, "main");
        await box.RunAsync(box.Mirror, "update-ref", "refs/heady/splits/abc", main);

        await box.RunAsync(box.Source, "branch", "-D", "gone-soon");
        var fetch = await engine.FetchAsync(box.Mirror, box.Source, null, filter, GitSandbox.Timeout);

        Assert.Equal([("refs/heads/gone-soon", RefUpdateKind.Deleted)], fetch.Changes.Select(c => (c.Ref, c.Kind)));
        Assert.DoesNotContain("refs/heady/splits/abc", fetch.Refs.Keys);
        Assert.Equal(main, (await box.RefsAsync(box.Mirror))["refs/heady/splits/abc"]);
        var target = new MirrorTarget("backup", await box.InitBareAsync("backup"), null, []);
        await engine.SyncTargetAsync(box.Mirror, target, filter, GitSandbox.Timeout);
        Assert.Equal(["refs/heads/main"], (await box.RefsAsync(target.Url)).Keys);
    }

    [Fact]
    public async Task ConcurrentChangeOnTheTargetIsNotClobbered()
    {
        await box.InitSourceAsync();
        await box.CheckoutAsync("dev", create: true);
        await box.CommitAsync("dev 1");
        await box.CheckoutAsync("main");
        var targetPath = await box.InitBareAsync("backup");
        var target = new MirrorTarget("backup", targetPath, null, []);
        await box.Engine().MirrorAsync(box.Mirror, box.Source, null, [target], RefFilter.Default, GitSandbox.Timeout);

        // Someone pushes their own commit to the target's main after our ls-remote and before our push.
        var theirs = await box.CommitAsync("theirs");
        await box.RunAsync(box.Source, "push", "--quiet", targetPath, "HEAD:refs/other/their-side");
        await box.RunAsync(box.Source, "reset", "--quiet", "--hard", "HEAD~1");
        var ours = await box.CommitAsync("ours");
        await box.CheckoutAsync("dev");
        var dev = await box.CommitAsync("dev 2");
        var wrapper = box.GitWrapper($"git --git-dir='{targetPath}' update-ref refs/heads/main {theirs}");
        var engine = new MirrorEngine(new global::Monorepo.Sync.Git.GitCli(wrapper));

        var run = await engine.MirrorAsync(box.Mirror, box.Source, null, [target], RefFilter.Default, GitSandbox.Timeout);

        var result = Assert.Single(run.Targets);
        var main = result.Updates.Single(u => u.Ref == "refs/heads/main");
        Assert.Equal(RefUpdateKind.FastForwarded, result.Updates.Single(u => u.Ref == "refs/heads/dev").Kind);
        Assert.Equal(RefUpdateKind.Failed, main.Kind);
        Assert.Equal(ours, main.NewId);
        Assert.Contains("the target changed after it was read", main.Message, StringComparison.Ordinal);
        var targetRefs = await box.RefsAsync(targetPath);
        Assert.Equal(theirs, targetRefs["refs/heads/main"]);
        Assert.Equal(dev, targetRefs["refs/heads/dev"]);
    }

    [Fact]
    public async Task UnreachableTargetIsReportedWhileOtherTargetsSync()
    {
        await box.InitSourceAsync();
        var good = new MirrorTarget("good", await box.InitBareAsync("good"), null, []);
        var missing = new MirrorTarget("missing", Path.Combine(box.Root, "does-not-exist.git"), null, []);

        var run = await box.Engine().MirrorAsync(box.Mirror, box.Source, null, [missing, good], RefFilter.Default, GitSandbox.Timeout);

        Assert.Contains("git ls-remote of target 'missing' failed", run.Targets[0].Error, StringComparison.Ordinal);
        Assert.Empty(run.Targets[0].Updates);
        Assert.True(run.Targets[1].Succeeded);
    }

    [Fact]
    public async Task TargetRefusingOneRefDoesNotStopTheOthers()
    {
        await box.InitSourceAsync();
        await box.RunAsync(box.Source, "branch", "blocked");
        await box.RunAsync(box.Source, "branch", "open");
        var targetPath = await box.InitBareAsync("backup");
        var hook = Path.Combine(targetPath, "hooks", "update");
        await File.WriteAllTextAsync(hook, "#!/bin/sh\n[ \"$1\" = refs/heads/blocked ] && { echo 'blocked by policy' >&2; exit 1; }\nexit 0\n");
        GitSandbox.MakeExecutable(hook);

        var run = await box.Engine().MirrorAsync(box.Mirror, box.Source, null, [new MirrorTarget("backup", targetPath, null, [])], RefFilter.Default, GitSandbox.Timeout);

        var updates = Assert.Single(run.Targets).Updates.ToDictionary(u => u.Ref);
        Assert.Equal(RefUpdateKind.Failed, updates["refs/heads/blocked"].Kind);
        Assert.Contains("remote rejected", updates["refs/heads/blocked"].Message, StringComparison.Ordinal);
        Assert.Equal(RefUpdateKind.Created, updates["refs/heads/open"].Kind);
        Assert.Equal(RefUpdateKind.Created, updates["refs/heads/main"].Kind);
        Assert.Equal(["refs/heads/main", "refs/heads/open"], (await box.RefsAsync(targetPath)).Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task SmallPushBatchesGiveTheSameResult()
    {
        await box.InitSourceAsync();
        for (var i = 0; i < 7; i++)
        {
            await box.RunAsync(box.Source, "branch", $"b{i}");
        }

        var target = new MirrorTarget("backup", await box.InitBareAsync("backup"), null, []);
        var run = await box.Engine(new MirrorEngineOptions { PushBatchSize = 3 }).MirrorAsync(box.Mirror, box.Source, null, [target], RefFilter.Default, GitSandbox.Timeout);

        Assert.Equal(8, run.Targets[0].Updates.Count(u => u.Kind == RefUpdateKind.Created));
        Assert.Equal(await box.SourceRefsAsync(), await box.RefsAsync(target.Url));
    }

    [Fact]
    public async Task FetchIntoSomethingThatIsNotAMirrorIsRefused()
    {
        await box.InitSourceAsync();
        var notMirror = Path.Combine(box.Root, "not-a-mirror");
        Directory.CreateDirectory(notMirror);
        await File.WriteAllTextAsync(Path.Combine(notMirror, "precious.txt"), "keep me");

        await Assert.ThrowsAsync<InvalidOperationException>(() => box.Engine().FetchAsync(notMirror, box.Source, null, RefFilter.Default, GitSandbox.Timeout));
        await Assert.ThrowsAsync<InvalidOperationException>(() => box.Engine().SyncTargetAsync(notMirror, new MirrorTarget("t", box.Source, null, []), RefFilter.Default, GitSandbox.Timeout));
        Assert.True(File.Exists(Path.Combine(notMirror, "precious.txt")));
    }

    [Fact]
    public async Task OptionLikeUrlsAreRefusedBeforeGitRuns()
    {
        var marker = Path.Combine(box.Root, "pwned");
        await Assert.ThrowsAsync<ArgumentException>(() =>
            box.Engine().FetchAsync(box.Mirror, $"--upload-pack=touch {marker}", null, RefFilter.Default, GitSandbox.Timeout));
        Assert.False(File.Exists(marker));
        Assert.False(Directory.Exists(box.Mirror));
    }

    [Fact]
    public async Task FailedFetchThrowsWithGitsReason()
    {
        var error = await Assert.ThrowsAsync<global::Monorepo.Sync.Git.GitCommandException>(() =>
            box.Engine().FetchAsync(box.Mirror, Path.Combine(box.Root, "nothing-here"), null, RefFilter.Default, GitSandbox.Timeout));
        Assert.StartsWith("git fetch from the source failed (git exit 128)", error.Message, StringComparison.Ordinal);
        Assert.Contains("does not appear to be a git repository", error.Message, StringComparison.Ordinal);
    }
}
