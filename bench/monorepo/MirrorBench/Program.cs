using System.Diagnostics;
using System.Globalization;
using System.Text;
using LibGit2Sharp;
using Monorepo.Sync.Git;
using Monorepo.Sync.Git.Mirror;

// Harness for bench/monorepo/mirror.sh. Commands:
//   generate --commits N --files F --refs R [--seed S]     fast-import stream of a synthetic repository on stdout
//   append --count K --files F --from SHA [--seed S]       fast-import stream of K more commits on refs/heads/main
//   engine|libgit2 --source URL --mirror DIR --target DIR [--runs N] [--label L]
//                                                          time fetch + sync (N runs), print one RESULT line
//   free-port                                              a free loopback TCP port
//   info                                                   LibGit2Sharp version and features
// RESULT lines: RESULT <label> <impl> runs=<n> fetch_ms=<median> sync_ms=<median> total_ms=<median> min_ms=<min> p90_ms=<p90> changes=<n>
var command = args.Length > 0 ? args[0] : "";
var options = ParseOptions(args.Skip(1).ToArray());
try
{
    switch (command)
    {
        case "generate":
            Generator.Generate(Console.OpenStandardOutput(), Int(options, "commits", 20000), Int(options, "files", 5000), Int(options, "refs", 200), Int(options, "seed", 42));
            return 0;
        case "append":
            Generator.Append(Console.OpenStandardOutput(), Int(options, "count", 10), Int(options, "files", 5000), Required(options, "from"), Int(options, "seed", 7));
            return 0;
        case "engine":
        case "libgit2":
            await Measure(command, Required(options, "source"), Required(options, "mirror"), Required(options, "target"), Int(options, "runs", 1), options.GetValueOrDefault("label", "run"));
            return 0;
        case "free-port":
            using (var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
            {
                probe.Start();
                Console.WriteLine(((System.Net.IPEndPoint)probe.LocalEndpoint).Port);
            }

            return 0;
        case "info":
            Console.WriteLine($"LibGit2Sharp {GlobalSettings.Version} features: {GlobalSettings.Version.Features}");
            return 0;
        default:
            Console.Error.WriteLine("usage: generate|append|engine|libgit2|info [--option value ...] (see Program.cs)");
            return 2;
    }
}
catch (Exception e) when (e is GitCommandException or LibGit2SharpException or ArgumentException or InvalidOperationException)
{
    Console.Error.WriteLine($"{command}: {e.Message}");
    return 1;
}

static async Task Measure(string implementation, string source, string mirror, string target, int runs, string label)
{
    var fetchTimes = new List<double>();
    var syncTimes = new List<double>();
    var totals = new List<double>();
    var changes = 0;
    await WarmUp(implementation);
    // Runs after the first are no-ops: one more unmeasured run first (caches), then the measured ones.
    for (var run = runs > 1 ? -1 : 0; run < runs; run++)
    {
        var clock = Stopwatch.StartNew();
        int changed;
        double fetchMs;
        if (implementation == "engine")
        {
            var engine = new MirrorEngine(new GitCli());
            var fetched = await engine.FetchAsync(mirror, source, null, RefFilter.Default, CancellationToken.None);
            fetchMs = clock.Elapsed.TotalMilliseconds;
            var synced = await engine.SyncTargetAsync(mirror, new MirrorTarget("bench", target, null, ["refs/heads/main"]), RefFilter.Default, CancellationToken.None);
            if (!synced.Succeeded)
            {
                throw new InvalidOperationException($"sync failed: {synced.Error} {string.Join("; ", synced.Updates.Where(u => u.IsProblem).Select(u => u.Message))}");
            }

            changed = fetched.Changes.Count + synced.Updates.Count(u => u.IsChange);
        }
        else
        {
            changed = LibGit2Mirror.Fetch(mirror, source);
            fetchMs = clock.Elapsed.TotalMilliseconds;
            changed += LibGit2Mirror.Sync(mirror, target, ["refs/heads/main"]);
        }

        var total = clock.Elapsed.TotalMilliseconds;
        if (run < 0)
        {
            continue;
        }

        fetchTimes.Add(fetchMs);
        syncTimes.Add(total - fetchMs);
        totals.Add(total);
        changes = Math.Max(changes, changed);
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"RESULT {label} {implementation} runs={runs} fetch_ms={Median(fetchTimes):F0} sync_ms={Median(syncTimes):F0} total_ms={Median(totals):F0} min_ms={totals.Min():F0} p90_ms={Percentile(totals, 0.9):F0} changes={changes}"));
}

