using Monorepo.Sync.Git.Mirror;

namespace HeadyClouds.UnitTests.Monorepo.Mirror;

/// <summary>The planning of a target's ref updates, against a fake ancestry oracle.</summary>
public sealed class ComputeUpdatesTests
{
    private const string Target = "backup";
    private static readonly string A = Id('a');
    private static readonly string B = Id('b');
    private static readonly string C = Id('c');
    private static readonly string Stranger = Id('f');

    /// <summary>History: A ← B (B descends from A); C is on another line; Stranger is unknown to the mirror.</summary>
    private static Ancestry Oracle(string ancestor, string descendant)
    {
        if (ancestor == Stranger || descendant == Stranger)
        {
            return Ancestry.Unknown;
        }

        return ancestor == descendant || (ancestor == A && descendant == B) ? Ancestry.Ancestor : Ancestry.NotAncestor;
    }

    public enum Case
    {
        Created,
        Same,
        FastForward,
        Backwards,
        Sideways,
        UnknownOnTarget,
        GoneFromSource,
    }

    public static TheoryData<Case, bool, bool> Matrix()
    {
        var data = new TheoryData<Case, bool, bool>();
        foreach (var kind in Enum.GetValues<Case>())
        {
            foreach (var isProtected in new[] { false, true })
            {
                foreach (var isTag in new[] { false, true })
                {
                    data.Add(kind, isProtected, isTag);
                }
            }
        }

        return data;
    }

