using SyncManager.Audit;

namespace SyncManager.Tests.Unit;

public sealed class AuditChainTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 4, 22, 0, 0, TimeSpan.Zero);

    private static List<AuditEntry> Chain(int count)
    {
        var list = new List<AuditEntry>();
        var prev = AuditChain.Genesis;
        for (var seq = 1; seq <= count; seq++)
        {
            var at = At.AddSeconds(seq);
            var details = $"{{\"n\":{seq}}}";
            var hash = AuditChain.ComputeHash(seq, at, "user:1", "syncmanager", "token.issued", $"token:{seq}", details, prev);
            list.Add(new AuditEntry { Seq = seq, At = at, Actor = "user:1", Service = "syncmanager", EventType = "token.issued", Subject = $"token:{seq}", Details = details, PrevHash = prev, Hash = hash });
            prev = hash;
        }

        return list;
    }

    [Fact]
    public void IntactChainVerifies() => Assert.Null(AuditChain.FindBreak(Chain(5), 1, AuditChain.Genesis));

    [Fact]
    public void ModifiedContentIsNamed()
    {
        var chain = Chain(5);
        var e = chain[2];
        chain[2] = new AuditEntry { Seq = e.Seq, At = e.At, Actor = "user:2", Service = e.Service, EventType = e.EventType, Subject = e.Subject, Details = e.Details, PrevHash = e.PrevHash, Hash = e.Hash };
        var broken = AuditChain.FindBreak(chain, 1, AuditChain.Genesis);
        Assert.Equal(3, broken!.Seq);
        Assert.Contains("modified", broken.Reason);
    }

    [Fact]
    public void RehashedEntryBreaksTheLinkOfTheNext()
    {
        // An attacker who recomputes the edited entry's hash still breaks the next entry's prev_hash.
        var chain = Chain(5);
        var e = chain[1];
        var hash = AuditChain.ComputeHash(e.Seq, e.At, "someone-else", e.Service, e.EventType, e.Subject, e.Details, e.PrevHash);
        chain[1] = new AuditEntry { Seq = e.Seq, At = e.At, Actor = "someone-else", Service = e.Service, EventType = e.EventType, Subject = e.Subject, Details = e.Details, PrevHash = e.PrevHash, Hash = hash };
        var broken = AuditChain.FindBreak(chain, 1, AuditChain.Genesis);
        Assert.Equal(3, broken!.Seq);
        Assert.Contains("prev_hash", broken.Reason);
    }

    [Fact]
    public void DeletedEntryIsNamedAsAGap()
    {
        var chain = Chain(5);
        chain.RemoveAt(3);
        var broken = AuditChain.FindBreak(chain, 1, AuditChain.Genesis);
        Assert.Equal(5, broken!.Seq);
        Assert.Contains("expected entry 4", broken.Reason);
    }

    [Fact]
    public void FieldBoundariesAreUnambiguous()
    {
        var a = AuditChain.ComputeHash(1, At, "ab", "c", "t", "s", "{}", AuditChain.Genesis);
        var b = AuditChain.ComputeHash(1, At, "a", "bc", "t", "s", "{}", AuditChain.Genesis);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void TimeIsHashedAtMicrosecondPrecisionAsStored()
    {
        var precise = At.AddTicks(7);
        Assert.Equal(At, AuditChain.Normalize(precise));
        Assert.Equal(
            AuditChain.ComputeHash(1, AuditChain.Normalize(precise), "a", "b", "c", "d", "{}", AuditChain.Genesis),
            AuditChain.ComputeHash(1, At, "a", "b", "c", "d", "{}", AuditChain.Genesis));
    }
}