// The whole pipeline once on a scratch one-commit repository, so that measured runs do not pay for the JIT.
static async Task WarmUp(string implementation)
{
    var scratch = Directory.CreateTempSubdirectory("heady-bench-warmup-").FullName;
    try
    {
        var git = new GitCli();
        string Path(string name) => System.IO.Path.Combine(scratch, name);
        foreach (var repo in new[] { "source.git", "target.git" })
        {
            (await git.RunAsync(scratch, ["init", "--quiet", "--bare", Path(repo)], CancellationToken.None)).EnsureSuccess("init");
        }

        var identity = new Dictionary<string, string> { ["GIT_AUTHOR_NAME"] = "b", ["GIT_AUTHOR_EMAIL"] = "b@x", ["GIT_COMMITTER_NAME"] = "b", ["GIT_COMMITTER_EMAIL"] = "b@x" };
        var commit = (await git.RunAsync(Path("source.git"), ["commit-tree", "4b825dc642cb6eb9a060e54bf8d69288fbee4904", "-m", "warm-up"], CancellationToken.None, null, identity))
            .EnsureSuccess("commit-tree").StandardOutput.Trim();
        (await git.RunAsync(Path("source.git"), ["update-ref", "refs/heads/main", commit], CancellationToken.None)).EnsureSuccess("update-ref");
        if (implementation == "engine")
        {
            var engine = new MirrorEngine(git);
            await engine.FetchAsync(Path("mirror.git"), Path("source.git"), null, RefFilter.Default, CancellationToken.None);
            await engine.SyncTargetAsync(Path("mirror.git"), new MirrorTarget("warm-up", Path("target.git"), null, ["refs/heads/main"]), RefFilter.Default, CancellationToken.None);
        }
        else
        {
            LibGit2Mirror.Fetch(Path("mirror.git"), Path("source.git"));
            LibGit2Mirror.Sync(Path("mirror.git"), Path("target.git"), ["refs/heads/main"]);
        }
    }
    finally
    {
        Directory.Delete(scratch, recursive: true);
    }
}

static double Median(List<double> values) => Percentile(values, 0.5);

static double Percentile(List<double> values, double p)
{
    var sorted = values.Order().ToList();
    return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}

static Dictionary<string, string> ParseOptions(string[] args)
{
    var options = new Dictionary<string, string>(StringComparer.Ordinal);
    for (var i = 0; i + 1 < args.Length; i += 2)
    {
        if (!args[i].StartsWith("--", StringComparison.Ordinal))
        {
            throw new ArgumentException($"expected --option, got '{args[i]}'");
        }

        options[args[i][2..]] = args[i + 1];
    }

    return options;
}

static string Required(Dictionary<string, string> options, string name) =>
    options.TryGetValue(name, out var value) ? value : throw new ArgumentException($"--{name} is required");

static int Int(Dictionary<string, string> options, string name, int fallback) =>
    options.TryGetValue(name, out var value) ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

/// <summary>The same mirror with LibGit2Sharp: fetch with prune into a bare mirror, list the target, plan with MirrorEngine.ComputeUpdates, push.</summary>
internal static class LibGit2Mirror
{
    private static readonly string[] Refspecs = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"];

    public static int Fetch(string mirror, string source)
    {
        if (!Repository.IsValid(mirror))
        {
            Repository.Init(mirror, isBare: true);
        }

        using var repo = new Repository(mirror);
        var updated = 0;
        if (repo.Network.Remotes["bench-source"] is null)
        {
            repo.Network.Remotes.Add("bench-source", source);
        }

        Commands.Fetch(repo, "bench-source", Refspecs, new FetchOptions
        {
            Prune = true,
            TagFetchMode = TagFetchMode.None,
            OnUpdateTips = (_, _, _) =>
            {
                updated++;
                return true;
            },
        }, null);
        return updated;
    }

    public static int Sync(string mirror, string target, IReadOnlyList<string> protectedRefs)
    {
        using var repo = new Repository(mirror);
        var source = repo.Refs
            .Where(r => r is DirectReference && RefFilter.Default.Matches(r.CanonicalName))
            .ToDictionary(r => r.CanonicalName, r => r.TargetIdentifier, StringComparer.Ordinal);
        var remote = repo.Network.ListReferences(target)
            .Where(r => r is DirectReference && GitOutput.IsSafeRefName(r.CanonicalName))
            .ToDictionary(r => r.CanonicalName, r => r.TargetIdentifier, StringComparer.Ordinal);
        var plan = MirrorEngine.ComputeUpdates("bench", source, remote, RefFilter.Default, protectedRefs, (ancestor, descendant) =>
        {
            var a = repo.Lookup<Commit>(ancestor);
            var d = repo.Lookup<Commit>(descendant);
            if (a is null || d is null)
            {
                return Ancestry.Unknown;
            }

            return repo.ObjectDatabase.FindMergeBase(a, d)?.Sha == a.Sha ? Ancestry.Ancestor : Ancestry.NotAncestor;
        });
        var refused = plan.Where(u => u.IsProblem).ToList();
        if (refused.Count > 0)
        {
            throw new InvalidOperationException($"refused: {refused[0].Message}");
        }

        // libgit2 pushes from a ref name (not an object id) and has no --force-with-lease: '+' forces unconditionally.
        var specs = plan.Where(u => u.IsChange).Select(u => u.NewId is null ? $":{u.Ref}" : $"+{u.Ref}:{u.Ref}").ToList();
        if (specs.Count == 0)
        {
            return 0;
        }

        var pushRemote = repo.Network.Remotes["bench-target"] ?? repo.Network.Remotes.Add("bench-target", target);
        var errors = new List<string>();
        repo.Network.Push(pushRemote, specs, new PushOptions { OnPushStatusError = e => errors.Add($"{e.Reference}: {e.Message}") });
        if (errors.Count > 0)
        {
            throw new InvalidOperationException($"push failed: {string.Join("; ", errors)}");
        }

        return specs.Count;
    }
}

