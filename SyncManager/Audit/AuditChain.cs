using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace SyncManager.Audit;

/// <summary>The hash chain of the audit log: canonical encoding, hashing and verification (pure, no I/O).</summary>
public static class AuditChain
{
    /// <summary>prev_hash of the first entry.</summary>
    public static readonly byte[] Genesis = new byte[32];

    private static readonly byte[] Domain = Encoding.ASCII.GetBytes("heady-audit-v1");

    /// <summary>
    /// SHA-256 over the entry's fields, each as a 4-byte big-endian length and its bytes (UTF-8 for text; the time
    /// as Unix microseconds, the precision PostgreSQL keeps), ending with prev_hash. Length prefixes make the
    /// encoding unambiguous: no two different entries encode to the same bytes.
    /// </summary>
    public static byte[] ComputeHash(long seq, DateTimeOffset at, string actor, string service, string eventType, string subject, string details, byte[] prevHash)
    {
        using var buffer = new MemoryStream();
        Write(buffer, Domain);
        WriteInt64(buffer, seq);
        WriteInt64(buffer, ToUnixMicroseconds(at));
        Write(buffer, Encoding.UTF8.GetBytes(actor));
        Write(buffer, Encoding.UTF8.GetBytes(service));
        Write(buffer, Encoding.UTF8.GetBytes(eventType));
        Write(buffer, Encoding.UTF8.GetBytes(subject));
        Write(buffer, Encoding.UTF8.GetBytes(details));
        Write(buffer, prevHash);
        return SHA256.HashData(buffer.ToArray());
    }

    public static byte[] ComputeHash(AuditEntry e) =>
        ComputeHash(e.Seq, e.At, e.Actor, e.Service, e.EventType, e.Subject, e.Details, e.PrevHash);

    /// <summary>Time as stored: truncated to whole microseconds, UTC.</summary>
    public static DateTimeOffset Normalize(DateTimeOffset at) =>
        new(at.UtcTicks - (at.UtcTicks % 10), TimeSpan.Zero);

    public static long ToUnixMicroseconds(DateTimeOffset at) => (at.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    /// <summary>
    /// Checks entries in sequence order, carrying the previous entry's hash; returns the first entry that breaks the
    /// chain (a gap in the sequence, a prev_hash that does not match, or a hash that does not match the content).
    /// </summary>
    public static AuditBreak? FindBreak(IEnumerable<AuditEntry> ordered, long? expectedFirstSeq, byte[] expectedPrevHash)
    {
        var expectedSeq = expectedFirstSeq;
        var prev = expectedPrevHash;
        foreach (var entry in ordered)
        {
            if (expectedSeq is { } seq && entry.Seq != seq)
            {
                return new AuditBreak(entry.Seq, $"sequence gap: expected entry {seq}, found {entry.Seq} (entries were deleted)");
            }

            if (!CryptographicOperations.FixedTimeEquals(entry.PrevHash, prev))
            {
                return new AuditBreak(entry.Seq, "prev_hash does not match the hash of the previous entry");
            }

            if (!CryptographicOperations.FixedTimeEquals(entry.Hash, ComputeHash(entry)))
            {
                return new AuditBreak(entry.Seq, "hash does not match the entry's content (the entry was modified)");
            }

            prev = entry.Hash;
            expectedSeq = entry.Seq + 1;
        }

        return null;
    }

    private static void Write(Stream s, byte[] bytes)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
        s.Write(length);
        s.Write(bytes);
    }

    private static void WriteInt64(Stream s, long value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        Write(s, bytes.ToArray());
    }
}

public sealed record AuditBreak(long Seq, string Reason);
