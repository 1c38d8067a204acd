using System.Diagnostics;
using System.Text;
using Monorepo.Sync.Git;
using Monorepo.Sync.Git.Split;

namespace HeadyClouds.IntegrationTests.Monorepo.Split;

/// <summary>A file change of a scripted commit.</summary>
public abstract record FileOp
{
    public static FileOp Put(string path, string content) => new Modify(path, Encoding.UTF8.GetBytes(content));

    public static FileOp Remove(string path) => new Delete(path);

    public static FileOp RemoveAll() => new DeleteAll();

    public sealed record Modify(string Path, byte[] Content) : FileOp;

    public sealed record Delete(string Path) : FileOp;

    public sealed record DeleteAll : FileOp;

    /// <summary>Puts an existing tree object at a path (<c>M 040000 TREE PATH</c>).</summary>
    public sealed record Tree(string Path, string TreeId) : FileOp;
}

/// <summary>A scripted commit for <c>git fast-import</c>; identities are raw ident lines (<c>Name &lt;mail&gt; ts tz</c>).</summary>
public sealed record CommitSpec
{
    public string Branch { get; init; } = "main";

    /// <summary>A mark returned by <see cref="SplitTestRepository.Commit(CommitSpec)"/>; null continues the branch.</summary>
    public int? From { get; init; }

    public int[] Merges { get; init; } = [];

    public byte[]? Author { get; init; }

    public byte[]? Committer { get; init; }

    public byte[] Message { get; init; } = "change\n"u8.ToArray();

    public string? Encoding { get; init; }

    public FileOp[] Ops { get; init; } = [];
}

/// <summary>
/// A bare repository under the temp directory with a history scripted through <c>git fast-import</c>, and the
/// reference: <c>git subtree split</c> run in a separate clone. Deleted on dispose.
/// </summary>
public sealed class SplitTestRepository : IDisposable
{
    private readonly MemoryStream stream = new();
    private readonly string marksFile;
    private int nextMark;
    private long clock = 1_700_000_000;
    private int clones;
    private readonly HashSet<string> branchesInStream = [];

