namespace HeadyClouds.Backup.Sources;

/// <summary>Bare repositories as bundles of every ref (<c>git bundle create - --all</c>, streamed from standard output).</summary>
public sealed class Git(string executable = "git")
{
    private static readonly Dictionary<string, string?> Env = new() { ["GIT_TERMINAL_PROMPT"] = "0", ["LC_ALL"] = "C" };

    // Mirrors belong to the service's OS user, not necessarily to the one running the backup.
    private static IEnumerable<string> Args(string repository, params string[] args) => ["-c", "safe.directory=*", "-C", repository, .. args];

    public async Task<IReadOnlyDictionary<string, string>> BundleAsync(string repository, Stream destination, CancellationToken ct)
    {
        var refs = await RunAsync(Args(repository, "for-each-ref", "--format=%(refname)"), ct);
        var head = await Tools.RunAsync(executable, Args(repository, "symbolic-ref", "-q", "HEAD"), Env, ct);
        var metadata = new Dictionary<string, string>
        {
            ["refs"] = refs.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["head"] = head.ExitCode == 0 ? head.Output.Trim() : "",
        };
        if (metadata["refs"] == "0")
        {
            return metadata; // git refuses an empty bundle; the part is empty and restore makes an empty repository.
        }

        using var process = Tools.Start(executable, Args(repository, "bundle", "create", "--quiet", "-", "--all"), Env, stdin: false, stdout: true);
        using var kill = ct.Register(() => Tools.Kill(process));
        var errors = Tools.ReadErrorsAsync(process);
        await process.StandardOutput.BaseStream.CopyToAsync(destination, 1024 * 1024, ct);
        await process.WaitForExitAsync(ct);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"git bundle of {repository} failed ({process.ExitCode}): {await errors}");
        }

        return metadata;
    }

    /// <summary>Creates the bare repository <paramref name="repository"/> with every ref of the bundle and its HEAD.</summary>
    public async Task RestoreAsync(string repository, Stream bundle, IReadOnlyDictionary<string, string> metadata, CancellationToken ct)
    {
        var parent = Path.GetDirectoryName(Path.GetFullPath(repository))!;
        Directory.CreateDirectory(parent);
        await RunAsync(["init", "--quiet", "--bare", repository], ct);
        var file = Path.Combine(parent, $".heady-restore-{Guid.NewGuid():N}.bundle");
        try
        {
            long written;
            await using (var output = new FileStream(file, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1024 * 1024, FileOptions.Asynchronous))
            {
                await bundle.CopyToAsync(output, 1024 * 1024, ct);
                written = output.Length;
            }

            if (written > 0)
            {
                await RunAsync(Args(repository, "fetch", "--quiet", "--no-write-fetch-head", file, "+refs/*:refs/*"), ct);
            }

            if (metadata.TryGetValue("head", out var head) && head.Length > 0)
            {
                await RunAsync(Args(repository, "symbolic-ref", "HEAD", head), ct);
            }
        }
        finally
        {
            File.Delete(file);
        }
    }

    private async Task<string> RunAsync(IEnumerable<string> args, CancellationToken ct)
    {
        var list = args.ToList();
        var (code, output, errors) = await Tools.RunAsync(executable, list, Env, ct);
        return code == 0 ? output : throw new InvalidOperationException($"git {string.Join(' ', list.SkipWhile(a => a is "-c" or "safe.directory=*" or "-C").Skip(1))} failed ({code}): {errors}");
    }
}
