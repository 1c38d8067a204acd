using System.Diagnostics;

namespace HeadyClouds.IntegrationTests.Monorepo.SyncRuns;

/// <summary>Bare repositories in a temp folder plus a work tree to make commits in, driven by the system git.</summary>
public sealed class LocalRepos : IDisposable
{
    public LocalRepos()
    {
        Directory.CreateDirectory(Root);
        Git(Root, "init", "--bare", "-b", "main", Source);
        Git(Root, "clone", Source, Work);
        Git(Work, "config", "user.email", "dev@example.org");
        Git(Work, "config", "user.name", "Dev");
    }

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "hc-repos-" + Guid.NewGuid().ToString("N")[..8]);

    public string Source => Path.Combine(Root, "source.git");

    public string Work => Path.Combine(Root, "work");

    public string NewBare(string name)
    {
        var path = Path.Combine(Root, name + ".git");
        Git(Root, "init", "--bare", "-b", "main", path);
        return path;
    }

    public string Commit(string file, string content, string message)
    {
        var path = Path.Combine(Work, file);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        Git(Work, "add", "-A");
        Git(Work, "commit", "-q", "-m", message);
        return Git(Work, "rev-parse", "HEAD").Trim();
    }

    public void Push(params string[] args) => Git(Work, ["push", "-q", "origin", .. args]);

    /// <summary>Creates <paramref name="branch"/> from main with one commit and pushes it; back on main afterwards.</summary>
    public string Git2Branch(string branch, string file, string content)
    {
        Git(Work, "checkout", "-q", "-b", branch);
        var id = Commit(file, content, "on " + branch);
        Push(branch);
        Git(Work, "checkout", "-q", "main");
        return id;
    }

    /// <summary>One more commit on an existing branch, pushed; back on main afterwards.</summary>
    public string Git2Commit(string branch, string file, string content)
    {
        Git(Work, "checkout", "-q", branch);
        var id = Commit(file, content, "more on " + branch);
        Push(branch);
        Git(Work, "checkout", "-q", "main");
        return id;
    }

    public string RefOf(string repository, string refName)
    {
        var output = Git(Root, "--git-dir", repository, "for-each-ref", "--format=%(objectname)", refName).Trim();
        return output;
    }

    public static string Git(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("git") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["GIT_CONFIG_GLOBAL"] = "/dev/null";
        start.Environment["GIT_CONFIG_NOSYSTEM"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEnd();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"git {string.Join(' ', args)} failed: {stderr}");
        }

        return stdout;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}
