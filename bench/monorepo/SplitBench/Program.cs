// Bench harness for bench/monorepo/split.sh (not part of the solution):
//   SplitBench <repository> <prefix> <revision> [--map-in FILE] [--map-out FILE] [--commit-tree]
// Runs one SubtreeSplitter.SplitAsync and prints one line of key=value figures on stdout. Maps are TSV files of
// "source<TAB>split" lines; --map-out writes the previous map merged with the new entries.
using System.Diagnostics;
using System.Globalization;
using Monorepo.Sync.Git;
using Monorepo.Sync.Git.Split;

if (args.Length < 3)
{
    Console.Error.WriteLine("usage: SplitBench <repository> <prefix> <revision> [--map-in FILE] [--map-out FILE] [--commit-tree]");
    return 2;
}

string? mapIn = null, mapOut = null;
var commitTree = false;
for (var i = 3; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--map-in": mapIn = args[++i]; break;
        case "--map-out": mapOut = args[++i]; break;
        case "--commit-tree": commitTree = true; break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
}

var map = new Dictionary<string, string>(StringComparer.Ordinal);
if (mapIn is not null)
{
    foreach (var line in File.ReadLines(mapIn))
    {
        var tab = line.IndexOf('\t');
        if (tab > 0)
        {
            map[line[..tab]] = line[(tab + 1)..];
        }
    }
}

var splitter = new SubtreeSplitter(new GitCli(), new SubtreeSplitterOptions { CreateCommitsWithCommitTree = commitTree });
var wall = Stopwatch.StartNew();
var result = await splitter.SplitAsync(args[0], args[1], args[2], map, CancellationToken.None);
wall.Stop();

if (mapOut is not null)
{
    if (result.PreviousMapDiscarded)
    {
        map.Clear();
    }

    foreach (var (source, split) in result.NewMapEntries)
    {
        map[source] = split;
    }

    await File.WriteAllLinesAsync(mapOut, map.Select(e => $"{e.Key}\t{e.Value}"));
}

var c = result.Counts;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"head={result.HeadCommitId ?? "-"} seconds={wall.Elapsed.TotalSeconds:F2} walked={c.CommitsWalked} examined={c.CommitsExamined} reused={c.CommitsReused} created={c.CommitsCreated} commit_tree={c.CommitsCreatedWithCommitTree} git_processes={c.GitInvocations} new_map_entries={result.NewMapEntries.Count} map_discarded={result.PreviousMapDiscarded}"));
return 0;