    /// <summary>Every (source vs target) case × protected or not × branch or tag.</summary>
    [Theory]
    [MemberData(nameof(Matrix))]
    public void EveryCase(Case kind, bool isProtected, bool isTag)
    {
        var name = isTag ? "refs/tags/v1" : "refs/heads/main";
        var (src, dst) = kind switch
        {
            Case.Created => (B, null),
            Case.Same => (B, B),
            Case.FastForward => (B, A),
            Case.Backwards => (A, B),
            Case.Sideways => (C, B),
            Case.UnknownOnTarget => (B, Stranger),
            Case.GoneFromSource => ((string?)null, (string?)B),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        var source = src is null ? Refs() : Refs((name, src));
        var target = dst is null ? Refs() : Refs((name, dst));
        string[] patterns = isProtected ? [isTag ? "refs/tags/**" : "refs/heads/main"] : ["refs/heads/release/**"];

        var update = Assert.Single(MirrorEngine.ComputeUpdates(Target, source, target, RefFilter.Default, patterns, Oracle));

        Assert.Equal(name, update.Ref);
        Assert.Equal(dst, update.OldId);
        Assert.Equal(src, update.NewId);
        var expected = kind switch
        {
            Case.Created => RefUpdateKind.Created,
            Case.Same => RefUpdateKind.UpToDate,
            Case.GoneFromSource => isProtected ? RefUpdateKind.RefusedProtectedDeletion : RefUpdateKind.Deleted,
            // Tags never fast-forward (git's rule too): a moved tag is forced, or refused when protected.
            Case.FastForward when !isTag => RefUpdateKind.FastForwarded,
            _ => isProtected ? RefUpdateKind.RefusedNonFastForward : RefUpdateKind.Forced,
        };
        Assert.Equal(expected, update.Kind);
        Assert.Equal(expected == RefUpdateKind.Forced, update.Forced);
        Assert.Equal(expected is RefUpdateKind.Forced or RefUpdateKind.RefusedNonFastForward or RefUpdateKind.RefusedProtectedDeletion, update.Message is not null);
        if (update.Message is not null)
        {
            Assert.StartsWith($"{name} on target '{Target}' ", update.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void DivergenceMessageNamesBothIds()
    {
        var update = Assert.Single(MirrorEngine.ComputeUpdates(
            Target, Refs(("refs/heads/main", C)), Refs(("refs/heads/main", B)), RefFilter.Default, ["refs/heads/main"], Oracle));

        Assert.Equal(RefUpdateKind.RefusedNonFastForward, update.Kind);
        Assert.Equal(
            $"refs/heads/main on target 'backup' diverged: target has {B[..12]} which is not an ancestor of {C[..12]}; protected refs never move backwards or sideways",
            update.Message);
    }

    [Fact]
    public void TargetIdUnknownToTheMirrorIsTreatedAsDiverged()
    {
        var update = Assert.Single(MirrorEngine.ComputeUpdates(
            Target, Refs(("refs/heads/main", B)), Refs(("refs/heads/main", Stranger)), RefFilter.Default, ["refs/heads/**"], Oracle));

        Assert.Equal(RefUpdateKind.RefusedNonFastForward, update.Kind);
        Assert.Contains("diverged", update.Message, StringComparison.Ordinal);
        Assert.Contains("the mirror does not have", update.Message, StringComparison.Ordinal);
        Assert.Contains(Stranger[..12], update.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ProtectedDeletionMessage()
    {
        var update = Assert.Single(MirrorEngine.ComputeUpdates(
            Target, Refs(), Refs(("refs/heads/release/1.0", A)), RefFilter.Default, ["refs/heads/release/**"], Oracle));

        Assert.Equal(RefUpdateKind.RefusedProtectedDeletion, update.Kind);
        Assert.Equal(
            $"refs/heads/release/1.0 on target 'backup' was not deleted: it is gone from the source, but protected refs are never deleted (the target keeps {A[..12]})",
            update.Message);
    }

    [Fact]
    public void ForcedUpdateIsRecorded()
    {
        var update = Assert.Single(MirrorEngine.ComputeUpdates(
            Target, Refs(("refs/heads/topic", C)), Refs(("refs/heads/topic", B)), RefFilter.Default, ["refs/heads/main"], Oracle));

        Assert.Equal(RefUpdateKind.Forced, update.Kind);
        Assert.True(update.Forced);
        Assert.True(update.IsChange);
        Assert.Contains("forced from", update.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ManyRefsAreIndependentAndOrdered()
    {
        var source = Refs(
            ("refs/heads/main", C), // protected, sideways → refused
            ("refs/heads/dev", B), // fast-forward
            ("refs/heads/new", A), // created
            ("refs/heads/topic", C), // unprotected, sideways → forced
            ("refs/tags/v1", A)); // same
        var target = Refs(
            ("refs/heads/main", B),
            ("refs/heads/dev", A),
            ("refs/heads/topic", B),
            ("refs/heads/old", A), // unprotected, gone → deleted
            ("refs/heads/release/1", A), // protected, gone → refused
            ("refs/tags/v1", A));

        var updates = MirrorEngine.ComputeUpdates(Target, source, target, RefFilter.Default, ["refs/heads/main", "refs/heads/release/**"], Oracle);

        Assert.Equal(
            [
                ("refs/heads/dev", RefUpdateKind.FastForwarded),
                ("refs/heads/main", RefUpdateKind.RefusedNonFastForward),
                ("refs/heads/new", RefUpdateKind.Created),
                ("refs/heads/old", RefUpdateKind.Deleted),
                ("refs/heads/release/1", RefUpdateKind.RefusedProtectedDeletion),
                ("refs/heads/topic", RefUpdateKind.Forced),
                ("refs/tags/v1", RefUpdateKind.UpToDate),
            ],
            updates.Select(u => (u.Ref, u.Kind)));
        Assert.Equal(4, updates.Count(u => u.IsChange));
        Assert.Equal(2, updates.Count(u => u.IsProblem));
    }

    [Fact]
    public void RefsOutsideTheFilterAreIgnoredOnBothSides()
    {
        var filter = new RefFilter(["refs/heads/*"], ["refs/heads/wip-*"]);
        var source = Refs(("refs/heads/main", B), ("refs/heads/a/b", A), ("refs/heads/wip-x", A), ("refs/tags/v1", A));
        var target = Refs(("refs/heads/main", B), ("refs/heads/legacy/x", A), ("refs/heads/wip-y", A), ("refs/pull/1/head", A), ("refs/tags/v0", A));

        var updates = MirrorEngine.ComputeUpdates(Target, source, target, filter, [], Oracle);

        var only = Assert.Single(updates);
        Assert.Equal(("refs/heads/main", RefUpdateKind.UpToDate), (only.Ref, only.Kind));
    }

    [Fact]
    public void OracleIsAskedOnlyAboutDifferingNonTagRefsWithTargetFirst()
    {
        var questions = new List<(string, string)>();
        var source = Refs(("refs/heads/main", B), ("refs/heads/same", A), ("refs/heads/new", A), ("refs/tags/v1", B));
        var target = Refs(("refs/heads/main", A), ("refs/heads/same", A), ("refs/heads/gone", A), ("refs/tags/v1", A));

        MirrorEngine.ComputeUpdates(Target, source, target, RefFilter.Default, [], (a, d) =>
        {
            questions.Add((a, d));
            return Oracle(a, d);
        });

        Assert.Equal([(A, B)], questions);
    }

    [Fact]
    public void IdsCompareCaseInsensitively()
    {
        var update = Assert.Single(MirrorEngine.ComputeUpdates(
            Target, Refs(("refs/heads/main", B.ToUpperInvariant())), Refs(("refs/heads/main", B)), RefFilter.Default, [], (_, _) => throw new InvalidOperationException("not asked")));
        Assert.Equal(RefUpdateKind.UpToDate, update.Kind);
    }

    [Fact]
    public void EmptyOnBothSidesPlansNothing() =>
        Assert.Empty(MirrorEngine.ComputeUpdates(Target, Refs(), Refs(), RefFilter.Default, ["refs/**"], Oracle));

    [Fact]
    public void EmptySourceDeletesEverythingUnprotected()
    {
        var updates = MirrorEngine.ComputeUpdates(
            Target, Refs(), Refs(("refs/heads/main", A), ("refs/heads/topic", A), ("refs/tags/v1", A)), RefFilter.Default, ["refs/heads/main", "refs/tags/*"], Oracle);

        Assert.Equal(
            [RefUpdateKind.RefusedProtectedDeletion, RefUpdateKind.Deleted, RefUpdateKind.RefusedProtectedDeletion],
            updates.Select(u => u.Kind));
    }

    [Fact]
    public void ProtectedPatternsUseSegmentGlobs()
    {
        // refs/heads/* protects main but not feature/x.
        var updates = MirrorEngine.ComputeUpdates(
            Target, Refs(("refs/heads/main", C), ("refs/heads/feature/x", C)), Refs(("refs/heads/main", B), ("refs/heads/feature/x", B)),
            RefFilter.Default, ["refs/heads/*"], Oracle);

        Assert.Equal([RefUpdateKind.Forced, RefUpdateKind.RefusedNonFastForward], updates.Select(u => u.Kind));
    }

    [Fact]
    public void NullArgumentsAreRejected()
    {
        Assert.Throws<ArgumentNullException>(() => MirrorEngine.ComputeUpdates(Target, null!, Refs(), RefFilter.Default, [], Oracle));
        Assert.Throws<ArgumentNullException>(() => MirrorEngine.ComputeUpdates(Target, Refs(), Refs(), RefFilter.Default, [], null!));
    }

    [Fact]
    public void RefUpdateClassification()
    {
        foreach (var kind in Enum.GetValues<RefUpdateKind>())
        {
            var update = new RefUpdate("refs/heads/x", null, null, kind, false, null);
            Assert.Equal(kind is RefUpdateKind.Created or RefUpdateKind.FastForwarded or RefUpdateKind.Forced or RefUpdateKind.Deleted, update.IsChange);
            Assert.Equal(kind is RefUpdateKind.RefusedNonFastForward or RefUpdateKind.RefusedProtectedDeletion or RefUpdateKind.Failed, update.IsProblem);
        }

        Assert.True(new TargetSyncResult("t", [new RefUpdate("refs/heads/x", A, B, RefUpdateKind.FastForwarded, false, null)], null).Succeeded);
        Assert.False(new TargetSyncResult("t", [new RefUpdate("refs/heads/x", A, B, RefUpdateKind.RefusedNonFastForward, false, "m")], null).Succeeded);
        Assert.False(new TargetSyncResult("t", [], "unreachable").Succeeded);
    }

    private static string Id(char c) => new(c, 40);

    private static Dictionary<string, string> Refs(params (string Name, string Id)[] refs) =>
        refs.ToDictionary(r => r.Name, r => r.Id, StringComparer.Ordinal);
}