/// <summary>Deterministic synthetic history as a git fast-import stream.</summary>
internal static class Generator
{
    private const int LinesPerFile = 16;
    private static readonly string[] Words =
    [
        "mirror", "sync", "target", "source", "protected", "branch", "tag", "commit", "tree", "blob", "fetch", "push", "lease",
        "ancestor", "divergence", "refspec", "filter", "timeout", "credential", "token", "pinned", "host", "key", "pack", "delta",
        "object", "index", "merge", "rebase", "cherry", "pick", "revert", "reset", "stash", "worktree", "remote", "origin", "upstream",
    ];

    public static void Generate(Stream output, int commits, int files, int refs, int seed)
    {
        var random = new Random(seed);
        using var writer = new StreamWriter(output, new UTF8Encoding(false), 1 << 20) { NewLine = "\n" };
        var content = new string[files][];
        var time = 1_600_000_000L;

        // Commit 1: every file.
        writer.Write("commit refs/heads/main\nmark :1\n");
        Signature(writer, "committer", time);
        Data(writer, "initial import\n");
        for (var f = 0; f < files; f++)
        {
            content[f] = [.. Enumerable.Range(0, LinesPerFile).Select(_ => Line(random))];
            Modify(writer, Path(f), string.Join('\n', content[f]) + "\n");
        }

        writer.Write('\n');

        // Commits 2..N on main: each edits one line in 1-4 files.
        for (var c = 2; c <= commits; c++)
        {
            time += 60;
            writer.Write($"commit refs/heads/main\nmark :{c}\n");
            Signature(writer, "committer", time);
            Data(writer, $"change {c}: {Line(random)}\n");
            var touched = random.Next(1, 5);
            for (var t = 0; t < touched; t++)
            {
                var f = random.Next(files);
                content[f][random.Next(LinesPerFile)] = Line(random);
                Modify(writer, Path(f), string.Join('\n', content[f]) + "\n");
            }

            writer.Write('\n');
        }

        // refs - 1 more refs: 60 % branches (each with one commit of its own on a random base), 40 % tags (half annotated).
        var mark = commits;
        for (var r = 1; r < refs; r++)
        {
            var basis = random.Next(1, commits + 1);
            time += 60;
            if (r % 5 < 3)
            {
                writer.Write($"commit refs/heads/topic/{r:D4}\nmark :{++mark}\n");
                Signature(writer, "committer", time);
                Data(writer, $"topic {r}\n");
                writer.Write($"from :{basis}\n");
                var f = random.Next(files);
                Modify(writer, Path(f), string.Join('\n', Enumerable.Range(0, LinesPerFile).Select(_ => Line(random))) + "\n");
                writer.Write('\n');
            }
            else if (r % 2 == 0)
            {
                writer.Write($"tag v{r}.0\nfrom :{basis}\n");
                Signature(writer, "tagger", time);
                Data(writer, $"release {r}\n");
            }
            else
            {
                writer.Write($"reset refs/tags/build-{r}\nfrom :{basis}\n\n");
            }
        }
    }

    public static void Append(Stream output, int count, int files, string from, int seed)
    {
        var random = new Random(seed);
        using var writer = new StreamWriter(output, new UTF8Encoding(false), 1 << 16) { NewLine = "\n" };
        var time = 1_700_000_000L + seed;
        for (var c = 0; c < count; c++)
        {
            time += 60;
            writer.Write("commit refs/heads/main\n");
            Signature(writer, "committer", time);
            Data(writer, $"incremental {c}\n");
            if (c == 0)
            {
                writer.Write($"from {from}\n");
            }

            for (var t = 0; t < 3; t++)
            {
                Modify(writer, Path(random.Next(files)), string.Join('\n', Enumerable.Range(0, LinesPerFile).Select(_ => Line(random))) + "\n");
            }

            writer.Write('\n');
        }
    }

    private static string Path(int file) => $"src/d{file % 97:D2}/m{file % 13:D2}/file{file:D5}.txt";

    private static string Line(Random random) =>
        string.Join(' ', Enumerable.Range(0, random.Next(4, 12)).Select(_ => Words[random.Next(Words.Length)])) + $" {random.Next():x}";

    private static void Signature(StreamWriter writer, string kind, long time) =>
        writer.Write($"{kind} Bench <bench@example.invalid> {time} +0000\n");

    private static void Data(StreamWriter writer, string text)
    {
        writer.Write($"data {Encoding.UTF8.GetByteCount(text)}\n");
        writer.Write(text);
    }

    private static void Modify(StreamWriter writer, string path, string text)
    {
        writer.Write($"M 100644 inline {path}\n");
        Data(writer, text);
    }
}
