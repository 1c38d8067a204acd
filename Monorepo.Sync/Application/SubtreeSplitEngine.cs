using Monorepo.Sync.Git.Split;

namespace Monorepo.Sync.Application;

/// <summary><see cref="ISplitEngine"/> on <see cref="SubtreeSplitter"/> (the same ids as <c>git subtree split</c>).</summary>
public sealed class SubtreeSplitEngine(SubtreeSplitter splitter) : ISplitEngine
{
    public async Task<SplitOutcome> SplitAsync(string repositoryPath, string prefix, string sourceCommit, IReadOnlyDictionary<string, string> knownMap, CancellationToken ct)
    {
        var result = await splitter.SplitAsync(repositoryPath, prefix, sourceCommit, knownMap, ct);
        return new SplitOutcome(result.HeadCommitId, result.NewMapEntries, result.PreviousMapDiscarded);
    }
}
