using System.Text;
using static HeadyClouds.IntegrationTests.Monorepo.Split.FileOp;

namespace HeadyClouds.IntegrationTests.Monorepo.Split;

/// <summary>
/// Random histories (branches, merges of two or three parents, unrelated roots, deletion and re-adding of the prefix,
/// contents drawn from a tiny set so that trees often coincide): every split equals git subtree's, from scratch and
/// incrementally from the map of a split of an earlier point of the history.
/// </summary>
public sealed class TmpFuzzSplitTests
{
    private const string Prefix = "packages/ui";

    public static IEnumerable<object[]> Seeds() => Enumerable.Range(100, 80).Select(i => new object[] { i });

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task Random_history_splits_like_git_subtree(int seed)
    {
        using var repo = new SplitTestRepository();
        var random = new Random(seed);
        string[] files = ["packages/ui/x.txt", "packages/ui/y.txt", "packages/ui/deep/z.txt", "src/a.txt", "src/b.txt", "packages/uix/n.txt"];
        string[] contents = ["a\n", "b\n", "c\n"];
        var tips = new Dictionary<string, int>();
        var branches = new List<string> { "main", "b1", "b2", "b3" };

        int NewCommit(string branch, int? from, int[] merges, int ops)
        {
            var list = new List<FileOp>();
            for (var i = 0; i < ops; i++)
            {
                var roll = random.Next(20);
                list.Add(roll switch
                {
                    0 => Remove(Prefix),
                    1 => Remove(files[random.Next(files.Length)]),
                    _ => Put(files[random.Next(files.Length)], contents[random.Next(contents.Length)]),
                });
            }

            var mark = repo.Commit(new CommitSpec
            {
                Branch = branch,
                From = from,
                Merges = merges,
                Message = Encoding.UTF8.GetBytes($"{branch} {tips.Count} {random.Next()}\n"),
                Ops = [.. list],
            });
            tips[branch] = mark;
            return mark;
        }

        NewCommit("main", null, [], 2);
        var checkpoint = 0;
        for (var step = 0; step < 70; step++)
        {
            var branch = branches[random.Next(branches.Count)];
            var roll = random.Next(10);
            if (!tips.ContainsKey(branch))
            {
                // A new branch: usually forked from an existing tip, sometimes an unrelated root.
                var from = random.Next(5) == 0 ? (int?)null : tips.Values.ElementAt(random.Next(tips.Count));
                NewCommit(branch, from, [], 1 + random.Next(2));
            }
            else if (roll < 3 && tips.Count > 1)
            {
                var others = tips.Where(t => t.Key != branch).Select(t => t.Value).OrderBy(_ => random.Next()).Take(random.Next(4) == 0 ? 2 : 1).ToArray();
                NewCommit(branch, tips[branch], others, random.Next(3));
            }
            else
            {
                NewCommit(branch, tips[branch], [], 1 + random.Next(2));
            }

            if (step == 40)
            {
                checkpoint = tips["main"];
            }
        }

        // Every branch merged into main at the end, so the whole graph is in the split.
        NewCommit("main", tips["main"], tips.Where(t => t.Key != "main").Select(t => t.Value).ToArray(), 1);
        repo.Import();

        var early = await SplitAssert.Splitter.SplitAsync(repo.Bare, Prefix, repo.Id(checkpoint), null, CancellationToken.None);
        var earlyExpected = await repo.RunGitSubtreeAsync(Prefix, repo.Id(checkpoint));
        Assert.Equal(earlyExpected.Succeeded ? earlyExpected.StandardOutput.Trim() : null, early.HeadCommitId);

        await SplitAssert.SameAsGitSubtreeAsync(repo, Prefix);
        var incremental = await SplitAssert.Splitter.SplitAsync(repo.Bare, Prefix, "main", early.NewMapEntries, CancellationToken.None);
        Assert.Equal(await repo.GitSubtreeSplitAsync(Prefix, "main"), incremental.HeadCommitId);
        Assert.False(incremental.PreviousMapDiscarded);
    }
}
