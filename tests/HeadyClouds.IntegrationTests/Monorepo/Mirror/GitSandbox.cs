using Monorepo.Sync.Git;
using Monorepo.Sync.Git.Mirror;

namespace HeadyClouds.IntegrationTests.Monorepo.Mirror;

/// <summary>
/// A temporary directory with real git repositories for one test: a source work repository (commits are made there,
/// "force-push upstream" is a rewrite of its branches), bare targets and the mirror. Deleted on dispose.
/// </summary>
public sealed class GitSandbox : IDisposable
{
    private static readonly Dictionary<string, string> Identity = new()
    {
        ["GIT_AUTHOR_NAME"] = "Test",
        ["GIT_AUTHOR_EMAIL"] = "test@example.invalid",
        ["GIT_COMMITTER_NAME"] = "Test",
        ["GIT_COMMITTER_EMAIL"] = "test@example.invalid",
    };

    private int counter;

    public GitSandbox()
    {
        Root = Directory.CreateTempSubdirectory("heady-mirror-test-").FullName;
        Source = Path.Combine(Root, "source");
        Mirror = Path.Combine(Root, "mirror.git");
    }

    public GitCli Git { get; } = new();

    public string Root { get; }

    /// <summary>A non-bare repository on <c>main</c>; file-path URL.</summary>
    public string Source { get; }

    public string Mirror { get; }

    public static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token;

    public MirrorEngine Engine(MirrorEngineOptions? options = null) => new(Git, options);

    public async Task InitSourceAsync()
    {
        await RunAsync(Root, "init", "--quiet", "--initial-branch=main", Source);
        await CommitAsync("initial", "README.md", "hello\n");
    }

    /// <summary>Commits on the current branch of the source (writing <paramref name="file"/> if given); returns the commit id.</summary>
    public async Task<string> CommitAsync(string message, string? file = null, string? content = null)
    {
        file ??= $"file{Interlocked.Increment(ref counter)}.txt";
        var path = Path.Combine(Source, file);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, content ?? $"{message}\n{Guid.NewGuid()}\n");
        await RunAsync(Source, "add", "--all");
        await RunAsync(Source, "commit", "--quiet", "-m", message);
        return await RevParseAsync(Source, "HEAD");
    }

    public Task CheckoutAsync(string branch, bool create = false) =>
        create ? RunAsync(Source, "checkout", "--quiet", "-b", branch) : RunAsync(Source, "checkout", "--quiet", branch);

    /// <summary>Rewrites the current source branch: drops its last commit and commits something else (an upstream force-push).</summary>
    public async Task<string> RewriteLastCommitAsync()
    {
        await RunAsync(Source, "reset", "--quiet", "--hard", "HEAD~1");
        return await CommitAsync("rewritten");
    }

    public async Task<string> InitBareAsync(string name)
    {
        var path = Path.Combine(Root, name + ".git");
        await RunAsync(Root, "init", "--quiet", "--bare", path);
        return path;
    }

    public async Task<string> RevParseAsync(string repo, string rev) => (await RunAsync(repo, "rev-parse", rev)).StandardOutput.Trim();

    /// <summary>All refs of a repository (ref → id), as for-each-ref shows them.</summary>
    public async Task<Dictionary<string, string>> RefsAsync(string repo)
    {
        var output = (await RunAsync(repo, "for-each-ref", "--format=%(objectname) %(refname)")).StandardOutput;
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', 2))
            .ToDictionary(p => p[1], p => p[0], StringComparer.Ordinal);
    }

    /// <summary>Branches and tags of the source (what the default filter mirrors).</summary>
    public async Task<Dictionary<string, string>> SourceRefsAsync() =>
        (await RefsAsync(Source)).Where(r => RefFilter.Default.Matches(r.Key)).ToDictionary(r => r.Key, r => r.Value, StringComparer.Ordinal);

    public async Task<GitResult> RunAsync(string workingDirectory, params string[] arguments)
    {
        var result = await Git.RunAsync(workingDirectory, arguments, CancellationToken.None, TimeSpan.FromMinutes(1), Identity);
        Assert.True(result.Succeeded, $"git {string.Join(' ', arguments)} failed: {result.StandardError}");
        return result;
    }

    /// <summary>An executable script standing in for git: runs <paramref name="beforePush"/> (sh) before a push, then the real git.</summary>
    public string GitWrapper(string beforePush, string? argumentLog = null)
    {
        var path = Path.Combine(Root, $"git-wrapper-{Interlocked.Increment(ref counter)}.sh");
        var log = argumentLog is null ? "" : $"printf '%s\\n' \"$*\" >> '{argumentLog}'\n";
        File.WriteAllText(path, $"""
            #!/bin/sh
            {log}for a in "$@"; do
              if [ "$a" = push ]; then
                {beforePush}
                break
              fi
            done
            exec git "$@"

            """.Replace("\r\n", "\n", StringComparison.Ordinal));
        MakeExecutable(path);
        return path;
    }

    public static void MakeExecutable(string path)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