    public SplitTestRepository(string objectFormat = "sha1")
    {
        Root = Path.Combine(Path.GetTempPath(), "headyclouds-split-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
        Bare = Path.Combine(Root, "source.git");
        marksFile = Path.Combine(Root, "marks");
        Git(null, "init", "--quiet", "--bare", "--object-format=" + objectFormat, Bare);
        Git(Bare, "symbolic-ref", "HEAD", "refs/heads/main");
    }

    public string Root { get; }

    public string Bare { get; }

    public GitCli Cli { get; } = new();

    public static byte[] Ident(string nameAndMail, long timestamp, string zone = "+0000") =>
        Encoding.UTF8.GetBytes($"{nameAndMail} {timestamp} {zone}");

    /// <summary>A commit on <c>main</c> (or continuing it) with default identities.</summary>
    public int Commit(string message, params FileOp[] ops) => Commit(new CommitSpec { Message = Encoding.UTF8.GetBytes(message), Ops = ops });

    public int Commit(CommitSpec spec)
    {
        var mark = ++nextMark;
        clock += 60;
        Write($"commit refs/heads/{spec.Branch}\nmark :{mark}\n");
        Write("author ");
        Write(spec.Author ?? Ident("A U Thor <author@example.com>", clock));
        Write("\ncommitter ");
        Write(spec.Committer ?? Ident("C O Mitter <committer@example.com>", clock + 1));
        Write("\n");
        if (spec.Encoding is not null)
        {
            Write($"encoding {spec.Encoding}\n");
        }

        Data(spec.Message);
        if (spec.From is { } from)
        {
            Write($"from :{from}\n");
        }
        else if (!branchesInStream.Contains(spec.Branch) && Exists("refs/heads/" + spec.Branch))
        {
            // fast-import starts a branch it has not seen in this stream from nothing unless told otherwise.
            Write($"from refs/heads/{spec.Branch}^0\n");
        }

        branchesInStream.Add(spec.Branch);

        foreach (var merge in spec.Merges)
        {
            Write($"merge :{merge}\n");
        }

        foreach (var op in spec.Ops)
        {
            switch (op)
            {
                case FileOp.Modify modify:
                    Write($"M 100644 inline {modify.Path}\n");
                    Data(modify.Content);
                    break;
                case FileOp.Delete delete:
                    Write($"D {delete.Path}\n");
                    break;
                case FileOp.DeleteAll:
                    Write("deleteall\n");
                    break;
                case FileOp.Tree subtree:
                    Write($"M 040000 {subtree.TreeId} {subtree.Path}\n");
                    break;
            }
        }

        Write("\n");
        return mark;
    }

    /// <summary>Moves a branch (to a mark) in the pending stream.</summary>
    public void Reset(string branch, int mark)
    {
        Write($"reset refs/heads/{branch}\nfrom :{mark}\n\n");
        branchesInStream.Add(branch);
    }

    private bool Exists(string reference)
    {
        try
        {
            Git(Bare, "rev-parse", "--verify", "-q", reference);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Runs the pending stream through <c>git fast-import</c>.</summary>
    public void Import()
    {
        var input = stream.ToArray();
        stream.SetLength(0);
        branchesInStream.Clear();
        Git(Bare, input, "fast-import", "--quiet", "--date-format=raw-permissive", "--export-marks=" + marksFile, "--import-marks-if-exists=" + marksFile);
    }

    /// <summary>The commit id of a mark (after <see cref="Import"/>).</summary>
    public string Id(int mark) => Marks()[mark];

    public string Resolve(string revision) => Git(Bare, "rev-parse", "--verify", revision + "^{commit}").Trim();

    /// <summary>The reference result: <c>git subtree split --prefix=PREFIX REV</c> in a fresh non-bare clone.</summary>
    public async Task<string> GitSubtreeSplitAsync(string prefix, string revision, bool quotePathOff = false)
    {
        var result = await RunGitSubtreeAsync(prefix, revision, quotePathOff);
        Assert.True(result.Succeeded, $"git subtree split failed: {result.StandardError}");
        return result.StandardOutput.Trim();
    }

    public async Task<GitResult> RunGitSubtreeAsync(string prefix, string revision, bool quotePathOff = false, params string[] extraOptions)
    {
        var work = CloneForSubtree(prefix);
        var arguments = new List<string>();
        if (quotePathOff)
        {
            arguments.AddRange(["-c", "core.quotePath=false"]);
        }

        arguments.AddRange(["subtree", "split", "--prefix=" + prefix]);
        arguments.AddRange(extraOptions);
        arguments.Add(Resolve(revision));
        return await Cli.RunAsync(work, arguments, CancellationToken.None, TimeSpan.FromMinutes(5));
    }

    /// <summary>A non-bare clone where git subtree can run (it wants a work tree with the prefix in it).</summary>
    public string CloneForSubtree(string prefix)
    {
        var work = Path.Combine(Root, $"work-{++clones}");
        Git(null, "clone", "--quiet", "--no-checkout", Bare, work);
        Directory.CreateDirectory(Path.Combine(work, prefix));
        return work;
    }

    /// <summary>Checks that the split history is complete in the bare repository (every object reachable and present).</summary>
    public void AssertComplete(string head) => Git(Bare, "rev-list", "--objects", "--missing=error", head);

    public string Git(string? directory, params string[] arguments) => Encoding.UTF8.GetString(Git(directory, null, arguments));

    public static byte[] Git(string? directory, byte[]? input, params string[] arguments)
    {
        var start = new ProcessStartInfo("git")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (directory is not null)
        {
            start.ArgumentList.Add("-C");
            start.ArgumentList.Add(directory);
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["GIT_CONFIG_NOSYSTEM"] = "1";
        start.Environment["GIT_CONFIG_GLOBAL"] = "/dev/null";
        start.Environment["GIT_AUTHOR_NAME"] = "Test";
        start.Environment["GIT_AUTHOR_EMAIL"] = "test@example.com";
        start.Environment["GIT_COMMITTER_NAME"] = "Test";
        start.Environment["GIT_COMMITTER_EMAIL"] = "test@example.com";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var output = new MemoryStream();
        var stdout = process.StandardOutput.BaseStream.CopyToAsync(output);
        if (input is not null)
        {
            process.StandardInput.BaseStream.Write(input);
        }

        process.StandardInput.Close();
        process.WaitForExit();
        stdout.Wait();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"git {string.Join(' ', arguments)} failed ({process.ExitCode}): {stderr.Result}");
        }

        return output.ToArray();
    }

    private Dictionary<int, string> Marks()
    {
        var marks = new Dictionary<int, string>();
        foreach (var line in File.ReadAllLines(marksFile))
        {
            var parts = line.Split(' ');
            marks[int.Parse(parts[0].TrimStart(':'), System.Globalization.CultureInfo.InvariantCulture)] = parts[1];
        }

        return marks;
    }

    private void Data(byte[] content)
    {
        Write($"data {content.Length}\n");
        Write(content);
        Write("\n");
    }

    private void Write(string text) => Write(Encoding.UTF8.GetBytes(text));

    private void Write(byte[] bytes) => stream.Write(bytes);

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

/// <summary>Shared assertions: our split equals git subtree's, by both of our commit-writing paths.</summary>
public static class SplitAssert
{
    public static readonly SubtreeSplitter Splitter = new(new GitCli());

    public static readonly SubtreeSplitter CommitTreeSplitter = new(new GitCli(), new SubtreeSplitterOptions { CreateCommitsWithCommitTree = true });

    /// <summary>Splits with both paths, checks both equal git subtree's result, returns the in-memory path's result.</summary>
    public static async Task<SubtreeSplitResult> SameAsGitSubtreeAsync(
        SplitTestRepository repository,
        string prefix,
        string revision = "main",
        IReadOnlyDictionary<string, string>? previousMap = null,
        bool quotePathOff = false)
    {
        var expected = await repository.GitSubtreeSplitAsync(prefix, revision, quotePathOff);
        var ours = await Splitter.SplitAsync(repository.Bare, prefix, revision, previousMap, CancellationToken.None);
        Assert.Equal(expected, ours.HeadCommitId);
        repository.AssertComplete(ours.HeadCommitId!);
        var viaCommitTree = await CommitTreeSplitter.SplitAsync(repository.Bare, prefix, revision, previousMap, CancellationToken.None);
        Assert.Equal(expected, viaCommitTree.HeadCommitId);
        return ours;
    }
}
