using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using SyncManager.Infrastructure;

namespace SyncManager.Audit;

/// <summary>An event to append; <see cref="Details"/> is any JSON value (serialized canonically).</summary>
public sealed record AuditRecord(string Actor, string Service, string EventType, string Subject, object? Details = null);

public sealed record AuditVerification(bool Valid, long Checked, long? FirstBrokenSeq, string? Reason, long? LastSeq);

/// <summary>
/// Appends to and verifies the hash-chained audit log. Appends are serialized by a transaction-scoped advisory
/// lock, so every replica reads the true last entry before linking to it and the chain never forks.
/// </summary>
public sealed class AuditLog(SyncManagerDbContext db, TimeProvider time, AuditMetrics metrics)
{
    /// <summary>Advisory lock key of the append critical section ("heady-audit" as a number).</summary>
    public const long AppendLockKey = 0x4845_4144_5941_5544;

    public const string SyncManagerService = "syncmanager";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task<AuditEntry> AppendAsync(AuditRecord record, CancellationToken ct)
    {
        var details = record.Details switch
        {
            null => "{}",
            JsonElement e => JsonSerializer.Serialize(e, Json),
            var o => JsonSerializer.Serialize(o, Json),
        };
        var strategy = db.Database.CreateExecutionStrategy();
        return await strategy.ExecuteAsync(async () =>
        {
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({AppendLockKey})", ct);
            var last = await db.AuditLog.AsNoTracking().OrderByDescending(e => e.Seq)
                .Select(e => new { e.Seq, e.Hash }).FirstOrDefaultAsync(ct);
            var seq = (last?.Seq ?? 0) + 1;
            var prev = last?.Hash ?? AuditChain.Genesis;
            var at = AuditChain.Normalize(time.GetUtcNow());
            var entry = new AuditEntry
            {
                Seq = seq,
                At = at,
                Actor = record.Actor,
                Service = record.Service,
                EventType = record.EventType,
                Subject = record.Subject,
                Details = details,
                PrevHash = prev,
                Hash = AuditChain.ComputeHash(seq, at, record.Actor, record.Service, record.EventType, record.Subject, details, prev),
            };
            db.AuditLog.Add(entry);
            metrics.Appended.Add(1, new KeyValuePair<string, object?>("event_type", record.EventType));
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
            db.Entry(entry).State = EntityState.Detached;
            return entry;
        });
    }

    /// <summary>Walks the whole chain in pages; names the first broken entry.</summary>
    public async Task<AuditVerification> VerifyAsync(CancellationToken ct, int pageSize = 1000)
    {
        long checkedCount = 0;
        long afterSeq = 0;
        long? lastSeq = null;
        var prev = AuditChain.Genesis;
        long? expected = 1;
        while (true)
        {
            var page = await db.AuditLog.AsNoTracking().Where(e => e.Seq > afterSeq).OrderBy(e => e.Seq).Take(pageSize).ToListAsync(ct);
            if (page.Count == 0)
            {
                break;
            }

            var broken = AuditChain.FindBreak(page, expected, prev);
            if (broken is not null)
            {
                metrics.ChainVerified(false);
                return new AuditVerification(false, checkedCount + page.Count(e => e.Seq < broken.Seq), broken.Seq, broken.Reason, page[^1].Seq);
            }

            checkedCount += page.Count;
            prev = page[^1].Hash;
            afterSeq = page[^1].Seq;
            expected = afterSeq + 1;
            lastSeq = afterSeq;
        }

        metrics.ChainVerified(true);
        return new AuditVerification(true, checkedCount, null, null, lastSeq);
    }
}
